package graph

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
)

// The key forms of one object: by object id as a segment (recorded by the
// CLI), in parentheses (OData's canonical form) and by the appId alternate
// key. Each answers as the recorded GET by object id does, 200 and 404
// alike: the excerpts say why the three are held against one recording.

// GET applications/{id}, applications('{id}') and applications(appId='…'):
// the recorded GET of test_app_scenario.yaml (app_get.json) and its 404
// (app_not_found.json).
func TestApplicationKeyFormsAsRecorded(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	list := f.get(filterPath("applications", "appId eq '"+f.operator.ClientID+"'"), tok)
	require.Len(t, list.value(), 1)
	id := list.value()[0]["id"].(string)

	for _, path := range []string{
		"/v1.0/applications/" + id,
		"/v1.0/applications('" + id + "')",
		"/v1.0/applications(appId='" + f.operator.ClientID + "')",
		"/v1.0/applications(appId='" + strings.ToUpper(f.operator.ClientID) + "')",
	} {
		t.Run(path, func(t *testing.T) {
			a := f.get(path, tok)
			assertLike(t, loadRecording(t, "app_get.json"), a)
			assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#applications/$entity", a.body["@odata.context"])
			assert.Equal(t, id, a.body["id"], "every form names the same object")
			assert.Equal(t, f.operator.ClientID, a.body["appId"])
			assert.NotContains(t, a.raw, f.operator.Secret)
		})
	}

	missing := directory.NewGUID()
	for _, tc := range []struct{ path, key string }{
		{"/v1.0/applications/" + missing, missing},
		{"/v1.0/applications('" + missing + "')", missing},
		{"/v1.0/applications(appId='" + missing + "')", missing},
		// A managed identity has a client id but no app registration.
		{"/v1.0/applications(appId='" + f.system.ClientID + "')", f.system.ClientID},
		// An application's object id is not its principal's.
		{"/v1.0/applications/" + f.operator.ObjectID, f.operator.ObjectID},
	} {
		t.Run(tc.path, func(t *testing.T) {
			a := f.get(tc.path, tok)
			assertLike(t, loadRecording(t, "app_not_found.json"), a)
			assert.Equal(t, "Resource '"+tc.key+"' does not exist or one of its queried reference-property objects are not present.", a.errMessage())
		})
	}
}

// GET servicePrincipals('{id}') and servicePrincipals(appId='…'), of an
// application's principal and of a managed identity's: the recorded GET
// by object id (sp_get.json) and its 404 (sp_not_found.json).
func TestServicePrincipalKeyFormsAsRecorded(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	for _, p := range []directory.Principal{f.operator, f.system, f.user} {
		for _, path := range []string{
			"/v1.0/servicePrincipals('" + p.ObjectID + "')",
			"/v1.0/servicePrincipals(appId='" + p.ClientID + "')",
		} {
			t.Run(path, func(t *testing.T) {
				a := f.get(path, tok)
				assertLike(t, loadRecording(t, "sp_get.json"), a)
				assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity", a.body["@odata.context"])
				assert.Equal(t, p.ObjectID, a.body["id"])
				assert.Equal(t, p.ClientID, a.body["appId"])
				assert.Equal(t, f.get(spPath(p.ObjectID), tok).raw, a.raw, "the same object as servicePrincipals/{id}")
			})
		}
	}
	missing := directory.NewGUID()
	for _, path := range []string{
		"/v1.0/servicePrincipals('" + missing + "')",
		"/v1.0/servicePrincipals(appId='" + missing + "')",
	} {
		t.Run(path, func(t *testing.T) {
			a := f.get(path, tok)
			assertLike(t, loadRecording(t, "sp_not_found.json"), a)
			assert.Equal(t, "Resource '"+missing+"' does not exist or one of its queried reference-property objects are not present.", a.errMessage())
		})
	}
	t.Run("a key in parentheses must be an object id", func(t *testing.T) {
		a := f.get("/v1.0/servicePrincipals('not-a-guid')", tok)
		assert.Equal(t, http.StatusBadRequest, a.code)
		assert.Equal(t, "Request_BadRequest", a.errCode())
	})
}
