package imds

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
)

const (
	tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID  = "00000000-0000-0000-0000-000000000001"
	rgID   = "/subscriptions/" + subID + "/resourceGroups/myResourceGroupVM"
	vmID   = rgID + "/providers/Microsoft.Compute/virtualMachines/myVM"
	uai1ID = rgID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
	uai2ID = rgID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID2"
)

var fixedNow = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

func signingKey(testing.TB) *entra.SigningKey { return entratest.Key() }

type fixture struct {
	srv          *Server
	iss          *entra.Issuer
	vm           VM
	exists       bool
	now          time.Time
	system       directory.Principal
	user1, user2 directory.Principal
}

// newFixture is an IMDS on a VM with a system-assigned identity and one
// user-assigned identity (the tutorials' world); tests reshape f.vm.
func newFixture(t testing.TB, cloudName string) *fixture {
	t.Helper()
	dir := directory.New(tenant)
	f := &fixture{exists: true, now: fixedNow}
	f.system = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "myVM", Kind: directory.SystemAssigned, ResourceID: vmID}
	f.user1 = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "ID1", Kind: directory.UserAssigned, ResourceID: uai1ID}
	f.user2 = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "ID2", Kind: directory.UserAssigned, ResourceID: uai2ID}
	for _, p := range []directory.Principal{f.system, f.user1, f.user2} {
		dir.Add(p)
	}
	c := cloud.MustLookup(cloudName)
	f.iss = entra.NewIssuer(c, dir, signingKey(t))
	f.iss.SetClock(func() time.Time { return f.now })
	sys := f.system
	f.vm = VM{
		SubscriptionID: subID, ResourceGroup: "myResourceGroupVM", Name: "myVM", Location: c.DefaultLocation,
		VMID: "5c08b38e-4d57-4c23-ac45-aca61037f084", ResourceID: vmID, VMSize: "Standard_B2s",
		Tags: map[string]string{"env": "test"}, System: &sys, User: []directory.Principal{f.user1},
	}
	f.srv = New(c, f.iss, func() (VM, bool) { return f.vm, f.exists }, false)
	return f
}

type result struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

func (f *fixture) do(t testing.TB, method, target string, header map[string]string) result {
	t.Helper()
	rec := f.serve(method, target, header)
	r := result{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r.body), "body %q is not JSON", r.raw)
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	return r
}

var md = map[string]string{"Metadata": "true"}

func tokenPath(q url.Values) string { return "/metadata/identity/oauth2/token?" + q.Encode() }

func armQuery(extra ...string) url.Values {
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// assertBody compares a JSON body exactly.
func assertBody(t *testing.T, want string, r result) {
	t.Helper()
	assert.JSONEq(t, want, r.raw)
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	const tok = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
	for _, tc := range []struct {
		name, method, target string
		header               map[string]string
		status               int
		body                 string
	}{
		{"POST", "POST", tok, md, 405, `{"error":"method_not_allowed","error_description":"The HTTP method POST is not supported on this endpoint."}`},
		{"PUT", "PUT", tok, md, 405, `{"error":"method_not_allowed","error_description":"The HTTP method PUT is not supported on this endpoint."}`},
		{"no Metadata header", "GET", tok, nil, 400, `{"error":"invalid_request","error_description":"Required metadata header not specified"}`},
		{"Metadata false", "GET", tok, map[string]string{"Metadata": "false"}, 400, `{"error":"invalid_request","error_description":"Required metadata header not specified"}`},
		{"Metadata True", "GET", tok, map[string]string{"Metadata": "True"}, 400, `{"error":"invalid_request","error_description":"Required metadata header not specified"}`},
		{"X-Forwarded-For", "GET", tok, map[string]string{"Metadata": "true", "X-Forwarded-For": "10.0.0.9"}, 400, `{"error":"invalid_request","error_description":"Request contains the X-Forwarded-For header, which is not allowed"}`},
		{"empty X-Forwarded-For", "GET", tok, map[string]string{"Metadata": "true", "X-Forwarded-For": ""}, 400, `{"error":"invalid_request","error_description":"Request contains the X-Forwarded-For header, which is not allowed"}`},
		{"duplicate parameter", "GET", tok + "&resource=https://vault.azure.net", md, 400, `{"error":"invalid_request","error_description":"Duplicate query parameter 'resource' in the request"}`},
		{"missing api-version", "GET", "/metadata/identity/oauth2/token?resource=https://management.azure.com/", md, 400, `{"error":"invalid_request","error_description":"Required query variable 'api-version' is missing"}`},
		{"api-version before identity existed", "GET", "/metadata/identity/oauth2/token?api-version=2017-12-01&resource=https://management.azure.com/", md, 400, `{"error":"invalid_request","error_description":"Invalid api-version '2017-12-01' specified in the request"}`},
		{"unknown api-version", "GET", "/metadata/identity/oauth2/token?api-version=2018-02-02&resource=https://management.azure.com/", md, 400, `{"error":"invalid_request","error_description":"Invalid api-version '2018-02-02' specified in the request"}`},
		{"garbage api-version", "GET", "/metadata/identity/oauth2/token?api-version=latest&resource=https://management.azure.com/", md, 400, `{"error":"invalid_request","error_description":"Invalid api-version 'latest' specified in the request"}`},
		{"missing resource", "GET", "/metadata/identity/oauth2/token?api-version=2018-02-01", md, 400, `{"error":"invalid_request","error_description":"Required query variable 'resource' is missing"}`},
		{"unknown client_id", "GET", tok + "&client_id=11111111-1111-1111-1111-111111111111", md, 400, `{"error":"invalid_request","error_description":"Identity not found"}`},
		{"unknown object_id", "GET", tok + "&object_id=11111111-1111-1111-1111-111111111111", md, 400, `{"error":"invalid_request","error_description":"Identity not found"}`},
		{"unknown msi_res_id", "GET", tok + "&msi_res_id=" + url.QueryEscape(uai2ID), md, 400, `{"error":"invalid_request","error_description":"Identity not found"}`},
		{"client_id and object_id", "GET", tok + "&client_id=" + f.user1.ClientID + "&object_id=" + f.user1.ObjectID, md, 400, `{"error":"invalid_request","error_description":"Only one of client_id, object_id or msi_res_id may be specified in the request"}`},
		{"client_id and msi_res_id", "GET", tok + "&client_id=" + f.user1.ClientID + "&msi_res_id=" + url.QueryEscape(uai1ID), md, 400, `{"error":"invalid_request","error_description":"Only one of client_id, object_id or msi_res_id may be specified in the request"}`},
		{"unknown path", "GET", "/metadata/identity/oauth2/tokens?api-version=2018-02-01", md, 404, `{"error":"Not found"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.method, tc.target, tc.header)
			assert.Equal(t, tc.status, r.code)
			assertBody(t, tc.body, r)
			assert.Empty(t, r.header.Get("Cache-Control"), "recorded IMDS answers carry no Cache-Control")
			assert.NotContains(t, r.body, "access_token")
		})
	}
}

func TestTokenUnknownResource(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	r := f.do(t, "GET", tokenPath(armQuery("resource", "https://managements.azure.com")), md)
	require.Equal(t, 400, r.code)
	assert.Equal(t, "invalid_resource", r.body["error"])
	desc := r.body["error_description"].(string)
	assert.True(t, strings.HasPrefix(desc, "AADSTS500011: The resource principal named https://managements.azure.com was not found in the tenant named "+tenant+". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.\r\nTrace ID: "), desc)
	assert.Equal(t, []any{float64(500011)}, r.body["error_codes"])
	assert.Equal(t, "https://login.microsoftonline.com/error?code=500011", r.body["error_uri"])
}

func TestTokenIdentitySelection(t *testing.T) {
	t.Run("no VM", func(t *testing.T) {
		f := newFixture(t, "AzureCloud")
		f.exists = false
		r := f.do(t, "GET", tokenPath(armQuery()), md)
		assert.Equal(t, 400, r.code)
		assertBody(t, `{"error":"invalid_request","error_description":"Identity not found"}`, r)
	})
	t.Run("no identity", func(t *testing.T) {
		f := newFixture(t, "AzureCloud")
		f.vm.System, f.vm.User = nil, nil
		r := f.do(t, "GET", tokenPath(armQuery()), md)
		assert.Equal(t, 400, r.code)
		assertBody(t, `{"error":"invalid_request","error_description":"Identity not found"}`, r)
		r = f.do(t, "GET", "/metadata/identity/info?api-version=2018-02-01", md)
		assert.Equal(t, 400, r.code)
		assertBody(t, `{"error":"invalid_request","error_description":"Identity not found"}`, r)
	})
	t.Run("several user-assigned, none named", func(t *testing.T) {
		f := newFixture(t, "AzureCloud")
		f.vm.System = nil
		f.vm.User = []directory.Principal{f.user1, f.user2}
		r := f.do(t, "GET", tokenPath(armQuery()), md)
		assert.Equal(t, 400, r.code)
		assertBody(t, `{"error":"invalid_request","error_description":"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}`, r)
		r = f.do(t, "GET", tokenPath(armQuery("client_id", f.user2.ClientID)), md)
		require.Equal(t, 200, r.code)
		assert.Equal(t, f.user2.ObjectID, oid(t, r))
	})
	f := newFixture(t, "AzureCloud")
	f.vm.User = []directory.Principal{f.user1, f.user2}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  directory.Principal
	}{
		{"default is system-assigned", armQuery(), f.system},
		{"client_id", armQuery("client_id", f.user1.ClientID), f.user1},
		{"client_id upper case", armQuery("client_id", strings.ToUpper(f.user2.ClientID)), f.user2},
		{"object_id", armQuery("object_id", f.user2.ObjectID), f.user2},
		{"msi_res_id", armQuery("msi_res_id", uai1ID), f.user1},
		{"msi_res_id lower case", armQuery("msi_res_id", strings.ToLower(uai2ID)), f.user2},
		{"system by client_id", armQuery("client_id", f.system.ClientID), f.system},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", tokenPath(tc.query), md)
			require.Equal(t, 200, r.code, r.raw)
			assert.Equal(t, tc.want.ObjectID, oid(t, r))
			assert.Equal(t, tc.want.ClientID, r.body["client_id"])
		})
	}
	t.Run("single user-assigned is the default", func(t *testing.T) {
		f := newFixture(t, "AzureCloud")
		f.vm.System = nil
		r := f.do(t, "GET", tokenPath(armQuery()), md)
		require.Equal(t, 200, r.code)
		assert.Equal(t, f.user1.ObjectID, oid(t, r))
	})
}

func oid(t testing.TB, r result) string {
	t.Helper()
	c, err := entra.ParseUnverified(r.body["access_token"].(string))
	require.NoError(t, err)
	return c.OID
}

func TestTokenSuccess(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, resource := range []string{"https://management.azure.com/", "https://management.azure.com", "https://vault.azure.net", "https://storage.azure.com/"} {
		t.Run(resource, func(t *testing.T) {
			r := f.do(t, "GET", tokenPath(armQuery("resource", resource)), md)
			require.Equal(t, 200, r.code, r.raw)
			for k, v := range r.body {
				assert.IsType(t, "", v, "IMDS sends %s as a string", k)
			}
			assert.Equal(t, "Bearer", r.body["token_type"])
			assert.Equal(t, resource, r.body["resource"], "resource echoes the request exactly")
			assert.NotContains(t, r.body, "refresh_token", "real IMDS answers carry no refresh_token")
			assert.Equal(t, "86400", r.body["expires_in"])
			assert.Equal(t, "86399", r.body["ext_expires_in"])
			assert.Equal(t, fmt.Sprint(fixedNow.Add(24*time.Hour).Unix()), r.body["expires_on"])
			assert.Equal(t, fmt.Sprint(fixedNow.Unix()), r.body["not_before"])
			assert.Equal(t, f.system.ClientID, r.body["client_id"])
			c, err := f.iss.Verify(r.body["access_token"].(string))
			require.NoError(t, err)
			assert.Equal(t, resource, c.Aud)
			assert.Equal(t, strings.Replace(vmID, "/resourceGroups/", "/resourcegroups/", 1), c.XMSMIRID)
			assert.Empty(t, c.XMSAZRID)
		})
	}
	t.Run("user-assigned token names the VM", func(t *testing.T) {
		r := f.do(t, "GET", tokenPath(armQuery("msi_res_id", uai1ID)), md)
		require.Equal(t, 200, r.code)
		c, err := entra.ParseUnverified(r.body["access_token"].(string))
		require.NoError(t, err)
		assert.Equal(t, strings.Replace(uai1ID, "/resourceGroups/", "/resourcegroups/", 1), c.XMSMIRID)
		assert.Equal(t, strings.Replace(vmID, "/resourceGroups/", "/resourcegroups/", 1), c.XMSAZRID)
	})
	t.Run("extra headers and parameters MSAL sends are fine", func(t *testing.T) {
		r := f.do(t, "GET", tokenPath(armQuery("bypass_cache", "true")), map[string]string{"Metadata": "true", "x-client-SKU": "MSAL.Go", "x-ms-client-request-id": "abc"})
		assert.Equal(t, 200, r.code)
	})
	t.Run("trailing slash on the path", func(t *testing.T) {
		r := f.do(t, "GET", "/metadata/identity/oauth2/token/?"+armQuery().Encode(), md)
		assert.Equal(t, 200, r.code)
	})
	t.Run("newer api-version", func(t *testing.T) {
		r := f.do(t, "GET", tokenPath(armQuery("api-version", "2025-04-07")), md)
		assert.Equal(t, 200, r.code)
	})
}

func TestTokenCacheCountsDown(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	first := f.do(t, "GET", tokenPath(armQuery()), md)
	require.Equal(t, 200, first.code)
	f.now = fixedNow.Add(90 * time.Minute)
	second := f.do(t, "GET", tokenPath(armQuery()), md)
	require.Equal(t, 200, second.code)
	assert.Equal(t, first.body["access_token"], second.body["access_token"], "IMDS hands out its cached token")
	assert.Equal(t, first.body["expires_on"], second.body["expires_on"])
	assert.Equal(t, fmt.Sprint(int((24*time.Hour-90*time.Minute)/time.Second)), second.body["expires_in"])

	other := f.do(t, "GET", tokenPath(armQuery("resource", "https://management.azure.com")), md)
	assert.NotEqual(t, first.body["access_token"], other.body["access_token"], "the resource string is part of the cache key")
}

// walkStrings asserts every JSON primitive under v is a string.
func walkStrings(t *testing.T, path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walkStrings(t, path+"."+k, c)
		}
	case []any:
		for i, c := range x {
			walkStrings(t, fmt.Sprintf("%s[%d]", path, i), c)
		}
	case string:
	default:
		t.Errorf("%s is %T (%v), IMDS sends every primitive as a string", path, v, v)
	}
}

func TestInstance(t *testing.T) {
	for _, tc := range cloudEnvironments {
		t.Run(tc.cloud, func(t *testing.T) {
			f := newFixture(t, tc.cloud)
			r := f.do(t, "GET", "/metadata/instance?api-version=2021-02-01", md)
			require.Equal(t, 200, r.code, r.raw)
			walkStrings(t, "", r.body)
			compute := r.body["compute"].(map[string]any)
			assert.Equal(t, tc.env, compute["azEnvironment"])
			assert.Equal(t, "myVM", compute["name"])
			assert.Equal(t, "myResourceGroupVM", compute["resourceGroupName"])
			assert.Equal(t, subID, compute["subscriptionId"])
			assert.Equal(t, vmID, compute["resourceId"])
			assert.Equal(t, f.vm.VMID, compute["vmId"])
			assert.Equal(t, "Standard_B2s", compute["vmSize"])
			assert.Equal(t, cloud.MustLookup(tc.cloud).DefaultLocation, compute["location"])
			assert.Equal(t, "env:test", compute["tags"])
			assert.Equal(t, []any{map[string]any{"name": "env", "value": "test"}}, compute["tagsList"])
			assert.Contains(t, r.body, "network")
			assert.Empty(t, r.header.Get("Cache-Control"))

			c := f.do(t, "GET", "/metadata/instance/compute?api-version=2021-02-01", md)
			require.Equal(t, 200, c.code)
			walkStrings(t, "", c.body)
			assert.Equal(t, tc.env, c.body["azEnvironment"])
			assert.NotContains(t, c.body, "compute")
		})
	}
}

func TestInstanceErrors(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	badVersion := `{"error":"Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds","newest-versions":["2025-04-07","2024-07-17","2024-03-15"]}`
	for _, tc := range []struct {
		name, method, target string
		header               map[string]string
		status               int
		body                 string
	}{
		{"missing api-version", "GET", "/metadata/instance", md, 400, badVersion},
		{"unknown api-version", "GET", "/metadata/instance?api-version=2099-01-01", md, 400, badVersion},
		{"api-version before instance existed", "GET", "/metadata/instance?api-version=2017-03-01", md, 400, badVersion},
		{"compute, missing api-version", "GET", "/metadata/instance/compute", md, 400, badVersion},
		{"identity info, bad api-version", "GET", "/metadata/identity/info?api-version=2017-12-01", md, 400, badVersion},
		{"no Metadata header", "GET", "/metadata/instance?api-version=2021-02-01", nil, 400, `{"error":"Bad request: . Required metadata header not specified"}`},
		{"X-Forwarded-For", "GET", "/metadata/instance?api-version=2021-02-01", map[string]string{"Metadata": "true", "X-Forwarded-For": "1.2.3.4"}, 400, `{"error":"Bad request. X-Forwarded-For header is not allowed"}`},
		{"POST", "POST", "/metadata/instance?api-version=2021-02-01", md, 405, `{"error":"method_not_allowed","error_description":"The HTTP method POST is not supported on this endpoint."}`},
		{"unknown path", "GET", "/metadata/nothing?api-version=2021-02-01", md, 404, `{"error":"Not found"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.method, tc.target, tc.header)
			assert.Equal(t, tc.status, r.code)
			assertBody(t, tc.body, r)
		})
	}
	f.exists = false
	r := f.do(t, "GET", "/metadata/instance?api-version=2021-02-01", md)
	assert.Equal(t, 404, r.code)
}

func TestVersionsAndIdentityInfo(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	r := f.do(t, "GET", "/metadata/versions", md)
	require.Equal(t, 200, r.code)
	v := r.body["apiVersions"].([]any)
	require.Len(t, v, len(instanceAPIVersions))
	assert.Equal(t, "2017-03-01", v[0])
	assert.Equal(t, "2025-04-07", v[len(v)-1])

	r = f.do(t, "GET", "/metadata/identity/info?api-version=2018-02-01", md)
	require.Equal(t, 200, r.code)
	assertBody(t, `{"tenantId":"`+tenant+`"}`, r)
}

func TestLimiterBurst(t *testing.T) {
	l := newLimiter(20, 5)
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i < 20; i++ {
		release, ok := l.acquire(t0)
		require.True(t, ok, "request %d of the burst", i+1)
		release()
	}
	_, ok := l.acquire(t0)
	assert.False(t, ok, "the 21st request in the same instant is throttled")
	_, ok = l.acquire(t0.Add(49 * time.Millisecond))
	assert.False(t, ok, "less than one token refilled after 49ms")
	release, ok := l.acquire(t0.Add(50 * time.Millisecond))
	require.True(t, ok, "one token refills every 50ms at 20/s")
	release()
	_, ok = l.acquire(t0.Add(50 * time.Millisecond))
	assert.False(t, ok)

	// A long pause refills the bucket to 20, never more.
	t1 := t0.Add(time.Hour)
	n := 0
	for {
		release, ok := l.acquire(t1)
		if !ok {
			break
		}
		release()
		n++
	}
	assert.Equal(t, 20, n)
}

func TestLimiterConcurrency(t *testing.T) {
	l := newLimiter(20, 5)
	t0 := time.Unix(1_700_000_000, 0)
	var releases []func()
	for i := 0; i < 5; i++ {
		release, ok := l.acquire(t0)
		require.True(t, ok)
		releases = append(releases, release)
	}
	_, ok := l.acquire(t0)
	assert.False(t, ok, "a sixth request in flight is refused although tokens remain")
	releases[0]()
	release, ok := l.acquire(t0)
	require.True(t, ok, "finishing one makes room")
	release()
	for _, r := range releases[1:] {
		r()
	}
}

func TestThrottleHTTP(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	f.srv.Throttle = true
	codes := map[int]int{}
	var last result
	for i := 0; i < 25; i++ {
		last = f.do(t, "GET", tokenPath(armQuery()), md)
		codes[last.code]++
	}
	assert.Equal(t, map[int]int{200: 20, 429: 5}, codes, "the issuer's clock stands still, so exactly 20 pass")
	assert.Equal(t, "1", last.header.Get("Retry-After"))
	assertBody(t, `{"error":"too_many_requests","error_description":"IMDS Throttle limit reached. Retry with Exponential Backoff."}`, last)

	// Instance metadata is not in the identity category's budget here.
	r := f.do(t, "GET", "/metadata/instance?api-version=2021-02-01", md)
	assert.Equal(t, 200, r.code)

	f.now = f.now.Add(time.Second)
	r = f.do(t, "GET", tokenPath(armQuery()), md)
	assert.Equal(t, 200, r.code, "a second later the budget is back")

	g := newFixture(t, "AzureCloud")
	for i := 0; i < 25; i++ {
		r := g.do(t, "GET", tokenPath(armQuery()), md)
		require.Equal(t, 200, r.code, "without Throttle nothing is refused")
	}
}

func BenchmarkIMDSToken(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	f.iss.SetClock(time.Now)
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	client := ts.Client()
	target := ts.URL + tokenPath(armQuery())
	get := func() {
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Metadata", "true")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var body tokenResponse
		err = json.NewDecoder(resp.Body).Decode(&body)
		_, _ = io.Copy(io.Discard, resp.Body) // drain, so the connection is reused
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || body.AccessToken == "" {
			b.Fatalf("status %d, err %v", resp.StatusCode, err)
		}
	}
	get() // mint the token the loop reads from cache
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		get()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}

func BenchmarkIMDSTokenUncached(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	f.iss.SetClock(time.Now)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f.iss.Forget(f.system.ObjectID)
		if _, err := f.iss.ManagedIdentityToken(f.system, "https://management.azure.com/", vmID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}
