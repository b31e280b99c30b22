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
// every answer is JSON with a status IMDS uses, a token only ever comes
// with 200, and nothing panics.
func FuzzIMDSRequest(f *testing.F) {
	f.Add("/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=https://management.azure.com/", "true")
	f.Add("/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=https://vault.azure.net&client_id=x", "true")
	f.Add("/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=a&resource=b", "true")
	f.Add("/metadata/identity/oauth2/token", "api-version=%zz&resource=%", "TRUE")
	f.Add("/metadata/instance", "api-version=2021-02-01&format=text", "true")
	f.Add("/metadata/identity/info", "api-version=2018-02-01", "")
	f.Add("/metadata/versions", ";;;=&&", "true")
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
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s?%s: body %q is not a JSON object: %v", u.Path, query, rec.Body.String(), err)
		}
		if _, tok := body["access_token"]; tok && rec.Code != 200 {
			t.Fatalf("a token with status %d", rec.Code)
		}
	})
}
