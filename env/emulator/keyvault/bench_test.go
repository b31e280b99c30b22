package keyvault

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkGetSecret is the data plane alone (token verification, access
// policy check, answer): one GET of the latest version, in process.
func BenchmarkGetSecret(b *testing.B) {
	w := newWorld(b, "AzureCloud")
	w.newVault("benchvault", nil).requireStatus(200)
	w.setSecret("benchvault", "mi-test", "My Secret").requireStatus(200)
	tok := "Bearer " + w.vaultToken(w.operator)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("GET", "https://benchvault.vault.azure.net/secrets/mi-test?api-version=2016-10-01", nil)
		req.Header.Set("Authorization", tok)
		rec := httptest.NewRecorder()
		w.kv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
