package imds

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzIMDSRequest feeds IMDS arbitrary paths, query strings and Metadata
// header values, the untrusted part of every request a VM program sends:
// every answer has a status IMDS uses, a plain-text answer only ever comes
// with 200 for an instance route asked for in format=text, every other
// answer is JSON (an error always an object, a 200 instance answer never a
// bare leaf), a token only ever comes with 200, and nothing panics.
func FuzzIMDSRequest(f *testing.F) {
	f.Add("/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=https://management.azure.com/", "true")
	f.Add("/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=https://vault.azure.net&client_id=x", "true")
	f.Add("/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=a&resource=b", "true")
	f.Add("/metadata/identity/oauth2/token", "api-version=%zz&resource=%", "TRUE")
	f.Add("/metadata/instance", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/identity/info", "api-version=2018-02-01", "")
	f.Add("/metadata/versions", ";;;=&&", "true")
	// Route parameters into the instance document: leaves, sub-trees,
	// array indices and the malformed forms of each.
	f.Add("/metadata/instance/compute/location", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/instance/compute/location", "api-version=2021-02-01", "true")
	f.Add("/metadata/instance/compute/tagsList", "api-version=2021-02-01", "true")
	f.Add("/metadata/instance/compute/tagsList/0/name", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/instance/network/interface/1", "api-version=2021-02-01", "true")
	f.Add("/metadata/instance/network/interface/-1/ipv4", "api-version=2021-02-01&format=json", "true")
	f.Add("/metadata/instance/network/interface/x", "api-version=2021-02-01", "true")
	f.Add("/metadata/instance/network/interface/99999999999999999999", "api-version=2021-02-01", "true")
	f.Add("/metadata/instance/compute//location/", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/instance/compute/location/x/y", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/instance/network/interface/0/ipv6/ipAddress/", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/instance/Compute/Location", "api-version=2021-02-01&format=TEXT", "true")
	f.Add("/metadata/instance/compute%2Flocation", "api-version=2021-02-01&format=text&format=json", "true")
	fx := newFixture(f, "AzureCloud")
	f.Fuzz(func(t *testing.T, path, query, metadata string) {
		u := &url.URL{Scheme: "http", Host: "169.254.169.254", Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: query}
		req := httptest.NewRequest("GET", "http://169.254.169.254/", nil)
		req.URL, req.RequestURI = u, u.RequestURI()
		if metadata != "" {
			req.Header["Metadata"] = []string{metadata}
		}
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 405, 429, 500:
		default:
			t.Fatalf("%s?%s: status %d", u.Path, query, rec.Code)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			if rec.Code != 200 || !strings.HasPrefix(u.Path, "/metadata/instance") || u.Query().Get("format") != "text" {
				t.Fatalf("%s?%s: a text answer with status %d", u.Path, query, rec.Code)
			}
			return
		}
		var body any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s?%s: body %q is not JSON: %v", u.Path, query, rec.Body.String(), err)
		}
		obj, isObj := body.(map[string]any)
		if rec.Code != 200 && !isObj {
			t.Fatalf("%s?%s: error body %q is not a JSON object", u.Path, query, rec.Body.String())
		}
		if _, leaf := body.(string); leaf {
			t.Fatalf("%s?%s: a leaf in JSON: %q", u.Path, query, rec.Body.String())
		}
		if _, tok := obj["access_token"]; tok && rec.Code != 200 {
			t.Fatalf("a token with status %d", rec.Code)
		}
	})
}
