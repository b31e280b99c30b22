package emulator_test

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkARMGetResourceGroup is Resource Groups - Get over the HTTPS
// listener: TLS (kept alive), token verification, RBAC, routing, JSON.
func BenchmarkARMGetResourceGroup(b *testing.B) {
	h := start(b, opts{})
	url := "https://" + h.E.Cloud.ARMHost + h.rg("myResourceGroupVM") + "?api-version=2021-04-01"
	auth := "Bearer " + h.operatorToken()
	get := func() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", auth)
		resp, err := h.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	get()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		get()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkEmulatorIMDSToken is the cached managed identity token path
// through the emulator's IMDS listener, dialed as 169.254.169.254.
func BenchmarkEmulatorIMDSToken(b *testing.B) {
	h := start(b, opts{})
	url := "http://169.254.169.254/metadata/identity/oauth2/token?" + tokenQuery.Encode()
	get := func() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Metadata", "true")
		resp, err := h.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	get()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		get()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}
