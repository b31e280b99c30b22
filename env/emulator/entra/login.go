package entra

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Known resources. Entra answers AADSTS500011 for a resource no service
// principal in the tenant is registered for; the emulator knows the Azure
// services of its cloud.
func (i *Issuer) knownResources() []string {
	c := i.Cloud
	r := append([]string{}, c.ARMAudiences()...)
	return append(r, c.StorageResource, c.VaultResource, c.SQLResource,
		"https://graph.microsoft.com", c.GraphResource, "https://graph.windows.net", "https://"+c.LoginHost)
}

// KnownResource reports whether the tenant can issue tokens for resource, an
// App ID URI compared without its trailing slash and case-insensitively, or a
// storage account URL of the cloud (which Storage also accepts as audience).
func (i *Issuer) KnownResource(resource string) bool {
	r := strings.TrimSuffix(strings.ToLower(resource), "/")
	if r == "" {
		return false
	}
	for _, k := range i.knownResources() {
		if r == strings.TrimSuffix(strings.ToLower(k), "/") {
			return true
		}
	}
	host, ok := strings.CutPrefix(r, "https://")
	if ok {
		if acct, ok := strings.CutSuffix(host, ".blob."+i.Cloud.StorageSuffix); ok && acct != "" && !strings.ContainsAny(acct, "./") {
			return true
		}
	}
	return false
}

// AADSTSError is an Entra error response body.
// https://learn.microsoft.com/entra/identity-platform/reference-error-codes
type AADSTSError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// NewAADSTSError builds an error body in Entra's format: the description
// carries the AADSTS code and ends with trace, correlation and timestamp lines.
func (i *Issuer) NewAADSTSError(errCode string, code int, msg string) AADSTSError {
	now := i.now().UTC()
	trace, corr := directory.NewGUID(), directory.NewGUID()
	return AADSTSError{
		Error: errCode,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			code, msg, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		ErrorCodes:    []int{code},
		Timestamp:     now.Format("2006-01-02 15:04:05Z"),
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      fmt.Sprintf("https://%s/error?code=%d", i.Cloud.LoginHost, code),
	}
}

// UnknownResourceError is AADSTS500011, what Entra (and IMDS relaying it)
// answers for a resource the tenant does not know.
func (i *Issuer) UnknownResourceError(resource string) AADSTSError {
	return i.NewAADSTSError("invalid_resource", 500011, fmt.Sprintf(
		"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
		resource, i.Dir.TenantID))
}

// loginRoute is one operation of the login host: the method and the path
// after the tenant segment ({tenant} is any tenant id, domain, "common" or
// "organizations").
type loginRoute struct {
	method, rest string
	serve        func(i *Issuer, w http.ResponseWriter, r *http.Request, tenant string)
}

// loginRoutes lists every operation the login host serves; ServeHTTP
// dispatches by it and Operations reads it, so the list of what is served
// (and held against evidence) cannot drift from the code.
var loginRoutes = []loginRoute{
	{"GET", "discovery/instance", func(i *Issuer, w http.ResponseWriter, r *http.Request, _ string) { i.instanceDiscovery(w, r) }},
	{"GET", ".well-known/openid-configuration", func(i *Issuer, w http.ResponseWriter, _ *http.Request, t string) { i.openIDConfig(w, t, false) }},
	{"GET", "v2.0/.well-known/openid-configuration", func(i *Issuer, w http.ResponseWriter, _ *http.Request, t string) { i.openIDConfig(w, t, true) }},
	{"GET", "discovery/keys", func(i *Issuer, w http.ResponseWriter, _ *http.Request, t string) { i.keys(w, false, t) }},
	{"GET", "discovery/v2.0/keys", func(i *Issuer, w http.ResponseWriter, _ *http.Request, t string) { i.keys(w, true, t) }},
	{"POST", "oauth2/token", func(i *Issuer, w http.ResponseWriter, r *http.Request, t string) { i.token(w, r, t, false) }},
	{"POST", "oauth2/v2.0/token", func(i *Issuer, w http.ResponseWriter, r *http.Request, t string) { i.token(w, r, t, true) }},
}

// Operations lists what the login host serves, "METHOD /{tenant}/path".
func (i *Issuer) Operations() []string {
	ops := make([]string, 0, len(loginRoutes))
	for _, rt := range loginRoutes {
		ops = append(ops, rt.method+" /{tenant}/"+rt.rest)
	}
	return ops
}

// ServeHTTP serves the login host.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	estsHeaders(w.Header(), r)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		i.writeErr(w, http.StatusNotFound, i.NewAADSTSError("invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a GET request."))
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	for _, rt := range loginRoutes {
		if rt.rest != rest {
			continue
		}
		if rt.method == r.Method {
			rt.serve(i, w, r, tenant)
			return
		}
		if rt.method == http.MethodPost {
			// The token endpoints' answer to any other method.
			i.writeErr(w, http.StatusMethodNotAllowed, i.NewAADSTSError("invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request."))
			return
		}
	}
	http.NotFound(w, r)
}

func (i *Issuer) tenantOK(tenant string) bool {
	switch strings.ToLower(tenant) {
	case "common", "organizations":
		return true
	}
	return strings.EqualFold(tenant, i.Dir.TenantID)
}

// openIDConfig serves the discovery document, field for field as Entra
// answers: v2 as recorded live in Azure/azure-sdk-for-python
// sdk/keyvault/azure-keyvault-secrets/tests/recordings/test_samples_secrets.pyTestExamplesKeyVaulttest_example_secret_crud_operations[7.3].json
// (testdata/openid_configuration_v2_recorded.json), v1 as captured in
// AzureAD/MSIdentityTools tests/Get-MsIdOpenIdProviderConfiguration.tests.ps1
// (testdata/openid_configuration_v1_captured.json). The versions differ:
// v1 has no request_uri_parameter_supported but microsoft_multi_refresh_token
// and check_session_iframe, its own userinfo endpoint, fewer scopes and
// response types "token id_token" and "token". tenant_region_scope is null
// for the multi-tenant authorities.
func (i *Issuer) openIDConfig(w http.ResponseWriter, tenant string, v2 bool) {
	if !i.tenantOK(tenant) {
		i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)))
		return
	}
	base := "https://" + i.Cloud.LoginHost + "/" + tenant
	tid := i.Dir.TenantID
	var region any = "NA"
	switch strings.ToLower(tenant) {
	case "common", "organizations":
		region = nil
	}
	doc := map[string]any{
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   region,
		"cloud_instance_name":                   strings.TrimPrefix(i.Cloud.LoginHost, "login."),
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          i.Cloud.GraphHost,
		"rbac_url":                              "https://pas.windows.net",
	}
	if v2 {
		doc["issuer"] = "https://" + i.Cloud.LoginHost + "/" + tid + "/v2.0"
		doc["authorization_endpoint"] = base + "/oauth2/v2.0/authorize"
		doc["token_endpoint"] = base + "/oauth2/v2.0/token"
		doc["device_authorization_endpoint"] = base + "/oauth2/v2.0/devicecode"
		doc["end_session_endpoint"] = base + "/oauth2/v2.0/logout"
		doc["jwks_uri"] = base + "/discovery/v2.0/keys"
		doc["userinfo_endpoint"] = "https://" + i.Cloud.GraphHost + "/oidc/userinfo"
		doc["request_uri_parameter_supported"] = false
		doc["response_types_supported"] = []string{"code", "id_token", "code id_token", "id_token token"}
		doc["scopes_supported"] = []string{"openid", "profile", "email", "offline_access"}
		doc["claims_supported"] = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"}
	} else {
		doc["issuer"] = i.IssuerURL()
		doc["authorization_endpoint"] = base + "/oauth2/authorize"
		doc["token_endpoint"] = base + "/oauth2/token"
		doc["device_authorization_endpoint"] = base + "/oauth2/devicecode"
		doc["end_session_endpoint"] = base + "/oauth2/logout"
		doc["jwks_uri"] = "https://" + i.Cloud.LoginHost + "/common/discovery/keys"
		doc["userinfo_endpoint"] = base + "/openid/userinfo"
		doc["check_session_iframe"] = base + "/oauth2/checksession"
		doc["microsoft_multi_refresh_token"] = true
		doc["response_types_supported"] = []string{"code", "id_token", "code id_token", "token id_token", "token"}
		doc["scopes_supported"] = []string{"openid"}
		doc["claims_supported"] = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"}
	}
	writeMetadata(w, doc)
}

func (i *Issuer) keys(w http.ResponseWriter, v2 bool, tenant string) {
	// Only the v2 key set names an issuer per key; the v1 set has none.
	iss := ""
	if v2 {
		iss = "https://" + i.Cloud.LoginHost + "/" + i.Dir.TenantID + "/v2.0"
	}
	_ = tenant
	writeMetadata(w, map[string]any{"keys": []JWK{i.key.JWK(iss)}})
}

// instanceDiscovery answers MSAL's authority validation call.
// Shape of https://login.microsoftonline.com/common/discovery/instance?api-version=1.1
func (i *Issuer) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := i.Cloud.LoginHost
	tenant := "common"
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if p := strings.Split(strings.TrimPrefix(strings.TrimPrefix(ae, "https://"), host+"/"), "/"); len(p) > 0 && p[0] != "" {
			tenant = p[0]
		}
	}
	writeMetadata(w, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}

// token serves the client-credentials grant for applications with a secret.
// v1 answers string numbers and resource; v2 answers numbers and takes scope.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request, tenant string, v2 bool) {
	// The token endpoint, and only it, acknowledges the telemetry MSAL
	// reports (recorded beside x-client-current-telemetry; see estsHeaders).
	if r.Header.Get("x-client-current-telemetry") != "" {
		w.Header().Set("x-ms-clitelem", "1,0,0,,")
	}
	if !strings.EqualFold(tenant, i.Dir.TenantID) {
		i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."))
		} else {
			i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'."))
		}
		return
	}
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	if clientID == "" {
		i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."))
		return
	}
	app, ok := i.Dir.ByClientID(clientID)
	if !ok || app.Kind != directory.Application {
		i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, i.Dir.TenantID)))
		return
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
		i.writeErr(w, http.StatusUnauthorized, i.NewAADSTSError("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'."))
		return
	}
	resource := f.Get("resource")
	if v2 {
		scope := f.Get("scope")
		r, ok := defaultScopeResource(scope)
		if !ok {
			i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_scope", 1002012, "The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."))
			return
		}
		resource = r
	} else if resource == "" {
		i.writeErr(w, http.StatusBadRequest, i.NewAADSTSError("invalid_request", 900144, "The request body must contain the following parameter: 'resource'."))
		return
	}
	if !i.KnownResource(resource) {
		i.writeErr(w, http.StatusBadRequest, i.UnknownResourceError(resource))
		return
	}
	t, err := i.AppToken(app, resource)
	if err != nil {
		i.writeErr(w, http.StatusInternalServerError, i.NewAADSTSError("server_error", 90033, "A transient error has occurred. Please try again."))
		return
	}
	expiresIn := int64(t.ExpiresOn.Sub(i.now()).Seconds())
	if v2 {
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": expiresIn, "ext_expires_in": expiresIn, "access_token": t.Raw})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": strconv.FormatInt(expiresIn, 10), "ext_expires_in": strconv.FormatInt(expiresIn, 10),
		"expires_on": strconv.FormatInt(t.ExpiresOn.Unix(), 10), "not_before": strconv.FormatInt(t.NotBefore.Unix(), 10),
		"resource": resource, "access_token": t.Raw,
	})
}

// defaultScopeResource finds the resource of a client-credentials scope: one
// "{resource}/.default" value, alongside which Entra ignores the OpenID
// Connect scopes MSAL always appends ("openid offline_access profile").
func defaultScopeResource(scope string) (string, bool) {
	resource, n := "", 0
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		r, ok := strings.CutSuffix(s, "/.default")
		if !ok || r == "" {
			return "", false
		}
		resource = r
		n++
	}
	return resource, n == 1
}

func (i *Issuer) writeErr(w http.ResponseWriter, status int, e AADSTSError) {
	writeJSON(w, status, e)
}

// estsHeaders are the headers every answer of the login host carries,
// recorded live in Azure/azure-sdk-for-js
// sdk/tables/data-tables/recordings/node/batch_operations_tokencredential/recording_should_send_multiple_transactions_with_the_same_partition_key.js
// (discovery/instance, openid-configuration and the v2.0 token POST, 2021)
// and Azure/azure-sdk-for-python
// sdk/identity/azure-identity/tests/recordings/test_obo.test_obo.yaml: HSTS,
// nosniff, P3P, a request id, the ESTS build and slice, and the cookies
// ESTS sets. ESTS echoes the client-request-id a client (MSAL) sends.
func estsHeaders(h http.Header, r *http.Request) {
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("P3P", `CP="DSP CUR OTPi IND OTRi ONL FIN"`)
	h.Set("x-ms-request-id", directory.NewGUID())
	h.Set("x-ms-ests-server", estsServer)
	if id := r.Header.Get("client-request-id"); id != "" && len(id) <= 64 {
		h.Set("client-request-id", id)
	}
	h.Add("Set-Cookie", "fpc="+fpc()+"; expires="+time.Now().UTC().AddDate(0, 0, 30).Format("Mon, 02-Jan-2006 15:04:05 GMT")+"; path=/; secure; HttpOnly; SameSite=None")
	h.Add("Set-Cookie", "x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly")
	h.Add("Set-Cookie", "stsservicecookie=estsfd; path=/; secure; samesite=none; httponly")
}

// estsServer is the x-ms-ests-server value: ESTS's build and the slice that
// answered, in the recorded form "2.1.12011.8 - EUS ProdSlices".
const estsServer = "2.1.12011.8 - EUS ProdSlices"

func fpc() string {
	return b64.EncodeToString([]byte(directory.NewGUID()))[:27]
}

// writeMetadata is a discovery answer (instance discovery, OpenID
// configuration, keys): cacheable for a day and open to any origin, as
// recorded (same recordings as estsHeaders).
func writeMetadata(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Cache-Control", "max-age=86400, private")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	writeBody(w, http.StatusOK, v)
}

// writeJSON is a token endpoint answer or an error: never cached, as
// recorded for the token POST ("no-store, no-cache", Pragma no-cache,
// Expires -1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	writeBody(w, status, v)
}

func writeBody(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
