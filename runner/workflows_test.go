package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// workflow is the part of a GitHub Actions workflow the lint reads.
type workflow struct {
	Name        string         `yaml:"name"`
	On          map[string]any `yaml:"on"`
	Permissions map[string]string
	Jobs        map[string]struct {
		RunsOn   any `yaml:"runs-on"`
		Strategy struct {
			Matrix map[string]any `yaml:"matrix"`
		} `yaml:"strategy"`
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			If   string            `yaml:"if"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// maintainedActions are the actions the workflows may use, at these major
// versions.
var maintainedActions = map[string]bool{
	"actions/checkout@v4":             true, // https://github.com/actions/checkout
	"actions/setup-go@v5":             true, // https://github.com/actions/setup-go
	"actions/upload-artifact@v4":      true, // https://github.com/actions/upload-artifact
	"azure/login@v2":                  true, // https://github.com/Azure/login
	"mikepenz/action-junit-report@v5": true, // https://github.com/mikepenz/action-junit-report
}

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	return root
}

func loadWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(b, &w), "%s is valid YAML", name)
	require.NotEmpty(t, w.Jobs, name)
	return w
}

var expr = regexp.MustCompile(`\$\{\{[^}]*\}\}`)

// commands splits a run script into commands: lines joined at trailing
// backslashes, split at ; && ||, with ${{ }} expressions replaced by a
// plausible value.
func commands(script string) [][]string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out [][]string
	for _, line := range strings.Split(script, "\n") {
		line = expr.ReplaceAllStringFunc(line, func(e string) string {
			switch {
			case strings.Contains(e, "cloud"):
				return "AzureCloud"
			case strings.Contains(e, "SUBSCRIPTION"):
				return "00000000-0000-0000-0000-000000000000"
			}
			return "x"
		})
		for _, part := range regexp.MustCompile(`;|&&|\|\|`).Split(line, -1) {
			var f []string
			for _, w := range strings.Fields(part) {
				f = append(f, strings.Trim(w, `"'`))
			}
			if len(f) > 0 {
				out = append(out, f)
			}
		}
	}
	return out
}

// checkCommand fails if a command names a package, script or runner flag
// the repository does not have.
func checkCommand(t *testing.T, where string, c []string) {
	checkCommandAt(t, repoRoot(t), where, c)
}

// recorder is an assert.TestingT that only notes a failure.
type recorder struct{ failed bool }

func (r *recorder) Errorf(string, ...any) { r.failed = true }

func checkCommandInto(t assert.TestingT, root string, c []string) {
	checkCommandAt(t, root, "test", c)
}

func checkCommandAt(t assert.TestingT, root, where string, c []string) {
	switch {
	case len(c) >= 3 && c[0] == "go" && c[1] == "run":
		pkg := c[2]
		st, err := os.Stat(filepath.Join(root, pkg))
		if assert.NoError(t, err, "%s: go run %s: no such package", where, pkg) {
			assert.True(t, st.IsDir(), where)
		}
		if pkg == "./runner" {
			checkRunnerArgs(t, root, where, c[3:])
		}
	case len(c) >= 2 && c[0] == "go":
		assert.Contains(t, []string{"test", "vet", "build", "mod"}, c[1], "%s: go %s", where, c[1])
	case strings.HasPrefix(c[0], "./") || c[0] == "bash" || c[0] == "sh":
		script := c[0]
		if c[0] == "bash" || c[0] == "sh" {
			script = c[1]
		}
		_, err := os.Stat(filepath.Join(root, script))
		assert.NoError(t, err, "%s: script %s does not exist", where, script)
	}
}

// checkRunnerArgs parses the arguments with the runner's own flag sets, so
// a renamed or removed flag breaks this test rather than the nightly job.
func checkRunnerArgs(t assert.TestingT, root, where string, args []string) {
	if len(args) > 0 && args[0] == "sweep" {
		sf := newSweepFlags(io.Discard)
		assert.NoError(t, sf.fs.Parse(args[1:]), "%s: runner sweep %v", where, args[1:])
		assert.Empty(t, sf.fs.Args(), "%s: runner sweep takes no arguments", where)
		return
	}
	if len(args) > 0 && (args[0] == "emulate" || args[0] == "sandbox") {
		return // their flags belong to emulate.go and sandbox.go
	}
	rf := newRunFlags(io.Discard)
	if assert.NoError(t, rf.fs.Parse(args), "%s: runner %v", where, args) {
		for _, p := range rf.fs.Args() {
			_, err := os.Stat(filepath.Join(root, p))
			assert.NoError(t, err, "%s: feature path %s", where, p)
		}
	}
}

func lintWorkflow(t *testing.T, name string) workflow {
	w := loadWorkflow(t, name)
	for jn, j := range w.Jobs {
		assert.NotNil(t, j.RunsOn, "%s: job %s has no runs-on", name, jn)
		require.NotEmpty(t, j.Steps, "%s: job %s has no steps", name, jn)
		for i, s := range j.Steps {
			where := name + ": " + jn + " step " + s.Name
			assert.True(t, (s.Uses == "") != (s.Run == ""), "%s (#%d): a step has uses or run", where, i)
			if s.Uses != "" {
				assert.True(t, maintainedActions[s.Uses], "%s: action %s is not one of the maintained actions at a known major version", where, s.Uses)
			}
			for _, c := range commands(s.Run) {
				checkCommand(t, where, c)
			}
		}
	}
	return w
}

func TestCIWorkflow(t *testing.T) {
	w := lintWorkflow(t, "ci.yml")
	assert.Contains(t, w.On, "push")
	assert.Contains(t, w.On, "pull_request")
	all := allRuns(w)
	for _, want := range []string{"go vet ./...", "go test ./...", "go run ./runner --cloud ${{ matrix.cloud }}"} {
		assert.Contains(t, all, want)
	}
	assert.Contains(t, all, `cat reports/summary.md >> "$GITHUB_STEP_SUMMARY"`)
	assert.Contains(t, allUses(w), "mikepenz/action-junit-report@v5")
	assert.Contains(t, allUses(w), "actions/upload-artifact@v4")
}

func TestNightlyWorkflow(t *testing.T) {
	w := lintWorkflow(t, "nightly.yml")
	assert.Contains(t, w.On, "schedule")
	assert.Contains(t, w.On, "workflow_dispatch")
	assert.Equal(t, "write", w.Permissions["id-token"], "azure/login's OIDC needs id-token: write")
	j, ok := w.Jobs["tutorials"]
	require.True(t, ok)
	assert.Equal(t, []any{"self-hosted", "azure-vm", "${{ matrix.cloud }}", "${{ matrix.os }}"}, j.RunsOn)
	assert.Equal(t, []any{"Linux", "Windows"}, j.Strategy.Matrix["os"], "a Linux and a Windows Server VM per cloud")
	var clouds []string
	for _, e := range j.Strategy.Matrix["include"].([]any) {
		clouds = append(clouds, e.(map[string]any)["cloud"].(string))
	}
	assert.ElementsMatch(t, []string{"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"}, clouds)
	assert.Equal(t, "AzureCLICredential", j.Env["AZURE_TOKEN_CREDENTIALS"], "the operator must not be the VM's managed identity")
	all := allRuns(w)
	assert.Contains(t, all, "go run ./runner --target azure --provision")
	assert.Contains(t, all, `cat reports/summary.md >> "$GITHUB_STEP_SUMMARY"`)
	assert.Contains(t, allUses(w), "azure/login@v2")
	assert.Contains(t, allUses(w), "mikepenz/action-junit-report@v5")
	last := j.Steps[len(j.Steps)-1]
	assert.Equal(t, "always()", last.If, "the teardown runs whatever happened")
	assert.Contains(t, last.Run, "go run ./runner sweep --older-than 0s")
	for _, s := range j.Steps {
		if strings.Contains(s.Run, "--target azure") {
			assert.Empty(t, s.If, "the run step fails the job when a tutorial fails")
		}
	}
}

func allRuns(w workflow) string {
	var b strings.Builder
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			b.WriteString(s.Run + "\n")
		}
	}
	return b.String()
}

func allUses(w workflow) []string {
	var u []string
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Uses != "" {
				u = append(u, s.Uses)
			}
		}
	}
	return u
}

// The lint itself catches what it is for.
func TestWorkflowLintCatchesMistakes(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		want bool
	}{
		{[]string{"go", "run", "./runner", "--target", "azure", "--provision"}, true},
		{[]string{"go", "run", "./runner", "--target", "azure", "--provison"}, false},
		{[]string{"go", "run", "./runner", "sweep", "--older-than", "6h"}, true},
		{[]string{"go", "run", "./runner", "sweep", "--older", "6h"}, false},
		{[]string{"go", "run", "./nowhere"}, false},
		{[]string{"./scripts/missing.sh"}, false},
	} {
		rec := &recorder{}
		checkCommandInto(rec, repoRoot(t), tc.cmd)
		assert.Equal(t, tc.want, !rec.failed, "%v", tc.cmd)
	}
}
