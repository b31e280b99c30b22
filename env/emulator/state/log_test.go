package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contents reads every live key of a log.
func contents(t *testing.T, l *Log) map[string]string {
	t.Helper()
	m := map[string]string{}
	require.NoError(t, l.Each("", func(k string, v []byte) error {
		m[k] = string(v)
		return nil
	}))
	return m
}

func put(t *testing.T, l *Log, kv ...string) {
	t.Helper()
	var b Batch
	for i := 0; i < len(kv); i += 2 {
		b.Put(kv[i], []byte(kv[i+1]))
	}
	require.NoError(t, l.Commit(&b))
}

func reopen(t *testing.T, l *Log, path string) *Log {
	t.Helper()
	if l != nil {
		require.NoError(t, l.Close())
	}
	n, err := Open(path, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return n
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(winetest.TempDir(t), "svc.log")
	l := reopen(t, nil, path)
	put(t, l, "a/1", "one", "a/2", "two", "b/1", "three")
	put(t, l, "a/1", "uno")
	var b Batch
	b.Delete("b/1")
	b.Put("c", nil)
	require.NoError(t, l.Commit(&b))
	b = Batch{}
	b.DeletePrefix("a/")
	b.Put("a/3", []byte("after the prefix delete"))
	require.NoError(t, l.Commit(&b))
	want := map[string]string{"a/3": "after the prefix delete", "c": ""}
	assert.Equal(t, want, contents(t, l))

	l = reopen(t, l, path)
	assert.Equal(t, want, contents(t, l))
	assert.Nil(t, l.Recovered())
	v, ok, err := l.Get("a/3")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "after the prefix delete", string(v))
	assert.Equal(t, []string{"a/3"}, l.Keys("a/"))
}

func TestNilLogIsInMemory(t *testing.T) {
	var l *Log
	var b Batch
	b.Put("k", []byte("v"))
	tk, err := l.Write(&b)
	require.NoError(t, err)
	require.NoError(t, l.Wait(tk))
	require.NoError(t, l.Commit(&b))
	_, ok, err := l.Get("k")
	assert.False(t, ok)
	assert.NoError(t, err)
	assert.NoError(t, l.Close())
	assert.NoError(t, l.Compact())
}

// writeThree writes three batches and returns the file offsets where the
// second and third records start.
func writeThree(t *testing.T, path string) (second, third int64) {
	t.Helper()
	l := reopen(t, nil, path)
	put(t, l, "k1", "first")
	second = l.Stats().Size
	put(t, l, "k2", "second", "k2b", "same batch")
	third = l.Stats().Size
	put(t, l, "k3", "third")
	require.NoError(t, l.Close())
	return second, third
}

// TestTornTail cuts the last record at every byte, as a crash in the
// middle of its write can: the earlier records all survive, the torn one
// is gone, its bytes are kept aside, and later writes land after the cut.
func TestTornTail(t *testing.T) {
	dir := winetest.TempDir(t)
	src := filepath.Join(dir, "src.log")
	_, third := writeThree(t, src)
	full, err := os.ReadFile(src)
	require.NoError(t, err)
	for cut := third + 1; cut < int64(len(full)); cut++ {
		path := filepath.Join(dir, fmt.Sprintf("cut-%d.log", cut))
		require.NoError(t, os.WriteFile(path, full[:cut], 0o600))
		l, err := Open(path, Options{})
		require.NoError(t, err, "cut at %d", cut)
		assert.Equal(t, map[string]string{"k1": "first", "k2": "second", "k2b": "same batch"}, contents(t, l), "cut at %d", cut)
		rec := l.Recovered()
		require.NotNil(t, rec, "cut at %d", cut)
		assert.Equal(t, third, rec.Offset)
		assert.Equal(t, cut-third, rec.Bytes)
		side, err := os.ReadFile(rec.SavedAs)
		require.NoError(t, err)
		assert.Equal(t, full[third:cut], side)
		put(t, l, "k4", "after restart")
		l = reopen(t, l, path)
		assert.Nil(t, l.Recovered(), "the cut is final")
		assert.Equal(t, "after restart", contents(t, l)["k4"])
		require.NoError(t, l.Close())
	}
}

// TestBadChecksum flips one byte: in the last record it is a torn write
// and just that record goes; in the middle, where intact records follow,
// Open refuses, names the damage and leaves the file as it was.
func TestBadChecksum(t *testing.T) {
	dir := winetest.TempDir(t)
	src := filepath.Join(dir, "src.log")
	second, third := writeThree(t, src)
	full, err := os.ReadFile(src)
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		at     int64
		reason string
	}{
		{"middle record's payload", second + recordHeader + 3, "checksum mismatch"},
		{"middle record's payload checksum", second + 13, "record header checksum mismatch"},
		{"middle record's number", second + 5, "record header checksum mismatch"},
		{"middle record's length", second + 1, "record header checksum mismatch"},
		{"middle record's header checksum", second + 17, "record header checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(full)
			b[tc.at] ^= 0x40
			path := filepath.Join(winetest.TempDir(t), "bad.log")
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err := Open(path, Options{})
			var de *DamageError
			require.ErrorAs(t, err, &de)
			require.Len(t, de.Spans, 1)
			assert.Equal(t, Damage{Offset: second, Bytes: third - second, Reason: tc.reason, Before: 1, After: 1, Lost: 1}, de.Spans[0])
			for _, want := range []string{path, fmt.Sprintf("offset %d", second), "1 record intact before", "1 record after", "holding 1 record", "not a write torn by a crash"} {
				assert.Contains(t, err.Error(), want)
			}
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, b, after, "a refused log is left as it was")
			side, _ := filepath.Glob(path + ".*")
			assert.Empty(t, side)

			// The repair keeps the records on both sides of the damage.
			l, err := Open(path, Options{Repair: true})
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"k1": "first", "k3": "third"}, contents(t, l))
			r := l.Repaired()
			require.NotNil(t, r)
			assert.Equal(t, 2, r.Kept)
			assert.Equal(t, 1, r.Lost)
			assert.Contains(t, r.String(), "lost 1 record")
			aside, err := os.ReadFile(r.SavedAs)
			require.NoError(t, err)
			assert.Equal(t, b[second:third], aside)
			put(t, l, "k4", "after repair")
			l = reopen(t, l, path)
			assert.Nil(t, l.Repaired())
			assert.Nil(t, l.Recovered())
			assert.Equal(t, map[string]string{"k1": "first", "k3": "third", "k4": "after repair"}, contents(t, l))
		})
	}
	t.Run("last record", func(t *testing.T) {
		b := bytes.Clone(full)
		b[len(b)-2] ^= 0x40
		path := filepath.Join(winetest.TempDir(t), "bad.log")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		l := reopen(t, nil, path)
		assert.Equal(t, map[string]string{"k1": "first", "k2": "second", "k2b": "same batch"}, contents(t, l))
		require.NotNil(t, l.Recovered())
		assert.Equal(t, third, l.Recovered().Offset)
	})
}

// TestDamageEverywhere damages each record but the last of a longer log in
// turn, at a random byte: Open refuses naming exactly that record, and the
// repair loses exactly that record.
func TestDamageEverywhere(t *testing.T) {
	dir := winetest.TempDir(t)
	src := filepath.Join(dir, "src.log")
	l := reopen(t, nil, src)
	var starts []int64
	const n = 30
	for i := range n {
		starts = append(starts, l.Stats().Size)
		put(t, l, fmt.Sprintf("k%02d", i), strings.Repeat("v", i*7))
	}
	starts = append(starts, l.Stats().Size)
	require.NoError(t, l.Close())
	full, err := os.ReadFile(src)
	require.NoError(t, err)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range n - 1 {
		b := bytes.Clone(full)
		at := starts[i] + rnd.Int64N(starts[i+1]-starts[i])
		b[at] ^= byte(1 + rnd.IntN(255))
		path := filepath.Join(dir, fmt.Sprintf("d%d.log", i))
		require.NoError(t, os.WriteFile(path, b, 0o600))
		_, err := Open(path, Options{})
		var de *DamageError
		require.ErrorAs(t, err, &de, "record %d, byte %d", i, at)
		assert.Equal(t, Damage{Offset: starts[i], Bytes: starts[i+1] - starts[i], Reason: de.Spans[0].Reason, Before: i, After: n - 1 - i, Lost: 1}, de.Spans[0])
		r, err := Open(path, Options{Repair: true})
		require.NoError(t, err)
		got := contents(t, r)
		assert.Len(t, got, n-1)
		assert.NotContains(t, got, fmt.Sprintf("k%02d", i))
		require.NoError(t, r.Close())
	}
}

// TestMissingRecords: a whole record gone (intact ones on both sides) is
// damage too, found by the record numbers.
func TestMissingRecords(t *testing.T) {
	dir := winetest.TempDir(t)
	src := filepath.Join(dir, "src.log")
	second, third := writeThree(t, src)
	full, err := os.ReadFile(src)
	require.NoError(t, err)
	b := append(bytes.Clone(full[:second]), full[third:]...)
	path := filepath.Join(dir, "gap.log")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = Open(path, Options{})
	var de *DamageError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, Damage{Offset: second, Reason: "records 2 to 2 missing", Before: 1, After: 1, Lost: 1}, de.Spans[0])
	l, err := Open(path, Options{Repair: true})
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, map[string]string{"k1": "first", "k3": "third"}, contents(t, l))
	assert.Equal(t, 1, l.Repaired().Lost)
}

// TestMustExist: where the state dir says a log holds data, a missing or
// empty file is refused, never taken for a new log.
func TestMustExist(t *testing.T) {
	dir := winetest.TempDir(t)
	path := filepath.Join(dir, "svc.log")
	_, err := Open(path, Options{MustExist: true})
	var me *MissingError
	require.ErrorAs(t, err, &me)
	assert.False(t, me.Empty)
	assert.Contains(t, err.Error(), path+" is missing")
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing created")

	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err = Open(path, Options{MustExist: true})
	require.ErrorAs(t, err, &me)
	assert.True(t, me.Empty)
	assert.Contains(t, err.Error(), "is empty")

	l, err := Open(path, Options{MustExist: true, Repair: true})
	require.NoError(t, err)
	require.NotNil(t, l.Repaired())
	assert.True(t, l.Repaired().Missing)
	put(t, l, "k", "v")
	require.NoError(t, l.Close())
	l, err = Open(path, Options{MustExist: true})
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, map[string]string{"k": "v"}, contents(t, l))
}

// encodeV1 makes a record of the v1 format.
func encodeV1(b *Batch) []byte {
	rec, _ := encode(b)
	p := rec[recordHeader:]
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(p)))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(p, castagnoli))
	return append(out, p...)
}

// TestV1Upgrade: a log of the old format opens with its data and is
// rewritten in the new one; its torn tail is cut and damage in its middle
// refused as in the new format.
func TestV1Upgrade(t *testing.T) {
	dir := winetest.TempDir(t)
	var recs [][]byte
	for i, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}} {
		var b Batch
		b.Put(kv[0], []byte(kv[1]))
		if i == 2 {
			b.Delete("a")
		}
		recs = append(recs, encodeV1(&b))
	}
	file := []byte(headerV1)
	for _, r := range recs {
		file = append(file, r...)
	}
	path := filepath.Join(dir, "old.log")
	require.NoError(t, os.WriteFile(path, file, 0o600))
	l := reopen(t, nil, path)
	assert.Equal(t, map[string]string{"b": "2", "c": "3"}, contents(t, l))
	assert.Equal(t, 0, l.Stats().Compactions)
	put(t, l, "d", "4")
	l = reopen(t, l, path)
	assert.Equal(t, map[string]string{"b": "2", "c": "3", "d": "4"}, contents(t, l))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(got), header), "rewritten as v2")

	torn := filepath.Join(dir, "torn.log")
	require.NoError(t, os.WriteFile(torn, file[:len(file)-3], 0o600))
	l = reopen(t, nil, torn)
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, contents(t, l))
	require.NotNil(t, l.Recovered())

	bad := bytes.Clone(file)
	bad[len(headerV1)+len(recs[0])+recordHeaderV1+1] ^= 1
	mid := filepath.Join(dir, "mid.log")
	require.NoError(t, os.WriteFile(mid, bad, 0o600))
	_, err = Open(mid, Options{})
	var de *DamageError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, -1, de.Spans[0].Lost)
	assert.Contains(t, err.Error(), "an unknown number of records")
	l, err = Open(mid, Options{Repair: true})
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, map[string]string{"c": "3"}, contents(t, l))
}

// TestWriteFault: a write the disk refuses (full) fails with a clear
// error, leaves nothing behind, and writes succeed again once the disk
// has room, without reopening.
func TestWriteFault(t *testing.T) {
	path := filepath.Join(winetest.TempDir(t), "svc.log")
	l := reopen(t, nil, path)
	put(t, l, "k1", "before")
	size := l.Stats().Size
	full := true
	l.RecoverWrites()
	l.InjectWriteFault(func() error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	})
	for range 3 {
		var b Batch
		b.Put("k2", []byte(strings.Repeat("x", 4096)))
		err := l.Commit(&b)
		var we *WriteError
		require.ErrorAs(t, err, &we)
		assert.False(t, we.Sticky)
		assert.True(t, IsNoSpace(err))
		assert.Contains(t, err.Error(), "no space left on device")
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, size, st.Size(), "the half-written record is undone")
	}
	assert.NoError(t, l.Err())
	full = false
	put(t, l, "k3", "after")
	l = reopen(t, l, path)
	assert.Nil(t, l.Recovered())
	assert.Equal(t, map[string]string{"k1": "before", "k3": "after"}, contents(t, l))
}

func TestHeader(t *testing.T) {
	dir := winetest.TempDir(t)
	path := filepath.Join(dir, "x.log")
	require.NoError(t, os.WriteFile(path, []byte("something else entirely, not a log"), 0o600))
	_, err := Open(path, Options{})
	require.ErrorContains(t, err, "not a miconform state log")

	// A crash while the header was written: a fresh log.
	require.NoError(t, os.WriteFile(path, []byte(header[:5]), 0o600))
	l := reopen(t, nil, path)
	put(t, l, "k", "v")
	l = reopen(t, l, path)
	assert.Equal(t, map[string]string{"k": "v"}, contents(t, l))
}

// snapshot copies the files of dir, as the disk would hold them if the
// machine stopped now.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	out := winetest.TempDir(t)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(out, e.Name()), b, 0o600))
	}
	return out
}

// TestCompactionCrashWindows stops the machine at every step of a
// compaction (and with the new file half written): each snapshot opens to
// exactly the data acknowledged before the compaction.
func TestCompactionCrashWindows(t *testing.T) {
	dir := winetest.TempDir(t)
	path := filepath.Join(dir, "svc.log")
	l := reopen(t, nil, path)
	want := map[string]string{}
	for i := range 50 {
		k, v := fmt.Sprintf("key/%02d", i%10), strings.Repeat(fmt.Sprint(i), 100)
		put(t, l, k, v)
		want[k] = v
	}
	var b Batch
	b.Delete("key/03")
	require.NoError(t, l.Commit(&b))
	delete(want, "key/03")
	before := l.Stats()

	snaps := map[string]string{"before": snapshot(t, dir)}
	l.hook = func(step string) { snaps[step] = snapshot(t, dir) }
	require.NoError(t, l.Compact())
	l.hook = nil
	after := l.Stats()
	assert.Less(t, after.Size, before.Size/3)
	assert.Equal(t, before.Keys, after.Keys)
	assert.Equal(t, 1, after.Compactions)
	for _, step := range []string{"before", "written", "synced", "renamed", "done"} {
		require.Contains(t, snaps, step)
	}
	// Half of the new file written when the machine stopped.
	half := snapshot(t, snaps["written"])
	tmp, err := os.ReadFile(filepath.Join(half, "svc.log.compact"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(half, "svc.log.compact"), tmp[:len(tmp)/2], 0o600))
	snaps["half-written"] = half

	for step, d := range snaps {
		c := reopen(t, nil, filepath.Join(d, "svc.log"))
		assert.Equal(t, want, contents(t, c), "crash at %s", step)
		assert.Nil(t, c.Recovered(), "crash at %s", step)
		_, err := os.Stat(filepath.Join(d, "svc.log.compact"))
		assert.ErrorIs(t, err, os.ErrNotExist, "crash at %s: leftover removed", step)
		require.NoError(t, c.Close())
	}
	// The live log goes on after the compaction.
	put(t, l, "new", "after compaction")
	want["new"] = "after compaction"
	l = reopen(t, l, path)
	assert.Equal(t, want, contents(t, l))
}

// TestAutoCompaction overwrites a few keys until the log compacts itself,
// with writers running throughout.
func TestAutoCompaction(t *testing.T) {
	path := filepath.Join(winetest.TempDir(t), "svc.log")
	l, err := Open(path, Options{CompactMin: 64 << 10})
	require.NoError(t, err)
	var wg sync.WaitGroup
	final := make([]string, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				v := fmt.Sprintf("%d-%d-%s", w, i, strings.Repeat("x", 200))
				var b Batch
				b.Put(fmt.Sprintf("w%d", w), []byte(v))
				tk, err := l.Write(&b)
				if !assert.NoError(t, err) {
					return
				}
				if !assert.NoError(t, l.Wait(tk)) {
					return
				}
				final[w] = v
			}
		}()
	}
	wg.Wait()
	require.NoError(t, l.Close())
	st := l.Stats()
	// How far past CompactMin the file grows before a compaction that
	// was started gets the lock depends on the scheduler (the bound
	// that was here, a quarter of all bytes written, failed about 1
	// run in 15 on a loaded machine): assert what holds on every
	// schedule — compactions ran, and the file is smaller than what
	// was written, which only compaction makes it.
	var written int64
	for w := range 4 {
		var b Batch
		b.Put(fmt.Sprintf("w%d", w), []byte(fmt.Sprintf("%d-%d-%s", w, 299, strings.Repeat("x", 200))))
		rec, _ := encode(&b)
		written += 300 * int64(len(rec))
	}
	assert.Positive(t, st.Compactions)
	assert.Less(t, st.Size, written)
	l = reopen(t, nil, path)
	got := contents(t, l)
	for w, v := range final {
		assert.Equal(t, v, got[fmt.Sprintf("w%d", w)])
	}
}

// TestConcurrentCommits: every acknowledged write of many writers is in the
// log after a reopen (the writers share fsyncs).
func TestConcurrentCommits(t *testing.T) {
	path := filepath.Join(winetest.TempDir(t), "svc.log")
	l := reopen(t, nil, path)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				var b Batch
				b.Put(fmt.Sprintf("%d/%d", w, i), []byte("v"))
				assert.NoError(t, l.Commit(&b))
			}
		}()
	}
	wg.Wait()
	l = reopen(t, l, path)
	assert.Equal(t, 200, len(contents(t, l)))
}

// TestWriteFaultSticky: for a service that cannot undo its memory, a
// refused write fails the log, as before.
func TestWriteFaultSticky(t *testing.T) {
	path := filepath.Join(winetest.TempDir(t), "svc.log")
	l := reopen(t, nil, path)
	l.InjectWriteFault(func() error { return syscall.ENOSPC })
	var b Batch
	b.Put("k", []byte("v"))
	var we *WriteError
	require.ErrorAs(t, l.Commit(&b), &we)
	assert.True(t, we.Sticky)
	l.InjectWriteFault(nil)
	require.ErrorAs(t, l.Commit(&b), &we, "still failed")
	l = reopen(t, nil, path)
	assert.Empty(t, contents(t, l))
}

// TestFailureIsSticky: once a write fails the log refuses every later one,
// so nothing is acknowledged that is not on disk.
func TestFailureIsSticky(t *testing.T) {
	path := filepath.Join(winetest.TempDir(t), "svc.log")
	l := reopen(t, nil, path)
	put(t, l, "k", "v")
	ro, err := os.Open(path)
	require.NoError(t, err)
	l.mu.Lock()
	l.f.Close()
	l.f = ro
	l.mu.Unlock()
	var b Batch
	b.Put("k2", []byte("v2"))
	require.Error(t, l.Commit(&b))
	require.Error(t, l.Commit(&b))
	require.Error(t, l.Err())
	l = reopen(t, nil, path)
	assert.Equal(t, map[string]string{"k": "v"}, contents(t, l))
}

func TestMust(t *testing.T) {
	assert.NotPanics(t, func() { Must(nil) })
	assert.PanicsWithValue(t, Failure{ErrClosed}, func() { Must(ErrClosed) })
}

// FuzzReplay feeds arbitrary bytes after the header: Open never panics;
// it opens, or refuses with a *DamageError; the repair always opens, and
// what it keeps reopens to the same contents.
func FuzzReplay(f *testing.F) {
	var b Batch
	b.Put("key", []byte("value"))
	b.DeletePrefix("k")
	b.Delete("x")
	rec, _ := encode(&b)
	seal(rec, 1)
	rec2 := bytes.Clone(rec)
	seal(rec2, 2)
	f.Add(rec)
	f.Add(append(bytes.Clone(rec), rec[:5]...))
	f.Add(append(append(bytes.Clone(rec), 0xff, 0), rec2...))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, tail []byte) {
		path := filepath.Join(winetest.TempDir(t), "f.log")
		require.NoError(t, os.WriteFile(path, append([]byte(header), tail...), 0o600))
		l, err := Open(path, Options{})
		if err != nil {
			var de *DamageError
			require.ErrorAs(t, err, &de)
			l, err = Open(path, Options{Repair: true})
		}
		require.NoError(t, err)
		first := contents(t, l)
		require.NoError(t, l.Close())
		l, err = Open(path, Options{})
		require.NoError(t, err)
		assert.Equal(t, first, contents(t, l))
		assert.Nil(t, l.Recovered())
		assert.Nil(t, l.Repaired())
		require.NoError(t, l.Close())
	})
}
