package imds

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/entra"
)

func (f *fixture) extension(typ string) *Extension {
	return NewExtension(f.iss, func() (VM, bool) { return f.vm, f.exists }, typ, "1.0.0.10")
}

type extCall struct {
	method, target, contentType, body, remote string
	header                                    map[string]string
}

func (x *Extension) call(t *testing.T, c extCall) result {
	t.Helper()
	req := httptest.NewRequest(c.method, "http://localhost:50342"+c.target, strings.NewReader(c.body))
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	req.RemoteAddr = "127.0.0.1:51000"
	if c.remote != "" {
		req.RemoteAddr = c.remote
	}
	rec := httptest.NewRecorder()
	x.ServeHTTP(rec, req)
	r := result{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r.body), "body %q is not JSON", r.raw)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Empty(t, rec.Header().Get("Server"), "the extension's Server header was never documented")
	return r
}

const form = "application/x-www-form-urlencoded"

// TestExtensionToken covers the doc's sample request (GET with the query
// Invoke-WebRequest -Method GET -Body @{resource=...} builds) and the POST
// form the old CLI sent: the sample response's seven string fields.
func TestExtensionToken(t *testing.T) {
	for _, cloudName := range []string{"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"} {
		f := newFixture(t, cloudName)
		x := f.extension(ExtensionWindows)
		res := f.iss.Cloud.ARMResource
		for _, c := range []extCall{
			{method: "GET", target: "/oauth2/token?resource=" + url.QueryEscape(res), header: md},
			{method: "GET", target: "/oauth2/token/?resource=" + res, header: md},
			{method: "POST", target: "/oauth2/token", contentType: form, body: "resource=" + url.QueryEscape(res), header: md},
			{method: "POST", target: "/oauth2/token", contentType: form + "; charset=utf-8", body: "resource=" + url.QueryEscape(res) + "&object_id=" + f.system.ObjectID, header: md},
		} {
			t.Run(cloudName+" "+c.method+" "+c.target, func(t *testing.T) {
				r := x.call(t, c)
				require.Equal(t, 200, r.code, r.raw)
				assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
				keys := make([]string, 0, len(r.body))
				for k, v := range r.body {
					keys = append(keys, k)
					assert.IsType(t, "", v, "field %s", k)
				}
				assert.ElementsMatch(t, []string{"access_token", "refresh_token", "expires_in", "expires_on", "not_before", "resource", "token_type"}, keys)
				assert.Equal(t, "", r.body["refresh_token"])
				assert.Equal(t, "Bearer", r.body["token_type"])
				assert.Equal(t, res, r.body["resource"])
				assert.Equal(t, "86400", r.body["expires_in"])
				assert.Equal(t, fmt.Sprint(fixedNow.Unix()), r.body["not_before"])
				assert.Equal(t, fmt.Sprint(fixedNow.Unix()+86400), r.body["expires_on"])
				claims, err := f.iss.Verify(r.body["access_token"].(string))
				require.NoError(t, err)
				assert.Equal(t, f.system.ObjectID, claims.OID)
				assert.Equal(t, res, claims.Aud)
			})
		}
	}
}

func TestExtensionSelectsUserAssignedIdentity(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	x := f.extension(ExtensionWindows)
	r := x.call(t, extCall{method: "GET", target: "/oauth2/token?resource=https://management.azure.com/&client_id=" + f.user1.ClientID, header: md})
	require.Equal(t, 200, r.code, r.raw)
	c, err := entra.ParseUnverified(r.body["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, f.user1.ObjectID, c.OID)

	// msi_res_id came with IMDS; the extension ignores it and answers for
	// the system identity.
	r = x.call(t, extCall{method: "GET", target: "/oauth2/token?resource=https://management.azure.com/&msi_res_id=" + url.QueryEscape(uai1ID), header: md})
	require.Equal(t, 200, r.code, r.raw)
	c, err = entra.ParseUnverified(r.body["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, f.system.ObjectID, c.OID)
}

// TestExtensionErrors checks every row of the doc's "HTTP response
// reference" the emulator can produce, for GET and POST.
func TestExtensionErrors(t *testing.T) {
	const (
		badRequest = `{"error":"invalid_request","error_description":"The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."}`
		noMetadata = `{"error":"bad_request_102","error_description":"Required metadata header not specified"}`
		winFailed  = `{"error":"unknown","error_description":"Failed to retrieve token from the Active directory. For details see logs in C:\\WindowsAzure\\Logs\\Plugins\\Microsoft.ManagedIdentity.ManagedIdentityExtensionForWindows\\1.0.0.10"}`
		tok        = "/oauth2/token?resource=https://management.azure.com/"
	)
	f := newFixture(t, "AzureCloud")
	win, linux := f.extension(ExtensionWindows), f.extension(ExtensionLinux)
	for _, tc := range []struct {
		name   string
		x      *Extension
		c      extCall
		status int
		body   string
	}{
		{"GET without Metadata", win, extCall{method: "GET", target: tok}, 400, noMetadata},
		{"POST without Metadata", win, extCall{method: "POST", target: "/oauth2/token", contentType: form, body: "resource=https://management.azure.com/"}, 400, noMetadata},
		{"Metadata True is not true", win, extCall{method: "GET", target: tok, header: map[string]string{"Metadata": "True"}}, 400, noMetadata},
		{"wrong path", win, extCall{method: "GET", target: "/oauth2/tokens?resource=x", header: md}, 401, `{"error":"unknown_source","error_description":"Unknown Source http://localhost:50342/oauth2/tokens?resource=x"}`},
		{"IMDS path on the extension", win, extCall{method: "GET", target: "/metadata/identity/oauth2/token", header: md}, 401, `{"error":"unknown_source","error_description":"Unknown Source http://localhost:50342/metadata/identity/oauth2/token"}`},
		{"wrong path wins over missing header", win, extCall{method: "GET", target: "/"}, 401, `{"error":"unknown_source","error_description":"Unknown Source http://localhost:50342/"}`},
		{"not loopback", win, extCall{method: "GET", target: tok, header: md, remote: "10.0.0.5:4000"}, 400, `{"error":"unauthorized_client","error_description":"The client is not authorized to request an access token using this method."}`},
		{"GET without resource", win, extCall{method: "GET", target: "/oauth2/token", header: md}, 400, badRequest},
		{"POST without resource", win, extCall{method: "POST", target: "/oauth2/token", contentType: form, body: "client_id=x", header: md}, 400, badRequest},
		{"GET resource twice", win, extCall{method: "GET", target: tok + "&resource=https://vault.azure.net", header: md}, 400, badRequest},
		{"POST resource in query and body", win, extCall{method: "POST", target: tok, contentType: form, body: "resource=https://management.azure.com/", header: md}, 400, badRequest},
		{"POST JSON body", win, extCall{method: "POST", target: "/oauth2/token", contentType: "application/json", body: `{"resource":"https://management.azure.com/"}`, header: md}, 400, badRequest},
		{"POST undecodable form", win, extCall{method: "POST", target: "/oauth2/token", contentType: form, body: "resource=%zz", header: md}, 400, badRequest},
		{"POST oversized body", win, extCall{method: "POST", target: "/oauth2/token", contentType: form, body: "resource=https://management.azure.com/&x=" + strings.Repeat("a", maxFormBody), header: md}, 400, badRequest},
		{"PUT", win, extCall{method: "PUT", target: tok, header: md}, 400, badRequest},
		{"unknown client_id", win, extCall{method: "GET", target: tok + "&client_id=00001111-aaaa-2222-bbbb-3333cccc4444", header: md}, 400, badRequest},
		{"client_id and object_id", win, extCall{method: "GET", target: tok + "&client_id=" + f.user1.ClientID + "&object_id=" + f.user1.ObjectID, header: md}, 400, badRequest},
		{"Windows: unknown resource", win, extCall{method: "GET", target: "/oauth2/token?resource=https://unknown.example/", header: md}, 500, winFailed},
		{"Linux: unknown resource (Linux only)", linux, extCall{method: "POST", target: "/oauth2/token", contentType: form, body: "resource=https://unknown.example/", header: md}, 400,
			`{"error":"invalid_resource","error_description":"AADSTS50001: The application named https://unknown.example/ was not found in the tenant named ` + tenant + `. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.x.call(t, tc.c)
			assert.Equal(t, tc.status, r.code)
			assert.JSONEq(t, tc.body, r.raw)
		})
	}
}

// TestExtensionWithoutIdentity is the doc's 500 "Verify that MSI has been
// enabled on the VM": identities disabled, or the VM gone.
func TestExtensionWithoutIdentity(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	f.vm.System, f.vm.User = nil, nil
	for _, typ := range []string{ExtensionWindows, ExtensionLinux} {
		r := f.extension(typ).call(t, extCall{method: "GET", target: "/oauth2/token?resource=https://management.azure.com/", header: md})
		assert.Equal(t, 500, r.code)
		assert.Equal(t, "unknown", r.body["error"])
		assert.Contains(t, r.body["error_description"], "Failed to retrieve token from the Active directory. For details see logs in ")
		assert.Contains(t, r.body["error_description"], "Microsoft.ManagedIdentity."+typ)
	}
	f = newFixture(t, "AzureCloud")
	f.exists = false
	r := f.extension(ExtensionLinux).call(t, extCall{method: "POST", target: "/oauth2/token", contentType: form, body: "resource=https://management.azure.com/", header: md})
	assert.Equal(t, 500, r.code)
	assert.Equal(t, "Failed to retrieve token from the Active directory. For details see logs in /var/log/azure/Microsoft.ManagedIdentity.ManagedIdentityExtensionForLinux", r.body["error_description"])
}

func TestParseExtensionRequest(t *testing.T) {
	p, err := ParseExtensionRequest("resource=https%3A%2F%2Fmanagement.azure.com%2F", "", nil)
	require.NoError(t, err)
	assert.Equal(t, ExtensionRequest{Resource: "https://management.azure.com/"}, p)
	p, err = ParseExtensionRequest("client_id=c", form, []byte("resource=r&object_id=o"))
	require.NoError(t, err)
	assert.Equal(t, ExtensionRequest{Resource: "r", ClientID: "c", ObjectID: "o"}, p)
	for _, bad := range [][3]string{
		{"", "", ""},
		{"resource=", "", ""},
		{"resource=a&resource=b", "", ""},
		{"resource=a", form, "resource=b"},
		{"", "text/plain", "resource=a"},
		{"", "", "resource=a"},
		{"resource=%", "", ""},
		{"", form, "resource=a;b=c"},
	} {
		_, err := ParseExtensionRequest(bad[0], bad[1], []byte(bad[2]))
		assert.True(t, errors.Is(err, ErrMalformedRequest), "%q: %v", bad, err)
	}
}

// FuzzParseExtensionRequest: any query, content type and body either parse
// into a request with a resource or fail with ErrMalformedRequest.
func FuzzParseExtensionRequest(f *testing.F) {
	f.Add("resource=https://management.azure.com/", "", "")
	f.Add("", form, "resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=abc")
	f.Add("resource=a&resource=b", form+"; charset=utf-8", "object_id=x")
	f.Add("%zz", "multipart/form-data; boundary=x", "--x--")
	f.Add("a=b;c=d", form, "resource=\x00")
	f.Fuzz(func(t *testing.T, q, ct, body string) {
		p, err := ParseExtensionRequest(q, ct, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("error %v is not ErrMalformedRequest", err)
			}
			return
		}
		if p.Resource == "" {
			t.Fatalf("accepted a request without resource: %q %q %q", q, ct, body)
		}
	})
}
