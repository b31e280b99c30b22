package arm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// status is an excerpt's recorded status code.
func status(ex any) int { return int(get(ex, "status").(float64)) }

func TestSQLListsAndDeletesAsRecorded(t *testing.T) {
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
	assert.Equal(t, 404, w.call("GET", srv+"/databases/recorded-db?api-version="+dbAPI, nil).status)
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
