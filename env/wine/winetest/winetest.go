// Package winetest holds test helpers for Wine's known gaps, so a test's
// Windows build runs under Wine (.ci/run) as it runs on Windows.
package winetest

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// TempDir is t.TempDir whose cleanup also works under Wine 8. Go (1.24
// on) removes a non-empty directory on Windows with
// FileDispositionInformationEx, which Wine 8 does not implement ("Invalid
// function"), so every test leaving files in t.TempDir failed its cleanup.
// On Windows this removes the tree first, dir itself included (t.TempDir
// makes it inside a per-test parent), file by file with DeleteFile and
// RemoveDirectory (os.Remove), which Wine has; t.TempDir's own cleanup
// then finds an empty parent. Elsewhere it is t.TempDir.
func TempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if runtime.GOOS == "windows" {
		// Registered after t.TempDir's cleanup, so it runs before it.
		t.Cleanup(func() { removeTree(dir) })
	}
	return dir
}

// removeTree removes dir and its contents deepest first; what cannot be
// removed (a file still open) stays for t.TempDir's cleanup to report.
func removeTree(dir string) {
	var paths []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Slice(paths, func(i, j int) bool {
		return strings.Count(paths[i], string(filepath.Separator)) > strings.Count(paths[j], string(filepath.Separator))
	})
	for _, p := range paths {
		os.Remove(p)
	}
}

// SkipUnderWine skips a test that needs what Wine 8 lacks and real Windows
// has, naming the gap; everywhere else the test runs.
func SkipUnderWine(t testing.TB, gap string) {
	t.Helper()
	if UnderWine() {
		t.Skip("Wine 8 lacks what this test needs (real Windows has it):", gap)
	}
}
