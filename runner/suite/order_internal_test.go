package suite

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Features whose longest scenario took longest last time start first; the
// rest keep godog's lexical order, and without history nothing changes.
func TestLongestFirst(t *testing.T) {
	dir := winetest.TempDir(t)
	for _, name := range []string{"a.feature", "b.feature", "sub/c.feature", "d.feature", "notes.md"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("Feature: x\n"), 0o644))
	}
	paths := []string{dir, "other.feature:12"}
	assert.Equal(t, paths, longestFirst(paths, nil))

	// As the previous junit.xml names them (report.DisplayPath): with
	// slashes on every system.
	prev := map[string]time.Duration{
		filepath.ToSlash(filepath.Join(dir, "sub/c.feature")): 2 * time.Second,
		filepath.ToSlash(filepath.Join(dir, "d.feature")):     time.Second,
		filepath.ToSlash(filepath.Join(dir, "a.feature")):     10 * time.Millisecond,
	}
	assert.Equal(t, []string{
		filepath.Join(dir, "sub/c.feature"), filepath.Join(dir, "d.feature"), filepath.Join(dir, "a.feature"),
		filepath.Join(dir, "b.feature"), "other.feature:12",
	}, longestFirst(paths, prev))
}
