package emulator_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// The ARM and IMDS benchmarks below each have a bare twin: the same client,
// the same listener setup (TLS and HTTP/2 for HTTPS, plain HTTP/1.1 for
// IMDS), and a handler that only writes a small JSON body. The ratio of the
// two is what the emulator itself costs per request.

// BenchmarkARMGetResourceGroup is Resource Groups - Get over the HTTPS
// listener: TLS (kept alive), token verification, RBAC, routing, JSON.
func BenchmarkARMGetResourceGroup(b *testing.B) {
	h := start(b, opts{})
	url := "https://" + h.E.Cloud.ARMHost + h.rg("myResourceGroupVM") + "?api-version=2021-04-01"
	hdr := http.Header{"Authorization": {"Bearer " + h.operatorToken()}}
	loop(b, h.client, url, hdr, "req/s")
}

// BenchmarkBareHTTPS is the baseline of BenchmarkARMGetResourceGroup.
func BenchmarkBareHTTPS(b *testing.B) {
	h := start(b, opts{})
	addr, err := h.E.ServeBare(bareJSON(), true)
	if err != nil {
		b.Fatal(err)
	}
	url := "https://" + h.E.Cloud.ARMHost + h.rg("myResourceGroupVM") + "?api-version=2021-04-01"
	hdr := http.Header{"Authorization": {"Bearer " + h.operatorToken()}}
	loop(b, bareClient(h, addr), url, hdr, "req/s")
}

// BenchmarkEmulatorIMDSToken is the cached managed identity token path
// through the emulator's IMDS listener, dialed as 169.254.169.254.
func BenchmarkEmulatorIMDSToken(b *testing.B) {
	h := start(b, opts{})
	url := "http://169.254.169.254/metadata/identity/oauth2/token?" + tokenQuery.Encode()
	loop(b, h.client, url, http.Header{"Metadata": {"true"}}, "tokens/s")
}

// BenchmarkBareHTTP is the baseline of BenchmarkEmulatorIMDSToken.
func BenchmarkBareHTTP(b *testing.B) {
	h := start(b, opts{})
	addr, err := h.E.ServeBare(bareJSON(), false)
	if err != nil {
		b.Fatal(err)
	}
	url := "http://169.254.169.254/metadata/identity/oauth2/token?" + tokenQuery.Encode()
	loop(b, bareClient(h, addr), url, http.Header{"Metadata": {"true"}}, "req/s")
}

// loop sends GET url once to warm up (connection, caches), then b.N times,
// one at a time on a kept-alive connection, as a client following the
// tutorials does; unit names the rate metric.
func loop(b *testing.B, c *http.Client, url string, hdr http.Header, unit string) {
	get := func() {
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
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
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
}

// bareJSON writes a small JSON body and nothing else.
func bareJSON() http.Handler {
	body := []byte(`{"id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroupVM","name":"myResourceGroupVM","location":"westus","properties":{"provisioningState":"Succeeded"}}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	})
}

// bareClient is the harness's transport, dialing addr for every host.
func bareClient(h *harness, addr net.Addr) *http.Client {
	tr := h.E.Transport()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr.String())
	}
	c := &http.Client{Transport: tr}
	h.t.Cleanup(c.CloseIdleConnections)
	return c
}
