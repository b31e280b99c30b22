package emulator_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/emulator/state"
	"github.com/miconform/miconform/env/wine/winetest"
)

// Damage to one service's state costs only the damaged bytes: the start
// stops with the reason, and no other service's data goes.

// seededStateDir makes a state dir with the tutorials' world and one more
// blob and secret, and returns it stopped.
func seededStateDir(t *testing.T) string {
	t.Helper()
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	account := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount
	h.assignRole(h.E.Operator.ObjectID, blobContributorRole, account)
	r := h.do("PUT", h.blobURL("extra.bin"), h.blobHeader(), "extra blob")
	require.Equal(t, 201, r.code, "%s", r.raw)
	require.Equal(t, 200, h.do("PUT", h.secretURL("extra", ""), h.vaultHeader(), `{"value":"extra secret"}`).code)
	stop()
	return dir
}

// stateFiles reads every file of the state dir's state/ and sql/.
func stateFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, sub := range []string{"state", "sql"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			m[p] = string(b)
			return err
		}))
	}
	return m
}

// logKeys lists the live keys of a service's log.
func logKeys(t *testing.T, dir, name string) []string {
	t.Helper()
	l, err := state.Open(filepath.Join(dir, "state", name+".log"), state.Options{MustExist: true})
	require.NoError(t, err)
	defer l.Close()
	return l.Keys("")
}

func newIn(dir string, repair bool) (*emulator.Emulator, error) {
	if err := entra.SeedSigningKey(dir, entratest.Key()); err != nil {
		return nil, err
	}
	return emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir, StateRepair: repair})
}

// TestDamagedARMLog: the cases of the issue (a byte flipped in the middle
// of arm.log, arm.log empty, arm.log missing) each stop the start with a
// message naming the file and how to go on, and change no file; the
// repair then starts, and every other service's records are still there.
func TestDamagedARMLog(t *testing.T) {
	t.Parallel()
	base := seededStateDir(t)
	keys := map[string][]string{}
	for _, n := range []string{"blob", "keyvault", "sql", "directory", "rbac"} {
		keys[n] = logKeys(t, base, n)
		require.NotEmpty(t, keys[n], n)
	}
	for _, tc := range []struct {
		name   string
		damage func(path string)
		want   []string
	}{
		{"byte flipped in the middle", func(path string) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[len(b)/2] ^= 0x20
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}, []string{"arm.log is damaged at offset", "intact before them", "not a write torn by a crash"}},
		{"empty", func(path string) { require.NoError(t, os.Truncate(path, 0)) }, []string{"arm.log is empty"}},
		{"missing", func(path string) { require.NoError(t, os.Remove(path)) }, []string{"arm.log is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := winetest.TempDir(t)
			require.NoError(t, os.CopyFS(dir, os.DirFS(base)))
			tc.damage(filepath.Join(dir, "state", "arm.log"))
			before := stateFiles(t, dir)
			_, err := newIn(dir, false)
			require.Error(t, err)
			for _, want := range append(tc.want, "did not start", "--state-dir-repair", "damaged files were left as they were") {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, before, stateFiles(t, dir), "a refused start changes no file")

			e, err := newIn(dir, true)
			require.NoError(t, err)
			require.NoError(t, e.Close())
			for n, want := range keys {
				assert.Subset(t, logKeys(t, dir, n), want, "%s lost nothing because arm.log was damaged", n)
			}
			sqlFiles := 0
			for p := range before {
				if strings.HasSuffix(p, ".sqlite") {
					sqlFiles++
					_, err := os.Stat(p)
					assert.NoError(t, err, "database file kept")
				}
			}
			assert.Positive(t, sqlFiles)
			// Repaired: the next start is a normal one, and still drops
			// nothing until the operator says so.
			e, err = newIn(dir, false)
			require.NoError(t, err)
			require.NoError(t, e.Close())
			for n, want := range keys {
				assert.Subset(t, logKeys(t, dir, n), want, "%s lost nothing at the start after the repair", n)
			}
			require.NoError(t, os.Remove(filepath.Join(dir, "reconciliation-held")))
			e, err = newIn(dir, false)
			require.NoError(t, err)
			require.NoError(t, e.Close())
		})
	}
}

// TestDamagedBlobLogKeepsBlobs: a flipped byte early in blob.log, with the
// container's record after it, used to lose every blob; now the start
// stops, and the repair loses only the damaged record.
func TestDamagedBlobLogKeepsBlobs(t *testing.T) {
	t.Parallel()
	dir := seededStateDir(t)
	keys := logKeys(t, dir, "blob")
	path := filepath.Join(dir, "state", "blob.log")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[30] ^= 1 // in the first record
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = newIn(dir, false)
	require.ErrorContains(t, err, "blob.log is damaged at offset 23")
	assert.Contains(t, err.Error(), "holding 1 record, with 0 records intact before them")
	e, err := newIn(dir, true)
	require.NoError(t, err)
	require.NoError(t, e.Close())
	after := logKeys(t, dir, "blob")
	assert.GreaterOrEqual(t, len(after), len(keys)-1)
	side, _ := filepath.Glob(path + ".damaged-*")
	assert.Len(t, side, 1)
}

// TestMissingWorldFile: state without world.json (and without the marker
// of a first start) is refused, never wiped and seeded over.
func TestMissingWorldFile(t *testing.T) {
	t.Parallel()
	dir := seededStateDir(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "world.json")))
	before := stateFiles(t, dir)
	_, err := newIn(dir, false)
	require.Error(t, err)
	for _, want := range []string{"holds service state", "no world.json", "changed nothing", "Restore world.json"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Equal(t, before, stateFiles(t, dir))

	// An empty directory is seeded.
	e, err := newIn(winetest.TempDir(t), false)
	require.NoError(t, err)
	assert.NotEmpty(t, e.World.VMResourceID)
	require.NoError(t, e.Close())
}

// TestDamagedSQLiteFile: a database file that fails PRAGMA quick_check
// stops the start; the repair moves it aside.
func TestDamagedSQLiteFile(t *testing.T) {
	t.Parallel()
	dir := seededStateDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "sql", "*", "*.sqlite"))
	require.NoError(t, err)
	var target string
	var pageSize int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		ps := int64(b[16])<<8 | int64(b[17])
		if int64(len(b)) >= 2*ps && !strings.HasSuffix(f, "master.sqlite") {
			target, pageSize = f, ps
		}
	}
	require.NotEmpty(t, target, "a database with two pages or more: %v", files)
	f, err := os.OpenFile(target, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(strings.Repeat("\xff", 64)), pageSize) // page 2's b-tree header
	require.NoError(t, err)
	require.NoError(t, f.Close())
	before := stateFiles(t, dir)
	_, err = newIn(dir, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), target+" failed its integrity check (PRAGMA quick_check:")
	after := stateFiles(t, dir)
	for p, b := range before {
		assert.Equal(t, len(b), len(after[p]), "%s unchanged", p)
		assert.True(t, b == after[p], "%s unchanged", p)
	}
	for p := range after {
		_, ok := before[p]
		assert.True(t, ok, "%s added", p)
	}
	e, err := newIn(dir, true)
	require.NoError(t, err)
	require.NoError(t, e.Close())
	side, _ := filepath.Glob(target + ".damaged-*")
	assert.NotEmpty(t, side)
}

// TestDamagedLogOfEachService: a byte flipped in the first record of any
// service's log stops the start naming that log, and the repair leaves
// every other service's records as they were.
func TestDamagedLogOfEachService(t *testing.T) {
	t.Parallel()
	base := seededStateDir(t)
	names := []string{"directory", "rbac", "arm", "keyvault", "blob", "sql"}
	keys := map[string][]string{}
	for _, n := range names {
		keys[n] = logKeys(t, base, n)
	}
	for _, damaged := range names {
		t.Run(damaged, func(t *testing.T) {
			dir := winetest.TempDir(t)
			require.NoError(t, os.CopyFS(dir, os.DirFS(base)))
			path := filepath.Join(dir, "state", damaged+".log")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[23+25] ^= 0x08 // inside the first record, after the header line
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err = newIn(dir, false)
			require.Error(t, err)
			assert.Contains(t, err.Error(), damaged+".log is damaged at offset 23")
			assert.Contains(t, err.Error(), "--state-dir-repair")
			e, err := newIn(dir, true)
			require.NoError(t, err)
			require.NoError(t, e.Close())
			for _, n := range names {
				if n != damaged {
					assert.Subset(t, logKeys(t, dir, n), keys[n], "%s lost nothing because %s.log was damaged", n, damaged)
				}
			}
		})
	}
}
