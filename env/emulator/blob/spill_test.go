package blob_test

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"github.com/miconform/miconform/env/wine/winetest"
	"hash/crc64"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/blob"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Blobs above 4 MiB are read into spill files as they arrive (spill.go);
// these tests check that such a blob is the same blob to a client as a
// small one: its bytes, ranges, sums, blocks, snapshots, deletion, and,
// with a state dir, restarts and a full disk.

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func crc64Of(b []byte) string {
	var out [8]byte
	binary.LittleEndian.PutUint64(out[:], crc64.Checksum(b, crc64.MakeTable(0x9A6C9329AC4BC9B5)))
	return base64.StdEncoding.EncodeToString(out[:])
}

func md5Of(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// collectSpills runs the garbage collector until the service holds want
// spill files: a deleted blob's file goes when its last handle is
// collected. It gives up after a bounded number of rounds.
func collectSpills(f *fixture, want int) int {
	n := f.e.Blob.SpillFiles()
	for i := 0; i < 200 && n != want; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		n = f.e.Blob.SpillFiles()
	}
	return n
}

func (f *fixture) put(u string, h http.Header, body []byte) res {
	f.t.Helper()
	hh := http.Header{"x-ms-version": {"2021-08-06"}}
	for k, v := range h {
		hh[k] = v
	}
	return f.do("PUT", u, hh, body)
}

func TestLargeBlobSpills(t *testing.T) {
	blob.SkipWithoutSpills(t)
	f := newFixture(t, "AzureCloud")
	sas := f.sas(map[string]any{"signedPermission": "rcwd"})
	u := withSAS(f.blobURL("large.bin"), sas)
	data := randomBytes(9<<20 + 123)

	r := f.put(u, http.Header{"x-ms-blob-type": {"BlockBlob"}, "Content-MD5": {md5Of(data)}}, data)
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, md5Of(data), r.header.Get("Content-MD5"))
	assert.Equal(t, crc64Of(data), r.header.Get("x-ms-content-crc64"))
	assert.Equal(t, 1, f.e.Blob.SpillFiles(), "the large blob is in a spill file")

	g := f.do("GET", u, http.Header{"x-ms-version": {"2021-08-06"}}, nil)
	require.Equal(t, 200, g.status)
	assert.True(t, bytes.Equal(data, g.body), "GET answers the uploaded bytes")
	assert.Equal(t, md5Of(data), g.header.Get("Content-MD5"))
	g = f.do("GET", u, http.Header{"x-ms-version": {"2021-08-06"}, "x-ms-range": {"bytes=4194000-4195000"}}, nil)
	require.Equal(t, 206, g.status)
	assert.Equal(t, data[4194000:4195001], g.body)
	assert.Equal(t, "bytes 4194000-4195000/9437307", g.header.Get("Content-Range"))
	h := f.do("HEAD", u, http.Header{"x-ms-version": {"2021-08-06"}}, nil)
	assert.Equal(t, "9437307", h.header.Get("Content-Length"))

	// A wrong Content-MD5 stores nothing: the blob is as it was.
	other := randomBytes(5 << 20)
	r = f.put(u, http.Header{"x-ms-blob-type": {"BlockBlob"}, "Content-MD5": {md5Of(data)}}, other)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "Md5Mismatch", r.code())
	assert.Contains(t, string(r.body), md5Of(other), "ServerCalculatedMd5 is the body's")
	assert.True(t, bytes.Equal(data, f.do("GET", u, nil, nil).body))

	// Blocks: a spilled one and a small one, committed, then recommitted
	// from the committed list in another order.
	big, small := randomBytes(5<<20), []byte("small block")
	id1, id2 := base64.StdEncoding.EncodeToString([]byte("b1")), base64.StdEncoding.EncodeToString([]byte("b2"))
	r = f.put(u+"&comp=block&blockid="+id1, nil, big)
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, crc64Of(big), r.header.Get("x-ms-content-crc64"))
	require.Equal(t, 201, f.put(u+"&comp=block&blockid="+id2, nil, small).status)
	list := `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>` + id1 + `</Latest><Latest>` + id2 + `</Latest></BlockList>`
	r = f.put(u+"&comp=blocklist", nil, []byte(list))
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.True(t, bytes.Equal(append(append([]byte{}, big...), small...), f.do("GET", u, nil, nil).body))
	list = `<?xml version="1.0" encoding="utf-8"?><BlockList><Committed>` + id2 + `</Committed><Committed>` + id1 + `</Committed></BlockList>`
	require.Equal(t, 201, f.put(u+"&comp=blocklist", nil, []byte(list)).status)
	assert.True(t, bytes.Equal(append(append([]byte{}, small...), big...), f.do("GET", u, nil, nil).body))

	// A snapshot keeps the bytes it saw after the blob is overwritten.
	r = f.put(u+"&comp=snapshot", nil, nil)
	require.Equal(t, 201, r.status, "%s", r.body)
	snap := r.header.Get("x-ms-snapshot")
	require.Equal(t, 201, f.put(u, http.Header{"x-ms-blob-type": {"BlockBlob"}}, data).status)
	assert.True(t, bytes.Equal(append(append([]byte{}, small...), big...), f.do("GET", u+"&snapshot="+snap, nil, nil).body))

	// Deleted, its files go.
	require.Equal(t, 202, f.do("DELETE", u, http.Header{"x-ms-delete-snapshots": {"include"}}, nil).status)
	assert.Equal(t, 0, collectSpills(f, 0), "spill files left after the blob and its snapshot were deleted")
}

// TestLargeBlobDurable: with a state dir, a large blob and a large staged
// block survive a restart; a data file no record names (an upload a crash
// cut short) is removed at start; a full disk refuses the upload with
// InternalError naming the cause, keeps nothing, and uploads work again
// once there is space.
func TestLargeBlobDurable(t *testing.T) {
	blob.SkipWithoutSpills(t)
	dir := winetest.TempDir(t)
	start := func() *fixture {
		return startFixture(t, emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir})
	}
	f := start()
	sas := f.sas(map[string]any{"signedPermission": "rcwd"})
	u := withSAS(f.blobURL("durable.bin"), sas)
	data, block := randomBytes(6<<20+7), randomBytes(5<<20)
	id := base64.StdEncoding.EncodeToString([]byte("blk"))
	require.Equal(t, 201, f.put(u, http.Header{"x-ms-blob-type": {"BlockBlob"}}, data).status)
	require.Equal(t, 201, f.put(withSAS(f.blobURL("staged.bin"), sas)+"&comp=block&blockid="+id, nil, block).status)

	full := true
	f.e.Blob.InjectSpillFault(func() error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	})
	r := f.put(withSAS(f.blobURL("refused.bin"), sas), http.Header{"x-ms-blob-type": {"BlockBlob"}}, randomBytes(5<<20))
	assert.Equal(t, 500, r.status)
	assert.Equal(t, "InternalError", r.code())
	assert.Contains(t, string(r.body), "no space left on device")
	assert.Contains(t, string(r.body), "retry once the disk has space")
	assert.Equal(t, 404, f.do("GET", withSAS(f.blobURL("refused.bin"), sas), nil, nil).status)
	assert.Equal(t, 2, f.e.Blob.SpillFiles(), "the refused upload left no file")
	full = false
	require.Equal(t, 201, f.put(withSAS(f.blobURL("refused.bin"), sas), http.Header{"x-ms-blob-type": {"BlockBlob"}}, randomBytes(5<<20)).status)
	require.Equal(t, 202, f.do("DELETE", withSAS(f.blobURL("refused.bin"), sas), nil, nil).status)
	f.close()

	orphan := filepath.Join(dir, "blobdata", "orphan")
	require.NoError(t, os.WriteFile(orphan, []byte("cut short"), 0o600))
	f = start()
	defer f.close()
	_, err := os.Stat(orphan)
	assert.ErrorIs(t, err, os.ErrNotExist, "a file no record names is removed at start")
	assert.Equal(t, 2, f.e.Blob.SpillFiles(), "the blob's and the staged block's files, not the deleted blob's")
	g := f.do("GET", u, nil, nil)
	require.Equal(t, 200, g.status)
	assert.True(t, bytes.Equal(data, g.body), "the large blob survives a restart")
	list := `<BlockList><Uncommitted>` + id + `</Uncommitted></BlockList>`
	require.Equal(t, 201, f.put(withSAS(f.blobURL("staged.bin"), sas)+"&comp=blocklist", nil, []byte(list)).status)
	assert.True(t, bytes.Equal(block, f.do("GET", withSAS(f.blobURL("staged.bin"), sas), nil, nil).body), "the staged block survives a restart")
}
