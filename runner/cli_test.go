package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the runner as a user does: the binary `go build ./runner`
// makes, from the repository root.

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// binary builds the runner once per test binary (with VCS stamping, as a
// user's `go build` does). It builds into a directory kept between runs,
// one per checkout: go build leaves a binary that is up to date as it is,
// which saves the link (about 2 s of CPU) on every warm run.
func binary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		// Under Wine (.ci/run) a test binary runs without a Go toolchain.
		t.Skip("these tests build the runner and need the go command:", err)
	}
	built.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "runner")
		if runtime.GOOS == "windows" {
			built.path += ".exe"
		}
		// -buildvcs=auto overrides a GOFLAGS=-buildvcs=false.
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", built.path, ".")
		built.out, built.err = cmd.CombinedOutput()
	})
	require.NoError(t, built.err, "go build: %s", built.out)
	return built.path
}

// binDir is the runner's build directory for this checkout, under the
// user's cache directory (the temporary directory where there is none).
func binDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(wd))
	dir := filepath.Join(base, "miconform", "test-runner", hex.EncodeToString(sum[:6]))
	return dir, os.MkdirAll(dir, 0o755)
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the built runner in dir (the repository root when empty).
func cli(t *testing.T, dir string, args ...string) result {
	t.Helper()
	if dir == "" {
		dir = repoRoot(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(withoutEnv(os.Environ(), "GITHUB_ACTIONS"), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, out.String(), errb.String()}
}

// oldReports is a report directory holding a previous run's files.
func oldReports(t *testing.T) string {
	dir := winetest.TempDir(t)
	for _, f := range []string{"junit.xml", "cucumber.json", "summary.md", "report.html"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("previous run"), 0o644))
	}
	return dir
}

func assertKept(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 4, "nothing added (no staging directory left either)")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.Equal(t, "previous run", string(b), "%s was replaced", e.Name())
	}
}

// Mistyped commands and flags are refused with a suggestion, exit 2, and
// nothing is run or written.
func TestCLIRefusesTypos(t *testing.T) {
	t.Parallel()
	empty := winetest.TempDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"emualte"}, `unknown command "emualte" (did you mean emulate?)`},
		{[]string{"swep", "--older-than", "1h"}, "(did you mean sweep?)"},
		{[]string{"lsit"}, "(did you mean list?)"},
		{[]string{"--provison", "--target", "azure"}, "unknown flag --provison (did you mean --provision?)"},
		{[]string{"--tgas", "@x"}, "(did you mean --tags?)"},
		{[]string{"--rbac-wait", "banana"}, `invalid value "banana" for --rbac-wait`},
		{[]string{"sweep", "--rbac-wait", "10m"}, "unknown flag --rbac-wait"},
		{[]string{"emulate", "--sede", "none"}, "(did you mean --seed?)"},
		{[]string{"emulate", "--seed", "nothing"}, `--seed "nothing": want tutorials or none`},
		{[]string{"sandbox", "--legacy-extensoin", "--", "true"}, "(did you mean --legacy-extension?)"},
		{[]string{"sandbox"}, "no command"},
		{[]string{"list", "--step"}, "(did you mean --steps?)"},
		{[]string{"help", "emualte"}, "(did you mean emulate?)"},
	} {
		r := cli(t, empty, tc.args...)
		assert.Equal(t, 2, r.code, "%v: %+v", tc.args, r)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
		assert.Empty(t, r.stdout, "%v: usage errors go to stderr", tc.args)
		assert.LessOrEqual(t, strings.Count(r.stderr, "\n"), 3, "%v: a short message, not the whole usage:\n%s", tc.args, r.stderr)
	}
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written")
}

// --help and -h on every command: stdout, exit 0, usage line, examples,
// exit codes; each default once.
func TestCLIHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"features/sql.feature", "--help"},
		{"emulate", "--help"}, {"emulate", "-h"}, {"sandbox", "--help"}, {"sweep", "--help"},
		{"list", "-h"}, {"help", "emulate"}, {"help", "sweep"},
	} {
		r := cli(t, "", args...)
		assert.Equal(t, 0, r.code, "%v", args)
		assert.Empty(t, r.stderr, "%v", args)
		assert.Regexp(t, `^usage: runner`, r.stdout, "%v", args)
		assert.Contains(t, r.stdout, "\nExamples:\n", "%v", args)
		assert.Contains(t, r.stdout, "\nExit codes:\n", "%v", args)
		for _, l := range strings.Split(r.stdout, "\n") {
			assert.LessOrEqual(t, strings.Count(l, "default"), 1, "%v: a default said twice: %s", args, l)
		}
	}
	r := cli(t, "", "--help")
	for _, want := range []string{"  0    ", "  1    ", "  2    ", "  130  ", "emulate  ", "sandbox  ", "sweep  ", "list  ", "--tags expression", "and, or, not", "file:line", "--version"} {
		assert.Contains(t, r.stdout, want)
	}
	assert.Equal(t, 1, strings.Count(r.stdout, "(default emulator)"), "the target's default, once")
	sweep := cli(t, "", "sweep", "--help").stdout
	for _, unused := range []string{"--rbac-wait", "--vm-name", "--vm-resource-id", "--location", "--resource-group", "--tags", "--provision"} {
		assert.NotContains(t, sweep, unused, "sweep ignores %s, so its help does not list it", unused)
	}
	for _, used := range []string{"--older-than", "--subscription", "--cloud", "--tenant", "--config"} {
		assert.Contains(t, sweep, used)
	}
	for _, f := range []string{"--legacy-extension", "--faults", "--seed", "--state-dir", "--cloud"} {
		assert.Contains(t, cli(t, "", "sandbox", "--help").stdout, f)
	}
	assert.Contains(t, cli(t, "", "emulate", "--help").stdout, "--pid-file")
}

func TestCLIVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := cli(t, "", args...)
		assert.Equal(t, 0, r.code)
		assert.Regexp(t, `^runner github.com/miconform/miconform \S+ revision `, r.stdout, "%v", args)
		assert.Contains(t, r.stdout, "go1.")
		// go build stamps the revision of the checkout it built; Go finds
		// a checkout by its .git directory, so a git worktree (.git is a
		// file there) builds without one.
		if st, err := os.Stat(filepath.Join(repoRoot(t), ".git")); err == nil && st.IsDir() {
			assert.Regexp(t, `revision [0-9a-f]{40}`, r.stdout, "%v", args)
		} else {
			assert.Contains(t, r.stdout, "revision unknown (built without VCS stamping", "%v", args)
		}
	}
}

func TestCLIList(t *testing.T) {
	t.Parallel()
	r := cli(t, "", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^@tutorial:rm-system-identity\s+\d+\s+features/rm_system_identity.feature\s+Use a Windows VM system-assigned`, r.stdout)
	m := regexp.MustCompile(`(?m)^(features/rm_system_identity.feature:(\d+))\s+\[1\] Grant the VM Reader.*@tutorial:rm-system-identity @rm-system-identity:current\b`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	assert.Contains(t, r.stdout, "Tags: ")
	all := scenarioCount(t, r.stdout)

	// A Cucumber tag expression selects what it says.
	sub := cli(t, "", "list", "--tags", "@tutorial:rm-system-identity and not (@failure or @doc-discrepancy)")
	require.Equal(t, 0, sub.code, sub.stderr)
	want := 0
	for _, l := range regexp.MustCompile(`(?m)^features/rm_system_identity.feature:\d+ .*$`).FindAllString(r.stdout, -1) {
		if !strings.Contains(l, "@failure") && !strings.Contains(l, "@doc-discrepancy") {
			want++
		}
	}
	require.Greater(t, want, 1)
	assert.Equal(t, want, scenarioCount(t, sub.stdout), sub.stdout)
	assert.NotRegexp(t, `(?m)^features/.*@failure`, sub.stdout)
	assert.Greater(t, all, 50)

	// The file:line it prints runs that scenario alone.
	one := cli(t, "", "list", m[1])
	assert.Equal(t, 1, scenarioCount(t, one.stdout), one.stdout)
	// An outline's rows are listed at the outline's line, which selects them.
	row := regexp.MustCompile(`(?m)^(features/resilience.feature:\d+)\s+\[2\] IMDS answers .*\(example row, line \d+\)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, row, r.stdout)
	rows := cli(t, "", "list", row[1])
	assert.Greater(t, scenarioCount(t, rows.stdout), 1, rows.stdout)
	assert.Equal(t, 0, rows.code)

	// No --target lists every scenario; a target leaves out the other's.
	emu := scenarioCount(t, cli(t, "", "list", "--target", "emulator").stdout)
	az := scenarioCount(t, cli(t, "", "list", "--target", "azure").stdout)
	assert.Less(t, az, all, "@emulator-only scenarios are not listed for Azure")
	assert.LessOrEqual(t, emu, all)
	assert.Equal(t, 2, cli(t, "", "list", "--target", "moon").code)

	steps := cli(t, "", "list", "--steps")
	assert.Contains(t, steps.stdout, "Step patterns:")
	assert.Regexp(t, `(?m)^  steps/\S+\.go:\d+\s+\^the response status is \(\\d\+\)\$$`, steps.stdout)
	assert.NotContains(t, steps.stdout, "\x1b[", "no colors")
}

func scenarioCount(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`(\d+) scenario\(s\) in \d+ feature\(s\)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	n := 0
	for _, c := range m[1] {
		n = n*10 + int(c-'0')
	}
	return n
}

// Wrong selections fail before anything starts and keep the reports.
func TestCLISelectionErrors(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(winetest.TempDir(t), "bad.feature")
	require.NoError(t, os.WriteFile(bad, []byte("Feature: broken\n  Scenario: one\n    Given a step\n  Scenaro: two\n    Given a step\n"), 0o644))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--tags", "@tutorial:rm-sytem-identity"}, 2, "no scenario has the tag @tutorial:rm-sytem-identity (did you mean @tutorial:rm-system-identity?)"},
		{[]string{"--tags", "@tutorial:sql and"}, 2, `tag expression "@tutorial:sql and": expected a tag`},
		{[]string{"--tags", "@a,,@b"}, 2, "empty tag"},
		{[]string{"features/nope.feature"}, 2, "features/nope.feature: no such feature file or directory"},
		{[]string{"features/sql.feature", "features/nope.feature"}, 2, "features/nope.feature: no such feature file or directory"},
		{[]string{"features/rm_system_identity.feature:2"}, 2, "features/rm_system_identity.feature: no scenario starts on line 2 (scenarios start on lines "},
		{[]string{bad}, 1, bad + ":4:3: expected: "},
	} {
		dir := oldReports(t)
		r := cli(t, "", append(tc.args, "--reports", dir)...)
		assert.Equal(t, tc.code, r.code, "%v: %+v", tc.args, r)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
		assert.NotContains(t, r.stdout, "target emulator", "%v: the target never started", tc.args)
		assertKept(t, dir)
	}
}

// A real run, with flags after the path: progress lines, reports in the
// directory the flag names, including report.html; no interrupt notice.
func TestCLIRunFlagsAfterPaths(t *testing.T) {
	t.Parallel()
	dir := oldReports(t)
	listed := cli(t, "", "list", "features/rm_system_identity.feature", "--tags", "not @doc-discrepancy")
	require.Equal(t, 0, listed.code, listed.stderr)
	n := scenarioCount(t, listed.stdout)
	require.Greater(t, n, 1)
	r := cli(t, "", "features/rm_system_identity.feature", "--reports", dir, "--tags", "not @doc-discrepancy")
	require.Equal(t, 0, r.code, "%+v", r)
	assert.Contains(t, r.stdout, fmt.Sprintf("%d scenario(s) of 1 feature(s) selected", n))
	assert.Regexp(t, fmt.Sprintf(`(?m)^\[[ 0-9]+/%d\] passed\s+features/rm_system_identity.feature:\d+ \[1\] Grant the VM Reader`, n), r.stdout, "one progress line per finished scenario")
	assert.Len(t, regexp.MustCompile(fmt.Sprintf(`(?m)^\[[ 0-9]+/%d\] `, n)).FindAllString(r.stdout, -1), n)
	assert.NotContains(t, r.stderr, "interrupted", "no interrupt notice on a normal exit")
	for _, f := range []string{"junit.xml", "cucumber.json", "summary.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.NotEqual(t, "previous run", string(b), f)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	assert.Contains(t, string(html), "Use a Windows VM system-assigned managed identity to access Resource Manager")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 4, "no staging directory left")
	_, err := os.Stat(filepath.Join(repoRoot(t), "reports", ".run-"))
	assert.True(t, os.IsNotExist(err))
}

// Ctrl-C in the middle of a run on the emulator: exit 130, reports
// written and marked interrupted, scenarios cut short not failed, no
// sweep hint (there is nothing to sweep on the emulator).
func TestCLIInterrupt(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("os.Interrupt cannot be sent to a process on Windows")
	}
	dir := oldReports(t)
	cmd := exec.Command(binary(t), "--reports", dir, "--concurrency", "2")
	cmd.Dir = repoRoot(t)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var stdout strings.Builder
	sc := bufio.NewScanner(out)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		stdout.WriteString(line + "\n")
		if !sent && strings.HasPrefix(line, "[") && strings.Contains(line, "/") {
			require.NoError(t, cmd.Process.Signal(os.Interrupt))
			sent = true
		}
	}
	err = cmd.Wait()
	require.True(t, sent, "no progress line came:\n%s", stdout.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 130, ee.ExitCode(), "stdout:\n%s\nstderr:\n%s", stdout.String(), errb.String())
	assert.Contains(t, errb.String(), "runner: interrupted; finishing cleanup")
	assert.NotContains(t, errb.String(), "sweep", "no sweep hint on the emulator")
	assert.Contains(t, stdout.String(), "⛔ INTERRUPTED:")

	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	require.NoError(t, err)
	var d junitDoc
	require.NoError(t, xml.Unmarshal(b, &d))
	assert.Equal(t, "true", d.property("interrupted"))
	skipped := 0
	for _, s := range d.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				assert.NotContains(t, c.Failure.Message, "context canceled", "a scenario the interrupt cut short is not a failure: %s", c.Name)
			}
			if c.Skipped != nil && strings.Contains(c.Skipped.Message, "interrupted") {
				skipped++
			}
		}
	}
	assert.Greater(t, skipped, 0, "scenarios after the interrupt are reported as such")
	summary, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	assert.Contains(t, string(summary), "INTERRUPTED")
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	assert.Contains(t, string(html), "This run was interrupted.")
}
