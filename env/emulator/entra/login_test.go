package entra

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve runs one request against the login host in process.
func serve(t *testing.T, iss *Issuer, method, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, "https://"+iss.Cloud.LoginHost+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	rec := httptest.NewRecorder()
	iss.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	}
	return rec.Code, out
}

func TestOpenIDConfiguration(t *testing.T) {
	for _, tc := range []struct{ cloud, login, sts string }{
		{"AzureCloud", "login.microsoftonline.com", "sts.windows.net"},
		{"AzureChinaCloud", "login.chinacloudapi.cn", "sts.chinacloudapi.cn"},
	} {
		t.Run(tc.cloud, func(t *testing.T) {
			f := newFixture(t, tc.cloud)
			base := "https://" + tc.login + "/" + testTenant
			code, v1 := serve(t, f.iss, "GET", "/"+testTenant+"/.well-known/openid-configuration", nil)
			require.Equal(t, 200, code)
			assert.Equal(t, "https://"+tc.sts+"/"+testTenant+"/", v1["issuer"])
			assert.Equal(t, "https://"+tc.login+"/common/discovery/keys", v1["jwks_uri"])
			assert.Equal(t, base+"/oauth2/token", v1["token_endpoint"])
			assert.Equal(t, base+"/oauth2/authorize", v1["authorization_endpoint"])

			code, v2 := serve(t, f.iss, "GET", "/"+testTenant+"/v2.0/.well-known/openid-configuration", nil)
			require.Equal(t, 200, code)
			assert.Equal(t, base+"/v2.0", v2["issuer"])
			assert.Equal(t, base+"/discovery/v2.0/keys", v2["jwks_uri"])
			assert.Equal(t, base+"/oauth2/v2.0/token", v2["token_endpoint"])
			assert.Equal(t, base+"/oauth2/v2.0/authorize", v2["authorization_endpoint"])
			assert.Equal(t, []any{"RS256"}, v2["id_token_signing_alg_values_supported"])

			// common and organizations name the tenant in the issuer.
			code, common := serve(t, f.iss, "GET", "/common/v2.0/.well-known/openid-configuration", nil)
			require.Equal(t, 200, code)
			assert.Equal(t, base+"/v2.0", common["issuer"])
			assert.Equal(t, "https://"+tc.login+"/common/oauth2/v2.0/token", common["token_endpoint"])

			code, bad := serve(t, f.iss, "GET", "/00000000-0000-0000-0000-00000000beef/v2.0/.well-known/openid-configuration", nil)
			assert.Equal(t, 400, code)
			assert.Equal(t, "invalid_tenant", bad["error"])
			assert.Contains(t, bad["error_description"], "AADSTS90002: Tenant '00000000-0000-0000-0000-00000000beef' not found.")
		})
	}
}

func TestKeysEndpoints(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	k, _ := keys(t)
	code, v1 := serve(t, f.iss, "GET", "/common/discovery/keys", nil)
	require.Equal(t, 200, code)
	ks := v1["keys"].([]any)
	require.Len(t, ks, 1)
	j := ks[0].(map[string]any)
	assert.Equal(t, k.KID, j["kid"])
	assert.Equal(t, k.KID, j["x5t"])
	assert.NotContains(t, j, "issuer", "v1 keys carry no issuer")

	code, v2 := serve(t, f.iss, "GET", "/"+testTenant+"/discovery/v2.0/keys", nil)
	require.Equal(t, 200, code)
	j2 := v2["keys"].([]any)[0].(map[string]any)
	assert.Equal(t, "https://login.microsoftonline.com/"+testTenant+"/v2.0", j2["issuer"])
}

func TestInstanceDiscovery(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	code, d := serve(t, f.iss, "GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape("https://login.microsoftonline.com/"+testTenant+"/oauth2/v2.0/authorize"), nil)
	require.Equal(t, 200, code)
	assert.Equal(t, "https://login.microsoftonline.com/"+testTenant+"/v2.0/.well-known/openid-configuration", d["tenant_discovery_endpoint"])
	assert.Equal(t, "1.1", d["api-version"])
}

func secretForm(f *fixture, extra url.Values) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.app.ClientID}, "client_secret": {f.app.Secret}}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func TestClientCredentialsV1(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	code, body := serve(t, f.iss, "POST", "/"+testTenant+"/oauth2/token", secretForm(f, url.Values{"resource": {"https://management.azure.com/"}}))
	require.Equal(t, 200, code, body)
	for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before"} {
		assert.IsType(t, "", body[k], "v1 sends %s as a string", k)
	}
	assert.Equal(t, "3600", body["expires_in"])
	assert.Equal(t, "Bearer", body["token_type"])
	assert.Equal(t, "https://management.azure.com/", body["resource"])
	_, c := decode(t, body["access_token"].(string))
	assert.Equal(t, "https://management.azure.com/", c["aud"])
	assert.Equal(t, f.app.ClientID, c["appid"])
	assert.Equal(t, "1", c["appidacr"])

	// HTTP Basic client authentication works too.
	req := httptest.NewRequest("POST", "https://login.microsoftonline.com/"+testTenant+"/oauth2/token",
		strings.NewReader("grant_type=client_credentials&resource=https%3A%2F%2Fvault.azure.net"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(f.app.ClientID, f.app.Secret)
	rec := httptest.NewRecorder()
	f.iss.ServeHTTP(rec, req)
	assert.Equal(t, 200, rec.Code, rec.Body.String())
}

func TestClientCredentialsV2(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, scope := range []string{
		"https://management.azure.com/.default",
		// What MSAL sends: it appends the OpenID Connect scopes.
		"https://management.azure.com/.default openid offline_access profile",
	} {
		code, body := serve(t, f.iss, "POST", "/"+testTenant+"/oauth2/v2.0/token", secretForm(f, url.Values{"scope": {scope}}))
		require.Equal(t, 200, code, body)
		assert.Equal(t, float64(3600), body["expires_in"], "v2 sends numbers")
		assert.Equal(t, float64(3600), body["ext_expires_in"])
		assert.Equal(t, "Bearer", body["token_type"])
		assert.NotContains(t, body, "resource")
		_, c := decode(t, body["access_token"].(string))
		assert.Equal(t, "https://management.azure.com", c["aud"], "the /.default scope names the resource without a trailing slash")
	}
}

var aadstsDescription = regexp.MustCompile(`^AADSTS(\d+): .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)

func TestTokenErrors(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	arm := url.Values{"resource": {"https://management.azure.com/"}}
	for _, tc := range []struct {
		name     string
		path     string
		form     url.Values
		status   int
		errCode  string
		aadsts   int
		contains string
	}{
		{"bad secret", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"client_secret": {"wrong"}, "resource": arm["resource"]}),
			401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + f.app.ClientID + "'."},
		{"bad secret v2", "/" + testTenant + "/oauth2/v2.0/token", secretForm(f, url.Values{"client_secret": {""}, "scope": {"https://management.azure.com/.default"}}),
			401, "invalid_client", 7000215, "Invalid client secret provided."},
		{"unknown client", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"client_id": {"11111111-1111-1111-1111-111111111111"}, "resource": arm["resource"]}),
			400, "unauthorized_client", 700016, "Application with identifier '11111111-1111-1111-1111-111111111111' was not found in the directory '" + testTenant + "'."},
		{"managed identity client id", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"client_id": {f.system.ClientID}, "resource": arm["resource"]}),
			400, "unauthorized_client", 700016, "Application with identifier '" + f.system.ClientID + "'"},
		{"missing client id", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"client_id": {""}, "resource": arm["resource"]}),
			400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."},
		{"missing grant type", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"grant_type": {""}, "resource": arm["resource"]}),
			400, "invalid_request", 900144, "'grant_type'"},
		{"unsupported grant", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"grant_type": {"password"}, "resource": arm["resource"]}),
			400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type 'password'."},
		{"missing resource v1", "/" + testTenant + "/oauth2/token", secretForm(f, nil),
			400, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'."},
		{"unknown resource v1", "/" + testTenant + "/oauth2/token", secretForm(f, url.Values{"resource": {"https://managements.azure.com"}}),
			400, "invalid_resource", 500011, "The resource principal named https://managements.azure.com was not found in the tenant named " + testTenant + "."},
		{"unknown resource v2", "/" + testTenant + "/oauth2/v2.0/token", secretForm(f, url.Values{"scope": {"https://nope.example.com/.default"}}),
			400, "invalid_resource", 500011, "The resource principal named https://nope.example.com was not found"},
		{"scope without .default", "/" + testTenant + "/oauth2/v2.0/token", secretForm(f, url.Values{"scope": {"https://management.azure.com/user_impersonation"}}),
			400, "invalid_scope", 1002012, "The provided value for scope https://management.azure.com/user_impersonation is not valid. Client credential flows must have a scope value with /.default suffixed"},
		{"two resource scopes", "/" + testTenant + "/oauth2/v2.0/token", secretForm(f, url.Values{"scope": {"https://management.azure.com/.default https://vault.azure.net/.default"}}),
			400, "invalid_scope", 1002012, "is not valid"},
		{"only openid", "/" + testTenant + "/oauth2/v2.0/token", secretForm(f, url.Values{"scope": {"openid profile"}}),
			400, "invalid_scope", 1002012, "is not valid"},
		{"wrong tenant", "/00000000-0000-0000-0000-00000000beef/oauth2/token", secretForm(f, arm),
			400, "invalid_request", 90002, "Tenant '00000000-0000-0000-0000-00000000beef' not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := serve(t, f.iss, "POST", tc.path, tc.form)
			require.Equal(t, tc.status, code, body)
			assert.Equal(t, tc.errCode, body["error"])
			desc, _ := body["error_description"].(string)
			assert.Contains(t, desc, tc.contains)
			m := aadstsDescription.FindStringSubmatch(desc)
			if assert.NotNil(t, m, "description %q is not in Entra's format", desc) {
				assert.Equal(t, tc.aadsts, atoi(t, m[1]))
			}
			assert.Equal(t, []any{float64(tc.aadsts)}, body["error_codes"])
			assert.Regexp(t, `^[0-9a-f-]{36}$`, body["trace_id"])
			assert.Regexp(t, `^[0-9a-f-]{36}$`, body["correlation_id"])
			assert.Equal(t, fixedNow.Format("2006-01-02 15:04:05Z"), body["timestamp"])
			assert.Equal(t, "https://login.microsoftonline.com/error?code="+itoa(tc.aadsts), body["error_uri"])
			assert.NotContains(t, body, "access_token")
		})
	}
	t.Run("GET token endpoint", func(t *testing.T) {
		code, body := serve(t, f.iss, "GET", "/"+testTenant+"/oauth2/v2.0/token", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, code)
		assert.Contains(t, body["error_description"], "The endpoint only accepts POST, OPTIONS requests. Received a GET request.")
	})
}

func TestAppTokenLifetimeFollowsClock(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	*f.now = fixedNow.Add(100 * 24 * time.Hour)
	code, body := serve(t, f.iss, "POST", "/"+testTenant+"/oauth2/token", secretForm(f, url.Values{"resource": {"https://management.azure.com/"}}))
	require.Equal(t, 200, code)
	assert.Equal(t, itoa(int(f.now.Add(time.Hour).Unix())), body["expires_on"])
	assert.Equal(t, itoa(int(f.now.Unix())), body["not_before"])
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
