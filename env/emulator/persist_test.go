package emulator_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/wine/winetest"
)

// startIn starts an emulator on a given state dir; stop closes it.
func startIn(t *testing.T, dir string) (h *harness, stop func()) {
	t.Helper()
	require.NoError(t, entra.SeedSigningKey(dir, sharedKey(t)))
	e, err := emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir})
	require.NoError(t, err)
	require.NoError(t, e.Start())
	h = &harness{t: t, E: e, client: e.HTTPClient(), stateDir: dir}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			h.client.CloseIdleConnections()
			require.NoError(t, e.Close())
		}
	}
	t.Cleanup(stop)
	return h, stop
}

const blobContributorRole = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

// persistWorld is what the restart test writes before the restart.
type persistWorld struct {
	group, uai, uaiPrincipal, assignment string
	vmToken                              string
}

func (h *harness) blobURL(name string) string {
	w := h.E.World
	return "https://" + w.StorageAccount + ".blob." + h.E.Cloud.StorageSuffix + "/" + w.Container + "/" + url.PathEscape(name)
}

func (h *harness) blobHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + h.appToken(h.E.Operator, h.E.Cloud.StorageResource)}, "X-Ms-Version": {"2021-08-06"}, "X-Ms-Blob-Type": {"BlockBlob"}, "Content-Type": {"application/octet-stream"}}
}

func (h *harness) secretURL(name, query string) string {
	return "https://" + h.E.World.VaultName + "." + h.E.Cloud.VaultSuffix + "/secrets/" + name + "?api-version=7.5" + query
}

func (h *harness) vaultHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + h.appToken(h.E.Operator, h.E.Cloud.VaultResource)}}
}

// sqlDB connects to a seeded-world database with a token for Azure SQL.
func (h *harness) sqlDB(database, tok string) *sql.DB {
	h.t.Helper()
	return h.sqlOn(h.E.World.SQLServer, database, tok)
}

// TestRestartKeepsEverything writes to every service, restarts the
// emulator on the same state dir and finds all of it, with no second seed
// and the VM's token from before the restart still accepted.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Resource Manager: a group with tags, a user-assigned identity (a
	// directory principal) and a role assignment for it.
	var pw persistWorld
	pw.group = h.rg("persisted-rg")
	r := h.op("PUT", pw.group+"?api-version=2021-04-01", map[string]any{"location": "westus2", "tags": map[string]string{"kept": "yes"}})
	require.Equal(t, 201, r.code, "%s", r.raw)
	pw.uai = pw.group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kept-identity"
	r = h.op("PUT", pw.uai+"?api-version=2023-01-31", map[string]any{"location": "westus2"})
	require.Equal(t, 201, r.code, "%s", r.raw)
	pw.uaiPrincipal = str(r.body, "properties", "principalId")
	pw.assignment = h.assignRole(pw.uaiPrincipal, readerRole, pw.group)
	// A group and its resources deleted before the restart stay deleted.
	gone := h.rg("deleted-rg")
	require.Equal(t, 201, h.op("PUT", gone+"?api-version=2021-04-01", map[string]any{"location": "westus2"}).code)
	require.Equal(t, 201, h.op("PUT", gone+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gone?api-version=2023-01-31", map[string]any{"location": "westus2"}).code)
	require.Equal(t, 202, h.op("DELETE", gone+"?api-version=2021-04-01", nil).code)

	// Blob: the operator gets data access, puts a blob, stages a block.
	account := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount
	h.assignRole(h.E.Operator.ObjectID, blobContributorRole, account)
	keysBefore := h.op("POST", account+"/listKeys?api-version=2023-01-01", nil)
	require.Equal(t, 200, keysBefore.code, "%s", keysBefore.raw)
	data := []byte(strings.Repeat("persisted blob ", 5000))
	r = h.do("PUT", h.blobURL("dir/kept.bin"), h.blobHeader(), string(data))
	require.Equal(t, 201, r.code, "%s", r.raw)
	etag := r.header.Get("ETag")
	r = h.do("PUT", h.blobURL("staged.bin")+"?comp=block&blockid=YmxvY2sx", h.blobHeader(), "staged block")
	require.Equal(t, 201, r.code, "%s", r.raw)

	// Key Vault: two versions of a secret, one soft-deleted secret, and a
	// backup taken before the restart.
	require.Equal(t, 200, h.do("PUT", h.secretURL("kept", ""), h.vaultHeader(), `{"value":"v1"}`).code)
	r = h.do("PUT", h.secretURL("kept", ""), h.vaultHeader(), `{"value":"v2"}`)
	require.Equal(t, 200, r.code)
	require.Equal(t, 200, h.do("PUT", h.secretURL("binned", ""), h.vaultHeader(), `{"value":"x"}`).code)
	require.Equal(t, 200, h.do("DELETE", h.secretURL("binned", ""), h.vaultHeader(), nil).code)
	r = h.do("POST", h.secretURL("kept/backup", ""), h.vaultHeader(), nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	backup := str(r.body, "value")

	// SQL: a new row and a new contained user with a role.
	db := h.sqlDB(w.SQLDatabase, h.appToken(h.E.Operator, h.E.Cloud.SQLResource))
	_, err := db.ExecContext(ctx, "INSERT INTO dbo."+w.SQLTable+" (Name, Quantity) VALUES (N'persisted', 7)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "CREATE USER [kept-identity] FROM EXTERNAL PROVIDER")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "ALTER ROLE db_datawriter ADD MEMBER [kept-identity]")
	require.NoError(t, err)
	db.Close()

	// The VM's token from IMDS, issued before the restart.
	r = h.imds("/metadata/identity/oauth2/token", url.Values{"api-version": {"2018-02-01"}, "resource": {h.E.Cloud.ARMResource}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	pw.vmToken = str(r.body, "access_token")
	assignmentsBefore := h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", nil)
	require.Equal(t, 200, assignmentsBefore.code)
	principalsBefore := len(h.E.Dir.List())
	tenant, sub := h.E.TenantID(), h.E.SubscriptionID()
	stop()

	h, _ = startIn(t, dir)
	assert.Equal(t, w, h.E.World, "the world is reloaded, not seeded again")
	assert.Equal(t, tenant, h.E.TenantID())
	assert.Equal(t, sub, h.E.SubscriptionID())
	assert.Len(t, h.E.Dir.List(), principalsBefore)

	// The token from before the restart reads the VM's group.
	r = h.arm("GET", h.rg(w.ResourceGroup)+"?api-version=2021-04-01", pw.vmToken, nil)
	assert.Equal(t, 200, r.code, "%s", r.raw)

	r = h.op("GET", pw.group+"?api-version=2021-04-01", nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, "yes", str(r.body, "tags", "kept"))
	r = h.op("GET", pw.uai+"?api-version=2023-01-31", nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, pw.uaiPrincipal, str(r.body, "properties", "principalId"))
	_, ok := h.E.Dir.ByObjectID(pw.uaiPrincipal)
	assert.True(t, ok, "the identity's principal is in the directory")
	r = h.op("GET", pw.group+"/providers/Microsoft.Authorization/roleAssignments/"+pw.assignment+"?api-version=2022-04-01", nil)
	assert.Equal(t, 200, r.code, "%s", r.raw)
	r = h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", nil)
	assert.JSONEq(t, string(assignmentsBefore.raw), string(r.raw), "no assignment lost or added (the operator's Owner is not made twice)")
	assert.Equal(t, 404, h.op("GET", gone+"?api-version=2021-04-01", nil).code)

	keysAfter := h.op("POST", account+"/listKeys?api-version=2023-01-01", nil)
	assert.JSONEq(t, string(keysBefore.raw), string(keysAfter.raw), "account keys survive")
	r = h.do("GET", h.blobURL("dir/kept.bin"), h.blobHeader(), nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, data, r.raw)
	assert.Equal(t, etag, r.header.Get("ETag"))
	r = h.do("GET", h.blobURL(w.Blob), h.blobHeader(), nil)
	assert.Equal(t, 200, r.code, "the seeded blob is still there")
	r = h.do("PUT", h.blobURL("staged.bin")+"?comp=blocklist", h.blobHeader(), `<?xml version="1.0" encoding="utf-8"?><BlockList><Uncommitted>YmxvY2sx</Uncommitted></BlockList>`)
	require.Equal(t, 201, r.code, "the block staged before the restart commits: %s", r.raw)
	r = h.do("GET", h.blobURL("staged.bin"), h.blobHeader(), nil)
	assert.Equal(t, "staged block", string(r.raw))

	r = h.do("GET", h.secretURL("kept", ""), h.vaultHeader(), nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, "v2", str(r.body, "value"))
	r = h.do("GET", h.secretURL("kept/versions", ""), h.vaultHeader(), nil)
	assert.Len(t, r.value(), 2)
	r = h.do("GET", "https://"+w.VaultName+"."+h.E.Cloud.VaultSuffix+"/deletedsecrets/binned?api-version=7.5", h.vaultHeader(), nil)
	assert.Equal(t, 200, r.code, "the soft-deleted secret is still recoverable: %s", r.raw)
	r = h.do("GET", h.secretURL(w.SecretName, ""), h.vaultHeader(), nil)
	assert.Equal(t, "My Secret", str(r.body, "value"))
	require.Equal(t, 200, h.op("PUT", h.rg(w.ResourceGroup)+"/providers/Microsoft.KeyVault/vaults/"+w.VaultName+"/accessPolicies/add?api-version=2023-07-01", map[string]any{
		"properties": map[string]any{"accessPolicies": []any{map[string]any{"tenantId": h.E.TenantID(), "objectId": h.E.Operator.ObjectID, "permissions": map[string]any{"secrets": []string{"purge"}}}}},
	}).code)
	require.Equal(t, 200, h.do("DELETE", h.secretURL("kept", ""), h.vaultHeader(), nil).code)
	require.Equal(t, 204, h.do("DELETE", "https://"+w.VaultName+"."+h.E.Cloud.VaultSuffix+"/deletedsecrets/kept?api-version=7.5", h.vaultHeader(), nil).code)
	r = h.do("POST", h.secretURL("restore", ""), h.vaultHeader(), map[string]string{"value": backup})
	assert.Equal(t, 200, r.code, "a backup from before the restart restores after it: %s", r.raw)

	db = h.sqlDB(w.SQLDatabase, h.appToken(h.E.Operator, h.E.Cloud.SQLResource))
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM dbo."+w.SQLTable).Scan(&n))
	assert.Equal(t, 4, n, "three seeded rows and the new one")
	_, err = db.ExecContext(ctx, "CREATE USER [kept-identity] FROM EXTERNAL PROVIDER")
	var me mssql.Error
	require.ErrorAs(t, err, &me)
	assert.EqualValues(t, 15023, me.Number, "the contained user survived the restart")
	// The identity signs in as its user and writes as db_datawriter.
	p, ok := h.E.Dir.ByObjectID(pw.uaiPrincipal)
	require.True(t, ok)
	tok, err := h.E.Issuer.ManagedIdentityToken(p, h.E.Cloud.SQLResource, "")
	require.NoError(t, err)
	_, err = h.sqlDB(w.SQLDatabase, tok.Raw).ExecContext(ctx, "INSERT INTO dbo."+w.SQLTable+" (Name, Quantity) VALUES (N'by the identity', 1)")
	assert.NoError(t, err, "the role membership survived the restart")
}

// TestUnfinishedFirstStartSeedsAgain: logs without world.json but with the
// seeding marker are a first start that crashed during its seed; the next
// start seeds from scratch.
func TestUnfinishedFirstStartSeedsAgain(t *testing.T) {
	t.Parallel()
	winetest.SkipUnderWine(t, "os.RemoveAll of a non-empty directory (FileDispositionInformationEx), which the restart does to the unfinished logs")
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	sub := h.E.SubscriptionID()
	assignments := len(h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", nil).value())
	stop()
	_, err := os.Stat(filepath.Join(dir, "seeding"))
	require.ErrorIs(t, err, os.ErrNotExist, "the marker goes once world.json is written")
	require.NoError(t, os.Remove(filepath.Join(dir, "world.json")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "seeding"), nil, 0o600))
	h, _ = startIn(t, dir)
	assert.Equal(t, sub, h.E.SubscriptionID())
	assert.NotEmpty(t, h.E.World.VMResourceID)
	r := h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", nil)
	require.Equal(t, 200, r.code)
	assert.Len(t, r.value(), assignments, "the seed's assignments, once each")
}

// BenchmarkDurableWrites is the cost of --state-dir on writes: a Resource
// Manager PUT of a resource group, a 4 KiB Put Blob and a Set Secret, each
// answered once fsynced, against the same with everything in memory; run
// serially (one fsync each) and from 16 clients (fsyncs shared).
func BenchmarkDurableWrites(b *testing.B) {
	for _, mode := range []string{"memory", "state-dir"} {
		dir := ""
		if mode == "state-dir" {
			dir = b.TempDir()
		}
		e, err := emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir})
		require.NoError(b, err)
		require.NoError(b, e.Start())
		h := &harness{t: b, E: e, client: e.HTTPClient()}
		w := e.World
		h.assignRole(e.Operator.ObjectID, blobContributorRole, h.rg(w.ResourceGroup)+"/providers/Microsoft.Storage/storageAccounts/"+w.StorageAccount)
		armHdr := http.Header{"Authorization": {"Bearer " + h.operatorToken()}, "Content-Type": {"application/json"}}
		blobHdr, vaultHdr := h.blobHeader(), h.vaultHeader()
		vaultHdr.Set("Content-Type", "application/json")
		data := bytes.Repeat([]byte("x"), 4<<10)
		ops := map[string]func(i int64) (int, error){
			"ARMPutGroup": func(i int64) (int, error) {
				code, _, err := h.send("PUT", fmt.Sprintf("https://%s%s?api-version=2021-04-01", e.Cloud.ARMHost, h.rg(fmt.Sprint("bench-", i%64))), armHdr, []byte(`{"location":"westus2"}`))
				return code, err
			},
			"PutBlob4KiB": func(i int64) (int, error) {
				code, _, err := h.send("PUT", h.blobURL(fmt.Sprint("bench-", i%64)), blobHdr, data)
				return code, err
			},
			"SetSecret": func(i int64) (int, error) {
				code, _, err := h.send("PUT", h.secretURL(fmt.Sprint("bench-", i%64), ""), vaultHdr, []byte(`{"value":"v"}`))
				return code, err
			},
		}
		for _, name := range []string{"ARMPutGroup", "PutBlob4KiB", "SetSecret"} {
			op := ops[name]
			check := func(code int, err error) {
				if err != nil || code >= 300 {
					b.Fatalf("%s: %d %v", name, code, err)
				}
			}
			b.Run(mode+"/"+name+"/serial", func(b *testing.B) {
				var i int64
				for b.Loop() {
					i++
					check(op(i))
				}
			})
			b.Run(mode+"/"+name+"/parallel16", func(b *testing.B) {
				var n atomic.Int64
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						check(op(n.Add(1)))
					}
				})
			})
		}
		h.client.CloseIdleConnections()
		e.Close()
	}
}

// TestRestartKeepsDeletes: what was deleted before a restart stays deleted
// (a blob, a container through Resource Manager, a purged secret, a SQL
// database and its file), and a blob's committed blocks can be reused by
// Put Block List after it.
func TestRestartKeepsDeletes(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	account := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount
	h.assignRole(h.E.Operator.ObjectID, blobContributorRole, account)
	for _, blk := range []string{"YQ==", "Yg=="} {
		require.Equal(t, 201, h.do("PUT", h.blobURL("blocks.txt")+"?comp=block&blockid="+url.QueryEscape(blk), h.blobHeader(), "<"+blk+">").code)
	}
	r := h.do("PUT", h.blobURL("blocks.txt")+"?comp=blocklist", h.blobHeader(), `<BlockList><Latest>YQ==</Latest><Latest>Yg==</Latest></BlockList>`)
	require.Equal(t, 201, r.code, "%s", r.raw)
	require.Equal(t, 201, h.do("PUT", h.blobURL("deleted.txt"), h.blobHeader(), "bye").code)
	require.Equal(t, 202, h.do("DELETE", h.blobURL("deleted.txt"), h.blobHeader(), nil).code)
	cont := account + "/blobServices/default/containers/dropped"
	require.Equal(t, 201, h.op("PUT", cont+"?api-version=2023-01-01", map[string]any{"properties": map[string]any{}}).code)
	require.Equal(t, 200, h.op("DELETE", cont+"?api-version=2023-01-01", nil).code)
	srv := h.rg(w.ResourceGroup) + "/providers/Microsoft.Sql/servers/" + w.SQLServer
	require.Equal(t, 202, h.op("PUT", srv+"/databases/dropped?api-version=2023-08-01", map[string]any{"location": w.Location}).code)
	files, _ := filepath.Glob(filepath.Join(dir, "sql", "*", "dropped.sqlite*"))
	require.NotEmpty(t, files)
	// Microsoft.Sql drops in the background: 202 (arm/testdata/sql_delete.json).
	require.Equal(t, 202, h.op("DELETE", srv+"/databases/dropped?api-version=2023-08-01", nil).code)
	stop()

	h, _ = startIn(t, dir)
	files, _ = filepath.Glob(filepath.Join(dir, "sql", "*", "dropped.sqlite*"))
	assert.Empty(t, files)
	assert.Equal(t, 404, h.op("GET", srv+"/databases/dropped?api-version=2023-08-01", nil).code)
	assert.Equal(t, 404, h.do("GET", h.blobURL("deleted.txt"), h.blobHeader(), nil).code)
	assert.Equal(t, 404, h.op("GET", cont+"?api-version=2023-01-01", nil).code)
	// Committed blocks after the restart: keep the second, drop the first.
	r = h.do("PUT", h.blobURL("blocks.txt")+"?comp=blocklist", h.blobHeader(), `<BlockList><Committed>Yg==</Committed></BlockList>`)
	require.Equal(t, 201, r.code, "%s", r.raw)
	assert.Equal(t, "<Yg==>", string(h.do("GET", h.blobURL("blocks.txt"), h.blobHeader(), nil).raw))
}
