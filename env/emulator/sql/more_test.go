package sql

import (
	"context"
	"database/sql"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miconform/miconform/env/emulator/sql/tds"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/stretchr/testify/require"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestStrictAndBothFlows(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	var v string
	require.NoError(t, f.asAdmin("strict").QueryRowContext(ctx(t), "SELECT @@VERSION").Scan(&v))
	require.Equal(t, Version, v)
	_, err := f.asAdmin("true").ExecContext(ctx(t), "CREATE USER [myVM] FROM EXTERNAL PROVIDER; ALTER ROLE db_datareader ADD MEMBER [myVM]")
	require.NoError(t, err)
	strictMSI := f.open("srv1", "db1", "strict", "msi", func(spn string) string { return f.token(f.vm, spn) })
	var who, db string
	require.NoError(t, strictMSI.QueryRowContext(ctx(t), "SELECT SUSER_SNAME(), DB_NAME()").Scan(&who, &db))
	require.Equal(t, f.vm.ClientID+"@"+f.dir.TenantID, who)
	require.Equal(t, "db1", db)
}

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t, "AzureUSGovernment")
	_, err := f.asAdmin("true").ExecContext(ctx(t), "CREATE USER [myVM] FROM EXTERNAL PROVIDER")
	require.NoError(t, err)
	for name, tok := range map[string]string{
		"wrong audience":     f.token(f.vm, "https://management.usgovcloudapi.net/"),
		"public cloud's SQL": f.token(f.vm, "https://database.windows.net/"),
		"garbage":            "not-a-jwt",
	} {
		db := f.open("srv1", "db1", "true", "token", func(string) string { return tok })
		err := db.PingContext(ctx(t))
		var me mssql.Error
		require.ErrorAs(t, err, &me, name)
		require.EqualValues(t, 18456, me.Number, name)
	}
	// Unknown database and unknown server.
	db := f.open("srv1", "nodb", "true", "token", func(string) string { return f.token(f.admin, f.cloud.SQLResource) })
	var me mssql.Error
	require.ErrorAs(t, db.PingContext(ctx(t)), &me)
	require.EqualValues(t, 4060, me.Number)
	db = f.open("nosrv", "db1", "true", "token", func(string) string { return f.token(f.admin, f.cloud.SQLResource) })
	require.ErrorAs(t, db.PingContext(ctx(t)), &me)
	require.EqualValues(t, 40532, me.Number)
	// A client that cannot encrypt is turned away.
	db = f.asAdmin("disable")
	require.Error(t, db.PingContext(ctx(t)))
}

func TestUsersAndRoles(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	admin := f.asAdmin("true")
	run := func(q string) error { _, err := admin.ExecContext(ctx(t), q); return err }
	number := func(err error) int32 {
		var me mssql.Error
		require.ErrorAs(t, err, &me)
		return me.Number
	}
	require.EqualValues(t, 33130, number(run("CREATE USER [nobody] FROM EXTERNAL PROVIDER")))
	dup := f.vm
	dup.ObjectID, dup.ResourceID = "00000000-0000-4000-8000-000000000001", "/x/userAssignedIdentities/myVM"
	f.dir.Add(dup)
	require.EqualValues(t, 33131, number(run("CREATE USER [myVM] FROM EXTERNAL PROVIDER")))
	require.EqualValues(t, 37545, number(run("CREATE USER [myVM] FROM EXTERNAL PROVIDER WITH OBJECT_ID='11111111-1111-4111-8111-111111111111'")))
	require.NoError(t, run("CREATE USER [myVM] FROM EXTERNAL PROVIDER WITH OBJECT_ID='"+f.vm.ObjectID+"'"))
	require.EqualValues(t, 15023, number(run("CREATE USER [myVM] FROM EXTERNAL PROVIDER WITH OBJECT_ID='"+f.vm.ObjectID+"'")))
	require.NoError(t, run("CREATE TABLE t (id INT, v NVARCHAR(10))"))
	require.NoError(t, run("ALTER ROLE db_datareader ADD MEMBER [myVM]"))
	vm := f.asVM("token")
	_, err := vm.ExecContext(ctx(t), "INSERT INTO t VALUES (1, N'x')")
	require.EqualValues(t, 229, number(err))
	_, err = vm.ExecContext(ctx(t), "CREATE TABLE u (id INT)")
	require.EqualValues(t, 262, number(err))
	_, err = vm.ExecContext(ctx(t), "CREATE USER [operator] FROM EXTERNAL PROVIDER")
	require.EqualValues(t, 15247, number(err))
	require.NoError(t, run("ALTER ROLE db_datawriter ADD MEMBER [myVM]"))
	// Parameters go as sp_executesql RPC.
	res, err := vm.ExecContext(ctx(t), "INSERT INTO t (id, v) VALUES (@p1, @p2)", int64(7), "seven")
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	require.EqualValues(t, 1, n)
	var v string
	require.NoError(t, vm.QueryRowContext(ctx(t), "SELECT TOP 1 v FROM dbo.[t] WHERE id = @p1", int64(7)).Scan(&v))
	require.Equal(t, "seven", v)
	// Transactions: rollback undoes, commit keeps.
	tx, err := vm.BeginTx(ctx(t), nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx(t), "INSERT INTO t (id, v) VALUES (8, N'eight')")
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	tx, err = vm.BeginTx(ctx(t), nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx(t), "INSERT INTO t (id, v) VALUES (9, N'nine')")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	var c int
	require.NoError(t, vm.QueryRowContext(ctx(t), "SELECT COUNT(*) FROM t").Scan(&c))
	require.Equal(t, 2, c)
	require.NoError(t, run("DROP USER [myVM]"))
	require.Error(t, f.asVM("token").PingContext(ctx(t)))
}

// TestMalformedClients sends broken bytes on some connections; each is
// closed and the server keeps serving a well-behaved client.
func TestMalformedClients(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, b := range [][]byte{
		{0x12, 0x01, 0x00, 0x02, 0, 0, 0, 0},             // packet shorter than its header
		{0x12, 0x01, 0x00, 0x0A, 0, 0, 0, 0, 0x01, 0xFF}, // PRELOGIN option past the end
		{0x10, 0x01, 0x00, 0x10, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8},
		{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5}, // not a real ClientHello
		{0x12, 0x00, 0xFF, 0xFF, 0, 0, 0, 0},          // truncated, then EOF
	} {
		c, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		_, _ = c.Write(b)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.(*net.TCPConn).CloseWrite(), 0
		buf := make([]byte, 1024)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	}
	var one int
	require.NoError(t, f.asAdmin("true").QueryRowContext(ctx(t), "SELECT 1").Scan(&one))
	require.Equal(t, 1, one)
}

func TestTypes(t *testing.T) {
	f := newFixture(t, "AzureChinaCloud")
	admin := f.asAdmin("true")
	_, err := admin.ExecContext(ctx(t), `CREATE TABLE ty (i INT, b BIGINT, bit BIT, fl FLOAT, d DECIMAL(18,4), s NVARCHAR(20), m NVARCHAR(MAX), dt DATETIME2(3), g UNIQUEIDENTIFIER, vb VARBINARY(16));
		INSERT INTO ty VALUES (-5, 9000000000, 1, 2.5, 1234.5678, N'héllo', N'big', '2024-05-06 07:08:09.123', '6F9619FF-8B86-D011-B42D-00C04FC964FF', NULL);
		INSERT INTO ty VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	require.NoError(t, err)
	rows, err := admin.QueryContext(ctx(t), "SELECT * FROM ty")
	require.NoError(t, err)
	cts, _ := rows.ColumnTypes()
	var names []string
	for _, ct := range cts {
		names = append(names, ct.DatabaseTypeName())
	}
	require.Equal(t, []string{"INT", "BIGINT", "BIT", "FLOAT", "DECIMAL", "NVARCHAR", "NVARCHAR", "DATETIME2", "UNIQUEIDENTIFIER", "VARBINARY"}, names)
	require.True(t, rows.Next())
	var (
		i, b int64
		bit  bool
		fl   float64
		d, s string
		m    string
		dt   time.Time
		g    mssql.UniqueIdentifier
		vb   []byte
	)
	require.NoError(t, rows.Scan(&i, &b, &bit, &fl, &d, &s, &m, &dt, &g, &vb))
	require.Equal(t, []any{int64(-5), int64(9000000000), true, 2.5, "1234.5678", "héllo", "big"}, []any{i, b, bit, fl, d, s, m})
	require.Equal(t, time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC), dt)
	require.Equal(t, "6F9619FF-8B86-D011-B42D-00C04FC964FF", g.String())
	require.Nil(t, vb)
	require.True(t, rows.Next())
	nulls := make([]any, 10)
	ptrs := make([]any, 10)
	for k := range nulls {
		ptrs[k] = &nulls[k]
	}
	require.NoError(t, rows.Scan(ptrs...))
	for k, v := range nulls {
		require.Nil(t, v, "column %d", k)
	}
	require.False(t, rows.Next())
	_ = tds.KindInt
	_ = sql.ErrNoRows
}

// TestLoginDeadline: a client that connects and never finishes its login
// (silent, or stopping mid-PRELOGIN) is disconnected after loginTimeout.
func TestLoginDeadline(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, "AzureCloud", func(s *Server) { s.loginTimeout = 300 * time.Millisecond })
	for _, sent := range [][]byte{nil, {0x12, 0x01, 0x00, 0x40, 0, 0, 0, 0, 0}} {
		c, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		_, _ = c.Write(sent)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = io.Copy(io.Discard, c)
		require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the server closed the connection (sent %x)", sent)
		c.Close()
	}
}

// TestParameterizedErrorsReachTheClient: a statement with arguments goes
// as sp_executesql; its error must reach go-mssqldb, which stops reading
// at a DONEINPROC without DONE_MORE and would report success.
func TestParameterizedErrorsReachTheClient(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	admin := f.asAdmin("true")
	number := func(err error) int32 {
		var me mssql.Error
		require.ErrorAs(t, err, &me)
		return me.Number
	}
	_, err := admin.ExecContext(ctx(t), "INSERT INTO dbo.Missing (Name) VALUES (@p1)", "x")
	require.EqualValues(t, 208, number(err))
	_, err = admin.ExecContext(ctx(t), "CREATE TABLE dbo.T (Id INT PRIMARY KEY, Name NVARCHAR(10) NOT NULL)")
	require.NoError(t, err)
	_, err = admin.ExecContext(ctx(t), "INSERT INTO dbo.T (Id, Name) VALUES (@p1, @p2)", 1, "a")
	require.NoError(t, err)
	_, err = admin.ExecContext(ctx(t), "INSERT INTO dbo.T (Id, Name) VALUES (@p1, @p2)", 1, "b")
	require.EqualValues(t, 2627, number(err), "a duplicate key by parameters")
	var n int
	require.NoError(t, admin.QueryRowContext(ctx(t), "SELECT COUNT(*) FROM dbo.T WHERE Id = @p1", 1).Scan(&n))
	require.Equal(t, 1, n)
}
