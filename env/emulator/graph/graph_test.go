package graph

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
)

func spPath(id string) string { return "/v1.0/servicePrincipals/" + id }

func filterPath(coll, f string) string {
	return "/v1.0/" + coll + "?$filter=" + url.PathEscape(f)
}

// GET servicePrincipals/{id}, the operator's: the recorded az ad sp show.
func TestGetServicePrincipalApplication(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	a := f.get(spPath(f.operator.ObjectID), f.operatorToken())
	assertLike(t, loadRecording(t, "sp_get.json"), a)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity", a.body["@odata.context"])
	assert.Equal(t, f.operator.ObjectID, a.body["id"])
	assert.Equal(t, f.operator.ClientID, a.body["appId"])
	assert.Equal(t, "Application", a.body["servicePrincipalType"])
	assert.Equal(t, tenant, a.body["appOwnerOrganizationId"])
	assert.Equal(t, []any{f.operator.ClientID}, a.body["servicePrincipalNames"])
	assert.Equal(t, f.operator.Created.Format("2006-01-02T15:04:05Z"), a.body["createdDateTime"])
	assert.Equal(t, []any{}, a.body["passwordCredentials"], "a principal's secrets are on its application, not here")
	assert.NotContains(t, a.raw, f.operator.Secret)
}

// A managed identity's principal, as Graph shows it: type ManagedIdentity,
// appId the client id, the resource id in alternativeNames, and the id
// the identity's tokens carry as oid.
func TestGetServicePrincipalManagedIdentity(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok, err := f.iss.ManagedIdentityToken(f.system, "https://management.azure.com/", vmID)
	require.NoError(t, err)
	claims, err := entra.ParseUnverified(tok.Raw)
	require.NoError(t, err)

	a := f.get(spPath(claims.OID), f.operatorToken())
	assertLike(t, loadRecording(t, "sp_get.json"), a)
	assert.Equal(t, claims.OID, a.body["id"], "the principal's id is the token's oid")
	assert.Equal(t, claims.AppID, a.body["appId"], "appId is the client id the token names")
	assert.Equal(t, "ManagedIdentity", a.body["servicePrincipalType"])
	assert.Equal(t, "myVM", a.body["displayName"])
	assert.Nil(t, a.body["appDisplayName"])
	assert.Equal(t, []any{"isExplicit=False", strings.Replace(vmID, "/resourceGroups/", "/resourcegroups/", 1)}, a.body["alternativeNames"])
	names, _ := a.body["servicePrincipalNames"].([]any)
	require.Len(t, names, 2)
	assert.Equal(t, f.system.ClientID, names[0])
	assert.Regexp(t, `^https://identity\.azure\.net/[A-Za-z0-9+/]{43}=$`, names[1])
	keys, _ := a.body["keyCredentials"].([]any)
	require.Len(t, keys, 1)
	k := keys[0].(map[string]any)
	assert.Equal(t, "AsymmetricX509Cert", k["type"])
	assert.Equal(t, "Verify", k["usage"])

	u := f.get(spPath(f.user.ObjectID), f.operatorToken())
	assert.Equal(t, 200, u.code)
	assert.Equal(t, []any{"isExplicit=True", strings.Replace(uaiID, "/resourceGroups/", "/resourcegroups/", 1)}, u.body["alternativeNames"])
	assert.Equal(t, "ManagedIdentity", u.body["servicePrincipalType"])
}

// GET servicePrincipals(appId='...') is the same object.
func TestGetServicePrincipalByAppID(t *testing.T) {
	f := newFixture(t, "AzureChinaCloud")
	a := f.get("/v1.0/servicePrincipals(appId='"+strings.ToUpper(f.system.ClientID)+"')", f.operatorToken())
	assertLike(t, loadRecording(t, "sp_get.json"), a)
	assert.Equal(t, f.system.ObjectID, a.body["id"])
	assert.Equal(t, "https://microsoftgraph.chinacloudapi.cn/v1.0/$metadata#servicePrincipals/$entity", a.body["@odata.context"])

	a = f.get("/v1.0/servicePrincipals('"+f.user.ObjectID+"')", f.operatorToken())
	assert.Equal(t, f.user.ObjectID, a.body["id"], "a key in parentheses is the object id")

	missing := directory.NewGUID()
	a = f.get("/v1.0/servicePrincipals(appId='"+missing+"')", f.operatorToken())
	assertLike(t, loadRecording(t, "sp_not_found.json"), a)
	assert.Contains(t, a.errMessage(), missing)
}

// A principal that does not exist: the recorded 404.
func TestGetServicePrincipalNotFound(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	missing := directory.NewGUID()
	a := f.get(spPath(missing), f.operatorToken())
	assertLike(t, loadRecording(t, "sp_not_found.json"), a)
	assert.Equal(t, "Resource '"+missing+"' does not exist or one of its queried reference-property objects are not present.", a.errMessage())
	inner := a.body["error"].(map[string]any)["innerError"].(map[string]any)
	assert.Equal(t, a.header.Get("request-id"), inner["request-id"])
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`, inner["date"])

	a = f.get(spPath("not-a-guid"), f.operatorToken())
	assert.Equal(t, 400, a.code)
	assert.Equal(t, "Request_BadRequest", a.errCode())
	assert.Equal(t, "Invalid object identifier 'not-a-guid'.", a.errMessage())
}

// Disabling a system-assigned identity (or deleting its VM) removes its
// principal from the directory; Graph no longer shows it.
func TestServicePrincipalGoneWithIdentity(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	require.Equal(t, 200, f.get(spPath(f.system.ObjectID), tok).code)
	f.iss.Dir.Remove(f.system.ObjectID)
	assert.Equal(t, 404, f.get(spPath(f.system.ObjectID), tok).code)
	a := f.get(filterPath("servicePrincipals", "appId eq '"+f.system.ClientID+"'"), tok)
	assert.Equal(t, 200, a.code)
	assert.Empty(t, a.value())
}

// GET servicePrincipals?$filter= with the filters az and the SDKs send.
func TestListServicePrincipalsFilters(t *testing.T) {
	f := newFixture(t, "AzureUSGovernment")
	tok := f.operatorToken()
	rec := loadRecording(t, "sp_list.json")
	cases := []struct {
		filter string
		want   []string
	}{
		{"appId eq '" + f.system.ClientID + "'", []string{f.system.ObjectID}},
		{"servicePrincipalNames/any(c:c eq '" + f.operator.ClientID + "')", []string{f.operator.ObjectID}},
		{"servicePrincipalNames/any(x:x eq '" + strings.ToUpper(f.user.ClientID) + "')", []string{f.user.ObjectID}},
		{"displayName eq 'MYVM'", []string{f.system.ObjectID}},
		{"startswith(displayName,'miconform')", []string{f.operator.ObjectID}},
		{"servicePrincipalType eq 'ManagedIdentity'", []string{f.user.ObjectID, f.system.ObjectID}},
		{"servicePrincipalType eq 'ManagedIdentity' and displayName eq 'ID1'", []string{f.user.ObjectID}},
		{"displayName eq 'ID1' or displayName eq 'myVM'", []string{f.user.ObjectID, f.system.ObjectID}},
		{"not (servicePrincipalType eq 'ManagedIdentity')", []string{f.operator.ObjectID}},
		{"alternativeNames/any(n:startswith(n,'/subscriptions/'))", []string{f.user.ObjectID, f.system.ObjectID}},
		{"id eq '" + f.user.ObjectID + "'", []string{f.user.ObjectID}},
		{"accountEnabled eq true and appId eq '" + f.operator.ClientID + "'", []string{f.operator.ObjectID}},
		{"appId eq '" + directory.NewGUID() + "'", nil},
	}
	for _, c := range cases {
		a := f.get(filterPath("servicePrincipals", c.filter), tok)
		if len(c.want) > 0 {
			assertLike(t, rec, a)
		} else {
			assert.Equal(t, 200, a.code, c.filter)
			assert.Equal(t, []any{}, a.body["value"], "an empty list, as recorded in test_sp_show_exit_code.yaml")
		}
		var got []string
		for _, v := range a.value() {
			got = append(got, v["id"].(string))
		}
		assert.ElementsMatch(t, c.want, got, c.filter)
		assert.Equal(t, "https://graph.microsoft.us/v1.0/$metadata#servicePrincipals", a.body["@odata.context"], c.filter)
	}
	all := f.get("/v1.0/servicePrincipals", tok)
	assert.Len(t, all.value(), 3, "no filter lists every principal")
}

// Filters Graph refuses, with its codes.
func TestListServicePrincipalsBadFilters(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	cases := []struct{ filter, code, msg string }{
		// az ad sp show --id "" sends this.
		{"servicePrincipalNames/any(c:c eq '')", "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'servicePrincipalNames' of resource 'ServicePrincipal'."},
		{"colour eq 'red'", "BadRequest", "Invalid filter clause: Could not find a property named 'colour' on type 'microsoft.graph.servicePrincipal'."},
		{"servicePrincipalNames eq 'x'", "Request_UnsupportedQuery", ""},
		{"appId gt 'a'", "Request_UnsupportedQuery", ""},
		{"appId eq 'unterminated", "BadRequest", ""},
		{"appId eq", "BadRequest", ""},
		{"(appId eq 'a'", "BadRequest", ""},
		{"appId eq 'a' xor", "BadRequest", ""},
		{"servicePrincipalNames/all(c:c eq 'a')", "Request_UnsupportedQuery", ""},
		{strings.Repeat("(", 40) + "appId eq 'a'" + strings.Repeat(")", 40), "BadRequest", ""},
	}
	for _, c := range cases {
		a := f.get(filterPath("servicePrincipals", c.filter), tok)
		assert.Equal(t, 400, a.code, c.filter)
		assert.Equal(t, c.code, a.errCode(), c.filter)
		if c.msg != "" {
			assert.Equal(t, c.msg, a.errMessage(), c.filter)
		}
	}
}

// $top pages with @odata.nextLink, which az follows; $select narrows.
func TestListPagingAndSelect(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	var seen []string
	path := "/v1.0/servicePrincipals?$top=2"
	for i := 0; path != "" && i < 5; i++ {
		a := f.get(path, tok)
		require.Equal(t, 200, a.code, a.raw)
		for _, v := range a.value() {
			seen = append(seen, v["id"].(string))
		}
		path = ""
		if next, ok := a.body["@odata.nextLink"].(string); ok {
			path = strings.TrimPrefix(next, "https://graph.microsoft.com")
		}
	}
	assert.ElementsMatch(t, []string{f.operator.ObjectID, f.system.ObjectID, f.user.ObjectID}, seen)

	a := f.get("/v1.0/servicePrincipals?$select=id,appId&$filter="+url.QueryEscape("appId eq '"+f.user.ClientID+"'"), tok)
	require.Equal(t, 200, a.code, a.raw)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appId)", a.body["@odata.context"])
	assert.Equal(t, []map[string]any{{"id": f.user.ObjectID, "appId": f.user.ClientID}}, a.value())

	a = f.get(spPath(f.user.ObjectID)+"?$select=displayName", tok)
	assert.Equal(t, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(displayName)/$entity", "displayName": "ID1"}, a.body)

	for _, q := range []string{"$top=0", "$top=1000", "$top=x", "$skiptoken=%%%", "$select=nope", "$orderby=displayName"} {
		a := f.get("/v1.0/servicePrincipals?"+q, tok)
		assert.Equal(t, 400, a.code, q)
		assert.NotEmpty(t, a.errCode(), q)
	}
}

// applications: the operator's app registration, the recorded shape.
func TestApplications(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	a := f.get(filterPath("applications", "appId eq '"+f.operator.ClientID+"'"), tok)
	assertLike(t, loadRecording(t, "app_list.json"), a)
	require.Len(t, a.value(), 1)
	app := a.value()[0]
	assert.Equal(t, f.operator.ClientID, app["appId"])
	assert.NotEqual(t, f.operator.ObjectID, app["id"], "an application object is not its service principal")
	assert.Equal(t, "miconform-operator", app["displayName"])
	assert.Equal(t, []any{map[string]any{"resourceAppId": "00000003-0000-0000-c000-000000000000",
		"resourceAccess": []any{map[string]any{"id": "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "type": "Role"}}}}, app["requiredResourceAccess"])
	creds := app["passwordCredentials"].([]any)
	require.Len(t, creds, 1)
	assert.Equal(t, f.operator.Secret[:3], creds[0].(map[string]any)["hint"])
	assert.Nil(t, creds[0].(map[string]any)["secretText"])
	assert.NotContains(t, a.raw, f.operator.Secret)

	id := app["id"].(string)
	one := f.get("/v1.0/applications/"+id, tok)
	assert.Equal(t, 200, one.code)
	assert.Equal(t, id, one.body["id"])
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#applications/$entity", one.body["@odata.context"])
	byApp := f.get("/v1.0/applications(appId='"+f.operator.ClientID+"')", tok)
	assert.Equal(t, id, byApp.body["id"])
	assert.Equal(t, id, f.get("/v1.0/applications/"+id, tok).body["id"], "the id is stable")

	// Managed identities have no app registration in the tenant.
	mi := f.get(filterPath("applications", "appId eq '"+f.system.ClientID+"'"), tok)
	assert.Equal(t, 200, mi.code)
	assert.Empty(t, mi.value())
	assert.Equal(t, 404, f.get("/v1.0/applications(appId='"+f.system.ClientID+"')", tok).code)
}

// /me with an app-only token, whoever asks.
func TestMeWithAppOnlyToken(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, tok := range []string{f.operatorToken(), f.miToken(f.system)} {
		a := f.get("/v1.0/me", tok)
		assertLike(t, loadRecording(t, "me_app_only.json"), a)
		assert.Equal(t, "/me request is only valid with delegated authentication flow.", a.errMessage())
	}
}

// Graph's own 403 for a caller without directory read permission: a VM's
// identity has no Graph app role until one is granted.
func TestDirectoryReadPermission(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	mi := f.miToken(f.system)
	for _, p := range []string{spPath(f.system.ObjectID), "/v1.0/servicePrincipals", filterPath("servicePrincipals", "appId eq '"+f.system.ClientID+"'"), "/v1.0/applications"} {
		a := f.get(p, mi)
		assertLike(t, loadRecording(t, "denied.json"), a)
		assert.Equal(t, "Insufficient privileges to complete the operation.", a.errMessage(), p)
	}
	claims, _ := entra.ParseUnverified(mi)
	assert.Empty(t, claims.Roles)

	granted := f.user
	granted.GraphRoles = []string{"Application.Read.All"}
	f.iss.Dir.Add(granted)
	fresh, err := f.iss.ManagedIdentityToken(granted, strings.TrimSuffix(f.c.GraphResource, "/"), vmID)
	require.NoError(t, err)
	claims, _ = entra.ParseUnverified(fresh.Raw)
	assert.Equal(t, []string{"Application.Read.All"}, claims.Roles, "Entra lists the granted Graph app roles in roles")
	assert.Equal(t, 200, f.get(spPath(f.system.ObjectID), fresh.Raw).code)

	armTok, err := f.iss.AppToken(f.operator, "https://management.azure.com/")
	require.NoError(t, err)
	claims, _ = entra.ParseUnverified(armTok.Raw)
	assert.Empty(t, claims.Roles, "Graph app roles are only in Graph tokens")

	// Writes need ReadWrite permissions nobody has.
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete} {
		a := f.do(m, spPath(f.system.ObjectID), f.operatorToken(), `{"displayName":"x"}`)
		assert.Equal(t, 403, a.code, m)
		assert.Equal(t, "Authorization_RequestDenied", a.errCode(), m)
	}
}

// Tokens Graph refuses: missing, for another audience, expired, forged.
func TestAuthentication(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	a := f.get("/v1.0/servicePrincipals", "")
	assert.Equal(t, 401, a.code)
	assert.Equal(t, "InvalidAuthenticationToken", a.errCode())
	assert.Equal(t, "Access token is empty.", a.errMessage())
	assert.Equal(t, `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`, a.header.Get("WWW-Authenticate"))

	arm, err := f.iss.AppToken(f.operator, "https://management.azure.com/")
	require.NoError(t, err)
	a = f.get("/v1.0/servicePrincipals", arm.Raw)
	assertLike(t, loadRecording(t, "invalid_audience.json"), a)
	assert.Equal(t, "Access token validation failure. Invalid audience.", a.errMessage())

	for _, aud := range []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"} {
		tok, err := f.iss.AppToken(f.operator, aud)
		require.NoError(t, err)
		assert.Equal(t, 200, f.get("/v1.0/servicePrincipals", tok.Raw).code, aud)
	}
	cn, err := f.iss.AppToken(f.operator, "https://microsoftgraph.chinacloudapi.cn/")
	require.NoError(t, err)
	assert.Equal(t, 401, f.get("/v1.0/servicePrincipals", cn.Raw).code, "another cloud's Graph is another audience")

	tok := f.operatorToken()
	f.iss.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	a = f.get("/v1.0/servicePrincipals", tok)
	f.iss.SetClock(time.Now)
	assert.Equal(t, 401, a.code)
	assert.Equal(t, "Lifetime validation failed, the token is expired.", a.errMessage())

	parts := strings.Split(tok, ".")
	a = f.get("/v1.0/servicePrincipals", parts[0]+"."+parts[1]+".AAAA")
	assert.Equal(t, 401, a.code)
	a = f.get("/v1.0/servicePrincipals", "not-a-jwt")
	assert.Equal(t, 401, a.code)
	assert.Equal(t, "CompactToken parsing failed with error code: 80049217", a.errMessage())
}

// Paths Graph has no resource for.
func TestUnknownPaths(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok := f.operatorToken()
	a := f.get("/v1.0/widgets", tok)
	assert.Equal(t, 400, a.code)
	assert.Equal(t, "Resource not found for the segment 'widgets'.", a.errMessage())
	a = f.get("/v2.0/servicePrincipals", tok)
	assert.Equal(t, 400, a.code)
	a = f.get(spPath(f.system.ObjectID)+"/owners", tok)
	assert.Equal(t, 400, a.code)
	assert.Equal(t, "Resource not found for the segment 'owners'.", a.errMessage())
}

// POST directoryObjects/getByIds, as az role assignment list sends it.
func TestGetByIDs(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	body := `{"ids":["` + f.system.ObjectID + `","` + directory.NewGUID() + `"],"types":["user","group","servicePrincipal","directoryObjectPartnerReference"]}`
	a := f.do(http.MethodPost, "/v1.0/directoryObjects/getByIds", f.operatorToken(), body)
	require.Equal(t, 200, a.code, a.raw)
	require.Len(t, a.value(), 1)
	assert.Equal(t, "#microsoft.graph.servicePrincipal", a.value()[0]["@odata.type"])
	assert.Equal(t, f.system.ObjectID, a.value()[0]["id"])
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", a.body["@odata.context"])
	assert.Equal(t, 403, f.do(http.MethodPost, "/v1.0/directoryObjects/getByIds", f.miToken(f.system), body).code)
	assert.Equal(t, 400, f.do(http.MethodPost, "/v1.0/directoryObjects/getByIds", f.operatorToken(), "{").code)
}

// filterView, the fast path of $filter, sees what the JSON shows.
func TestFilterViewMatchesJSON(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for coll, typ := range map[string]entityType{"servicePrincipals": spType, "applications": appType} {
		for _, o := range f.g.objects(coll) {
			fast, slow := filterView(o), view(o)
			for prop, k := range typ.props {
				if k == kindOpaque {
					continue
				}
				assert.Equal(t, slow[prop], fast[prop], "%s %s", coll, prop)
			}
		}
	}
}
