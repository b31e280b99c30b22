package emulator_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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

// bareClient is the harness's client, dialing addr for every host.
func bareClient(h *harness, addr net.Addr) *http.Client {
	tr := h.E.Transport()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr.String())
	}
	// The harness client's settings too (its Timeout costs a timer per
	// request): the twins differ only in the server.
	c := &http.Client{Transport: tr, Timeout: h.client.Timeout}
	h.t.Cleanup(c.CloseIdleConnections)
	return c
}

// BenchmarkVsBare measures the emulator against a bare server as a ratio,
// in one run: every iteration sends one request to the emulator and one
// to its bare twin (the same listener setup through ServeBare, the same
// client transport, a handler that writes the very body the emulator
// answered, with its Content-Type), alternately, so the noise of a shared
// machine falls on both alike. It reports emu-ns/req and bare-ns/req, and
// bare/emu: the emulator's request rate as a fraction of the bare
// server's (1 is as fast as a bare Go server). Run
//
//	go test ./env/emulator/ -run '^$' -bench VsBare -count 6 | go run golang.org/x/perf/cmd/benchstat@latest -
//
// for each ratio with its spread.
func BenchmarkVsBare(b *testing.B) {
	h := start(b, opts{})
	w := h.E.World
	account := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount
	h.assignRole(h.E.Operator.ObjectID, blobContributorRole, account)
	bearer := http.Header{"Authorization": {"Bearer " + h.appToken(h.E.Operator, h.E.Cloud.StorageResource)}, "X-Ms-Version": {"2021-08-06"}}
	r := h.op("POST", account+"/listServiceSas/?api-version=2017-06-01", map[string]any{
		"canonicalizedResource": "/blob/" + w.StorageAccount + "/" + w.Container, "signedResource": "c",
		"signedPermission": "r", "signedProtocol": "https", "signedExpiry": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	})
	if r.code != 200 {
		b.Fatalf("listServiceSas: %d %s", r.code, r.raw)
	}
	sas := str(r.body, "serviceSasToken")

	type pair struct {
		name, url string
		hdr       http.Header
		tls       bool
	}
	pairs := []pair{{name: "IMDSToken", url: "http://169.254.169.254/metadata/identity/oauth2/token?" + tokenQuery.Encode(), hdr: http.Header{"Metadata": {"true"}}}}
	for _, size := range []int{4 << 10, 1 << 20} {
		name := fmt.Sprintf("%dKiB", size>>10)
		if size >= 1<<20 {
			name = fmt.Sprintf("%dMiB", size>>20)
		}
		u := h.blobURL("vsbare-" + name + ".bin")
		put := bearer.Clone()
		put.Set("X-Ms-Blob-Type", "BlockBlob")
		if rp := h.do("PUT", u, put, string(bytes.Repeat([]byte("x"), size))); rp.code != 201 {
			b.Fatalf("put: %d %s", rp.code, rp.raw)
		}
		pairs = append(pairs,
			pair{name: "BlobGET/" + name + "/SAS", url: u + "?" + sas, hdr: http.Header{"X-Ms-Version": {"2021-08-06"}}, tls: true},
			pair{name: "BlobGET/" + name + "/bearer", url: u, hdr: bearer, tls: true})
	}
	for _, p := range pairs {
		b.Run(p.name, func(b *testing.B) {
			// The bare twin answers what the emulator answered.
			status, body, err := h.send("GET", p.url, p.hdr, nil)
			if err != nil || status != 200 {
				b.Fatalf("GET: %d %v", status, err)
			}
			ctype := "application/json; charset=utf-8"
			if p.tls {
				ctype = "application/octet-stream"
			}
			addr, err := h.E.ServeBare(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ctype)
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			}), p.tls)
			if err != nil {
				b.Fatal(err)
			}
			bare := bareClient(h, addr)
			get := func(c *http.Client) time.Duration {
				req, _ := http.NewRequest("GET", p.url, nil)
				for k, v := range p.hdr {
					req.Header[k] = v
				}
				began := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(began)
				if resp.StatusCode != 200 || n != int64(len(body)) {
					b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
				}
				return took
			}
			get(h.client)
			get(bare)
			var emu, base time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				// Alternate which goes first, so neither always follows
				// the other's garbage.
				if i%2 == 0 {
					emu += get(h.client)
					base += get(bare)
				} else {
					base += get(bare)
					emu += get(h.client)
				}
			}
			b.ReportMetric(float64(emu.Nanoseconds())/float64(b.N), "emu-ns/req")
			b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "bare-ns/req")
			b.ReportMetric(float64(base)/float64(emu), "bare/emu")
		})
	}
}
