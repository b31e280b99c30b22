package report

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cucumber/godog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/redact"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	fakeJWT    = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
	lateSecret = "late-registered-S3cret~value" // logged before it is registered
)

const demoFeature = `@tutorial:demo-read-secret
Feature: Demo: read a Key Vault secret with a managed identity
  The VM's system-assigned identity reads a secret.

  Background:
    Given the emulator is running

  Scenario: passing scenario logs a token
    When the VM requests a token
    Then the token is accepted

  Scenario: failing scenario
    When the VM requests a token
    And the check fails
    Then the token is accepted

  Scenario: pending scenario
    When a pending step runs
    Then the token is accepted

  Scenario: undefined scenario
    When a step nobody wrote runs

  Scenario: skipped scenario
    When the environment has no VM
    Then the token is accepted

  @hookfail
  Scenario: harness fault
    When the VM requests a token

  Scenario Outline: outline row <n>
    Then number <n> is fine

    Examples:
      | n |
      | 1 |
      | 2 |
`

const otherFeature = `Feature: Other feature without a tutorial tag

  Scenario: Same name
    Then number 3 is fine

  Scenario: Same name
    Then number 4 is fine
`

var errHook = errors.New("could not reach the emulator")

func registerSteps(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		for _, t := range s.Tags {
			if t.Name == "@hookfail" {
				LogFrom(ctx).Printf("before hook: dialing")
				return ctx, errHook
			}
		}
		return ctx, nil
	})
	sc.Step(`^the emulator is running$`, func(ctx context.Context) error {
		LogFrom(ctx).Printf("emulator up\x01")
		return nil
	})
	sc.Step(`^the VM requests a token$`, func(ctx context.Context) error {
		l := LogFrom(ctx)
		l.Printf("GET http://169.254.169.254/metadata/identity/oauth2/token")
		l.Printf("< 200 OK {\"token_type\":\"Bearer\",\"access_token\":\"%s\"}", fakeJWT)
		l.Printf("raw token %s and secret %s", fakeJWT, lateSecret)
		return nil
	})
	sc.Step(`^the token is accepted$`, func(ctx context.Context) error {
		redact.Register(lateSecret)
		return nil
	})
	sc.Step(`^the check fails$`, func(ctx context.Context) error {
		return fmt.Errorf("\x1b[31mexpected 200, got 403\x1b[0m\nAuthorization: Bearer %s\nsecret: %s", fakeJWT, lateSecret)
	})
	sc.Step(`^a pending step runs$`, func() error { return godog.ErrPending })
	sc.Step(`^the environment has no VM$`, func() error {
		return fmt.Errorf("%w: no VM on this target", godog.ErrSkip)
	})
	sc.Step(`^number (\d+) is fine$`, func(n int) error { return nil })
}

var fmtSeq struct {
	sync.Mutex
	n int
}

// runSuite runs the features in memory and returns the collector's result.
func runSuite(t *testing.T, concurrency int, init func(*godog.ScenarioContext), features ...godog.Feature) *Result {
	t.Helper()
	col := NewCollector(Meta{Target: "emulator", Cloud: "AzureCloud", Region: "westeurope",
		Extra: map[string]string{"build": "abc123", "cloud": "ignored"}})
	fmtSeq.Lock()
	fmtSeq.n++
	name := fmt.Sprintf("miconform-test-%d", fmtSeq.n)
	fmtSeq.Unlock()
	godog.Format(name, "test collector", col.Formatter)
	status := godog.TestSuite{
		Name: "miconform",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			col.Hooks(sc)
			init(sc)
		},
		Options: &godog.Options{
			Format:          name,
			Output:          io.Discard,
			Strict:          true,
			Concurrency:     concurrency,
			FeatureContents: features,
		},
	}.Run()
	assert.Equal(t, 1, status, "the suite has failing scenarios")
	return col.Result()
}

func demoFeatures() []godog.Feature {
	return []godog.Feature{
		{Name: "features/demo.feature", Contents: []byte(demoFeature)},
		{Name: "features/other.feature", Contents: []byte(otherFeature)},
	}
}

var timeAttr = regexp.MustCompile(`(time|timestamp)="[^"]*"`)

func normalize(b []byte) []byte {
	return timeAttr.ReplaceAll(b, []byte(`$1="X"`))
}

func TestReports(t *testing.T) {
	res := runSuite(t, 1, registerSteps, demoFeatures()...)
	dir := winetest.TempDir(t)
	junitPath := filepath.Join(dir, "reports", "junit.xml")
	summaryPath := filepath.Join(dir, "reports", "summary.md")
	require.NoError(t, res.WriteJUnit(junitPath))
	require.NoError(t, res.WriteSummary(summaryPath))
	junit, err := os.ReadFile(junitPath)
	require.NoError(t, err)
	summary, err := os.ReadFile(summaryPath)
	require.NoError(t, err)
	table := res.Table()

	for name, out := range map[string]string{"junit.xml": string(junit), "summary.md": string(summary), "table": table} {
		assert.NotContains(t, out, fakeJWT, name)
		assert.NotContains(t, out, "c2lnbmF0dXJl", name)
		assert.NotContains(t, out, lateSecret, name)
		assert.NotContains(t, out, "\x1b", name)
		assert.NotContains(t, out, "\x01", name)
	}
	assert.Contains(t, string(junit), "eyJhbGci…[redacted]")

	var doc junitSuites
	require.NoError(t, xml.Unmarshal(junit, &doc))
	assert.Equal(t, "miconform", doc.Name)
	assert.Equal(t, 10, doc.Tests)
	assert.Equal(t, 2, doc.Failures) // failing, undefined
	assert.Equal(t, 1, doc.Errors)   // hook failure
	assert.Equal(t, 2, doc.Skipped)  // pending, skipped
	require.Len(t, doc.Suites, 2)

	demo := doc.Suites[0]
	assert.Equal(t, "Demo: read a Key Vault secret with a managed identity", demo.Name)
	assert.Equal(t, "features/demo.feature", demo.File)
	assert.Equal(t, []int{8, 2, 1, 2}, []int{demo.Tests, demo.Failures, demo.Errors, demo.Skipped})
	assert.Equal(t, []junitProperty{
		{"tutorial", "@tutorial:demo-read-secret"}, {"cloud", "AzureCloud"}, {"target", "emulator"},
		{"region", "westeurope"}, {"build", "abc123"},
	}, demo.Properties)

	cases := map[string]junitCase{}
	for _, c := range demo.Cases {
		assert.Equal(t, "tutorial:demo-read-secret", c.Classname)
		assert.Equal(t, "features/demo.feature", c.File)
		cases[c.Name] = c
	}
	assert.Equal(t, int64(8), cases["passing scenario logs a token"].Line)
	assert.Nil(t, cases["passing scenario logs a token"].Failure)
	assert.Contains(t, cases["passing scenario logs a token"].SystemOut.Body, "GET http://169.254.169.254/metadata/identity/oauth2/token")
	assert.Contains(t, cases["passing scenario logs a token"].SystemOut.Body, `"access_token":"eyJhbGci…[redacted]"`)

	failing := cases["failing scenario"]
	assert.Equal(t, int64(12), failing.Line)
	require.NotNil(t, failing.Failure)
	assert.Equal(t, "StepFailed", failing.Failure.Type)
	assert.Equal(t, "And the check fails: expected 200, got 403", failing.Failure.Message)
	assert.Contains(t, failing.Failure.Body, "Authorization: Bearer eyJhbGci…[redacted]")
	assert.Contains(t, failing.Failure.Body, "[skipped]    Then the token is accepted")

	require.NotNil(t, cases["pending scenario"].Skipped)
	assert.Nil(t, cases["pending scenario"].Failure)
	assert.Equal(t, "When a pending step runs: step implementation is pending", cases["pending scenario"].Skipped.Message)

	require.NotNil(t, cases["undefined scenario"].Failure)
	assert.Equal(t, "StepUndefined", cases["undefined scenario"].Failure.Type)

	require.NotNil(t, cases["skipped scenario"].Skipped)
	assert.Equal(t, "When the environment has no VM: skipped: no VM on this target", cases["skipped scenario"].Skipped.Message)

	fault := cases["harness fault"]
	require.NotNil(t, fault.Error)
	assert.Nil(t, fault.Failure)
	assert.Equal(t, "HarnessError", fault.Error.Type)
	assert.Contains(t, fault.Error.Message, "before scenario hook failed: could not reach the emulator")

	assert.Equal(t, int64(37), cases["outline row 1"].Line)
	assert.Equal(t, int64(38), cases["outline row 2"].Line)

	other := doc.Suites[1]
	assert.Equal(t, "features/other.feature", other.File)
	require.Len(t, other.Cases, 2)
	assert.Equal(t, "Other feature without a tutorial tag", other.Cases[0].Classname)
	assert.Equal(t, "Same name #1", other.Cases[0].Name)
	assert.Equal(t, "Same name #2", other.Cases[1].Name)
	assert.Equal(t, int64(3), other.Cases[0].Line)

	// summary.md
	s := string(summary)
	assert.Contains(t, s, "❌ 5 passed, 2 failed, 1 errors, 2 skipped (10 scenarios)")
	assert.Contains(t, s, "cloud AzureCloud, target emulator")
	assert.Contains(t, s, "| ❌ `@tutorial:demo-read-secret` | Demo: read a Key Vault secret with a managed identity | 3 | 3 | 2 |")
	assert.Contains(t, s, "<details><summary>❌ <b>Demo: read a Key Vault secret with a managed identity</b> — failing scenario (<code>features/demo.feature:12</code>, failed)</summary>")
	assert.Equal(t, 3, strings.Count(s, "<details>"))

	// table
	assert.Regexp(t, `FAIL\s+@tutorial:demo-read-secret\s+Demo: read a Key Vault secret with a managed identity\s+3\s+3\s+2`, table)
	assert.Regexp(t, `PASS\s+-\s+Other feature without a tutorial tag\s+2\s+0\s+0`, table)
	assert.Contains(t, table, "FAIL features/demo.feature:12 failing scenario — And the check fails: expected 200, got 403")

	golden := filepath.Join("testdata", "junit.golden.xml")
	got := normalize(junit)
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create the golden file")
	assert.Equal(t, string(want), string(got))
}
