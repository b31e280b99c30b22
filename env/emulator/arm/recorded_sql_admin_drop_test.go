package arm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/arm"
)

// TestSQLAdminDropAsRecorded holds removing a server's Azure AD admin
// against the live exchange recorded by the .NET SDK (sql_admin_drop.json):
// a 202 with the polling headers, the status resource, and the Location
// (serverAdministratorOperationResults): 202 while the drop runs, then 200
// without a body, which is what a poller that reads a delete's Location
// once done gets.
func TestSQLAdminDropAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 15})
	rec := recording(t, "sql_admin_drop.json")
	for _, api := range []string{"2019-06-01-preview", "2023-08-01"} {
		t.Run(api, func(t *testing.T) {
			srv := w.rg() + "/providers/Microsoft.Sql/servers/admin-drop-" + strings.ReplaceAll(api, "-", "") + "-" + strings.ToLower(w.e.SubscriptionID()[:8])
			admin := w.sqlServerWithAdmin(t, srv, api, "dummylogin", "Un53cuRE!x")

			d := w.call("DELETE", admin, nil)
			del := rec["delete"].(map[string]any)
			require.Equal(t, status(del), d.status, "%s", d.raw)
			sameShape(t, "the drop's 202", del["body"], d.json(t), nil, nil)
			assert.Equal(t, "DropActiveDirectoryAdministrator", str(d.json(t), "operation"))
			for _, h := range []string{"Content-Type", "Cache-Control", "Pragma", "Expires", "Strict-Transport-Security", "X-Content-Type-Options", "x-ms-ratelimit-remaining-subscription-deletes"} {
				assert.NotEmpty(t, d.header.Get(h), "header %s, as recorded", h)
			}
			sameURLShape(t, "Azure-AsyncOperation", str(del, "headers", "Azure-AsyncOperation"), d.header.Get("Azure-AsyncOperation"), api)
			sameURLShape(t, "Location", str(del, "headers", "Location"), d.header.Get("Location"), api)
			retryAfter(t, "DELETE admin", del, d)
			assert.Equal(t, 404, w.call("GET", admin, nil).status, "the admin is gone at once")

			// While the drop runs its Location says so again.
			loc := d.header.Get("Location")
			p := w.call("GET", loc, nil)
			require.Equal(t, 202, p.status, "%s", p.raw)
			assert.Equal(t, loc, p.header.Get("Location"))
			assert.NotEmpty(t, p.header.Get("Retry-After"))

			st := w.call("GET", d.header.Get("Azure-AsyncOperation"), nil)
			require.Equal(t, status(rec["succeeded"]), st.status)
			sameShape(t, "the drop's status", rec["succeeded"].(map[string]any)["body"], st.json(t), nil, nil)
			assert.Equal(t, "Succeeded", str(st.json(t), "status"))

			res := w.call("GET", loc, nil)
			want := rec["result"].(map[string]any)
			require.Equal(t, status(want), res.status, "%s", res.raw)
			assert.Empty(t, res.raw, "as recorded, no body")
			assert.Equal(t, "0", res.header.Get("Content-Length"))
			assert.Empty(t, res.header.Get("Content-Type"), "as recorded, no Content-Type")
			for _, h := range []string{"Cache-Control", "Pragma", "Expires", "Strict-Transport-Security", "X-Content-Type-Options", "x-ms-ratelimit-remaining-subscription-reads"} {
				assert.NotEmpty(t, res.header.Get(h), "header %s, as recorded", h)
			}

			// The Location of an operation of another family is not found.
			other := strings.Replace(loc, "serverAdministratorOperationResults", "serverOperationResults", 1)
			assert.Equal(t, 404, w.call("GET", other, nil).status)
			// Nothing left to remove: 204, as the REST spec allows.
			assert.Equal(t, 204, w.call("DELETE", admin, nil).status)
		})
	}
}

// sqlServerWithAdmin creates the server srv (SQL authentication with login
// and password), then its Entra admin "DSEngAll" (the operator), as the
// recorded admin tests did, and returns the admin's URL path.
func (w *world) sqlServerWithAdmin(t *testing.T, srv, api, login, password string) string {
	t.Helper()
	require.Equal(t, 202, w.call("PUT", srv+"?api-version="+api, map[string]any{"location": "westeurope",
		"properties": map[string]any{"administratorLogin": login, "administratorLoginPassword": password}}).status)
	admin := srv + "/administrators/ActiveDirectory?api-version=" + api
	require.Equal(t, 202, w.call("PUT", admin, map[string]any{"properties": map[string]any{
		"administratorType": "ActiveDirectory", "login": "DSEngAll", "sid": w.e.Operator.ObjectID, "tenantId": w.e.TenantID()}}).status)
	return admin
}
