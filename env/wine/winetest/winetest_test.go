package winetest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTempDirEmptiedFirst(t *testing.T) {
	var dir string
	t.Run("leaves files", func(t *testing.T) {
		dir = TempDir(t)
		deep := filepath.Join(dir, "a", "b", "c")
		if err := os.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(dir, "x"), filepath.Join(deep, "y"), filepath.Join(dir, "a", "z")} {
			if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the subtest's cleanup (%v)", dir, err)
	}
	// removeTree itself, on every system.
	d := t.TempDir()
	os.MkdirAll(filepath.Join(d, "p", "q"), 0o755)
	os.WriteFile(filepath.Join(d, "p", "q", "f"), nil, 0o644)
	removeTree(d)
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("removeTree left %s (%v)", d, err)
	}
}
