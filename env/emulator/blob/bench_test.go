package blob_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"testing"
)

// BenchmarkBlob1MiB measures Put Blob and Get Blob of 1 MiB blobs end to
// end: HTTPS (HTTP/2) to the emulator's listener, SAS authorization, the
// in-memory store. MB/s is what -bench reports from SetBytes.
func BenchmarkBlob1MiB(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	sas := f.sas(map[string]any{"signedPermission": "rcw"})
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	u := withSAS(f.blobURL("bench.bin"), sas)
	send := func(method string, body []byte) {
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
	send("PUT", data)
	b.Run("PUT", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			send("PUT", data)
		}
	})
	b.Run("GET", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			send("GET", nil)
		}
	})
}
