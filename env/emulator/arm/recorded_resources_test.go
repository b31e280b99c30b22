package arm_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	evid "github.com/miconform/miconform/env/emulator/recording"
)

// Resource Manager's own operations (Microsoft.Resources,
// Microsoft.Authorization, Microsoft.ManagedIdentity) and VM extensions,
// replayed against the excerpts in testdata that name them. Each excerpt
// holds named exchanges: status, response headers, body; "skip" lists body
// paths the recording has for a reason its note gives (the request set
// them, the recorded resource has a SKU, ...).

// notModeled are response headers recordings carry that the emulator does
// not send: the gateway's affinity cookie, the compression negotiation of
// a gzip-capable client, the providers' HTTP.sys banner, Azure Front
// Door's edge and cache headers, and Compute's own per-resource throttling
// and operation identifiers.
var notModeled = []string{
	"set-cookie", "vary", "server",
	"x-cache", "x-msedge-ref", "x-ms-need-to-refresh-epl-cache",
	"x-ms-operation-identifier", "x-ms-ratelimit-remaining-resource",
}

// exchange is one named recorded answer of an excerpt.
func exchange(t testing.TB, rec map[string]any, name string) map[string]any {
	t.Helper()
	ex, ok := get(rec, "exchanges", name).(map[string]any)
	require.True(t, ok, "the excerpt has no exchange %q", name)
	return ex
}

// skips are the excerpt's "skip" paths.
func skips(rec map[string]any) []string {
	var out []string
	for _, p := range get(rec, "skip").([]any) {
		out = append(out, p.(string))
	}
	return out
}

// sameAnswer holds an answer to a recorded one: the status, every recorded
// header name (but notModeled) and the body's field paths and JSON types
// (no body where the recording has none).
func sameAnswer(t testing.TB, what string, recorded map[string]any, got answer, skip, extra []string, ignore ...string) {
	t.Helper()
	require.Equal(t, int(recorded["status"].(float64)), got.status, "%s: %s", what, got.raw)
	hs := map[string]string{}
	for k, v := range recorded["headers"].(map[string]any) {
		hs[k] = v.(string)
	}
	for _, d := range (evid.Answer{Headers: hs}).HeaderDiffs(got.header, false, append(ignore, notModeled...)...) {
		t.Errorf("%s: %s", what, d)
	}
	if recorded["body"] == nil {
		assert.Empty(t, got.raw, "%s: no body", what)
		return
	}
	sameShape(t, what, recorded["body"], got.json(t), skip, extra)
}

func TestSubscriptionsAndTenantsAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "subscriptions.json")
	sub := "/subscriptions/" + w.e.SubscriptionID()
	g := w.call("GET", sub+"?api-version=2019-11-01", nil)
	sameAnswer(t, "Subscriptions - Get", exchange(t, rec, "get"), g, skips(rec), nil)
	l := w.call("GET", "/subscriptions?api-version=2019-11-01", nil)
	sameAnswer(t, "Subscriptions - List", exchange(t, rec, "list"), l, skips(rec), nil)
	assert.Equal(t, "Total", str(l.json(t), "count", "type"))
	assert.Empty(t, l.header.Get("x-ms-ratelimit-remaining-subscription-reads"), "a tenant-level read")

	rec = recording(t, "tenants.json")
	tn := w.call("GET", "/tenants?api-version=2022-12-01", nil)
	sameAnswer(t, "Tenants - List", exchange(t, rec, "list"), tn, nil, nil)
	assert.Equal(t, w.e.TenantID(), str(get(tn.json(t), "value").([]any)[0], "tenantId"))

	// Another subscription is not found, in Resource Manager's shape.
	n := w.call("GET", "/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01", nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "SubscriptionNotFound", str(n.json(t), "error", "code"))
}

func TestResourceGroupAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "rg_cli.json")
	const api = "2020-06-01"
	path := "/subscriptions/" + w.e.SubscriptionID() + "/resourcegroups/cli_test_rg_scenario?api-version=" + api

	sameAnswer(t, "HEAD of a missing group", exchange(t, rec, "headMissing"), w.call("HEAD", path, nil), nil, nil)
	a := w.call("PUT", path, exchange(t, rec, "create")["request"])
	sameAnswer(t, "Resource Groups - Create Or Update", exchange(t, rec, "create"), a, nil, nil)
	assert.Equal(t, "test_admin", str(a.json(t), "managedBy"))
	sameAnswer(t, "HEAD of the group", exchange(t, rec, "headFound"), w.call("HEAD", path, nil), nil, nil)
	sameAnswer(t, "Resource Groups - Get", exchange(t, rec, "show"), w.call("GET", path, nil), nil, nil)

	// az group list --tag a=b: only the groups with that tag.
	l := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/resourcegroups?$filter="+url.QueryEscape("tagname eq 'a' and tagvalue eq 'b'")+"&api-version="+api, nil)
	sameAnswer(t, "Resource Groups - List --tag a=b", exchange(t, rec, "list"), l, nil, nil)
	require.Len(t, get(l.json(t), "value"), 1)
	assert.Equal(t, "cli_test_rg_scenario", str(get(l.json(t), "value").([]any)[0], "name"))
	l = w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/resourcegroups?$filter="+url.QueryEscape("tagname eq 'a' and tagvalue eq 'c'")+"&api-version="+api, nil)
	assert.Empty(t, get(l.json(t), "value"))
	l = w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/resourcegroups?$filter="+url.QueryEscape("location eq 'westus'")+"&api-version="+api, nil)
	assert.Equal(t, 400, l.status)
	assert.Equal(t, "InvalidFilterInQueryString", str(l.json(t), "error", "code"))

	rec = recording(t, "rg_patch.json")
	path = "/subscriptions/" + w.e.SubscriptionID() + "/resourcegroups/testrg1496?api-version=2022-09-01"
	require.Equal(t, 201, w.call("PUT", path, map[string]any{"location": "westus2"}).status)
	sameAnswer(t, "Resource Groups - Get (no tags)", exchange(t, rec, "get"), w.call("GET", path, nil), nil, nil)
	p := w.call("PATCH", path, exchange(t, rec, "patch")["request"])
	sameAnswer(t, "Resource Groups - Update", exchange(t, rec, "patch"), p, nil, nil)
	assert.Equal(t, map[string]any{"key": "value"}, get(p.json(t), "tags"))
	bad := w.call("PATCH", path, exchange(t, rec, "badTag")["request"])
	sameAnswer(t, "a blank tag name", exchange(t, rec, "badTag"), bad, nil, nil)
	assert.Equal(t, "InvalidTagName", str(bad.json(t), "error", "code"))
	assert.Equal(t, map[string]any{"key": "value"}, get(w.call("GET", path, nil).json(t), "tags"), "nothing changed")
}

// sameJobURL compares a group deletion's Location with the recorded one:
// the same host and path but for the job, whose JSON has the recorded keys,
// the deletion job's prefix and the group's location.
func sameJobURL(t testing.TB, recorded, got, apiVersion, location string) {
	t.Helper()
	ru, err := url.Parse(recorded)
	require.NoError(t, err)
	gu, err := url.Parse(got)
	require.NoError(t, err)
	assert.Equal(t, ru.Host, gu.Host)
	rs, gs := strings.Split(ru.Path, "/"), strings.Split(gu.Path, "/")
	require.Len(t, gs, len(rs), got)
	assert.Equal(t, "operationresults", gs[3])
	assert.Equal(t, apiVersion, gu.Query().Get("api-version"))
	job := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err, "the job is unpadded base64url: %s", s)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	rj, gj := job(rs[4]), job(gs[4])
	sameShape(t, "the deletion job", rj, gj, nil, nil)
	assert.True(t, strings.HasPrefix(str(gj, "jobId"), "RESOURCEGROUPDELETIONJOB-"), "%v", gj)
	assert.True(t, strings.HasSuffix(str(gj, "jobId"), "-"+strings.ToUpper(location)), "%v", gj)
	assert.Equal(t, location, str(gj, "jobLocation"))
}

func TestResourceGroupDeleteAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "rg_delete.json")
	const api = "2022-09-01"
	path := "/subscriptions/" + w.e.SubscriptionID() + "/resourcegroups/testrg7368?api-version=" + api
	a := w.call("PUT", path, exchange(t, rec, "create")["request"])
	sameAnswer(t, "Resource Groups - Create Or Update", exchange(t, rec, "create"), a, nil, nil)
	_, has := a.json(t).(map[string]any)["tags"]
	assert.False(t, has, "created without tags, shown without")
	uai := "/subscriptions/" + w.e.SubscriptionID() + "/resourceGroups/testrg7368/providers/Microsoft.ManagedIdentity/userAssignedIdentities/goes?api-version=2023-01-31"
	require.Equal(t, 201, w.call("PUT", uai, map[string]any{"location": "westus2"}).status)

	del := exchange(t, rec, "delete")
	d := w.call("DELETE", path, nil)
	sameAnswer(t, "Resource Groups - Delete", del, d, nil, nil)
	sameJobURL(t, str(del, "headers", "Location"), d.header.Get("Location"), api, "westus2")
	retryAfter(t, "DELETE", del, d)

	// The Location answers 202 (again with Location and Retry-After) while
	// the deletion runs, then 200.
	running := exchange(t, rec, "pollRunning")
	p := w.call("GET", d.header.Get("Location"), nil)
	sameAnswer(t, "the deletion running", running, p, nil, nil)
	assert.Equal(t, d.header.Get("Location"), p.header.Get("Location"))
	retryAfter(t, "poll", running, p)
	p = w.call("GET", p.header.Get("Location"), nil)
	sameAnswer(t, "the deletion done", exchange(t, rec, "pollDone"), p, nil, nil)
	assert.Equal(t, 404, w.call("GET", path, nil).status)
	assert.Equal(t, 404, w.call("GET", uai, nil).status, "its resources went with it")

	// A deletion job the emulator does not track (one begun before a
	// restart) is done.
	job, _ := json.Marshal(map[string]string{"jobId": "RESOURCEGROUPDELETIONJOB-OLD|0123456789ABCDEF0123456789ABCDEF-WESTUS2", "jobLocation": "westus2"})
	old := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/operationresults/"+base64.RawURLEncoding.EncodeToString(job)+"?api-version="+api, nil)
	assert.Equal(t, 200, old.status, "%s", old.raw)
	// A job that never was is not found, in Resource Manager's error shape.
	bogus := "/subscriptions/" + w.e.SubscriptionID() + "/operationresults/bm90LWEtam9i?api-version=" + api
	n := w.call("GET", bogus, nil)
	assert.Equal(t, 404, n.status)
	assert.NotEmpty(t, str(n.json(t), "error", "code"))
	assert.Equal(t, "ResourceGroupNotFound", str(w.call("DELETE", path, nil).json(t), "error", "code"))
}

func TestResourcesListAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	sub := "/subscriptions/" + w.e.SubscriptionID()
	require.Equal(t, 201, w.call("PUT", sub+"/resourcegroups/listed?api-version=2022-09-01", map[string]any{"location": "westus2"}).status)
	// A network interface created without tags: Microsoft.Network shows
	// none, so the lists show none.
	nic := w.call("PUT", sub+"/resourceGroups/listed/providers/Microsoft.Network/networkInterfaces/listed-nic?api-version=2024-05-01",
		map[string]any{"location": "westus2", "properties": map[string]any{"ipConfigurations": []any{map[string]any{"name": "c"}}}})
	require.Contains(t, []int{200, 201}, nic.status, "%s", nic.raw)

	rec := recording(t, "resources_list_group.json")
	l := w.call("GET", sub+"/resourceGroups/listed/resources?api-version=2019-10-01", nil)
	sameAnswer(t, "Resources - List By Resource Group", exchange(t, rec, "list"), l, skips(rec), nil)
	require.Len(t, get(l.json(t), "value"), 1)

	rec = recording(t, "resources_list_subscription.json")
	l = w.call("GET", sub+"/resources?$filter="+url.QueryEscape("name eq 'listed-nic'")+"&api-version=2019-10-01", nil)
	sameAnswer(t, "Resources - List $filter=name eq", exchange(t, rec, "list"), l, skips(rec), nil)
	require.Len(t, get(l.json(t), "value"), 1)

	// A user-assigned identity is answered with tags {} (uai_list_delete.json),
	// and listed so.
	require.Equal(t, 201, w.call("PUT", sub+"/resourceGroups/listed/providers/Microsoft.ManagedIdentity/userAssignedIdentities/listed-id?api-version=2023-01-31", map[string]any{"location": "westus2"}).status)
	l = w.call("GET", sub+"/resources?$filter="+url.QueryEscape("name eq 'listed-id'")+"&api-version=2019-10-01", nil)
	require.Len(t, get(l.json(t), "value"), 1)
	assert.Equal(t, map[string]any{}, get(get(l.json(t), "value").([]any)[0], "tags"))

	bad := w.call("GET", sub+"/resources?$filter="+url.QueryEscape("color eq 'red'")+"&api-version=2019-10-01", nil)
	assert.Equal(t, 400, bad.status)
	assert.Equal(t, "InvalidFilterInQueryString", str(bad.json(t), "error", "code"))
}

func TestRoleDefinitionsAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "role_definitions.json")
	list := exchange(t, rec, "list")
	l := w.call("GET", w.rg()+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", nil)
	require.Equal(t, int(list["status"].(float64)), l.status, "%s", l.raw)
	// Every definition has the shape of the recorded built-in one; which
	// of its permission lists are empty differs from role to role.
	var elems, listElems []string
	for _, a := range []string{"actions", "notActions", "dataActions", "notDataActions"} {
		elems = append(elems, "properties.permissions[]."+a+"[]")
		listElems = append(listElems, "value[].properties.permissions[]."+a+"[]")
	}
	builtin := get(list, "body", "value").([]any)[1]
	values := get(l.json(t), "value").([]any)
	require.NotEmpty(t, values)
	for _, v := range values {
		sameShape(t, "a role definition in the list", builtin, v, elems, nil)
	}
	sameAnswer(t, "Role Definitions - List", list, l, listElems, nil)

	const reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	g := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/providers/Microsoft.Authorization/roleDefinitions/"+reader+"?api-version=2022-04-01", nil)
	sameAnswer(t, "Role Definitions - Get", exchange(t, rec, "get"), g, nil, nil)
	assert.Equal(t, "Reader", str(g.json(t), "properties", "roleName"))
	assert.Equal(t, "BuiltInRole", str(g.json(t), "properties", "type"))

	f := w.call("GET", w.rg()+"/providers/Microsoft.Authorization/roleDefinitions?$filter="+url.QueryEscape("roleName eq 'Reader'")+"&api-version=2022-04-01", nil)
	require.Len(t, get(f.json(t), "value"), 1, "az role assignment create --role reader looks the role up by name")
	n := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-000000000000?api-version=2022-04-01", nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "RoleDefinitionDoesNotExist", str(n.json(t), "error", "code"))
}

func TestRoleAssignmentsAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "role_assignments.json")
	const api = "2022-04-01"
	id := w.call("PUT", w.rg()+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/assigned?api-version=2023-01-31", map[string]any{"location": "westus"})
	require.Equal(t, 201, id.status)
	principal := str(id.json(t), "properties", "principalId")
	reader := "/subscriptions/" + w.e.SubscriptionID() + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	body := map[string]any{"properties": map[string]any{"roleDefinitionId": reader, "principalId": principal, "principalType": "ServicePrincipal"}}
	path := w.rg() + "/providers/Microsoft.Authorization/roleAssignments/88888888-0000-0000-0000-000000000001?api-version=" + api

	a := w.call("PUT", path, body)
	sameAnswer(t, "Role Assignments - Create", exchange(t, rec, "create"), a, skips(rec), nil)
	assert.Nil(t, get(a.json(t), "properties", "createdBy"), "the 201 names no creator")
	assert.Equal(t, w.e.Operator.ObjectID, str(a.json(t), "properties", "updatedBy"))

	// Get: the example's fields, and the rest as recorded for the same
	// resource (the listed one).
	listed := get(exchange(t, rec, "list"), "body", "value").([]any)[0]
	var more []string
	for p := range shape(listed) {
		if strings.HasPrefix(p, "properties.") {
			more = append(more, p)
		}
	}
	spec := recording(t, "role_assignment_get.json")
	g := w.call("GET", path, nil)
	sameAnswer(t, "Role Assignments - Get", exchange(t, spec, "get"), g, nil, more)
	sameShape(t, "Role Assignments - Get (as listed)", listed, g.json(t), nil, nil)
	assert.Equal(t, w.e.Operator.ObjectID, str(g.json(t), "properties", "createdBy"), "read later, the creator is named")

	l := w.call("GET", w.rg()+"/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()&api-version="+api, nil)
	sameAnswer(t, "Role Assignments - List For Scope", exchange(t, rec, "list"), l, nil, nil)
	found := false
	for _, v := range get(l.json(t), "value").([]any) {
		found = found || str(v, "name") == "88888888-0000-0000-0000-000000000001"
	}
	assert.True(t, found, "the new assignment is listed at its scope")

	// The same role for the same principal at the same scope, under
	// another name, is refused.
	dup := recording(t, "role_assignment_exists.json")
	x := w.call("PUT", w.rg()+"/providers/Microsoft.Authorization/roleAssignments/88888888-0000-0000-0000-000000000002?api-version="+api, body)
	sameAnswer(t, "a duplicate assignment", exchange(t, dup, "duplicate"), x, nil, nil)
	assert.Equal(t, "RoleAssignmentExists", str(x.json(t), "error", "code"))
	assert.True(t, strings.HasPrefix(str(x.json(t), "error", "message"), "The role assignment already exists."), str(x.json(t), "error", "message"))

	d := w.call("DELETE", path, nil)
	sameAnswer(t, "Role Assignments - Delete", exchange(t, rec, "delete"), d, skips(rec), nil)
	assert.Equal(t, principal, str(d.json(t), "properties", "principalId"))
	sameAnswer(t, "Role Assignments - Delete of none", exchange(t, recording(t, "role_assignment_delete_missing.json"), "delete"), w.call("DELETE", path, nil), nil, nil)
	assert.Equal(t, 404, w.call("GET", path, nil).status)
}

func TestUserAssignedIdentityReadListDeleteAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	id := w.rg() + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/recorded-id"
	require.Equal(t, 201, w.call("PUT", id+"?api-version=2022-01-31-preview", map[string]any{"location": "westus"}).status)

	sameAnswer(t, "User Assigned Identities - Get", exchange(t, recording(t, "uai_get.json"), "get"), w.call("GET", id+"?api-version=2023-01-31", nil), nil, nil)

	rec := recording(t, "uai_list_delete.json")
	l := w.call("GET", w.rg()+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2022-01-31-preview", nil)
	sameAnswer(t, "User Assigned Identities - List By Resource Group", exchange(t, rec, "list"), l, nil, nil)
	d := w.call("DELETE", id+"?api-version=2022-01-31-preview", nil)
	sameAnswer(t, "User Assigned Identities - Delete", exchange(t, rec, "delete"), d, nil, nil)
	n := w.call("GET", id+"?api-version=2023-01-31", nil)
	assert.Equal(t, 404, n.status)
	assert.Equal(t, "ResourceNotFound", str(n.json(t), "error", "code"))
	assert.Equal(t, 204, w.call("DELETE", id+"?api-version=2022-01-31-preview", nil).status, "nothing left to delete")
}

func TestVMExtensionAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec := recording(t, "vm_extension_lifecycle.json")
	const api = "2024-11-01"
	ext := w.e.World.VMResourceID + "/extensions/MyAccessExt?api-version=" + api

	put := exchange(t, rec, "put")
	a := w.call("PUT", ext, put["request"])
	sameAnswer(t, "Virtual Machine Extensions - Create Or Update", put, a, nil, nil)
	assert.Equal(t, "Creating", str(a.json(t), "properties", "provisioningState"))
	assert.Empty(t, a.header.Get("Location"), "Compute names only the status resource")
	assert.Empty(t, a.header.Get("Retry-After"), "and asks for no pace")
	sameURLShape(t, "Azure-AsyncOperation", str(put, "headers", "azure-asyncoperation"), a.header.Get("Azure-AsyncOperation"), api)

	async := a.header.Get("Azure-AsyncOperation")
	p := w.call("GET", async, nil)
	sameAnswer(t, "the operation running", exchange(t, rec, "pollRunning"), p, nil, nil)
	assert.Equal(t, "InProgress", str(p.json(t), "status"))
	p = w.call("GET", async, nil)
	sameAnswer(t, "the operation done", exchange(t, rec, "pollDone"), p, nil, nil)
	assert.Equal(t, "Succeeded", str(p.json(t), "status"))
	g := w.call("GET", ext, nil)
	sameAnswer(t, "Virtual Machine Extensions - Get", exchange(t, rec, "get"), g, nil, nil)
	assert.Equal(t, "Succeeded", str(g.json(t), "properties", "provisioningState"))

	list := recording(t, "vm_extension_list.json")
	l := w.call("GET", w.e.World.VMResourceID+"/extensions?api-version="+api, nil)
	sameAnswer(t, "Virtual Machine Extensions - List", exchange(t, list, "list"), l, skips(list), nil)
	for _, v := range get(l.json(t), "value").([]any) {
		if str(v, "name") == "MyAccessExt" {
			sameShape(t, "the listed extension", exchange(t, rec, "get")["body"], v, nil, nil)
		}
	}

	upd := recording(t, "vm_extension_update.json")
	patch := exchange(t, upd, "patch")
	u := w.call("PATCH", ext, patch["request"])
	sameAnswer(t, "Virtual Machine Extensions - Update", patch, u, nil, nil)
	assert.Equal(t, "Updating", str(u.json(t), "properties", "provisioningState"))
	assert.Empty(t, u.header.Get("Location"))
	sameURLShape(t, "Azure-AsyncOperation of the update", str(patch, "headers", "Azure-AsyncOperation"), u.header.Get("Azure-AsyncOperation"), api)
	p = w.call("GET", u.header.Get("Azure-AsyncOperation"), nil)
	sameAnswer(t, "the update running", exchange(t, upd, "pollRunning"), p, nil, nil)
	p = w.call("GET", u.header.Get("Azure-AsyncOperation"), nil)
	sameAnswer(t, "the update done", exchange(t, upd, "pollDone"), p, nil, nil)
	sameAnswer(t, "the extension after its update", exchange(t, upd, "get"), w.call("GET", ext, nil), nil, nil)

	// A PUT of the installed extension updates it: 200, "Updating", the
	// same polling. Compute's retry-after: 0 of 2022 is gone from its 2025
	// answers (vm_extension_lifecycle.json), and the emulator sends none.
	again := recording(t, "vm_extension_put_update.json")
	body := put["request"].(map[string]any)
	body["properties"].(map[string]any)["typeHandlerVersion"] = "1.4"
	a = w.call("PUT", ext, body)
	sameAnswer(t, "Create Or Update of an installed extension", exchange(t, again, "putUpdate"), a, nil, nil, "retry-after")
	assert.Equal(t, "Updating", str(a.json(t), "properties", "provisioningState"))
	p = w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	sameAnswer(t, "the update running", exchange(t, again, "pollRunning"), p, nil, nil, "retry-after")
	p = w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	sameAnswer(t, "the update done", exchange(t, again, "pollDone"), p, nil, nil, "retry-after")
	g = w.call("GET", ext, nil)
	sameAnswer(t, "the updated extension", exchange(t, again, "get"), g, nil, nil, "retry-after")
	assert.Equal(t, "1.4", str(g.json(t), "properties", "typeHandlerVersion"))

	del := exchange(t, rec, "delete")
	d := w.call("DELETE", ext, nil)
	sameAnswer(t, "Virtual Machine Extensions - Delete", del, d, nil, nil)
	sameURLShape(t, "the delete's Azure-AsyncOperation", str(del, "headers", "azure-asyncoperation"), d.header.Get("Azure-AsyncOperation"), api)
	sameURLShape(t, "the delete's Location", str(del, "headers", "location"), d.header.Get("Location"), api)
	assert.Equal(t, "true", mustURL(t, d.header.Get("Location")).Query().Get("monitor"))
	m := w.call("GET", d.header.Get("Location"), nil)
	assert.Equal(t, 202, m.status, "the monitor answers 202 while the deletion runs")
	p = w.call("GET", d.header.Get("Azure-AsyncOperation"), nil)
	sameAnswer(t, "the deletion done", exchange(t, rec, "deletePollDone"), p, nil, nil)
	monitor := recording(t, "vm_extension_monitor.json")
	sameAnswer(t, "the removal's Location when done", exchange(t, monitor, "monitorDone"), w.call("GET", d.header.Get("Location"), nil), nil, nil, "retry-after")
	sameAnswer(t, "Delete (2021)", exchange(t, monitor, "delete"), d, nil, nil, "retry-after")
	assert.Equal(t, 404, w.call("GET", ext, nil).status)
	assert.Equal(t, 204, w.call("DELETE", ext, nil).status, "nothing left to delete")

	n := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/providers/Microsoft.Compute/locations/westus/operations/00000000-0000-4000-8000-000000000000?api-version="+api, nil)
	assert.Equal(t, 404, n.status)
	assert.NotEmpty(t, str(n.json(t), "error", "code"))
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
