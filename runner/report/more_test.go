package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/redact"
)

func TestConcurrentRunMatchesSequential(t *testing.T) {
	seq := runSuite(t, 1, registerSteps, demoFeatures()...)
	par := runSuite(t, 4, registerSteps, demoFeatures()...)
	a, err := seq.JUnit()
	require.NoError(t, err)
	b, err := par.JUnit()
	require.NoError(t, err)
	assert.Equal(t, string(normalize(a)), string(normalize(b)))
	for _, f := range par.Features {
		for _, s := range f.Scenarios {
			assert.False(t, s.Started.IsZero(), s.Name)
		}
	}
}

func TestPanicIsHarnessError(t *testing.T) {
	const feature = `Feature: panics
  Scenario: a step panics
    Given a step panics
`
	res := runSuite(t, 1, func(sc *godog.ScenarioContext) {
		sc.Step(`^a step panics$`, func() error { panic("nil map in step code") })
	}, godog.Feature{Name: "panic.feature", Contents: []byte(feature)})
	s := res.Features[0].Scenarios[0]
	assert.True(t, s.Fault)
	assert.Equal(t, Failed, s.Status)
	b, err := res.JUnit()
	require.NoError(t, err)
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(b, &doc))
	assert.Equal(t, 1, doc.Errors)
	assert.Equal(t, 0, doc.Failures)
	c := doc.Suites[0].Cases[0]
	require.NotNil(t, c.Error)
	assert.Equal(t, "Given a step panics: nil map in step code", c.Error.Message)
	assert.Contains(t, c.Error.Body, "more_test.go", "the stack trace is kept")
}

func TestScenarioTimingComesFromHooks(t *testing.T) {
	const feature = `Feature: slow
  Scenario: slow step
    Given a slow step
`
	res := runSuite(t, 2, func(sc *godog.ScenarioContext) {
		sc.Step(`^a slow step$`, func() error { time.Sleep(30 * time.Millisecond); return fmt.Errorf("too slow") })
	}, godog.Feature{Name: "slow.feature", Contents: []byte(feature)})
	s := res.Features[0].Scenarios[0]
	assert.GreaterOrEqual(t, s.Duration, 30*time.Millisecond)
	assert.GreaterOrEqual(t, s.Steps[0].Duration, 30*time.Millisecond)
}

func TestRedactFile(t *testing.T) {
	p := filepath.Join(winetest.TempDir(t), "cucumber.json")
	in := `[{"elements":[{"steps":[{"result":{"error_message":"Authorization: Bearer ` + fakeJWT + `"}}]}]}]`
	require.NoError(t, os.WriteFile(p, []byte(in), 0o600))
	// What the system made of 0600 (Windows knows only read-only or not).
	before, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, RedactFile(p))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.NotContains(t, string(b), fakeJWT)
	assert.Contains(t, string(b), "Bearer eyJhbGci…[redacted]")
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, before.Mode().Perm(), st.Mode().Perm())
	entries, _ := os.ReadDir(filepath.Dir(p))
	assert.Len(t, entries, 1, "no temporary file left behind")

	assert.Error(t, RedactFile(filepath.Join(winetest.TempDir(t), "missing.json")))
}

// The buffered cucumber report is written once, redacted, replacing the
// previous run's file.
func TestWriteRedacted(t *testing.T) {
	p := filepath.Join(winetest.TempDir(t), "cucumber.json")
	in := `[{"error_message":"Authorization: Bearer ` + fakeJWT + `"}]`
	require.NoError(t, WriteRedacted(p, []byte(in)))
	require.NoError(t, WriteRedacted(p, []byte(in+"\n")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.NotContains(t, string(b), fakeJWT)
	assert.Contains(t, string(b), "Bearer eyJhbGci…[redacted]")
	assert.True(t, strings.HasSuffix(string(b), "]\n"), "the second write replaced the first")
	entries, _ := os.ReadDir(filepath.Dir(p))
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestClean(t *testing.T) {
	assert.Equal(t, "red text\tok\n", clean("\x1b[1;31mred\x1b[0m text\x00\x07\tok\n"))
	assert.Equal(t, "title", clean("\x1b]0;x\x07title"))
	assert.Equal(t, "a\uFFFDb", clean("a\xffb"))
	redact.Register("clean-test-secret")
	assert.Equal(t, "x [redacted]", clean("x clean-test-secret"))
}

func TestSummaryEscaping(t *testing.T) {
	res := &Result{
		Suite: "miconform", Meta: Meta{Cloud: "AzureCloud", Target: "azure", VM: "myVM"},
		Duration: 1500 * time.Millisecond,
		Features: []*Feature{{
			Name: "Pipes | and <html>", URI: "features/p.feature", Tutorial: "@tutorial:p",
			Scenarios: []*Scenario{{
				Name: "uses ```fences``` & <b>", Line: 3, Status: Failed,
				Steps: []*Step{{Keyword: "Then", Text: "output has ```", Line: 4, Status: Failed, Error: "got ```` here"}},
			}},
		}},
	}
	s := res.Summary()
	assert.Contains(t, s, "❌ 0 passed, 1 failed, 0 skipped (1 scenarios) in 1.5s — cloud AzureCloud, target azure, VM myVM")
	assert.Contains(t, s, "| Pipes \\| and &lt;html&gt; |")
	assert.Contains(t, s, "uses ```fences``` &amp; &lt;b&gt;")
	assert.Contains(t, s, "`````\ngot ```` here\n`````")
	assert.Contains(t, res.Table(), "FAIL features/p.feature:3 uses ```fences``` & <b> — Then output has ```: got ```` here")
}

func TestEmptyResult(t *testing.T) {
	res := NewCollector(Meta{}).Result()
	assert.True(t, res.OK())
	b, err := res.JUnit()
	require.NoError(t, err)
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(b, &doc))
	assert.Equal(t, 0, doc.Tests)
	assert.Contains(t, res.Summary(), "✅ 0 passed")
	assert.Contains(t, res.Table(), "TOTAL")
}

func TestDisplayPath(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := filepath.Dir(filepath.Dir(wd)) // the module root holds go.mod
	assert.Equal(t, "features/x.feature", DisplayPath(filepath.Join(root, "features", "x.feature")))
	assert.Equal(t, "features/x.feature", DisplayPath("features/x.feature"))
}
