package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/faults"
)

// control sends a control API request with a bearer token ("" for none).
func (h *harness) control(method, path, token, body string) reply {
	h.t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	var b any
	if body != "" {
		b = body
	}
	return h.do(method, "https://"+h.E.Cloud.ARMHost+path, hdr, b)
}

// The control API is the operator's: no token is 401, a VM's token for the
// same audience is 403, a token for another audience is 401; the operator
// sets, reads and resets faults.
func TestControlAPIAuthorization(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials", listen: true})
	vm, ok := h.E.Dir.ByResourceID(h.E.World.VMResourceID)
	require.True(t, ok)
	vmTok, err := h.E.Issuer.ManagedIdentityToken(vm, h.E.Cloud.ARMResource, h.E.World.VMResourceID)
	require.NoError(t, err)
	body := `{"status":503,"count":1}`

	assert.Equal(t, 401, h.control("PUT", "/_emulator/faults/services", "", body).code)
	assert.Equal(t, 403, h.control("PUT", "/_emulator/faults/services", vmTok.Raw, body).code)
	assert.Equal(t, 401, h.control("PUT", "/_emulator/faults/services", h.appToken(h.E.Operator, h.E.Cloud.VaultResource), body).code)
	assert.Nil(t, h.E.Faults.Current().Services)

	op := h.operatorToken()
	r := h.control("PUT", "/_emulator/faults/services", op, body)
	require.Equal(t, 200, r.code, "%s", r.raw)
	// The fault hits the next request to a service, not the control API.
	r = h.control("GET", "/_emulator/faults", op, "")
	require.Equal(t, 200, r.code)
	assert.EqualValues(t, 1, get(r.body, "services", "remainingCount"))
	r = h.op("GET", h.rg(h.E.World.ResourceGroup)+"?api-version=2021-04-01", nil)
	assert.Equal(t, 503, r.code)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.Equal(t, "ServiceUnavailable", r.errCode())
	assert.Equal(t, 200, h.op("GET", h.rg(h.E.World.ResourceGroup)+"?api-version=2021-04-01", nil).code)

	// The control API answers on every host of the HTTPS listener.
	r = h.do("DELETE", "https://"+h.E.HTTPSAddr()+"/_emulator/faults", http.Header{"Authorization": {"Bearer " + op}}, nil)
	assert.Equal(t, 204, r.code)
}

// IMDS faults through the real listener: 410, 404, 429 and 500 answered by
// IMDS's address; the services fault on Blob in Storage's XML.
func TestFaultsThroughListeners(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials", listen: true})
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {h.E.Cloud.ARMResource}}
	for _, status := range []int{404, 410, 429, 500, 503} {
		require.NoError(t, h.E.Faults.SetIMDS(faults.IMDS{Status: status, Window: faults.Window{Count: 1}}))
		r := h.imds("/metadata/identity/oauth2/token", q)
		assert.Equal(t, status, r.code)
		assert.NotEmpty(t, r.body["error_description"])
		assert.Equal(t, 200, h.imds("/metadata/identity/oauth2/token", q).code)
	}
	require.NoError(t, h.E.Faults.SetServices(faults.Services{Status: 503, Service: "blob", Window: faults.Window{Count: 1}}))
	w := h.E.World
	r := h.do("GET", "https://"+w.StorageAccount+".blob."+h.E.Cloud.StorageSuffix+"/"+w.Container+"?restype=container&comp=list", http.Header{"x-ms-version": {"2020-04-08"}}, nil)
	assert.Equal(t, 503, r.code)
	assert.Equal(t, "ServerBusy", r.header.Get("x-ms-error-code"))
	assert.Contains(t, string(r.raw), "<Code>ServerBusy</Code>")
}

// MSAL keeps managed identity tokens in one process-wide cache, keyed by
// identity and scope, not by endpoint: the tests here each use a scope no
// other test of the package asks the SDK for, so no emulator is handed
// another's cached token.

// The official Go SDK's ManagedIdentityCredential rides through IMDS's
// 410, 429 and 500 with its own retry policy (shortened delays so the test
// stays fast; Retry-After is honoured as sent). Each request carries a
// claims challenge, which makes MSAL skip its cache and ask IMDS.
func TestAzidentityRidesThroughIMDSFaults(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials"})
	for _, f := range []faults.IMDS{
		{Status: 410, Window: faults.Window{Seconds: 0.5}},
		{Status: 429, Window: faults.Window{Count: 1}},
		{Status: 500, Window: faults.Window{Count: 3}},
		{Status: 503, Window: faults.Window{Count: 1}},
		{Status: 404, Window: faults.Window{Count: 1}},
	} {
		require.NoError(t, h.E.Faults.SetIMDS(f))
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ClientOptions: azcore.ClientOptions{Transport: h.client, Retry: policy.RetryOptions{
				// azcore gives up when Retry-After (IMDS's 429 sends 1 s)
				// exceeds MaxRetryDelay, so that stays above a second.
				MaxRetries: 10, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 2 * time.Second,
			}},
		})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{
			Scopes: []string{h.E.Cloud.SQLResource + ".default"},
			Claims: `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"}}}`,
		})
		cancel()
		require.NoError(t, err, "status %d", f.Status)
		_, err = h.E.Issuer.Verify(tok.Token)
		assert.NoError(t, err)
		assert.Nil(t, h.E.Faults.Current().IMDS, "the fault was spent before the token came (status %d)", f.Status)
		require.NoError(t, h.E.Faults.Reset("imds"))
	}
}

// Short-lived tokens with the official SDK: the credential gets a fresh
// token once the old one is near expiry, and services refuse the expired
// one once the emulated clock passes exp plus the 5 minutes' leeway.
func TestShortLivedTokensAndClockSkew(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials"})
	require.NoError(t, h.E.Faults.SetTokens(faults.Tokens{LifetimeSeconds: 60}))
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: h.client},
	})
	require.NoError(t, err)
	ctx := context.Background()
	scope := []string{h.E.Cloud.StorageResource + ".default"}
	t1, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scope})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Minute), t1.ExpiresOn, 5*time.Second)
	t2, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scope})
	require.NoError(t, err)
	assert.NotEqual(t, t1.Token, t2.Token, "a token within its refresh window is replaced, not reused")

	w := h.E.World
	blob := func(tok string) reply {
		return h.do("GET", "https://"+w.StorageAccount+".blob."+h.E.Cloud.StorageSuffix+"/"+w.Container+"/"+url.PathEscape(w.Blob),
			http.Header{"Authorization": {"Bearer " + tok}, "x-ms-version": {"2020-04-08"}}, nil)
	}
	assert.Equal(t, 200, blob(t1.Token).code)
	// The cloud's clock 6 minutes ahead of the client: the 60 s token is
	// past exp + 5 min.
	require.NoError(t, h.E.Faults.SetTokens(faults.Tokens{LifetimeSeconds: 60, ClockSkewSeconds: 360}))
	r := blob(t1.Token)
	assert.Equal(t, 401, r.code)
	assert.Contains(t, string(r.raw), "Lifetime validation failed. The token is expired.")
	t3, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scope})
	require.NoError(t, err)
	assert.Equal(t, 200, blob(t3.Token).code, "a fresh token from the skewed cloud works")
	require.NoError(t, h.E.Faults.Reset(""))
}

// RBAC propagation end to end: a new Reader assignment is refused until
// the delay passes; the removed one goes on granting for its delay.
func TestRBACPropagationFault(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials"})
	app := h.newApp("late-reader")
	tok := h.appToken(app, h.E.Cloud.ARMResource)
	path := h.rg(h.E.World.ResourceGroup) + "?api-version=2021-04-01"
	require.NoError(t, h.E.Faults.SetRBAC(faults.RBAC{GrantDelaySeconds: 0.3, RevokeDelaySeconds: 0.3}))
	name := h.assignRole(app.ObjectID, readerRole, h.rg(h.E.World.ResourceGroup))
	r := h.arm("GET", path, tok, nil)
	assert.Equal(t, 403, r.code)
	assert.Equal(t, "AuthorizationFailed", r.errCode())
	require.Eventually(t, func() bool { return h.arm("GET", path, tok, nil).code == 200 }, 5*time.Second, 50*time.Millisecond)

	r = h.op("DELETE", h.rg(h.E.World.ResourceGroup)+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01", nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, 200, h.arm("GET", path, tok, nil).code, "the removed assignment lingers")
	require.Eventually(t, func() bool { return h.arm("GET", path, tok, nil).code == 403 }, 5*time.Second, 50*time.Millisecond)
}

// Faults from the configuration (emulate --faults) are in force at start;
// invalid ones refuse to start.
func TestConfigFaults(t *testing.T) {
	t.Parallel()
	e, err := emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), Seed: "none", Faults: &faults.Set{RBAC: &faults.RBAC{GrantDelaySeconds: 5}}, SigningKey: sharedKey(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	assert.Equal(t, 5.0, e.Faults.Current().RBAC.GrantDelaySeconds)
	_, err = emulator.New(emulator.Config{Seed: "none", Faults: &faults.Set{IMDS: &faults.IMDS{Status: 410}}})
	assert.ErrorContains(t, err, "seconds or count")
}

// Loopback is the default; any other address needs AllowRemote, except the
// VM's own IMDS address.
func TestBindLoopbackByDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg    emulator.Config
		remote []string
	}{
		{emulator.Config{}, nil},
		{emulator.Config{HTTPSAddr: "127.0.0.1:8443", IMDSAddr: "[::1]:0", SQLAddr: "localhost:0", LegacyAddr: "127.0.0.2:0"}, nil},
		{emulator.Config{IMDSAddr: "169.254.169.254:80"}, nil},
		{emulator.Config{HTTPSAddr: ":8443"}, []string{":8443"}},
		{emulator.Config{HTTPSAddr: "0.0.0.0:443", SQLAddr: "10.0.0.4:1433"}, []string{"0.0.0.0:443", "10.0.0.4:1433"}},
		{emulator.Config{IMDSAddr: "emulator.example:80"}, []string{"emulator.example:80"}},
	} {
		assert.Equal(t, c.remote, emulator.RemoteAddrs(c.cfg), "%+v", c.cfg)
	}
	_, err := emulator.New(emulator.Config{Seed: "none", HTTPSAddr: "0.0.0.0:0"})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "AllowRemote"), err.Error())
	e, err := emulator.New(emulator.Config{Seed: "none", HTTPSAddr: "0.0.0.0:0", AllowRemote: true, SigningKey: sharedKey(t)})
	require.NoError(t, err)
	_ = e.Close()
}

// The services fault decides; each service writes the failure in its own
// error shape with its own headers, as a client of that Azure service sees
// it. In memory: the host router is all this is about.
func TestServicesFaultInEachServicesShape(t *testing.T) {
	t.Parallel()
	e, err := emulator.New(emulator.Config{Seed: "none", SigningKey: sharedKey(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	c := e.Cloud
	cases := []struct {
		service, url string
		check        func(t *testing.T, status int, h http.Header, body []byte)
	}{
		{"arm", "https://" + c.ARMHost + "/subscriptions?api-version=2022-12-01", func(t *testing.T, status int, h http.Header, body []byte) {
			code := map[int]string{500: "InternalServerError", 503: "ServiceUnavailable"}[status]
			assert.Equal(t, code, gjson.GetBytes(body, "error.code").String(), "%s", body)
			assert.Equal(t, "service", h.Get("x-ms-failure-cause"))
			assert.NotEmpty(t, h.Get("x-ms-correlation-request-id"))
		}},
		{"login", "https://" + c.LoginHost + "/" + e.TenantID() + "/oauth2/v2.0/token", func(t *testing.T, status int, h http.Header, body []byte) {
			code := map[int]string{500: "server_error", 503: "temporarily_unavailable"}[status]
			assert.Equal(t, code, gjson.GetBytes(body, "error").String(), "%s", body)
			assert.Contains(t, gjson.GetBytes(body, "error_description").String(), "AADSTS")
			assert.Len(t, gjson.GetBytes(body, "error_codes").Array(), 1)
			assert.NotEmpty(t, h.Get("x-ms-ests-server"))
		}},
		{"vault", "https://any-vault." + c.VaultSuffix + "/secrets/x?api-version=7.5", func(t *testing.T, status int, h http.Header, body []byte) {
			code := map[int]string{500: "InternalServerError", 503: "ServiceUnavailable"}[status]
			assert.Equal(t, code, gjson.GetBytes(body, "error.code").String(), "%s", body)
			assert.NotEmpty(t, h.Get("x-ms-keyvault-service-version"))
			assert.NotEmpty(t, h.Get("x-ms-keyvault-network-info"))
		}},
		{"blob", "https://acct.blob." + c.StorageSuffix + "/c/b", func(t *testing.T, status int, h http.Header, body []byte) {
			code := map[int]string{500: "InternalError", 503: "ServerBusy"}[status]
			assert.Equal(t, code, h.Get("x-ms-error-code"))
			assert.Contains(t, string(body), "<Error><Code>"+code+"</Code>")
			assert.Equal(t, "2021-08-06", h.Get("x-ms-version"), "the version asked for")
			assert.Contains(t, h.Get("Server"), "Windows-Azure-Blob")
		}},
		{"graph", "https://" + c.GraphHost + "/v1.0/servicePrincipals", func(t *testing.T, status int, h http.Header, body []byte) {
			code := map[int]string{500: "generalException", 503: "serviceNotAvailable"}[status]
			assert.Equal(t, code, gjson.GetBytes(body, "error.code").String(), "%s", body)
			assert.Equal(t, h.Get("request-id"), gjson.GetBytes(body, "error.innerError.request-id").String())
		}},
	}
	for _, tc := range cases {
		for _, status := range []int{500, 503} {
			require.NoError(t, e.Faults.SetServices(faults.Services{Status: status, Service: tc.service, RetryAfterSeconds: 7, Window: faults.Window{Count: 1}}))
			req := httptest.NewRequest("GET", tc.url, nil)
			req.Header.Set("x-ms-version", "2021-08-06")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			require.Equal(t, status, rec.Code, "%s %d: %s", tc.service, status, rec.Body)
			assert.Equal(t, "7", rec.Header().Get("Retry-After"), tc.service)
			t.Run(fmt.Sprintf("%s/%d", tc.service, status), func(t *testing.T) { tc.check(t, status, rec.Header(), rec.Body.Bytes()) })
		}
	}
}
