package emulator_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/wine/winetest"
)

// fill makes a service's state log refuse every write as a full disk does
// (ENOSPC after half the record), until free is called.
func fill(h *harness, log string) (free func()) {
	var full atomic.Bool
	full.Store(true)
	h.E.StateLog(log).InjectWriteFault(func() error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	})
	return func() { full.Store(false) }
}

// assertDiskFull checks Resource Manager's answer to a write refused for a
// full disk: its error shape, the cause named, what to do.
func assertDiskFull(t *testing.T, r reply, what string) {
	t.Helper()
	assert.Equal(t, 500, r.code, "%s: %s", what, r.raw)
	assert.Equal(t, "InternalServerError", r.errCode(), what)
	assert.Contains(t, r.errMessage(), "the emulator's state directory is full", what)
	assert.Contains(t, r.errMessage(), "no space left on device", what)
	assert.Contains(t, r.errMessage(), "retry once the disk has space", what)
}

// TestFullDiskResourceManager: while Resource Manager's log refuses
// writes, group and resource PUTs and DELETEs answer 500 naming the cause
// and change nothing; once there is space they succeed without a restart,
// and a restart finds exactly what was acknowledged.
func TestFullDiskResourceManager(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	kept := h.rg("kept-rg")
	require.Equal(t, 201, h.op("PUT", kept+"?api-version=2021-04-01", map[string]any{"location": "westus2", "tags": map[string]string{"v": "1"}}).code)
	uai := kept + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kept-id"
	require.Equal(t, 201, h.op("PUT", uai+"?api-version=2023-01-31", map[string]any{"location": "westus2"}).code)
	newGroup := h.rg("new-rg")
	newUAI := kept + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/new-id"

	free := fill(h, "arm")
	assertDiskFull(t, h.op("PUT", newGroup+"?api-version=2021-04-01", map[string]any{"location": "westus2"}), "PUT group")
	assertDiskFull(t, h.op("PATCH", kept+"?api-version=2021-04-01", map[string]any{"tags": map[string]string{"v": "2"}}), "PATCH group")
	assertDiskFull(t, h.op("PUT", newUAI+"?api-version=2023-01-31", map[string]any{"location": "westus2"}), "PUT identity")
	assertDiskFull(t, h.op("DELETE", uai+"?api-version=2023-01-31", nil), "DELETE identity")
	assertDiskFull(t, h.op("DELETE", kept+"?api-version=2021-04-01", nil), "DELETE group")
	// Nothing refused is served.
	assert.Equal(t, 404, h.op("GET", newGroup+"?api-version=2021-04-01", nil).code)
	assert.Equal(t, 404, h.op("GET", newUAI+"?api-version=2023-01-31", nil).code)
	_, ok := h.E.Dir.ByResourceID(newUAI)
	assert.False(t, ok, "the refused identity's principal went with it")
	r := h.op("GET", kept+"?api-version=2021-04-01", nil)
	assert.Equal(t, "1", str(r.body, "tags", "v"))
	r = h.op("GET", uai+"?api-version=2023-01-31", nil)
	require.Equal(t, 200, r.code)
	principal := str(r.body, "properties", "principalId")
	_, ok = h.E.Dir.ByObjectID(principal)
	assert.True(t, ok, "the identity whose delete was refused keeps its principal")
	assert.NoError(t, h.E.StateLog("arm").Err(), "the log goes on")

	free()
	require.Equal(t, 201, h.op("PUT", newGroup+"?api-version=2021-04-01", map[string]any{"location": "westus2"}).code)
	require.Equal(t, 200, h.op("PATCH", kept+"?api-version=2021-04-01", map[string]any{"tags": map[string]string{"v": "2"}}).code)
	require.Equal(t, 201, h.op("PUT", newUAI+"?api-version=2023-01-31", map[string]any{"location": "westus2"}).code)
	require.Equal(t, 200, h.op("DELETE", uai+"?api-version=2023-01-31", nil).code)
	stop()

	h, _ = startIn(t, dir)
	assert.Equal(t, 200, h.op("GET", newGroup+"?api-version=2021-04-01", nil).code)
	assert.Equal(t, "2", str(h.op("GET", kept+"?api-version=2021-04-01", nil).body, "tags", "v"))
	assert.Equal(t, 200, h.op("GET", newUAI+"?api-version=2023-01-31", nil).code)
	assert.Equal(t, 404, h.op("GET", uai+"?api-version=2023-01-31", nil).code)
	_, ok = h.E.Dir.ByObjectID(principal)
	assert.False(t, ok, "the deleted identity's principal is gone")
}

// TestFullDiskDirectory: an identity whose principal the directory's log
// refuses is not created (not in Resource Manager either); once there is
// space it is.
func TestFullDiskDirectory(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	g := h.rg("id-rg")
	require.Equal(t, 201, h.op("PUT", g+"?api-version=2021-04-01", map[string]any{"location": "westus2"}).code)
	uai := g + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/refused"
	free := fill(h, "directory")
	assertDiskFull(t, h.op("PUT", uai+"?api-version=2023-01-31", map[string]any{"location": "westus2"}), "PUT identity")
	assert.Equal(t, 404, h.op("GET", uai+"?api-version=2023-01-31", nil).code)
	_, ok := h.E.Dir.ByResourceID(uai)
	assert.False(t, ok)
	free()
	r := h.op("PUT", uai+"?api-version=2023-01-31", map[string]any{"location": "westus2"})
	require.Equal(t, 201, r.code, "%s", r.raw)
	stop()
	h, _ = startIn(t, dir)
	p, ok := h.E.Dir.ByResourceID(uai)
	require.True(t, ok)
	assert.Equal(t, str(r.body, "properties", "principalId"), p.ObjectID)
}

// TestFullDiskRoleAssignments: role assignment PUT and DELETE while the
// role assignments' log refuses writes: 500 naming the cause, the refused
// assignment neither listed nor enforced, the refused delete still in
// force; after space is freed both work, and a restart agrees.
func TestFullDiskRoleAssignments(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	g := h.rg("rbac-rg")
	require.Equal(t, 201, h.op("PUT", g+"?api-version=2021-04-01", map[string]any{"location": "westus2"}).code)
	reader := h.newApp("reader-app")
	writer := h.newApp("writer-app")
	kept := h.assignRole(reader.ObjectID, readerRole, g)
	path := func(name string) string {
		return g + "/providers/Microsoft.Authorization/roleAssignments/" + name + "?api-version=2022-04-01"
	}
	body := map[string]any{"properties": map[string]any{"roleDefinitionId": h.sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRole, "principalId": writer.ObjectID, "principalType": "ServicePrincipal"}}
	refused := directory.NewGUID()
	readAs := func(p directory.Principal) int {
		return h.arm("GET", g+"?api-version=2021-04-01", h.appToken(p, h.E.Cloud.ARMResource), nil).code
	}

	// A group whose assignment's removal the log will refuse.
	doomed := h.rg("doomed-rg")
	require.Equal(t, 201, h.op("PUT", doomed+"?api-version=2021-04-01", map[string]any{"location": "westus2"}).code)
	h.assignRole(writer.ObjectID, readerRole, doomed)

	free := fill(h, "rbac")
	assertDiskFull(t, h.op("PUT", path(refused), body), "PUT assignment")
	// The group's delete succeeds (its record is Resource Manager's); its
	// assignment stays until a group of that name is created, which
	// needs the log, then clears it.
	require.Equal(t, 202, h.op("DELETE", doomed+"?api-version=2021-04-01", nil).code)
	assert.Equal(t, 404, h.op("GET", doomed+"?api-version=2021-04-01", nil).code)
	assertDiskFull(t, h.op("PUT", doomed+"?api-version=2021-04-01", map[string]any{"location": "westus2"}), "PUT group over a stale assignment")
	assertDiskFull(t, h.op("DELETE", path(kept), nil), "DELETE assignment")
	assert.Equal(t, 404, h.op("GET", path(refused), nil).code)
	assert.Equal(t, 403, readAs(writer), "a refused assignment grants nothing")
	assert.Equal(t, 200, h.op("GET", path(kept), nil).code)
	assert.Equal(t, 200, readAs(reader), "an assignment whose delete was refused still grants")

	free()
	require.Equal(t, 201, h.op("PUT", doomed+"?api-version=2021-04-01", map[string]any{"location": "westus2"}).code)
	for _, a := range h.op("GET", doomed+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", nil).value() {
		assert.NotEqual(t, strings.ToLower(doomed), strings.ToLower(str(a, "properties", "scope")), "the new group has no assignments of its own")
	}
	assert.Equal(t, 403, h.arm("GET", doomed+"?api-version=2021-04-01", h.appToken(writer, h.E.Cloud.ARMResource), nil).code)
	require.Equal(t, 201, h.op("PUT", path(refused), body).code)
	require.Equal(t, 200, h.op("DELETE", path(kept), nil).code)
	assert.Equal(t, 200, readAs(writer))
	assert.Equal(t, 403, readAs(reader))
	stop()

	h, _ = startIn(t, dir)
	assert.Equal(t, 200, h.op("GET", path(refused), nil).code)
	assert.Equal(t, 404, h.op("GET", path(kept), nil).code)
}

// sqlOn connects to a database of any logical server with a token.
func (h *harness) sqlOn(server, database, tok string) *sql.DB {
	h.t.Helper()
	host := server + "." + h.E.Cloud.SQLSuffix
	cfg, err := msdsn.Parse("sqlserver://" + host + "?database=" + database + "&encrypt=true")
	require.NoError(h.t, err)
	cfg.TLSConfig = &tls.Config{RootCAs: h.E.CA.Pool(), ServerName: host}
	conn, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return tok, nil })
	require.NoError(h.t, err)
	conn.Dialer = dialerFunc(h.E.DialContext)
	db := sql.OpenDB(conn)
	h.t.Cleanup(func() { db.Close() })
	return db
}

// assertSQLFull checks a T-SQL write refused for a full disk: error 1105
// naming the cause.
func assertSQLFull(t *testing.T, err error, what string) {
	t.Helper()
	var me mssql.Error
	require.ErrorAs(t, err, &me, what)
	assert.EqualValues(t, 1105, me.Number, what)
	assert.Contains(t, me.Message, "the emulator's state directory is full", what)
	assert.Contains(t, me.Message, "retry once the disk has space", what)
}

// sqlOnDisk is what the SQL full-disk tests share: a context for their
// logins, the operator's token for Azure SQL, the path servers go under,
// and the operator as a server's Entra admin.
func sqlOnDisk(t *testing.T, h *harness) (ctx context.Context, opTok, servers string, admin map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	admin = map[string]any{"administratorType": "ActiveDirectory", "login": h.E.Operator.DisplayName, "sid": h.E.Operator.ObjectID, "tenantId": h.E.TenantID()}
	return ctx, h.appToken(h.E.Operator, h.E.Cloud.SQLResource), h.rg(h.E.World.ResourceGroup) + "/providers/Microsoft.Sql/servers/", admin
}

// TestFullDiskSQL: SQL servers and databases created through Resource
// Manager on a full disk answer 500 naming the cause and do not exist
// (no login reaches them); T-SQL writes (CREATE USER, ALTER ROLE, DROP
// USER in the state log; INSERT in the database file) answer error 1105
// naming the cause and change nothing. Once there is space everything
// works without a restart, and a restart keeps what was acknowledged.
func TestFullDiskSQL(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	ctx, opTok, srv, admin := sqlOnDisk(t, h)
	server := map[string]any{"location": w.Location, "properties": map[string]any{"administrators": admin}}
	loginFails := func(server, db, tok string, number int32) {
		t.Helper()
		err := h.sqlOn(server, db, tok).PingContext(ctx)
		var me mssql.Error
		require.ErrorAs(t, err, &me)
		assert.EqualValues(t, number, me.Number, "%v", err)
	}

	// Resource Manager's log full: no server, no database.
	free := fill(h, "arm")
	assertDiskFull(t, h.op("PUT", srv+"refused-srv?api-version=2023-08-01", server), "PUT server")
	assert.Equal(t, 404, h.op("GET", srv+"refused-srv?api-version=2023-08-01", nil).code)
	loginFails("refused-srv", "master", opTok, 40532)
	assertDiskFull(t, h.op("PUT", srv+w.SQLServer+"/databases/refuseddb?api-version=2023-08-01", map[string]any{"location": w.Location}), "PUT database")
	assert.Equal(t, 404, h.op("GET", srv+w.SQLServer+"/databases/refuseddb?api-version=2023-08-01", nil).code)
	loginFails(w.SQLServer, "refuseddb", opTok, 4060)
	free()
	require.Equal(t, 202, h.op("PUT", srv+"refused-srv?api-version=2023-08-01", server).code)
	require.Equal(t, 202, h.op("PUT", srv+w.SQLServer+"/databases/refuseddb?api-version=2023-08-01", map[string]any{"location": w.Location}).code)
	require.NoError(t, h.sqlOn("refused-srv", "master", opTok).PingContext(ctx))
	require.NoError(t, h.sqlOn(w.SQLServer, "refuseddb", opTok).PingContext(ctx))

	// The users' log full: CREATE USER, ALTER ROLE and DROP USER change
	// nothing.
	db := h.sqlOn(w.SQLServer, w.SQLDatabase, opTok)
	app := h.newApp("sql-full-app")
	appDB := h.sqlOn(w.SQLServer, w.SQLDatabase, h.appToken(app, h.E.Cloud.SQLResource))
	insertAsApp := func() error {
		_, err := appDB.ExecContext(ctx, "INSERT INTO dbo."+w.SQLTable+" (Name, Quantity) VALUES (N'by the app', 1)")
		return err
	}
	number := func(err error) int32 {
		var me mssql.Error
		if assert.ErrorAs(t, err, &me) {
			return me.Number
		}
		return 0
	}
	free = fill(h, "sql")
	_, err := db.ExecContext(ctx, "CREATE USER [sql-full-app] FROM EXTERNAL PROVIDER")
	assertSQLFull(t, err, "CREATE USER")
	loginFails(w.SQLServer, w.SQLDatabase, h.appToken(app, h.E.Cloud.SQLResource), 18456)
	free()
	_, err = db.ExecContext(ctx, "CREATE USER [sql-full-app] FROM EXTERNAL PROVIDER")
	require.NoError(t, err, "the refused CREATE USER left nothing behind")
	assert.EqualValues(t, 229, number(insertAsApp()), "no db_datawriter yet")
	free = fill(h, "sql")
	_, err = db.ExecContext(ctx, "ALTER ROLE db_datawriter ADD MEMBER [sql-full-app]")
	assertSQLFull(t, err, "ALTER ROLE")
	assert.EqualValues(t, 229, number(insertAsApp()), "the refused role membership grants nothing")
	_, err = db.ExecContext(ctx, "DROP USER [sql-full-app]")
	assertSQLFull(t, err, "DROP USER")
	require.NoError(t, appDB.PingContext(ctx), "the user whose drop was refused still signs in")
	free()
	_, err = db.ExecContext(ctx, "ALTER ROLE db_datawriter ADD MEMBER [sql-full-app]")
	require.NoError(t, err)
	require.NoError(t, insertAsApp())

	// The database file full: an INSERT that needs a new page is refused
	// and leaves no row.
	_, err = db.ExecContext(ctx, "CREATE TABLE dbo.Notes (Id INT IDENTITY(1,1) PRIMARY KEY, Body NVARCHAR(MAX) NOT NULL)")
	require.NoError(t, err)
	big := strings.Repeat("a page or more of text ", 2000)
	require.NoError(t, h.E.SQL.InjectFull(w.SQLServer, w.SQLDatabase, true))
	_, err = db.ExecContext(ctx, "INSERT INTO dbo.Notes (Body) VALUES (@p1)", big)
	assertSQLFull(t, err, "INSERT")
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM dbo.Notes").Scan(&n))
	assert.Equal(t, 0, n)
	// In a transaction: SQLite rolls the whole transaction back, so the
	// session ends it as SQL Server ends a doomed one; its COMMIT fails
	// and nothing of it is stored.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "INSERT INTO dbo.Notes (Body) VALUES (N'small, in the transaction')")
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "INSERT INTO dbo.Notes (Body) VALUES (@p1)", big)
	assertSQLFull(t, err, "INSERT in a transaction")
	assert.Contains(t, err.Error(), "The transaction was rolled back")
	// The transaction no longer holds the database: another session reads
	// at once instead of waiting out the lock timeout.
	other := h.sqlOn(w.SQLServer, w.SQLDatabase, opTok)
	short, cancelShort := context.WithTimeout(ctx, 10*time.Second)
	defer cancelShort()
	require.NoError(t, other.QueryRowContext(short, "SELECT COUNT(*) FROM dbo.Notes").Scan(&n))
	assert.Equal(t, 0, n)
	// go-mssqldb saw the ENVCHANGE rollback and says so itself.
	cerr := tx.Commit()
	require.Error(t, cerr, "the doomed transaction does not commit")
	assert.Contains(t, cerr.Error(), "the transaction was aborted by the server")
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM dbo.Notes").Scan(&n))
	assert.Equal(t, 0, n)
	require.NoError(t, h.E.SQL.InjectFull(w.SQLServer, w.SQLDatabase, false))
	_, err = db.ExecContext(ctx, "INSERT INTO dbo.Notes (Body) VALUES (@p1)", big)
	require.NoError(t, err)
	stop()

	h, _ = startIn(t, dir)
	opTok = h.appToken(h.E.Operator, h.E.Cloud.SQLResource)
	require.NoError(t, h.sqlOn("refused-srv", "master", opTok).PingContext(ctx))
	require.NoError(t, h.sqlOn(w.SQLServer, "refuseddb", opTok).PingContext(ctx))
	db = h.sqlOn(w.SQLServer, w.SQLDatabase, opTok)
	var body string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(Body) FROM dbo.Notes").Scan(&n, &body))
	assert.Equal(t, 1, n)
	assert.Equal(t, big, body)
	appDB = h.sqlOn(w.SQLServer, w.SQLDatabase, h.appToken(app, h.E.Cloud.SQLResource))
	assert.NoError(t, insertAsApp(), "the user and its role survived the restart")
}

// failNth makes the n-th write to a service's log from now on refused for
// a full disk, and only that one.
func failNth(h *harness, log string, n int) {
	var writes atomic.Int32
	h.E.StateLog(log).InjectWriteFault(func() error {
		if int(writes.Add(1)) == n {
			return syscall.ENOSPC
		}
		return nil
	})
}

// TestFullDiskMidServerCreate: a server created with its Entra admin, or
// an admin and tags set on a server at once, is one change: whichever of
// Resource Manager's writes the disk refuses, a 500 that says nothing was
// changed means nothing was (no server, no admin, no login), and a success
// means all of it is there, then and after a restart.
func TestFullDiskMidServerCreate(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	ctx, opTok, srv, admin := sqlOnDisk(t, h)
	created := map[string]bool{}
	for n := 1; n <= 3; n++ {
		name := fmt.Sprintf("mid-create-%d", n)
		failNth(h, "arm", n)
		r := h.op("PUT", srv+name+"?api-version=2023-08-01", map[string]any{"location": w.Location, "properties": map[string]any{"administrators": admin}})
		h.E.StateLog("arm").InjectWriteFault(nil)
		get := h.op("GET", srv+name+"?api-version=2023-08-01", nil).code
		getAdmin := h.op("GET", srv+name+"/administrators/ActiveDirectory?api-version=2023-08-01", nil).code
		if r.code == 500 {
			assert.Contains(t, r.errMessage(), "Nothing was changed", "write %d", n)
			assert.Equal(t, 404, get, "write %d refused: the server is not there", n)
			assert.Equal(t, 404, getAdmin, "write %d refused: the admin is not there", n)
			err := h.sqlOn(name, "master", opTok).PingContext(ctx)
			var me mssql.Error
			require.ErrorAs(t, err, &me, "write %d refused: no login reaches the server", n)
			assert.EqualValues(t, 40532, me.Number)
			continue
		}
		require.Equal(t, 202, r.code, "write %d: %s", n, r.raw)
		assert.Equal(t, 200, get)
		assert.Equal(t, 200, getAdmin)
		require.NoError(t, h.sqlOn(name, "master", opTok).PingContext(ctx), "the admin signs in")
		created[name] = true
	}
	require.Contains(t, created, "mid-create-3", "a create whose writes all succeed is there whole")

	// An admin and tags on an existing server, the same way.
	plain := map[string]any{"location": w.Location, "properties": map[string]any{"administratorLogin": "sqladmin", "administratorLoginPassword": "Passw0rd!Passw0rd"}}
	require.Equal(t, 202, h.op("PUT", srv+"mid-update?api-version=2023-08-01", plain).code)
	for n := 1; n <= 2; n++ {
		failNth(h, "arm", n)
		r := h.op("PUT", srv+"mid-update?api-version=2023-08-01", map[string]any{"location": w.Location, "tags": map[string]string{"try": fmt.Sprint(n)}, "properties": map[string]any{"administrators": admin}})
		h.E.StateLog("arm").InjectWriteFault(nil)
		tags := h.op("GET", srv+"mid-update?api-version=2023-08-01", nil).body["tags"]
		getAdmin := h.op("GET", srv+"mid-update/administrators/ActiveDirectory?api-version=2023-08-01", nil).code
		if r.code == 500 {
			assert.Contains(t, r.errMessage(), "Nothing was changed", "write %d", n)
			assert.Nil(t, tags, "write %d refused: no tags", n)
			assert.Equal(t, 404, getAdmin, "write %d refused: no admin", n)
			continue
		}
		require.Equal(t, 200, r.code, "write %d: %s", n, r.raw)
		assert.Equal(t, map[string]any{"try": fmt.Sprint(n)}, tags)
		assert.Equal(t, 200, getAdmin)
		break
	}
	stop()

	h, _ = startIn(t, dir)
	for n := 1; n <= 3; n++ {
		name := fmt.Sprintf("mid-create-%d", n)
		want := 404
		if created[name] {
			want = 200
		}
		assert.Equal(t, want, h.op("GET", srv+name+"/administrators/ActiveDirectory?api-version=2023-08-01", nil).code, "%s after a restart", name)
		assert.Equal(t, want, h.op("GET", srv+name+"?api-version=2023-08-01", nil).code, "%s after a restart", name)
	}
}

// TestFullDiskVMIdentity: a VM identity change Resource Manager's log
// refuses changes nothing in the directory either: a refused disable keeps
// the principal the VM still names (IMDS still gives its token), a refused
// enable or create leaves no principal behind, and a refused create no
// disk. Once there is space the same requests work, and a restart agrees.
func TestFullDiskVMIdentity(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	vm := w.VMResourceID + "?api-version=2024-07-01"
	identity := func() (string, string) {
		r := h.op("GET", vm, nil)
		require.Equal(t, 200, r.code, "%s", r.raw)
		return str(r.body, "identity", "type"), str(r.body, "identity", "principalId")
	}
	typ, principal := identity()
	require.Contains(t, typ, "SystemAssigned")
	tokenQuery := url.Values{"api-version": {"2018-02-01"}, "resource": {h.E.Cloud.ARMResource}}

	free := fill(h, "arm")
	assertDiskFull(t, h.op("PATCH", vm, map[string]any{"identity": map[string]any{"type": "None"}}), "disabling the identity")
	free()
	typ, got := identity()
	assert.Contains(t, typ, "SystemAssigned")
	assert.Equal(t, principal, got)
	_, ok := h.E.Dir.ByObjectID(principal)
	assert.True(t, ok, "the refused disable kept the principal the VM names")
	assert.Equal(t, 200, h.imds("/metadata/identity/oauth2/token", tokenQuery).code, "the VM's identity still gets tokens")

	require.Equal(t, 200, h.op("PATCH", vm, map[string]any{"identity": map[string]any{"type": "None"}}).code)
	_, ok = h.E.Dir.ByObjectID(principal)
	require.False(t, ok, "a disable stored removes the principal")
	free = fill(h, "arm")
	assertDiskFull(t, h.op("PATCH", vm, map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}), "enabling the identity")
	assertDiskFull(t, h.op("PUT", vm, map[string]any{"location": w.Location, "identity": map[string]any{"type": "SystemAssigned"}}), "enabling it by PUT")
	newVM := h.rg(w.ResourceGroup) + "/providers/Microsoft.Compute/virtualMachines/refused-vm"
	assertDiskFull(t, h.op("PUT", newVM+"?api-version=2024-07-01", map[string]any{"location": w.Location, "identity": map[string]any{"type": "SystemAssigned"},
		"properties": map[string]any{"storageProfile": map[string]any{"osDisk": map[string]any{"createOption": "FromImage"}}}}), "creating a VM")
	free()
	typ, _ = identity()
	assert.Equal(t, "None", typ)
	for _, id := range []string{w.VMResourceID, newVM} {
		_, ok = h.E.Dir.ByResourceID(id)
		assert.False(t, ok, "no principal was left for %s", id)
	}
	assert.Equal(t, 404, h.op("GET", newVM+"?api-version=2024-07-01", nil).code)
	disks := h.op("GET", h.rg(w.ResourceGroup)+"/providers/Microsoft.Compute/disks?api-version=2024-03-02", nil)
	require.Equal(t, 200, disks.code, "%s", disks.raw)
	for _, d := range disks.value() {
		assert.NotContains(t, str(d, "name"), "refused-vm", "the refused VM's disk")
	}

	require.Equal(t, 200, h.op("PATCH", vm, map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}).code)
	_, principal = identity()
	assert.Equal(t, 200, h.imds("/metadata/identity/oauth2/token", tokenQuery).code)
	stop()

	h, _ = startIn(t, dir)
	_, ok = h.E.Dir.ByObjectID(principal)
	assert.True(t, ok, "the enabled identity's principal after a restart")
	for _, id := range []string{newVM} {
		_, ok = h.E.Dir.ByResourceID(id)
		assert.False(t, ok, "no principal for %s after a restart", id)
	}
	assert.Equal(t, 200, h.imds("/metadata/identity/oauth2/token", tokenQuery).code)
}

// TestFullDiskCleanupAfterDelete: a storage account or vault that Resource
// Manager deleted is gone even when the disk refuses the removal of its
// data: the DELETE answers as a delete (not a 500 saying nothing changed),
// nothing of it is reachable, and an account or vault created again under
// its name starts empty, then and after a restart. A create the disk
// refuses, in the data plane's log or Resource Manager's, leaves neither.
func TestFullDiskCleanupAfterDelete(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	acct := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount + "?api-version=2023-01-01"
	vault := h.rg(w.ResourceGroup) + "/providers/Microsoft.KeyVault/vaults/" + w.VaultName + "?api-version=2023-07-01"
	a := h.op("GET", acct, nil)
	require.Equal(t, 200, a.code)
	acctBody := map[string]any{"location": a.body["location"], "kind": a.body["kind"], "sku": map[string]any{"name": str(a.body, "sku", "name")}}
	v := h.op("GET", vault, nil)
	require.Equal(t, 200, v.code)
	vaultBody := map[string]any{"location": v.body["location"], "properties": map[string]any{"tenantId": h.E.TenantID(), "sku": map[string]any{"family": "A", "name": "standard"}, "enableRbacAuthorization": true}}
	require.Equal(t, 200, h.do("GET", h.secretURL(w.SecretName, ""), h.vaultHeader(), nil).code)
	_, err := h.E.Blob.Store.GetContainer(w.StorageAccount, w.Container)
	require.NoError(t, err)

	freeBlob, freeVault := fill(h, "blob"), fill(h, "keyvault")
	assert.Equal(t, 200, h.op("DELETE", acct, nil).code, "the account is deleted")
	assert.Equal(t, 200, h.op("DELETE", vault, nil).code, "the vault is deleted")
	assert.Equal(t, 404, h.op("GET", acct, nil).code)
	assert.Equal(t, 404, h.op("GET", vault, nil).code)
	_, ok := h.E.Blob.Account(w.StorageAccount)
	assert.False(t, ok, "the data plane has no account")
	assert.NotEqual(t, 200, h.do("GET", h.secretURL(w.SecretName, ""), h.vaultHeader(), nil).code, "the deleted vault's secret is not served")
	// Created again while the data planes' logs refuse: refused, leaving
	// nothing.
	assertDiskFull(t, h.op("PUT", acct, acctBody), "creating the account again")
	assert.Equal(t, 404, h.op("GET", acct, nil).code)
	freeBlob()
	freeArm := fill(h, "arm")
	assertDiskFull(t, h.op("PUT", acct, acctBody), "creating the account again, Resource Manager's log full")
	freeArm()
	_, ok = h.E.Blob.Account(w.StorageAccount)
	assert.False(t, ok, "a refused create leaves no account in the data plane")
	r := h.op("PUT", vault, vaultBody)
	assert.Equal(t, 500, r.code, "creating the vault again while its records cannot be dropped: %s", r.raw)
	assert.Equal(t, 404, h.op("GET", vault, nil).code)
	freeVault()

	empty := func(h *harness) {
		t.Helper()
		_, err := h.E.Blob.Store.GetContainer(w.StorageAccount, w.Container)
		assert.Error(t, err, "the old account's container is not in the new one")
		assert.Equal(t, 404, h.do("GET", h.secretURL(w.SecretName, ""), h.vaultHeader(), nil).code, "the old vault's secret is not in the new one")
	}
	require.Equal(t, 202, h.op("PUT", acct, acctBody).code)
	require.Equal(t, 200, h.op("PUT", vault, vaultBody).code)
	h.assignRole(h.E.Operator.ObjectID, "00482a5a-887f-4fb3-b363-3b7fe8e74483", strings.TrimSuffix(vault, "?api-version=2023-07-01")) // Key Vault Administrator
	empty(h)
	stop()

	h, _ = startIn(t, dir)
	assert.Equal(t, 200, h.op("GET", acct, nil).code)
	assert.Equal(t, 200, h.op("GET", vault, nil).code)
	empty(h)
}
