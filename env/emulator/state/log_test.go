package state

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// TestBadChecksum flips one byte: in the last record it drops just that
// record; in the middle it drops the rest of the log from there, which is
// kept aside, never replayed past a bad record.
func TestBadChecksum(t *testing.T) {
	dir := winetest.TempDir(t)
	src := filepath.Join(dir, "src.log")
	second, third := writeThree(t, src)
	full, err := os.ReadFile(src)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		at   int64
		want map[string]string
	}{
		{"last record's value", int64(len(full)) - 2, map[string]string{"k1": "first", "k2": "second", "k2b": "same batch"}},
		{"middle record's payload", second + recordHeader + 3, map[string]string{"k1": "first"}},
		{"middle record's checksum", second + 5, map[string]string{"k1": "first"}},
		{"middle record's length", second + 1, map[string]string{"k1": "first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(full)
			b[tc.at] ^= 0x40
			path := filepath.Join(winetest.TempDir(t), "bad.log")
			require.NoError(t, os.WriteFile(path, b, 0o600))
			l := reopen(t, nil, path)
			assert.Equal(t, tc.want, contents(t, l))
			require.NotNil(t, l.Recovered())
			side, err := os.ReadFile(l.Recovered().SavedAs)
			require.NoError(t, err)
			assert.Equal(t, b[l.Recovered().Offset:], side)
			if tc.at >= third {
				assert.Equal(t, third, l.Recovered().Offset)
			}
		})
	}
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
	assert.Positive(t, st.Compactions)
	assert.Less(t, st.Size, int64(4*300*220)/4)
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

// FuzzReplay feeds arbitrary bytes after the header: Open never panics,
// and what it keeps reopens to the same contents.
func FuzzReplay(f *testing.F) {
	var b Batch
	b.Put("key", []byte("value"))
	b.DeletePrefix("k")
	b.Delete("x")
	rec, _ := encode(&b)
	f.Add(rec)
	f.Add(append(bytes.Clone(rec), rec[:5]...))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, tail []byte) {
		path := filepath.Join(winetest.TempDir(t), "f.log")
		require.NoError(t, os.WriteFile(path, append([]byte(header), tail...), 0o600))
		l, err := Open(path, Options{})
		require.NoError(t, err)
		first := contents(t, l)
		require.NoError(t, l.Close())
		l, err = Open(path, Options{})
		require.NoError(t, err)
		assert.Equal(t, first, contents(t, l))
		assert.Nil(t, l.Recovered())
		require.NoError(t, l.Close())
	})
}
