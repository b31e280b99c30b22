package main

import (
	"context"
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeBlock returns the fenced block after the README marker.
func readmeBlock(t *testing.T, marker string) string {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)<!-- ` + regexp.QuoteMeta(marker) + `[^>]*-->\s*` + "```sh\n(.*?)```").FindSubmatch(b)
	require.NotNil(t, m, "README has no block marked %s", marker)
	return string(m[1])
}

// The README's background emulator recipe, as written (the built runner
// in place of `go run ./runner`, which would compile it again): it reads a
// resource group through the listener, and its kill stops the emulator
// itself, cleanly, leaving nothing running.
func TestREADMEEmulatorRecipe(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("a POSIX shell recipe")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the recipe needs %s", tool)
		}
	}
	script := readmeBlock(t, "emulator-recipe")
	require.Contains(t, script, "go run ./runner emulate")
	script = strings.ReplaceAll(script, "go run ./runner", binary(t))
	dir := winetest.TempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script+"\nwait $!; echo \"emulator exit $?\"\n")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Regexp(t, `"id":"/subscriptions/[^"]+/resourceGroups/myResourceGroupVM"`, string(out), "the recipe's curl read the resource group")
	assert.Contains(t, string(out), "emulate: shutting down")
	assert.Contains(t, string(out), "emulator exit 0", "kill stopped the emulator itself, cleanly")
	_, err = os.Stat(filepath.Join(dir, "emulator.pid"))
	assert.True(t, os.IsNotExist(err), "the emulator removed its pid file")
	env, err := os.ReadFile(filepath.Join(dir, "emulator.env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "MICONFORM_HTTPS_ADDR=")
}

// What the recipe leaves in the checkout is ignored by git.
func TestRecipeFilesIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, f := range []string{"emulator.env", "emulator.pid"} {
		cmd := exec.Command("git", "check-ignore", "-q", f)
		cmd.Dir = repoRoot(t)
		assert.NoError(t, cmd.Run(), "%s is not ignored by git", f)
	}
}
