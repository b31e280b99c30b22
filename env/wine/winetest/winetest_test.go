package winetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// TestNoBareTempDir keeps the project's tests on TempDir: a test that
// calls t.TempDir and leaves a file there passes on Linux and fails its
// cleanup under Wine, which .ci/run only finds minutes later.
func TestNoBareTempDir(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Skip("not run from the repository's env/wine/winetest:", err)
	}
	here, _ := filepath.Abs(".")
	bare := regexp.MustCompile(`\bt\.TempDir\(\)`)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".git" || p == here) {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bare.Match(b) {
			rel, _ := filepath.Rel(root, p)
			t.Errorf("%s calls t.TempDir(); use winetest.TempDir(t), whose cleanup works under Wine", rel)
		}
		return nil
	})
}
