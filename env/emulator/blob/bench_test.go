package blob_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkBlob measures Put Blob and Get Blob of 4 KiB, 1 MiB and 64 MiB
// blobs end to end: HTTPS (HTTP/2) to the emulator's listener, SAS
// authorization, the in-memory store. MB/s is what -bench reports from
// SetBytes.
func BenchmarkBlob(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	sas := f.sas(map[string]any{"signedPermission": "rcw"})
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		u := withSAS(f.blobURL(fmt.Sprintf("bench-%d.bin", size)), sas)
		send := func(b *testing.B, method string, body []byte) {
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			req, _ := http.NewRequest(method, u, rd)
			req.Header.Set("x-ms-blob-type", "BlockBlob")
			req.Header.Set("x-ms-version", "2021-08-06")
			resp, err := f.c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 || (method == "GET" && n != int64(len(data))) {
				b.Fatalf("%s answered %d with %d bytes", method, resp.StatusCode, n)
			}
		}
		name := fmt.Sprintf("%dKiB", size>>10)
		if size >= 1<<20 {
			name = fmt.Sprintf("%dMiB", size>>20)
		}
		b.Run("PUT/"+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				send(b, "PUT", data)
			}
		})
		b.Run("GET/"+name, func(b *testing.B) {
			send(b, "PUT", data) // when -bench selects GET alone
			b.ResetTimer()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				send(b, "GET", nil)
			}
		})
	}
}
