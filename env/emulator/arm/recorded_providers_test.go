package arm_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
)

// Tests of the operations the Storage, Key Vault and SQL providers serve
// through Resource Manager, each replaying what a recording (testdata/*.json,
// which names its repository and path) shows a client sending and comparing
// the emulator's status, headers and body shape with Azure's.

// strs reads a list of strings from an excerpt.
func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestSQLListsAndDeletesAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 15})
	rec := recording(t, "sql_delete.json")
	const serverAPI, dbAPI = "2021-02-01-preview", "2022-05-01-preview"
	srv := w.rg() + "/providers/Microsoft.Sql/servers/deleted-sql-" + strings.ToLower(w.e.SubscriptionID()[:8])
	// As the recorded test made them: tags {} on both.
	require.Equal(t, 202, w.call("PUT", srv+"?api-version="+serverAPI, map[string]any{"tags": map[string]any{}, "location": "eastus2euap",
		"properties": map[string]any{"administratorLogin": "admin-sql", "administratorLoginPassword": "HvVJ%paVC@%GBKmi"}}).status)
	require.Equal(t, 202, w.call("PUT", srv+"/databases/recorded-db?api-version="+dbAPI, map[string]any{"tags": map[string]any{}, "location": "eastus2euap"}).status)

	// The databases list: master (which every server has), then ours.
	l := w.call("GET", srv+"/databases?api-version="+dbAPI, nil)
	want := rec["databases"]
	require.Equal(t, status(want), l.status, "%s", l.raw)
	got := get(l.json(t), "value").([]any)
	recorded := get(want, "body", "value").([]any)
	require.Len(t, got, 2)
	assert.Equal(t, "master", str(got[0], "name"))
	sameShape(t, "master", recorded[0], got[0], nil, nil)
	assert.True(t, strings.EqualFold(srv, str(got[0], "managedBy")), "master is managed by its server: %s", str(got[0], "managedBy"))
	sameShape(t, "the database in the list", recorded[1], got[1], nil, strs(rec["serverlessOnly"]))
	m := w.call("GET", srv+"/databases/master?api-version="+dbAPI, nil)
	require.Equal(t, 200, m.status, "%s", m.raw)
	assert.Equal(t, got[0], m.json(t), "GET master answers what the list shows")

	// Deleting the database: 202 with the polling headers, the status
	// resource says InProgress, then Succeeded, and the database is gone.
	d := w.call("DELETE", srv+"/databases/recorded-db?api-version="+dbAPI, nil)
	del := rec["deleteDatabase"].(map[string]any)
	require.Equal(t, status(del), d.status, "%s", d.raw)
	sameShape(t, "the database delete's 202", del["body"], d.json(t), nil, nil)
	assert.Equal(t, "DropLogicalDatabase", str(d.json(t), "operation"))
	sameURLShape(t, "Azure-AsyncOperation", str(del, "headers", "Azure-AsyncOperation"), d.header.Get("Azure-AsyncOperation"), dbAPI)
	sameURLShape(t, "Location", str(del, "headers", "Location"), d.header.Get("Location"), dbAPI)
	retryAfter(t, "DELETE database", del, d)
	st := w.call("GET", d.header.Get("Azure-AsyncOperation"), nil)
	sameShape(t, "the drop's status", rec["deleteDatabaseStatus"].(map[string]any)["body"], st.json(t), nil, nil)
	assert.Equal(t, "InProgress", str(st.json(t), "status"))
	retryAfter(t, "drop status", rec["deleteDatabaseStatus"].(map[string]any), st)
	st = w.call("GET", d.header.Get("Azure-AsyncOperation"), nil)
	assert.Equal(t, "Succeeded", str(st.json(t), "status"))
	nf := w.call("GET", srv+"/databases/recorded-db?api-version="+dbAPI, nil)
	gone := rec["databaseNotFound"].(map[string]any)
	require.Equal(t, status(gone), nf.status)
	sameShape(t, "the database's 404", gone["body"], nf.json(t), nil, nil)
	assert.Equal(t, str(gone, "headers", "x-ms-failure-cause"), nf.header.Get("x-ms-failure-cause"))
	srvName := srv[strings.LastIndex(srv, "/")+1:]
	assert.Equal(t, strings.NewReplacer("sql-server-7377", srvName, "sql-database-Default-75740", "recorded-db", "Sql-RG-1367", emulator.SeedResourceGroup).Replace(str(gone, "body", "error", "message")),
		str(nf.json(t), "error", "message"))
	assert.Len(t, get(w.call("GET", srv+"/databases?api-version="+dbAPI, nil).json(t), "value"), 1, "master stays")
	// A second delete finds nothing: 204.
	assert.Equal(t, 204, w.call("DELETE", srv+"/databases/recorded-db?api-version="+dbAPI, nil).status)

	// The servers list shows each server as its GET does.
	s := w.call("GET", w.rg()+"/providers/Microsoft.Sql/servers?api-version="+serverAPI, nil)
	require.Equal(t, status(rec["servers"]), s.status)
	var ours any
	for _, v := range get(s.json(t), "value").([]any) {
		if strings.EqualFold(str(v, "id"), srv) {
			ours = v
		}
	}
	require.NotNil(t, ours, "%s", s.raw)
	sameShape(t, "the server in the list", get(rec["servers"], "body", "value").([]any)[0], ours, nil, nil)

	d = w.call("DELETE", srv+"?api-version="+serverAPI, nil)
	del = rec["deleteServer"].(map[string]any)
	require.Equal(t, status(del), d.status, "%s", d.raw)
	sameShape(t, "the server delete's 202", del["body"], d.json(t), nil, nil)
	assert.Equal(t, "DropLogicalServer", str(d.json(t), "operation"))
	sameURLShape(t, "Azure-AsyncOperation", str(del, "headers", "Azure-AsyncOperation"), d.header.Get("Azure-AsyncOperation"), serverAPI)
	sameURLShape(t, "Location", str(del, "headers", "Location"), d.header.Get("Location"), serverAPI)
	retryAfter(t, "DELETE server", del, d)
	// The drop's Location: 202 while it runs, then 204.
	lp := w.call("GET", d.header.Get("Location"), nil)
	assert.Equal(t, 202, lp.status)
	assert.Equal(t, d.header.Get("Location"), lp.header.Get("Location"))
	assert.Equal(t, 204, w.call("GET", d.header.Get("Location"), nil).status)
	st = w.call("GET", d.header.Get("Azure-AsyncOperation"), nil)
	sameShape(t, "the server drop's status", rec["deleteServerDone"].(map[string]any)["body"], st.json(t), nil, nil)
	assert.Equal(t, "Succeeded", str(st.json(t), "status"))
	assert.Equal(t, 404, w.call("GET", srv+"?api-version="+serverAPI, nil).status)
	assert.Equal(t, 204, w.call("DELETE", srv+"?api-version="+serverAPI, nil).status)
	assert.NotContains(t, string(w.call("GET", w.rg()+"/providers/Microsoft.Sql/servers?api-version="+serverAPI, nil).raw), "deleted-sql-")
}

func TestSQLOperationResultsAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 1})
	rec := recording(t, "sql_operation_results.json")
	const serverAPI, dbAPI = "2021-02-01-preview", "2021-05-01-preview"
	srv := w.rg() + "/providers/Microsoft.Sql/servers/results-sql-" + strings.ToLower(w.e.SubscriptionID()[:8])
	a := w.call("PUT", srv+"?api-version="+serverAPI, map[string]any{"tags": map[string]any{"tag1": "value1"}, "location": "eastus",
		"properties": map[string]any{"administratorLogin": "dummylogin", "administratorLoginPassword": "HvVJ%paVC@%GBKmi"}})
	require.Equal(t, 202, a.status, "%s", a.raw)
	want := rec["server"].(map[string]any)
	// The Location is the recorded one but for names and ids.
	sameURLShape(t, "serverOperationResults", str(want, "location"), a.header.Get("Location"), serverAPI)
	// While the operation runs its Location says so; then it answers as
	// recorded.
	p := w.call("GET", a.header.Get("Location"), nil)
	require.Equal(t, 202, p.status, "%s", p.raw)
	assert.NotEmpty(t, p.header.Get("Retry-After"))
	p = w.call("GET", a.header.Get("Location"), nil)
	require.Equal(t, status(want), p.status, "%s", p.raw)
	sameShape(t, "the server's operation result", want["body"], p.json(t), nil, nil)
	assert.Nil(t, get(p.json(t), "location"), "as recorded, the result has no location")
	// The server's own GET keeps its full shape.
	assert.Equal(t, "eastus", str(w.call("GET", srv+"?api-version="+serverAPI, nil).json(t), "location"))

	a = w.call("PUT", srv+"/databases/results-db?api-version="+dbAPI, map[string]any{"location": "eastus", "properties": map[string]any{"readScale": "Disabled"}})
	require.Equal(t, 202, a.status, "%s", a.raw)
	want = rec["database"].(map[string]any)
	sameURLShape(t, "databaseOperationResults", str(want, "location"), a.header.Get("Location"), dbAPI)
	p = w.call("GET", a.header.Get("Location"), nil)
	require.Equal(t, 202, p.status, "%s", p.raw)
	p = w.call("GET", a.header.Get("Location"), nil)
	require.Equal(t, status(want), p.status, "%s", p.raw)
	sameShape(t, "the database's operation result", want["body"], p.json(t), nil, strs(rec["serverlessOnly"]))
	g := w.call("GET", srv+"/databases/results-db?api-version="+dbAPI, nil)
	assert.NotNil(t, get(g.json(t), "properties", "zoneRedundant"), "the GET has the full shape")
	assert.Nil(t, get(g.json(t), "tags"), "made without tags, shown without")

	// An operation is found only under its own family's URLs, and an
	// unknown one is Microsoft.Sql's 404.
	wrong := strings.Replace(a.header.Get("Location"), "databaseOperationResults", "serverOperationResults", 1)
	n := w.call("GET", wrong, nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "ResourceNotFound", str(n.json(t), "error", "code"))
	wrong = strings.Replace(a.header.Get("Azure-AsyncOperation"), "databaseAzureAsyncOperation", "serverAzureAsyncOperation", 1)
	assert.Equal(t, 404, w.call("GET", wrong, nil).status)
}

// createAccount makes a storage account and polls its create to the end.
func (w *world) createAccount(t testing.TB, name, api string, body map[string]any) string {
	t.Helper()
	path := w.rg() + "/providers/Microsoft.Storage/storageAccounts/" + name
	a := w.call("PUT", path+"?api-version="+api, body)
	require.Equal(t, 202, a.status, "%s", a.raw)
	loc := a.header.Get("Location")
	for i := 0; a.status == 202; i++ {
		require.Less(t, i, 100)
		a = w.call("GET", loc, nil)
	}
	require.Equal(t, 200, a.status, "%s", a.raw)
	return path
}

// entry finds the list entry whose id is id.
func entry(t testing.TB, list any, id string) any {
	t.Helper()
	for _, v := range get(list, "value").([]any) {
		if strings.EqualFold(str(v, "id"), id) {
			return v
		}
	}
	t.Fatalf("%s is not listed", id)
	return nil
}

func TestStorageAccountGetPatchListAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "storage_account_update.json")
	const api = "2025-06-01"
	skip := strs(rec["requestOnly"])
	path := w.createAccount(t, "recordedsftp", api, map[string]any{"sku": map[string]any{"name": "Standard_LRS"}, "kind": "StorageV2", "location": "centralus",
		"properties": map[string]any{"encryption": map[string]any{"services": map[string]any{"blob": map[string]any{}}, "keySource": "Microsoft.Storage"}}})

	g := w.call("GET", path+"?api-version="+api, nil)
	require.Equal(t, status(rec["get"]), g.status, "%s", g.raw)
	sameShape(t, "the account", get(rec["get"], "body"), g.json(t), skip, nil)

	// The PATCH az sends to turn SFTP off answers 200 with the account.
	patch := rec["patch"].(map[string]any)
	p := w.call("PATCH", path+"?api-version="+api, patch["request"])
	require.Equal(t, status(patch), p.status, "%s", p.raw)
	sameShape(t, "the patched account", patch["body"], p.json(t), skip, nil)
	assert.Equal(t, "Hot", str(p.json(t), "properties", "accessTier"))
	assert.Equal(t, true, get(p.json(t), "properties", "supportsHttpsTrafficOnly"))

	// The subscription's list shows each account as its GET does,
	// geo-redundant ones with their secondary.
	ragrs := w.createAccount(t, "recordedragrs", api, map[string]any{"sku": map[string]any{"name": "Standard_RAGRS"}, "kind": "StorageV2", "location": "eastus",
		"tags": map[string]any{"environment": "test"}})
	l := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/providers/Microsoft.Storage/storageAccounts?api-version="+api, nil)
	require.Equal(t, status(rec["list"]), l.status, "%s", l.raw)
	sameShape(t, "the listed account", get(rec["list"], "entry"), entry(t, l.json(t), path), skip, nil)
	r := entry(t, l.json(t), ragrs)
	sameShape(t, "the listed RA-GRS account", get(rec["list"], "ragrsEntry"), r, nil, nil)
	assert.Equal(t, "westus", str(r, "properties", "secondaryLocation"), "eastus's pair")
	assert.Equal(t, "https://recordedragrs-secondary.blob.core.windows.net/", str(r, "properties", "secondaryEndpoints", "blob"))

	// A PATCH of tags replaces them and shows them at once.
	p = w.call("PATCH", path+"?api-version="+api, map[string]any{"tags": map[string]any{"environment": "test"}})
	require.Equal(t, 200, p.status, "%s", p.raw)
	assert.Equal(t, map[string]any{"environment": "test"}, get(p.json(t), "tags"))
	assert.Equal(t, map[string]any{"environment": "test"}, get(w.call("GET", path+"?api-version="+api, nil).json(t), "tags"))

	// Bad input keeps Resource Manager's shapes.
	n := w.call("PATCH", w.rg()+"/providers/Microsoft.Storage/storageAccounts/nosuchaccount?api-version="+api, map[string]any{"tags": map[string]any{}})
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "ResourceNotFound", str(n.json(t), "error", "code"))
	n = w.call("GET", "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Storage/storageAccounts?api-version="+api, nil)
	assert.Equal(t, 404, n.status)
}

func TestStorageKeysListsAndDeleteAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "storage_account_keys.json")
	const api = "2021-04-01"
	path := w.createAccount(t, "recordedkeys", api, map[string]any{"sku": map[string]any{"name": "Standard_GRS"}, "kind": "Storage", "location": "eastus2",
		"tags": map[string]any{"key1": "value1", "key2": "value2"}})

	k := w.call("POST", path+"/listKeys?api-version="+api+"&$expand=kerb", nil)
	lk := rec["listKeys"].(map[string]any)
	require.Equal(t, status(lk), k.status, "%s", k.raw)
	sameShape(t, "the keys", lk["body"], k.json(t), nil, nil)
	before := get(k.json(t), "keys").([]any)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`, str(before[0], "creationTime"))

	rk := rec["regenerateKey"].(map[string]any)
	k = w.call("POST", path+"/regenerateKey?api-version="+api, rk["request"])
	require.Equal(t, status(rk), k.status, "%s", k.raw)
	sameShape(t, "the keys after regenerating key2", rk["body"], k.json(t), nil, nil)
	after := get(k.json(t), "keys").([]any)
	assert.Equal(t, str(before[0], "value"), str(after[0], "value"), "key1 stays")
	assert.NotEqual(t, str(before[1], "value"), str(after[1], "value"), "key2 is new")
	assert.NotEqual(t, str(before[1], "creationTime"), str(after[1], "creationTime"), "and so is its creation time, as recorded")
	bad := w.call("POST", path+"/regenerateKey?api-version="+api, map[string]any{"keyName": "key3"})
	assert.Equal(t, 400, bad.status)
	assert.Equal(t, "InvalidValuesForRequestParameters", str(bad.json(t), "error", "code"))

	// The group's list: the GRS account with its secondary. The recorded
	// account predates the defaults Azure shows since 2023 (minimum TLS,
	// blob public access, cross-tenant replication: test_storage_account_sftp.yaml
	// shows them on every account at 2025-06-01), so they are extra here.
	lg := rec["listByGroup"].(map[string]any)
	l := w.call("GET", w.rg()+"/providers/Microsoft.Storage/storageAccounts?api-version="+api, nil)
	require.Equal(t, status(lg), l.status)
	e := entry(t, l.json(t), path)
	sameShape(t, "the account in the group's list", lg["entry"], e, nil, strs(rec["newerDefaults"]))
	assert.Equal(t, "centralus", str(e, "properties", "secondaryLocation"), "eastus2's pair, as recorded")
	assert.Equal(t, map[string]any{"key1": "value1", "key2": "value2"}, get(e, "tags"))

	del := rec["delete"].(map[string]any)
	d := w.call("DELETE", path+"?api-version="+api, nil)
	require.Equal(t, status(del), d.status, "%s", d.raw)
	assert.Empty(t, d.raw)
	assert.Equal(t, str(del, "headers", "Content-Type"), d.header.Get("Content-Type"))
	n := w.call("GET", path+"?api-version="+api, nil)
	gone := rec["getAfterDelete"].(map[string]any)
	require.Equal(t, status(gone), n.status)
	sameShape(t, "the 404 after the delete", gone["body"], n.json(t), nil, nil)
	assert.Equal(t, str(gone, "headers", "x-ms-failure-cause"), n.header.Get("x-ms-failure-cause"))
	assert.Equal(t, strings.NewReplacer("teststoragemgmt951", "recordedkeys", "teststorageRG-5040", emulator.SeedResourceGroup).Replace(str(gone, "body", "error", "message")),
		str(n.json(t), "error", "message"), "Resource Manager's own words")
	assert.Equal(t, 204, w.call("DELETE", path+"?api-version="+api, nil).status, "nothing left to delete")
	assert.NotContains(t, string(w.call("GET", w.rg()+"/providers/Microsoft.Storage/storageAccounts?api-version="+api, nil).raw), "recordedkeys")
	assert.Equal(t, 404, w.call("POST", path+"/listKeys?api-version="+api, nil).status)

	// A group with no accounts lists none.
	require.Equal(t, 201, w.call("PUT", "/subscriptions/"+w.e.SubscriptionID()+"/resourcegroups/emptygroup?api-version=2021-04-01", map[string]any{"location": "eastus2"}).status)
	empty := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/resourceGroups/emptygroup/providers/Microsoft.Storage/storageAccounts?api-version=2022-05-01", nil)
	require.Equal(t, status(rec["emptyList"]), empty.status, "%s", empty.raw)
	assert.Equal(t, get(rec["emptyList"], "body"), empty.json(t))
}

func TestBlobContainersListAndDeleteAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "storage_containers.json")
	acct := w.rg() + "/providers/Microsoft.Storage/storageAccounts/" + emulator.SeedStorageAccount
	c := acct + "/blobServices/default/containers/"
	require.Equal(t, 201, w.call("PUT", c+"listed?api-version=2022-09-01", map[string]any{"properties": map[string]any{}}).status)

	l := w.call("GET", c[:len(c)-1]+"?api-version=2022-09-01", nil)
	require.Equal(t, status(rec["list"]), l.status, "%s", l.raw)
	listed := entry(t, l.json(t), acct+"/blobServices/default/containers/listed")
	sameShape(t, "the listed container", get(rec["list"], "body", "value").([]any)[0], listed, nil, nil)
	// immutableStorageWithVersioning is first in the 2021-06-01 schema.
	old := entry(t, w.call("GET", c[:len(c)-1]+"?api-version=2021-04-01", nil).json(t), acct+"/blobServices/default/containers/listed")
	assert.Nil(t, get(old, "properties", "immutableStorageWithVersioning"))

	del := rec["delete"].(map[string]any)
	d := w.call("DELETE", c+"listed?api-version=2021-09-01", nil)
	require.Equal(t, status(del), d.status, "%s", d.raw)
	assert.Empty(t, d.raw)
	assert.Equal(t, str(del, "headers", "Content-Type"), d.header.Get("Content-Type"))
	g := w.call("GET", c+"listed?api-version=2021-09-01", nil)
	require.Equal(t, status(rec["getAfterDelete"]), g.status)
	sameShape(t, "the 404", get(rec["getAfterDelete"], "body"), g.json(t), nil, nil)
	assert.Equal(t, "ContainerNotFound", str(g.json(t), "error", "code"))
	assert.Equal(t, 204, w.call("DELETE", c+"listed?api-version=2021-09-01", nil).status)
	assert.Equal(t, 404, w.call("GET", w.rg()+"/providers/Microsoft.Storage/storageAccounts/nosuchaccount/blobServices/default/containers?api-version=2022-09-01", nil).status)
}

func TestRevokeUserDelegationKeysAsSpecified(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "storage_revoke_user_delegation_keys.json")
	acct := w.rg() + "/providers/Microsoft.Storage/storageAccounts/" + emulator.SeedStorageAccount
	a := w.call("POST", acct+"/revokeUserDelegationKeys?api-version=2023-01-01", nil)
	require.Equal(t, status(rec), a.status, "%s", a.raw)
	assert.Empty(t, a.raw, "no body")
	n := w.call("POST", w.rg()+"/providers/Microsoft.Storage/storageAccounts/nosuchaccount/revokeUserDelegationKeys?api-version=2023-01-01", nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "ResourceNotFound", str(n.json(t), "error", "code"))
}

// settle GETs a vault until its DNS name is registered.
func (w *world) settle(t testing.TB, path string) {
	t.Helper()
	for i := 0; ; i++ {
		require.Less(t, i, 100)
		g := w.call("GET", path, nil)
		require.Equal(t, 200, g.status, "%s", g.raw)
		if str(g.json(t), "properties", "provisioningState") == "Succeeded" {
			return
		}
	}
}

func TestVaultListAndDeleteAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "keyvault_lists.json")
	const api = "2021-10-01"
	path := w.rg() + "/providers/Microsoft.KeyVault/vaults/listed-vault-" + strings.ToLower(w.e.SubscriptionID()[:6])
	a := w.call("PUT", path+"?api-version="+api, rec["create"])
	require.Equal(t, 200, a.status, "%s", a.raw)
	w.settle(t, path+"?api-version="+api)

	list := rec["list"].(map[string]any)
	l := w.call("GET", w.rg()+"/providers/Microsoft.KeyVault/vaults?api-version="+api+"&$top=2", nil)
	require.Equal(t, status(list), l.status, "%s", l.raw)
	e := entry(t, l.json(t), path)
	sameShape(t, "the listed vault", list["entry"], e, nil, nil)
	assert.Equal(t, []any{}, get(e, "properties", "networkAcls", "virtualNetworkRules"), "added when not given, as recorded")
	assert.Equal(t, "https://listed-vault-"+strings.ToLower(w.e.SubscriptionID()[:6])+".vault.azure.net/", str(e, "properties", "vaultUri"))

	del := rec["delete"].(map[string]any)
	d := w.call("DELETE", path+"?api-version="+api, nil)
	require.Equal(t, status(del), d.status, "%s", d.raw)
	assert.Empty(t, d.raw)
	assert.Empty(t, d.header.Get("Content-Type"), "as recorded, an empty answer without a Content-Type")
	assert.Equal(t, 404, w.call("GET", path+"?api-version="+api, nil).status)
	assert.NotContains(t, string(w.call("GET", w.rg()+"/providers/Microsoft.KeyVault/vaults?api-version="+api, nil).raw), "listed-vault-")
	assert.Equal(t, 204, w.call("DELETE", path+"?api-version="+api, nil).status)
	// A group with no vaults lists none.
	require.Equal(t, 201, w.call("PUT", "/subscriptions/"+w.e.SubscriptionID()+"/resourcegroups/novaults?api-version=2021-04-01", map[string]any{"location": "westcentralus"}).status)
	n := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/resourceGroups/novaults/providers/Microsoft.KeyVault/vaults?api-version="+api, nil)
	require.Equal(t, 200, n.status)
	assert.Equal(t, list["emptyPage"], n.json(t))
	assert.Equal(t, 404, w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/resourceGroups/nosuchgroup/providers/Microsoft.KeyVault/vaults?api-version="+api, nil).status)
}

func TestVaultAccessPolicyAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "keyvault_access_policy.json")
	const api = "2022-07-01"
	path := w.rg() + "/providers/Microsoft.KeyVault/vaults/policy-vault-" + strings.ToLower(w.e.SubscriptionID()[:6])
	require.Equal(t, 200, w.call("PUT", path+"?api-version="+api, map[string]any{"location": "eastus", "properties": map[string]any{
		"tenantId": w.e.TenantID(), "sku": map[string]any{"family": "A", "name": "standard"}, "accessPolicies": []any{rec["vaultPolicy"]},
		"enabledForDeployment": true, "enabledForDiskEncryption": true, "enabledForTemplateDeployment": true,
	}}).status)

	a := w.call("PUT", path+"/accessPolicies/add?api-version="+api, rec["request"])
	require.Equal(t, status(rec), a.status, "%s", a.raw)
	sameShape(t, "the access policy answer", rec["body"], a.json(t), nil, nil)
	assert.Equal(t, path+"/accessPolicies/", str(a.json(t), "id"))
	// Adding permissions the policy has changes nothing, as recorded.
	assert.Equal(t, get(rec, "body", "properties", "accessPolicies"), get(a.json(t), "properties", "accessPolicies"))
	// The other kinds answer in the same shape; remove takes permissions
	// away and drops a policy left with none.
	r := w.call("PUT", path+"/accessPolicies/remove?api-version="+api, map[string]any{"properties": map[string]any{"accessPolicies": []any{rec["vaultPolicy"]}}})
	require.Equal(t, 200, r.status, "%s", r.raw)
	sameShape(t, "the remove answer", map[string]any{"id": "x", "type": "x", "properties": map[string]any{"accessPolicies": []any{}}}, r.json(t), nil, nil)
	assert.Equal(t, path+"/accessPolicies/", str(r.json(t), "id"))
	assert.Empty(t, get(w.call("GET", path+"?api-version="+api, nil).json(t), "properties", "accessPolicies"))
	bad := w.call("PUT", path+"/accessPolicies/merge?api-version="+api, rec["request"])
	assert.Equal(t, 400, bad.status)
	assert.NotEmpty(t, str(bad.json(t), "error", "code"))
	assert.Equal(t, 404, w.call("PUT", w.rg()+"/providers/Microsoft.KeyVault/vaults/nosuchvault/accessPolicies/add?api-version="+api, rec["request"]).status)
}

func TestVaultListBySubscriptionAsSpecified(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "keyvault_list_subscription.json")
	const api = "2024-11-01"
	path := w.rg() + "/providers/Microsoft.KeyVault/vaults/sub-vault-" + strings.ToLower(w.e.SubscriptionID()[:6])
	require.Equal(t, 200, w.call("PUT", path+"?api-version="+api, map[string]any{"location": "westus", "properties": map[string]any{
		"tenantId": w.e.TenantID(), "sku": map[string]any{"family": "A", "name": "premium"}, "accessPolicies": get(rec, "entry", "properties", "accessPolicies"),
		"enabledForDeployment": true, "enabledForDiskEncryption": true, "enabledForTemplateDeployment": true,
	}}).status)
	w.settle(t, path+"?api-version="+api)
	l := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/providers/Microsoft.KeyVault/vaults?api-version="+api, nil)
	require.Equal(t, status(rec), l.status, "%s", l.raw)
	sameShape(t, "the vault in the subscription's list", rec["entry"], entry(t, l.json(t), path), strs(rec["exampleOnly"]), strs(rec["recordedOnly"]))
	n := w.call("GET", "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.KeyVault/vaults?api-version="+api, nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "SubscriptionNotFound", str(n.json(t), "error", "code"))
}

// TestListServiceSASTimesByAPIVersion holds List Service SAS's st and se
// against each api-version's recorded answer: the tutorial's 2017-06-01
// cuts fractional seconds, 2021-09-01 and 2022-09-01 sign times as sent,
// and armstorage v1.8's 2024-01-01 (no recording) answers as 2022-09-01.
func TestListServiceSASTimesByAPIVersion(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	sas := func(api string, req map[string]any) url.Values {
		t.Helper()
		req["canonicalizedResource"] = "/blob/" + emulator.SeedStorageAccount + "/" + emulator.SeedContainer
		a := w.call("POST", w.rg()+"/providers/Microsoft.Storage/storageAccounts/"+emulator.SeedStorageAccount+"/listServiceSas?api-version="+api, req)
		require.Equal(t, 200, a.status, "%s", a.raw)
		q, err := url.ParseQuery(str(a.json(t), "serviceSasToken"))
		require.NoError(t, err)
		return q
	}
	for _, name := range []string{"storage_list_service_sas_2017.json", "storage_list_service_sas_2021.json", "storage_list_service_sas.json"} {
		rec := recording(t, name)
		api, _ := rec["apiVersion"].(string)
		if api == "" {
			api = "2022-09-01" // storage_list_service_sas.json's
		}
		want, err := url.ParseQuery(str(rec, "body", "serviceSasToken"))
		require.NoError(t, err)
		got := sas(api, rec["request"].(map[string]any))
		for _, k := range []string{"st", "se"} {
			assert.Equal(t, want.Get(k), got.Get(k), "%s at %s", k, api)
			assert.Equal(t, want.Has(k), got.Has(k), "%s present at %s", k, api)
		}
		assert.Len(t, got, len(want), "%s: %v", api, got)
	}
	// 2024-01-01 follows 2022-09-01; 2019-06-01 follows 2017-06-01.
	exp := "2030-01-02T03:04:05.1234567Z"
	assert.Equal(t, exp, sas("2024-01-01", map[string]any{"signedResource": "c", "signedPermission": "r", "signedExpiry": exp}).Get("se"))
	assert.Equal(t, "2030-01-02T03:04:05Z", sas("2019-06-01", map[string]any{"signedResource": "c", "signedPermission": "r", "signedExpiry": exp}).Get("se"))
	// A time with an offset is signed in UTC at every api-version.
	assert.Equal(t, "2030-01-02T02:04:05Z", sas("2024-01-01", map[string]any{"signedResource": "c", "signedPermission": "r", "signedExpiry": "2030-01-02T03:04:05+01:00"}).Get("se"))

	// What 2017-06-01 signs, the blob service accepts.
	q := sas("2017-06-01", map[string]any{"signedResource": "c", "signedPermission": "r", "signedProtocol": "https",
		"signedExpiry": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.0000000Z")})
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, q.Get("se"))
	resp, err := w.client.Get(w.e.Blob.Endpoint(emulator.SeedStorageAccount) + emulator.SeedContainer + "/" + url.PathEscape(emulator.SeedBlob) + "?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

func TestSQLAdminDeleteAsSpecified(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 0})
	rec := recording(t, "sql_admin_delete.json")
	var allowed []int
	for _, s := range rec["statuses"].([]any) {
		allowed = append(allowed, int(s.(float64)))
	}
	const api = "2023-08-01"
	srv := w.rg() + "/providers/Microsoft.Sql/servers/admin-del-" + strings.ToLower(w.e.SubscriptionID()[:8])
	admin := w.sqlServerWithAdmin(t, srv, api, "admin123", "SecretPassword123")

	d := w.call("DELETE", admin, nil)
	assert.Contains(t, allowed, d.status)
	assert.Equal(t, 202, d.status, "removed in the background, as recorded (TestSQLAdminDropAsRecorded)")
	n := w.call("GET", admin, nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "ResourceNotFound", str(n.json(t), "error", "code"))
	d = w.call("DELETE", admin, nil)
	assert.Contains(t, allowed, d.status)
	assert.Equal(t, 204, d.status, "nothing to remove")
	bad := w.call("DELETE", srv+"/administrators/Other?api-version="+api, nil)
	assert.Equal(t, 400, bad.status)
	assert.Equal(t, "InvalidParameterValue", str(bad.json(t), "error", "code"))
}

// A server create whose Entra admin is invalid is refused whole: the 400
// leaves no server behind.
func TestSQLServerWithInvalidAdminCreatesNothing(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1})
	srv := w.rg() + "/providers/Microsoft.Sql/servers/bad-admin-" + strings.ToLower(w.e.SubscriptionID()[:8]) + "?api-version=2023-08-01"
	for field, admin := range map[string]map[string]any{
		"Sid":      {"administratorType": "ActiveDirectory", "login": "someone", "sid": "not-a-guid"},
		"TenantId": {"administratorType": "ActiveDirectory", "login": "someone", "sid": w.e.Operator.ObjectID, "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
	} {
		r := w.call("PUT", srv, map[string]any{"location": "westus", "properties": map[string]any{"administrators": admin}})
		require.Equal(t, 400, r.status, "%s", r.raw)
		assert.Equal(t, "InvalidParameterValue", str(r.json(t), "error", "code"))
		assert.Contains(t, str(r.json(t), "error", "message"), "parameter "+field)
		assert.Equal(t, 404, w.call("GET", srv, nil).status, "a refused create (%s) leaves no server", field)
	}
}
