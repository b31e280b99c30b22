package graph

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/miconform/miconform/env/emulator/directory"
)

// benchFixture is a tenant of n managed identities besides the fixture's.
func benchFixture(b *testing.B, n int) *fixture {
	f := newFixture(b, "AzureCloud")
	for i := 0; i < n; i++ {
		f.iss.Dir.Add(directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "vm", Kind: directory.SystemAssigned, ResourceID: vmID + string(rune('a'+i%26))})
	}
	return f
}

func benchGET(b *testing.B, f *fixture, path string) {
	tok := f.operatorToken()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodGet, "https://graph.microsoft.com"+path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		f.g.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}

// BenchmarkGetServicePrincipal is az ad sp show's second call, in a tenant
// of 200 principals; compare with BenchmarkFilterAppID, az ad sp list's
// call, which reads the whole directory.
func BenchmarkGetServicePrincipal(b *testing.B) {
	f := benchFixture(b, 200)
	benchGET(b, f, "/v1.0/servicePrincipals/"+f.system.ObjectID)
}

func BenchmarkFilterAppID(b *testing.B) {
	f := benchFixture(b, 200)
	benchGET(b, f, "/v1.0/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+f.system.ClientID+"'"))
}
