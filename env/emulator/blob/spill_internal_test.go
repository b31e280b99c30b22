package blob

import (
	"bytes"
	"crypto/md5"
	"errors"
	"github.com/miconform/miconform/env/wine/winetest"
	"hash/crc64"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll reads a piece back whole.
func readAll(t *testing.T, p piece) []byte {
	var b bytes.Buffer
	require.NoError(t, p.writeTo(&b, make([]byte, 1000)))
	return b.Bytes()
}

func TestReadUpload(t *testing.T) {
	skipWithoutSpills(t)
	d := newSpillDir(winetest.TempDir(t), false)
	for _, size := range []int{0, 1, 4 << 10, readChunk, readChunk + 1, 1536 << 10, spillThreshold, spillThreshold + 1, 9<<20 + 5} {
		data := bytes.Repeat([]byte{byte(size), 7, 42}, size/3+1)[:size]
		// Odd read sizes, as a network gives them.
		up, err := d.readUpload(iotest.HalfReader(bytes.NewReader(data)), int64(size), maxBody)
		require.NoError(t, err, size)
		assert.Equal(t, int64(size), up.n, size)
		assert.True(t, bytes.Equal(data, readAll(t, up.piece)), "%d bytes read back", size)
		sum := md5.Sum(data)
		assert.Equal(t, sum[:], up.md5)
		assert.Equal(t, crc64.Checksum(data, crc64Table), up.crc64)
		if size > spillThreshold {
			assert.NotNil(t, up.sp, "%d bytes go to a spill file", size)
		} else {
			assert.Nil(t, up.sp, "%d bytes stay in memory", size)
			assert.Equal(t, size, cap(up.mem), "with Content-Length, a memory blob holds exactly its bytes")
		}
	}
}

func TestReadUploadRefusals(t *testing.T) {
	d := newSpillDir(winetest.TempDir(t), false)
	big := bytes.Repeat([]byte("x"), 6<<20)
	_, err := d.readUpload(bytes.NewReader(big), -1, 5<<20)
	assert.ErrorIs(t, err, errBodyTooLarge)
	_, err = d.readUpload(io.MultiReader(bytes.NewReader(big), iotest.ErrReader(io.ErrUnexpectedEOF)), int64(len(big))+10, maxBody)
	assert.ErrorIs(t, err, errBodyRead)
	if spillThreshold > 1<<30 {
		return // no spill file to refuse on this system (spill_windows.go)
	}
	full := errors.New("no space left on device")
	d.fault = func() error { return full }
	_, err = d.readUpload(bytes.NewReader(big), int64(len(big)), maxBody)
	assert.ErrorIs(t, err, full)
	d.fault = nil
	assert.Zero(t, d.files(), "a refused upload leaves no file")
}

// TestReadUploadAllocatesAsBytesArrive: a body announcing 200 MiB that
// sends 10 bytes costs kilobytes, not the announced size.
func TestReadUploadAllocatesAsBytesArrive(t *testing.T) {
	d := newSpillDir(winetest.TempDir(t), false)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := d.readUpload(bytes.NewReader([]byte("ten bytes!")), 200<<20, maxBody)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
}

// skipWithoutSpills skips a test of spill files on Windows, where blobs
// stay in memory (spill_windows.go).
func skipWithoutSpills(t *testing.T) {
	t.Helper()
	if spillThreshold > 1<<30 {
		t.Skip("no spill files on this system: large blobs stay in memory (spill_windows.go)")
	}
}
