package emulator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/require"
)

// Load tests: bounded, loopback only, skipped unless MICONFORM_LOAD=1
// (`MICONFORM_LOAD=1 go test ./env/emulator/ -run TestLoad -v`), since they
// take a while. Each runs its operations from several goroutines at once,
// requires every answer to be the expected one, and then requires the
// emulator to have given back what the load took: goroutines (once the
// client has closed its idle connections) and live heap (after GC), within
// a small tolerance. The numbers are logged. BenchmarkLoad runs the same
// operations as benchmarks.

// loadCase is one kind of load: ops operations by workers goroutines.
type loadCase struct {
	name    string
	ops     int
	workers int
	// warm is how many operations warm up first, at full concurrency:
	// connections, caches, the runtime's goroutine high-water mark and
	// the data the load keeps (every blob name at its size).
	warm int
	// setup prepares the world (the seeded one plus what the case needs)
	// and returns the operation; op(i) does operation i and returns an
	// error for anything but the expected answer.
	setup func(t testing.TB, h *harness) (op func(i int) error)
}

func loadCases() []loadCase {
	return []loadCase{
		{name: "imds-token", ops: 100_000, workers: 8, warm: 8, setup: imdsLoad},
		{name: "blob-put-get", ops: 10_000, workers: 8, warm: blobNames, setup: blobLoad},
		{name: "secret-get", ops: 10_000, workers: 8, warm: 8, setup: secretLoad},
		// All logins at once: every worker is one connection's login.
		{name: "sql-login", ops: 1_000, workers: 1_000, warm: 1_000, setup: sqlLoginLoad},
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	if os.Getenv("MICONFORM_LOAD") != "1" {
		t.Skip("load tests run with MICONFORM_LOAD=1")
	}
	for _, lc := range loadCases() {
		t.Run(lc.name, func(t *testing.T) {
			h := start(t, opts{}) // IMDS throttling off: the load is the point
			op := lc.setup(t, h)
			require.Empty(t, run(lc.warm, lc.workers, op), "warm-up")
			before := settle(h, 0)
			began := time.Now()
			errs := run(lc.ops, lc.workers, op)
			took := time.Since(began)
			after := settle(h, before.goroutines)
			t.Logf("%s: %d ops by %d workers in %v (%.0f ops/s); goroutines %d -> %d; heap %.1f MiB -> %.1f MiB",
				lc.name, lc.ops, lc.workers, took.Round(time.Millisecond), float64(lc.ops)/took.Seconds(),
				before.goroutines, after.goroutines, mib(before.heap), mib(after.heap))
			require.Empty(t, errs, "every operation answered as expected")
			require.LessOrEqual(t, after.goroutines, before.goroutines+2, "goroutines left behind by the load")
			require.LessOrEqual(t, after.heap, before.heap+max(before.heap/5, 8<<20), "live heap grew by the load")
		})
	}
}

// BenchmarkLoad is TestLoad's operations as benchmarks: ops/s with the
// case's concurrency (b.N operations in all).
func BenchmarkLoad(b *testing.B) {
	for _, lc := range loadCases() {
		b.Run(lc.name, func(b *testing.B) {
			h := start(b, opts{})
			op := lc.setup(b, h)
			if errs := run(lc.warm, lc.workers, op); len(errs) > 0 {
				b.Fatal(errs[0])
			}
			b.ResetTimer()
			began := time.Now()
			errs := run(b.N, min(lc.workers, b.N), op)
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "ops/s")
			if len(errs) > 0 {
				b.Fatalf("%d errors, first: %v", len(errs), errs[0])
			}
		})
	}
}

// run does ops operations from workers goroutines, each taking the next
// index, and returns the errors (at most 10 kept).
func run(ops, workers int, op func(i int) error) []error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= ops {
					return
				}
				if err := op(i); err != nil {
					mu.Lock()
					if len(errs) < 10 {
						errs = append(errs, fmt.Errorf("op %d: %w", i, err))
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

type usage struct {
	goroutines int
	heap       uint64
}

// settle closes the client's idle connections, waits (up to 5 s) for the
// goroutine count to come down to want (0: just a moment), and measures
// goroutines and the live heap after GC.
func settle(h *harness, want int) usage {
	h.client.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(50 * time.Millisecond)
		if want == 0 || runtime.NumGoroutine() <= want || time.Now().After(deadline) {
			break
		}
	}
	runtime.GC()
	runtime.GC() // the second also frees what sync.Pools held
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return usage{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// get sends a request and returns the status and body.
func (h *harness) send(method, url string, hdr http.Header, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// imdsLoad: the VM's managed identity token for Resource Manager, as the
// tutorials request it (cached by IMDS after the first).
func imdsLoad(t testing.TB, h *harness) func(int) error {
	url := "http://169.254.169.254/metadata/identity/oauth2/token?" + tokenQuery.Encode()
	hdr := http.Header{"Metadata": {"true"}}
	return func(int) error {
		code, body, err := h.send("GET", url, hdr, nil)
		if err == nil && (code != 200 || !bytes.Contains(body, []byte(`"access_token":"ey`))) {
			err = fmt.Errorf("status %d", code)
		}
		return err
	}
}

// blobSize is blob k's size: mostly small, some 256 KiB, a few 1 MiB, so
// the load mixes the sizes real clients send. A name always has the same
// size, so the stored data is the same before and after the load.
func blobSize(k int) int {
	switch {
	case k%100 == 0:
		return 1 << 20
	case k%20 == 0:
		return 256 << 10
	}
	return []int{0, 100, 1 << 10, 4 << 10, 16 << 10, 64 << 10}[k%6]
}

// blobNames is how many blobs the load writes and reads, over and over.
const blobNames = 200

// blobLoad: Put Blob then Get Blob of one of 200 names with an Entra token
// (the operator, granted Storage Blob Data Contributor on the seeded
// account); the content read must be what was written.
func blobLoad(t testing.TB, h *harness) func(int) error {
	w := h.E.World
	account := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount
	h.assignRole(h.E.Operator.ObjectID, "ba92f5b4-2d11-453d-a403-e96b0029c9fe", account)
	tok := h.appToken(h.E.Operator, h.E.Cloud.StorageResource)
	data := make([][]byte, blobNames)
	for k := range data {
		data[k] = bytes.Repeat([]byte{byte(k)}, blobSize(k))
	}
	hdr := http.Header{"Authorization": {"Bearer " + tok}, "X-Ms-Version": {"2021-08-06"}, "X-Ms-Blob-Type": {"BlockBlob"}}
	return func(i int) error {
		k := i % blobNames
		url := fmt.Sprintf("https://%s.blob.%s/%s/load-%03d.bin", w.StorageAccount, h.E.Cloud.StorageSuffix, w.Container, k)
		code, body, err := h.send("PUT", url, hdr, data[k])
		if err != nil || code != 201 {
			return fmt.Errorf("put: status %d, %v: %.200s", code, err, body)
		}
		code, body, err = h.send("GET", url, hdr, nil)
		if err != nil || code != 200 {
			return fmt.Errorf("get: status %d, %v: %.200s", code, err, body)
		}
		if !bytes.Equal(body, data[k]) {
			return fmt.Errorf("get: %d bytes differ from the %d put", len(body), len(data[k]))
		}
		return nil
	}
}

// secretLoad: the Key Vault tutorial's GET of the seeded secret with the
// VM's token from IMDS.
func secretLoad(t testing.TB, h *harness) func(int) error {
	c := h.E.Cloud
	r := h.imds("/metadata/identity/oauth2/token", map[string][]string{"api-version": {"2018-02-01"}, "resource": {c.VaultResource}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	hdr := http.Header{"Authorization": {"Bearer " + str(r.body, "access_token")}}
	url := "https://" + h.E.World.VaultName + "." + c.VaultSuffix + "/secrets/" + h.E.World.SecretName + "?api-version=2016-10-01"
	return func(int) error {
		code, body, err := h.send("GET", url, hdr, nil)
		if err == nil && (code != 200 || !bytes.Contains(body, []byte(`"value":`))) {
			err = fmt.Errorf("status %d: %.200s", code, body)
		}
		return err
	}
}

// sqlLoginLoad: one new go-mssqldb connection per operation (TCP,
// PRELOGIN, TLS, LOGIN7 with the VM's token) and the tutorial's SELECT.
func sqlLoginLoad(t testing.TB, h *harness) func(int) error {
	w, c := h.E.World, h.E.Cloud
	vm, ok := h.E.Dir.ByResourceID(w.VMResourceID)
	require.True(t, ok)
	tok, err := h.E.Issuer.ManagedIdentityToken(vm, c.SQLResource, "")
	require.NoError(t, err)
	host := w.SQLServer + "." + c.SQLSuffix
	cfg, err := msdsn.Parse("sqlserver://" + host + "?database=" + w.SQLDatabase + "&encrypt=true&dial+timeout=30&connection+timeout=60")
	require.NoError(t, err)
	cfg.TLSConfig = &tls.Config{RootCAs: h.E.CA.Pool(), ServerName: host}
	var lat latencies
	t.Cleanup(func() {
		if p50, p99, ok := lat.percentiles(); ok {
			t.Logf("sql-login: login+SELECT latency p50 %v, p99 %v", p50, p99)
		}
	})
	return func(int) error {
		began := time.Now()
		conn, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return tok.Raw, nil })
		if err != nil {
			return err
		}
		conn.Dialer = hostDialer(h.E.DialContext)
		db := sql.OpenDB(conn)
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+w.SQLTable).Scan(&n); err != nil {
			return err
		}
		if n != 3 {
			return fmt.Errorf("%d rows, want 3", n)
		}
		lat.add(time.Since(began))
		return nil
	}
}

type hostDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (d hostDialer) DialContext(ctx context.Context, n, a string) (net.Conn, error) {
	return d(ctx, n, a)
}

func (hostDialer) HostName() string { return "" }

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99 time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, false
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100], true
}
