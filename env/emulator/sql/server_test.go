package sql

import (
	"context"
	"crypto/tls"
	"database/sql"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/emulator/pki"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/require"
)

// fixture is one emulated cloud's SQL endpoint with a server "srv1", a
// database "db1", an Entra admin and a VM identity without a user yet.
type fixture struct {
	t     testing.TB
	cloud cloud.Profile
	srv   *Server
	iss   *entra.Issuer
	dir   *directory.Directory
	ca    *pki.CA
	addr  string
	admin directory.Principal
	vm    directory.Principal
}

var (
	sharedOnce sync.Once
	sharedCA   *pki.CA
)

func newFixture(t testing.TB, cloudName string) *fixture {
	return newFixtureWith(t, cloudName, nil)
}

// newFixtureWith is newFixture with adjust changing the server before it
// serves (nil: nothing).
func newFixtureWith(t testing.TB, cloudName string, adjust func(*Server)) *fixture {
	sharedOnce.Do(func() {
		var err error
		if sharedCA, err = pki.LoadOrCreateCA(""); err != nil {
			panic(err)
		}
	})
	c := cloud.MustLookup(cloudName)
	dir := directory.New(directory.NewGUID())
	iss := entra.NewIssuer(c, dir, entratest.Key())
	leaf, err := sharedCA.Leaf(c.HostPatterns())
	require.NoError(t, err)
	f := &fixture{t: t, cloud: c, iss: iss, dir: dir, ca: sharedCA}
	f.srv = New(c, iss, dir, leaf)
	f.srv.ErrorLog = t.Logf
	if adjust != nil {
		adjust(f.srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f.addr = ln.Addr().String()
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })

	f.admin = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "operator", Kind: directory.Application}
	f.vm = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "myVM", Kind: directory.SystemAssigned, ResourceID: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/myVM"}
	dir.Add(f.admin)
	dir.Add(f.vm)
	require.NoError(t, f.srv.PutServer("srv1"))
	require.NoError(t, f.srv.PutDatabase("srv1", "db1"))
	require.NoError(t, f.srv.SetAdmin("srv1", &Admin{Login: "operator", SID: f.admin.ObjectID, TenantID: dir.TenantID}))
	return f
}

func (f *fixture) token(p directory.Principal, resource string) string {
	tok, err := f.iss.ManagedIdentityToken(p, resource, "")
	require.NoError(f.t, err)
	return tok.Raw
}

// dialerFunc is a go-mssqldb HostDialer: the host name reaches the dialer
// unresolved, as it must for names only the emulator knows.
type dialerFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (d dialerFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

func (d dialerFunc) HostName() string { return "" }

// open connects as go-mssqldb would to {server}.database.{suffix}:1433,
// dialed to the fixture's listener. flow is "token" (SECURITYTOKEN) or
// "msi" (the FEDAUTHINFO round trip).
func (f *fixture) open(server, database, encrypt, flow string, tok func(spn string) string) *sql.DB {
	host := server + "." + f.cloud.SQLSuffix
	cfg, err := msdsn.Parse("sqlserver://" + host + "?database=" + database + "&encrypt=" + encrypt + "&dial+timeout=5&connection+timeout=10")
	require.NoError(f.t, err)
	cfg.TLSConfig = &tls.Config{RootCAs: f.ca.Pool(), ServerName: host, MinVersion: tls.VersionTLS12}
	var conn *mssql.Connector
	switch flow {
	case "token":
		conn, err = mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return tok(""), nil })
	case "msi":
		conn, err = mssql.NewActiveDirectoryTokenConnector(cfg, mssql.FedAuthADALWorkflowMSI, func(_ context.Context, spn, _ string) (string, error) { return tok(spn), nil })
	}
	require.NoError(f.t, err)
	conn.Dialer = dialerFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		require.Equal(f.t, host+":1433", addr)
		var d net.Dialer
		return d.DialContext(ctx, network, f.addr)
	})
	db := sql.OpenDB(conn)
	f.t.Cleanup(func() { db.Close() })
	return db
}

func (f *fixture) asAdmin(encrypt string) *sql.DB {
	return f.open("srv1", "db1", encrypt, "token", func(string) string { return f.token(f.admin, f.cloud.SQLResource) })
}

func (f *fixture) asVM(flow string) *sql.DB {
	return f.open("srv1", "db1", "true", flow, func(spn string) string {
		if spn == "" {
			spn = f.cloud.SQLResource
		}
		return f.token(f.vm, spn)
	})
}

func TestTutorialEndToEnd(t *testing.T) {
	for _, c := range cloud.Names() {
		t.Run(c, func(t *testing.T) {
			f := newFixture(t, c)
			admin := f.asAdmin("true")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := admin.ExecContext(ctx, `CREATE TABLE [dbo].[Customers] (Id INT IDENTITY(1,1) PRIMARY KEY, Name NVARCHAR(100) NOT NULL, Balance DECIMAL(10,2), Joined DATETIME2, Note NVARCHAR(MAX));
				INSERT INTO dbo.Customers (Name, Balance, Joined, Note) VALUES (N'Contoso', 12.5, '2024-01-02 03:04:05', NULL), (N'Fabrikam', -3.25, '2023-12-31 23:59:59.1234567', N'long');`)
			require.NoError(t, err)

			// Before CREATE USER the VM cannot log in.
			err = f.asVM("token").PingContext(ctx)
			require.Error(t, err)
			require.Contains(t, err.Error(), "Login failed for user '<token-identified principal>'.")

			_, err = admin.ExecContext(ctx, "CREATE USER [myVM] FROM EXTERNAL PROVIDER")
			require.NoError(t, err)

			// A user without db_datareader gets 229.
			vm := f.asVM("token")
			_, err = vm.QueryContext(ctx, "SELECT * FROM Customers")
			require.Error(t, err)
			var me mssql.Error
			require.ErrorAs(t, err, &me)
			require.EqualValues(t, 229, me.Number)
			require.Equal(t, "The SELECT permission was denied on the object 'Customers', database 'db1', schema 'dbo'.", me.Message)

			_, err = admin.ExecContext(ctx, "ALTER ROLE db_datareader ADD MEMBER [myVM]")
			require.NoError(t, err)

			for _, flow := range []string{"token", "msi"} {
				rows, err := f.asVM(flow).QueryContext(ctx, "SELECT * from Customers;")
				require.NoError(t, err, flow)
				type row struct {
					id      int64
					name    string
					balance string
					joined  time.Time
					note    sql.NullString
				}
				var got []row
				for rows.Next() {
					var r row
					require.NoError(t, rows.Scan(&r.id, &r.name, &r.balance, &r.joined, &r.note))
					got = append(got, r)
				}
				require.NoError(t, rows.Err())
				require.Len(t, got, 2)
				require.Equal(t, row{1, "Contoso", "12.50", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), sql.NullString{}}, got[0])
				require.Equal(t, "Fabrikam", got[1].name)
				require.Equal(t, "-3.25", got[1].balance)
				require.Equal(t, 123456700, got[1].joined.Nanosecond())
				require.Equal(t, sql.NullString{String: "long", Valid: true}, got[1].note)
			}
		})
	}
}
