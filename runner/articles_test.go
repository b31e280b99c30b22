package main

import (
	"bytes"
	"fmt"
	"github.com/miconform/miconform/env/sandbox"
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miconform/miconform/features/tutorials"
	"github.com/miconform/miconform/runner/suite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// articlesCopy is the embedded articles written to a temporary directory.
func articlesCopy(t *testing.T) string {
	t.Helper()
	dir := winetest.TempDir(t)
	require.NoError(t, tutorials.CopyTo(dir))
	return dir
}

func replaceIn(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Contains(t, string(b), old, file)
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// A missing or unparsable article stops the run before anything starts,
// with exit 2 and the file named.
func TestArticlesFlagErrors(t *testing.T) {
	dir := articlesCopy(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "signin-vm-identity.md")))
	var out, errb bytes.Buffer
	// --reports: were the flag ignored, the run would write no reports here.
	assert.Equal(t, 2, runTutorials(emulatorCtx(), []string{"--articles", dir, "--reports", winetest.TempDir(t)}, &out, &errb))
	assert.Contains(t, errb.String(), filepath.Join(dir, "signin-vm-identity.md")+" does not exist")
	assert.Empty(t, out.String(), "nothing ran")

	dir = articlesCopy(t)
	// The article's last fence left open (an earlier one would just close
	// at the next fence, as Markdown has it).
	file := filepath.Join(dir, "windows-vm-access.md")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(b), "\n```\n"))
	require.NoError(t, os.WriteFile(file, b[:len(b)-4], 0o644))
	out.Reset()
	errb.Reset()
	assert.Equal(t, 2, runTutorials(emulatorCtx(), []string{"--articles", dir, "--reports", winetest.TempDir(t)}, &out, &errb))
	assert.Regexp(t, `windows-vm-access\.md:[0-9]+: code fence `+"```"+` is never closed`, errb.String())

	out.Reset()
	errb.Reset()
	assert.Equal(t, 2, coverageCmd([]string{"--articles", filepath.Join(dir, "nothing-here")}, &out, &errb))
	assert.Contains(t, errb.String(), "rm-msi-2017.md does not exist")
}

// `runner coverage` lists every block and claim without running anything.
func TestCoverageCommand(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, coverageCmd(nil, &out, &errb), errb.String())
	set, err := tutorials.Embedded()
	require.NoError(t, err)
	for _, b := range set.Blocks() {
		assert.Contains(t, out.String(), b.ID)
		for _, id := range set.Info(b.Ref()).Inventory {
			assert.Contains(t, out.String(), id)
		}
	}
	for _, c := range set.Claims() {
		assert.Contains(t, out.String(), "claim "+c.ID)
	}
	assert.Contains(t, out.String(), "Not checked, and why:")

	out.Reset()
	require.Equal(t, 0, coverageCmd([]string{"--format", "markdown"}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "## Coverage of the tutorials")
}

// A binding tag that names no block or claim fails coverage (exit 1) and
// refuses a run (exit 2), naming the tag's file and line.
func TestBindingTypos(t *testing.T) {
	dir := winetest.TempDir(t)
	feature := filepath.Join(dir, "typo.feature")
	require.NoError(t, os.WriteFile(feature, []byte("Feature: typo\n\n  @verbatim:windows-vm-access:get-an-access-token/bash#7\n  Scenario: s\n    Given nothing\n"), 0o644))
	var out, errb bytes.Buffer
	assert.Equal(t, 1, coverageCmd([]string{feature}, &out, &errb))
	assert.Contains(t, out.String(), "typo.feature:3")
	out.Reset()
	errb.Reset()
	assert.Equal(t, 2, runTutorials(emulatorCtx(), []string{"--reports", winetest.TempDir(t), feature}, &out, &errb))
	assert.Contains(t, errb.String(), "typo.feature:3")
	assert.Contains(t, errb.String(), "has no block")
}

// TestDriftFailsTheRun is the drift test: one character of a
// verbatim block changed in a copy of its article makes the scenario that
// runs the block fail under --articles, and the failure names the block
// and shows the new text. The same scenario passes on the unedited copy,
// so the failure is the edit's.
func TestDriftFailsTheRun(t *testing.T) {
	// The block runs verbatim on the emulated VM (curl in the sandbox);
	// where the sandbox cannot start its scenario skips, and the quoted-text
	// drift is TestArticleQuoteDrift's (steps).
	if err := sandbox.Supported(); err != nil {
		t.Skip(err)
	}
	set, err := tutorials.Embedded()
	require.NoError(t, err)
	// 001-RMS-CB3: the Resource Manager tutorial's curl read of the
	// resource group.
	block, err := set.Block("001-RMS-CB3")
	require.NoError(t, err)
	bound, err := tutorials.ScanFeatures(suite.DefaultFeatures())
	require.NoError(t, err)
	var sc *tutorials.Bound
	for i, b := range bound {
		for _, bd := range b.Bindings {
			if bd.How != tutorials.Verbatim {
				continue
			}
			if got, err := set.Block(bd.Ref); err == nil && got.Ref() == block.Ref() {
				sc = &bound[i]
			}
		}
	}
	if sc == nil {
		t.Skipf("no scenario runs %s verbatim yet (tag it @verbatim:%s)", block.Where(), block.Ref())
	}
	scenario := fmt.Sprintf("%s:%d", sc.File, sc.Line)

	dir := articlesCopy(t)
	var out, errb bytes.Buffer
	code := runTutorials(emulatorCtx(), []string{"--articles", dir, "--reports", winetest.TempDir(t), "--concurrency", "1", scenario}, &out, &errb)
	require.Equal(t, 0, code, "the unedited copy fails:\n%s\n%s", out.String(), errb.String())

	// One character: api-version 2016-09-01 becomes 2016-09-0l.
	require.Contains(t, block.Text, "api-version=2016-09-01")
	edited := strings.Replace(block.Text, "api-version=2016-09-01", "api-version=2016-09-0l", 1)
	replaceIn(t, filepath.Join(dir, "windows-vm-access.md"), block.Text, edited)

	reports := winetest.TempDir(t)
	out.Reset()
	errb.Reset()
	code = runTutorials(emulatorCtx(), []string{"--articles", dir, "--reports", reports, "--concurrency", "1", scenario}, &out, &errb)
	assert.Equal(t, 1, code, "the edited article still passes:\n%s", out.String())
	junit, err := os.ReadFile(filepath.Join(reports, "junit.xml"))
	require.NoError(t, err)
	summary, err := os.ReadFile(filepath.Join(reports, "summary.md"))
	require.NoError(t, err)
	for name, text := range map[string]string{"terminal": out.String(), "junit.xml": string(junit), "summary.md": string(summary)} {
		assert.Contains(t, text, block.ID, "%s does not name the block", name)
		assert.Contains(t, text, "api-version=2016-09-0l", "%s does not show the new text", name)
		assert.Contains(t, text, filepath.Join(dir, "windows-vm-access.md"), "%s does not name the edited file", name)
	}
}
