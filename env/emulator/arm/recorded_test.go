package arm_test

import (
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
)

// Each test here replays what a recording (testdata/*.json, which names
// its repository and path) shows a client sending, and compares the
// emulator's status, headers and the field paths and JSON types of its
// bodies with Azure's. Values that are ids, names and times are not
// compared; polling URLs are compared segment by segment.

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// sameURLShape compares a polling URL with the recorded one: the same
// host (the cloud's Resource Manager), the same path but for names and
// ids (segments after subscriptions, resourceGroups, locations, or GUIDs),
// the same query parameters, and the api-version of the request.
func sameURLShape(t testing.TB, what, recorded, got, apiVersion string) {
	t.Helper()
	ru, err := url.Parse(recorded)
	require.NoError(t, err)
	gu, err := url.Parse(got)
	require.NoError(t, err, "%s: %q", what, got)
	assert.Equal(t, "https", gu.Scheme, what)
	assert.Equal(t, ru.Host, gu.Host, what)
	rs, gs := strings.Split(ru.Path, "/"), strings.Split(gu.Path, "/")
	require.Len(t, gs, len(rs), "%s: %s vs recorded %s", what, gu.Path, ru.Path)
	for i := range rs {
		named := i > 0 && map[string]bool{"subscriptions": true, "resourcegroups": true, "locations": true}[strings.ToLower(rs[i-1])]
		if named || guidRE.MatchString(rs[i]) && guidRE.MatchString(gs[i]) {
			continue
		}
		assert.True(t, strings.EqualFold(rs[i], gs[i]), "%s: segment %d is %q, recorded %q", what, i, gs[i], rs[i])
	}
	rq, gq := ru.Query(), gu.Query()
	for k := range rq {
		if k == "t" || k == "c" || k == "s" || k == "h" {
			continue // Azure's signature of the polling URL (2025 recordings)
		}
		assert.Contains(t, gq, k, "%s: query parameter %s", what, k)
	}
	assert.Equal(t, apiVersion, gq.Get("api-version"), what)
}

// retryAfter requires a Retry-After of whole seconds where Azure sends one.
func retryAfter(t testing.TB, what string, recorded map[string]any, got answer) {
	t.Helper()
	rec := str(recorded, "headers", "Retry-After")
	if rec == "" {
		return
	}
	_, err := strconv.Atoi(rec)
	require.NoError(t, err)
	n, err := strconv.Atoi(got.header.Get("Retry-After"))
	assert.NoError(t, err, "%s: Retry-After %q", what, got.header.Get("Retry-After"))
	assert.GreaterOrEqual(t, n, 0, what)
}

func TestStorageAccountCreateAsRecorded(t *testing.T) {
	t.Parallel()
	// Two "in progress" observations: the GET of the account and the
	// first poll of its Location.
	w := startWorld(t, &arm.LROTiming{Polls: 2, RetryAfter: 1})
	rec := recording(t, "storage_account_create.json")
	ex := rec["exchanges"].([]any)
	put, poll := ex[0].(map[string]any), ex[1].(map[string]any)
	const api = "2021-04-01"
	path := w.rg() + "/providers/Microsoft.Storage/storageAccounts/recordedsa?api-version=" + api

	a := w.call("PUT", path, map[string]any{"sku": map[string]any{"name": "Standard_LRS"}, "kind": "Storage", "location": "eastus2", "properties": map[string]any{}})
	assert.Equal(t, int(put["status"].(float64)), a.status, "%s", a.raw)
	assert.Empty(t, a.raw, "the 202 has no body")
	assert.Equal(t, str(put, "headers", "Content-Type"), a.header.Get("Content-Type"))
	sameURLShape(t, "PUT Location", str(put, "headers", "Location"), a.header.Get("Location"), api)
	retryAfter(t, "PUT", put, a)

	// While it runs the account is listed as Azure lists one being
	// created, and its Location answers 202 again.
	g := w.call("GET", path, nil)
	require.Equal(t, 200, g.status)
	assert.Equal(t, "Creating", str(g.json(t), "properties", "provisioningState"))
	p := w.call("GET", a.header.Get("Location"), nil)
	require.Equal(t, int(poll["status"].(float64)), p.status, "%s", p.raw)
	assert.Empty(t, p.raw)
	sameURLShape(t, "poll Location", str(poll, "headers", "Location"), p.header.Get("Location"), api)
	retryAfter(t, "poll", poll, p)

	// Then 200 with the account, which now exists for good.
	done := w.call("GET", p.header.Get("Location"), nil)
	require.Equal(t, 200, done.status, "%s", done.raw)
	assert.Equal(t, "Succeeded", str(done.json(t), "properties", "provisioningState"))
	assert.Equal(t, "Succeeded", str(w.call("GET", path, nil).json(t), "properties", "provisioningState"))

	// An operation that never was is a 404 in Resource Manager's shape.
	unknown := "/subscriptions/" + w.e.SubscriptionID() + "/providers/Microsoft.Storage/locations/eastus2/asyncoperations/00000000-0000-4000-8000-000000000000?monitor=true&api-version=" + api
	n := w.call("GET", unknown, nil)
	assert.Equal(t, 404, n.status)
	assert.NotEmpty(t, str(n.json(t), "error", "code"))
}

func TestStorageAccountBodyAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "storage_account_done.json")
	const api = "2025-06-01"
	path := w.rg() + "/providers/Microsoft.Storage/storageAccounts/recordedv2?api-version=" + api
	a := w.call("PUT", path, map[string]any{"sku": map[string]any{"name": "Standard_LRS"}, "kind": "StorageV2", "location": "centralus",
		"properties": map[string]any{"encryption": map[string]any{"services": map[string]any{"blob": map[string]any{}}, "keySource": "Microsoft.Storage"}}})
	require.Equal(t, 202, a.status, "%s", a.raw)
	loc := a.header.Get("Location")
	for a.status == 202 {
		a = w.call("GET", loc, nil)
	}
	require.Equal(t, int(rec["status"].(float64)), a.status)
	var skip []string
	for _, p := range rec["requestOnly"].([]any) {
		skip = append(skip, p.(string))
	}
	sameShape(t, "the created account", rec["body"], a.json(t), skip, nil)
	// An account without tags says so with {}.
	assert.Equal(t, map[string]any{}, get(a.json(t), "tags"))
}

func TestListServiceSASAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "storage_list_service_sas.json")
	req := rec["request"].(map[string]any)
	req["canonicalizedResource"] = "/blob/" + emulator.SeedStorageAccount + "/" + emulator.SeedContainer
	a := w.call("POST", w.rg()+"/providers/Microsoft.Storage/storageAccounts/"+emulator.SeedStorageAccount+"/listServiceSas?api-version=2022-09-01", req)
	require.Equal(t, int(rec["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "List Service SAS", rec["body"], a.json(t), nil, nil)
	gotQ, err := url.ParseQuery(str(a.json(t), "serviceSasToken"))
	require.NoError(t, err)
	recQ, err := url.ParseQuery(str(rec, "body", "serviceSasToken"))
	require.NoError(t, err)
	for k := range recQ {
		assert.Contains(t, gotQ, k)
	}
	assert.Len(t, gotQ, len(recQ))
	assert.Equal(t, "rdwlacup", gotQ.Get("sp"), "every letter signed, in the order given")
	assert.Equal(t, recQ.Get("sv"), gotQ.Get("sv"))
	assert.Equal(t, recQ.Get("st"), gotQ.Get("st"), "signed as sent")
	assert.Equal(t, recQ.Get("se"), gotQ.Get("se"), "signed as sent")

	// What Resource Manager signs, fractional seconds included, the blob
	// service accepts.
	now := time.Now().UTC()
	ok := w.call("POST", w.rg()+"/providers/Microsoft.Storage/storageAccounts/"+emulator.SeedStorageAccount+"/listServiceSas?api-version=2022-09-01", map[string]any{
		"canonicalizedResource": "/blob/" + emulator.SeedStorageAccount + "/" + emulator.SeedContainer, "signedResource": "c", "signedPermission": "r",
		"signedProtocol": "https", "signedStart": now.Add(-time.Minute).Format("2006-01-02T15:04:05.0000000Z"), "signedExpiry": now.Add(time.Hour).Format("2006-01-02T15:04:05.0000000Z"),
	})
	require.Equal(t, 200, ok.status, "%s", ok.raw)
	resp, err := w.client.Get(w.e.Blob.Endpoint(emulator.SeedStorageAccount) + emulator.SeedContainer + "/" + url.PathEscape(emulator.SeedBlob) + "?" + str(ok.json(t), "serviceSasToken"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "%s", body)
	assert.Equal(t, "Hello world!", string(body))

	// A letter outside the permission set is refused in Azure's shape.
	req["signedPermission"] = "rz"
	bad := w.call("POST", w.rg()+"/providers/Microsoft.Storage/storageAccounts/"+emulator.SeedStorageAccount+"/listServiceSas?api-version=2022-09-01", req)
	assert.Equal(t, 400, bad.status)
	assert.Equal(t, "InvalidValuesForRequestParameters", str(bad.json(t), "error", "code"))
}

func TestSQLCreateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "sql_create.json")
	const serverAPI, dbAPI = "2021-02-01-preview", "2022-05-01-preview"
	srv := w.rg() + "/providers/Microsoft.Sql/servers/recorded-sql-" + strings.ToLower(w.e.SubscriptionID()[:8])

	// No tags, as test_aadonly.yaml (the GET compared below) made its server.
	a := w.call("PUT", srv+"?api-version="+serverAPI, map[string]any{"location": "eastus2euap",
		"properties": map[string]any{"administratorLogin": "admin-sql", "administratorLoginPassword": "HvVJ%paVC@%GBKmi"}})
	want := rec["server"].(map[string]any)
	require.Equal(t, int(want["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "the server's 202", want["body"], a.json(t), nil, nil)
	assert.Equal(t, "UpsertLogicalServer", str(a.json(t), "operation"))
	sameURLShape(t, "Azure-AsyncOperation", str(want, "headers", "Azure-AsyncOperation"), a.header.Get("Azure-AsyncOperation"), serverAPI)
	sameURLShape(t, "Location", str(want, "headers", "Location"), a.header.Get("Location"), serverAPI)
	retryAfter(t, "PUT server", want, a)

	st := w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	inProgress := rec["inProgress"].(map[string]any)
	require.Equal(t, int(inProgress["status"].(float64)), st.status)
	sameShape(t, "the status while running", inProgress["body"], st.json(t), nil, nil)
	assert.Equal(t, "InProgress", str(st.json(t), "status"))
	retryAfter(t, "status", inProgress, st)
	st = w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	sameShape(t, "the status when done", rec["succeeded"].(map[string]any)["body"], st.json(t), nil, nil)
	assert.Equal(t, "Succeeded", str(st.json(t), "status"))

	server := recording(t, "sql_server_get.json")
	g := w.call("GET", srv+"?api-version="+serverAPI, nil)
	require.Equal(t, int(server["status"].(float64)), g.status)
	sameShape(t, "the server", server["body"], g.json(t), nil, nil)
	assert.Nil(t, get(g.json(t), "tags"), "Microsoft.Sql sends no tags when there are none")
	g = w.call("GET", srv+"?api-version=2022-08-01-preview", nil)
	sameShape(t, "the server (2022-08-01-preview)", server["body2022"], g.json(t), nil, nil)
	assert.Equal(t, "None", str(g.json(t), "properties", "minimalTlsVersion"), "not set, and said so")

	db := srv + "/databases/recorded-db?api-version=" + dbAPI
	// As the recorded test made it: tags {} and the Default enclave.
	a = w.call("PUT", db, map[string]any{"tags": map[string]any{}, "location": "eastus2euap", "properties": map[string]any{"preferredEnclaveType": "Default"}})
	want = rec["database"].(map[string]any)
	require.Equal(t, int(want["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "the database's 202", want["body"], a.json(t), nil, nil)
	assert.Equal(t, "CreateLogicalDatabase", str(a.json(t), "operation"))
	sameURLShape(t, "Azure-AsyncOperation", str(want, "headers", "Azure-AsyncOperation"), a.header.Get("Azure-AsyncOperation"), dbAPI)
	sameURLShape(t, "Location", str(want, "headers", "Location"), a.header.Get("Location"), dbAPI)
	retryAfter(t, "PUT database", want, a)
	// The Location answers 202 while the create runs, then the database.
	l := w.call("GET", a.header.Get("Location"), nil)
	assert.Equal(t, 202, l.status)
	l = w.call("GET", a.header.Get("Location"), nil)
	require.Equal(t, 200, l.status, "%s", l.raw)

	dbGet := rec["databaseGet"].(map[string]any)
	g = w.call("GET", db, nil)
	require.Equal(t, int(dbGet["status"].(float64)), g.status)
	var serverless []string
	for _, p := range dbGet["serverlessOnly"].([]any) {
		serverless = append(serverless, p.(string))
	}
	sameShape(t, "the database", dbGet["body"], g.json(t), nil, serverless)
	assert.Equal(t, map[string]any{}, get(g.json(t), "tags"), "databases send tags {}")
}

func TestVaultCreateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "keyvault_create.json")
	const api = "2021-10-01"
	path := w.rg() + "/providers/Microsoft.KeyVault/vaults/recorded-vault?api-version=" + api
	a := w.call("PUT", path, map[string]any{"location": "canadacentral", "properties": map[string]any{
		"tenantId": w.e.TenantID(), "sku": map[string]any{"family": "A", "name": "standard"}, "accessPolicies": []any{},
	}})
	put := rec["put"].(map[string]any)
	require.Equal(t, int(put["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "the vault's create answer", put["body"], a.json(t), nil, nil)
	assert.Equal(t, "RegisteringDns", str(a.json(t), "properties", "provisioningState"))
	assert.Equal(t, "https://recorded-vault.vault.azure.net", str(a.json(t), "properties", "vaultUri"))
	assert.Equal(t, "Application", str(a.json(t), "systemData", "createdByType"))
	assert.Equal(t, w.e.Operator.ClientID, str(a.json(t), "systemData", "createdBy"))

	g := w.call("GET", path, nil)
	sameShape(t, "the vault", rec["get"].(map[string]any)["body"], g.json(t), nil, nil)
	assert.Equal(t, "RegisteringDns", str(g.json(t), "properties", "provisioningState"))
	assert.Equal(t, "https://recorded-vault.vault.azure.net/", str(g.json(t), "properties", "vaultUri"))
	g = w.call("GET", path, nil)
	assert.Equal(t, "Succeeded", str(g.json(t), "properties", "provisioningState"))
}

func TestSeededVMAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "vm_get.json")
	var skip []string
	for _, p := range rec["requestOnly"].([]any) {
		skip = append(skip, p.(string))
	}
	world := w.e.World
	g := w.call("GET", world.VMResourceID+"?api-version=2022-03-01", nil)
	require.Equal(t, 200, g.status, "%s", g.raw)
	vm := g.json(t)
	// The seeded VM has managed identities and asked for its NIC to go
	// with it (deleteOption); the recorded one did neither.
	sameShape(t, "the VM", rec["vm"], vm, skip, []string{"identity", "properties.networkProfile.networkInterfaces[].properties"})
	assert.Equal(t, world.OSDiskName, str(vm, "properties", "storageProfile", "osDisk", "name"))
	assert.Equal(t, world.OSDiskResourceID, str(vm, "properties", "storageProfile", "osDisk", "managedDisk", "id"))
	assert.Regexp(t, `^myVM_OsDisk_1_[0-9a-f]{32}$`, world.OSDiskName)
	nics := get(vm, "properties", "networkProfile", "networkInterfaces").([]any)
	require.Len(t, nics, 1)
	assert.Equal(t, world.NICResourceID, str(nics[0], "id"))

	var nicSkip []string
	for _, p := range rec["nicRequestOnly"].([]any) {
		nicSkip = append(nicSkip, p.(string))
	}
	n := w.call("GET", world.NICResourceID+"?api-version=2018-01-01", nil)
	require.Equal(t, 200, n.status, "%s", n.raw)
	sameShape(t, "the NIC", rec["nic"], n.json(t), nicSkip, nil)
	assert.Equal(t, world.VMResourceID, str(n.json(t), "properties", "virtualMachine", "id"))

	d := w.call("GET", world.OSDiskResourceID+"?api-version=2024-03-02", nil)
	require.Equal(t, 200, d.status, "%s", d.raw)
	assert.Equal(t, world.VMResourceID, str(d.json(t), "managedBy"))
	assert.Equal(t, "Attached", str(d.json(t), "properties", "diskState"))
	assert.Equal(t, "Linux", str(d.json(t), "properties", "osType"))

	// An attached disk or NIC cannot be deleted on its own; both go with
	// the VM (deleteOption Delete).
	assert.Equal(t, 409, w.call("DELETE", world.OSDiskResourceID+"?api-version=2024-03-02", nil).status)
	assert.Equal(t, 400, w.call("DELETE", world.NICResourceID+"?api-version=2024-05-01", nil).status)
	require.Equal(t, 202, w.call("DELETE", world.VMResourceID+"?api-version=2024-07-01", nil).status, "Compute deletes in the background (recorded_compute_test.go)")
	assert.Equal(t, 404, w.call("GET", world.OSDiskResourceID+"?api-version=2024-03-02", nil).status)
	assert.Equal(t, 404, w.call("GET", world.NICResourceID+"?api-version=2024-05-01", nil).status)
}

func TestTagsAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	sub := "/subscriptions/" + w.e.SubscriptionID()
	// Resource groups echo the tags they were given, {} included, and
	// show none when given none (the two .NET recordings cited at
	// groupBody).
	a := w.call("PUT", sub+"/resourcegroups/withemptytags?api-version=2021-04-01", map[string]any{"location": "canadacentral", "tags": map[string]any{}})
	require.Equal(t, 201, a.status)
	assert.Equal(t, map[string]any{}, get(a.json(t), "tags"))
	a = w.call("PUT", sub+"/resourcegroups/withouttags?api-version=2019-10-01", map[string]any{"location": "eastus2"})
	require.Equal(t, 201, a.status)
	_, has := a.json(t).(map[string]any)["tags"]
	assert.False(t, has, "no tags given, none shown")
	// The generic resources list shows {} for an untagged resource.
	l := w.call("GET", sub+"/resources?api-version=2015-11-01&$filter="+url.QueryEscape("resourceType eq 'Microsoft.KeyVault/vaults'"), nil)
	require.Equal(t, 200, l.status)
	v := get(l.json(t), "value").([]any)
	require.NotEmpty(t, v)
	assert.Equal(t, map[string]any{}, get(v[0], "tags"))
}

func TestDiskAndNICBadInput(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	nic := w.rg() + "/providers/Microsoft.Network/networkInterfaces/"
	a := w.call("PUT", nic+"noipconfig?api-version=2024-05-01", map[string]any{"location": "westus", "properties": map[string]any{}})
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", str(a.json(t), "error", "code"))
	a = w.call("PUT", nic+"nolocation?api-version=2024-05-01", map[string]any{"properties": map[string]any{"ipConfigurations": []any{map[string]any{"name": "c"}}}})
	assert.Equal(t, "LocationRequired", str(a.json(t), "error", "code"))
	a = w.call("GET", w.rg()+"/providers/Microsoft.Compute/disks/nope?api-version=2024-03-02", nil)
	assert.Equal(t, 404, a.status)
	assert.Equal(t, "ResourceNotFound", str(a.json(t), "error", "code"))

	// A VM naming a NIC that does not exist is refused and creates nothing.
	vm := w.rg() + "/providers/Microsoft.Compute/virtualMachines/orphan?api-version=2024-07-01"
	a = w.call("PUT", vm, map[string]any{"location": "westus", "properties": map[string]any{
		"storageProfile": map[string]any{"imageReference": map[string]any{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}},
		"networkProfile": map[string]any{"networkInterfaces": []any{map[string]any{"id": w.rg() + "/providers/Microsoft.Network/networkInterfaces/missing"}}},
	}})
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "InvalidParameter", str(a.json(t), "error", "code"))
	assert.Equal(t, 404, w.call("GET", vm, nil).status)
	l := w.call("GET", w.rg()+"/providers/Microsoft.Compute/disks?api-version=2024-03-02", nil)
	assert.Len(t, get(l.json(t), "value").([]any), 1, "only the seeded VM's disk")

	// A NIC already on a VM cannot be given to another.
	a = w.call("PUT", vm, map[string]any{"location": "westus", "properties": map[string]any{
		"networkProfile": map[string]any{"networkInterfaces": []any{map[string]any{"id": w.e.World.NICResourceID}}},
	}})
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "NicInUse", str(a.json(t), "error", "code"))
}

func TestUserAssignedIdentityCreateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "uai_create.json")
	id := w.rg() + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/recorded-uai"
	a := w.call("PUT", id+"?api-version=2022-01-31-preview", rec["request"])
	require.Equal(t, int(rec["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "the identity", rec["body"], a.json(t), nil, nil)
	assert.True(t, strings.EqualFold(id, a.header.Get("Location")), "Location %q names the identity", a.header.Get("Location"))
	assert.True(t, strings.HasPrefix(str(rec, "headers", "Location"), "/subscriptions/"), "recorded as a path")
}

func TestBlobContainerCreateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "container_create.json")
	c := w.rg() + "/providers/Microsoft.Storage/storageAccounts/" + emulator.SeedStorageAccount + "/blobServices/default/containers/recorded?api-version=2021-09-01"
	a := w.call("PUT", c, map[string]any{"properties": map[string]any{}})
	put := rec["put"].(map[string]any)
	require.Equal(t, int(put["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "the container's 201", put["body"], a.json(t), nil, nil)
	assert.Regexp(t, `^"0x[0-9A-F]+"$`, a.header.Get("ETag"))

	g := w.call("GET", c, nil)
	get := rec["get"].(map[string]any)
	require.Equal(t, int(get["status"].(float64)), g.status)
	sameShape(t, "the container", get["body"], g.json(t), nil, nil)
	assert.Equal(t, a.header.Get("ETag"), g.header.Get("ETag"))
	assert.Equal(t, g.header.Get("ETag"), str(g.json(t), "etag"))
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`, str(g.json(t), "properties", "lastModifiedTime"))
}

func TestSQLAdminCreateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 0})
	rec := recording(t, "sql_admin.json")
	const api = "2020-11-01-preview"
	srv := w.rg() + "/providers/Microsoft.Sql/servers/admin-sql-" + strings.ToLower(w.e.SubscriptionID()[:8])
	require.Equal(t, 202, w.call("PUT", srv+"?api-version="+api, map[string]any{"location": "westeurope",
		"properties": map[string]any{"administratorLogin": "admin123", "administratorLoginPassword": "SecretPassword123"}}).status)

	admin := srv + "/administrators/ActiveDirectory?api-version=" + api
	a := w.call("PUT", admin, map[string]any{"properties": map[string]any{
		"administratorType": "ActiveDirectory", "login": "DSEngAll", "sid": w.e.Operator.ObjectID, "tenantId": w.e.TenantID()}})
	put := rec["put"].(map[string]any)
	require.Equal(t, int(put["status"].(float64)), a.status, "%s", a.raw)
	sameShape(t, "the admin's 202", put["body"], a.json(t), nil, nil)
	assert.Equal(t, "CreateActiveDirectoryAdministrator", str(a.json(t), "operation"))
	sameURLShape(t, "Azure-AsyncOperation", str(put, "headers", "Azure-AsyncOperation"), a.header.Get("Azure-AsyncOperation"), api)
	sameURLShape(t, "Location", str(put, "headers", "Location"), a.header.Get("Location"), api)
	st := w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	sameShape(t, "the status", rec["succeeded"].(map[string]any)["body"], st.json(t), nil, nil)
	assert.Equal(t, "Succeeded", str(st.json(t), "status"))

	g := w.call("GET", admin, nil)
	require.Equal(t, 200, g.status, "%s", g.raw)
	sameShape(t, "the admin", rec["get"].(map[string]any)["body"], g.json(t), nil, nil)
	assert.Equal(t, "Microsoft.Sql/servers", str(g.json(t), "type"), "as recorded")
	assert.True(t, strings.EqualFold(w.e.Operator.ObjectID, str(g.json(t), "properties", "sid")))
}

func TestLROPacingStretches(t *testing.T) {
	t.Parallel()
	// Three "in progress" answers and at least 50 ms: a client that polls
	// sees each of them before the account is done.
	w := startWorld(t, &arm.LROTiming{Polls: 3, MinDuration: 50 * time.Millisecond, RetryAfter: 5})
	path := w.rg() + "/providers/Microsoft.Storage/storageAccounts/slowaccount?api-version=2023-01-01"
	// Timed from before the PUT, in which the operation starts: however
	// slowly the answers come back, done cannot come sooner than 50 ms.
	start := time.Now()
	a := w.call("PUT", path, map[string]any{"sku": map[string]any{"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"})
	require.Equal(t, 202, a.status)
	assert.Equal(t, "5", a.header.Get("Retry-After"))
	loc := a.header.Get("Location")
	polls := 0
	for a.status == 202 {
		polls++
		require.Less(t, polls, 1000)
		a = w.call("GET", loc, nil)
	}
	assert.Equal(t, 200, a.status)
	assert.GreaterOrEqual(t, polls, 4, "three answers in progress, then done")
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "in progress for MinDuration at least")

	// SetLRO changes what later creates do.
	w.e.ARM.SetLRO(arm.LROTiming{})
	a = w.call("PUT", w.rg()+"/providers/Microsoft.Storage/storageAccounts/fastaccount?api-version=2023-01-01", map[string]any{"sku": map[string]any{"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"})
	require.Equal(t, 202, a.status)
	assert.Equal(t, 200, w.call("GET", a.header.Get("Location"), nil).status, "no polls in progress")
}
