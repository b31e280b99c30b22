package report

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
)

// A concurrent run's outline lists every scenario in file order, and shows
// why each failing or skipped one ended as it did, redacted.
func TestOutline(t *testing.T) {
	out := runSuite(t, 4, registerSteps, demoFeatures()...).Outline()
	for _, want := range []string{
		"Feature: Demo: read a Key Vault secret with a managed identity  (features/demo.feature)\n",
		"  PASS  passing scenario logs a token  (",
		"  FAIL  failing scenario  (",
		"        And the check fails  (line 14)\n          expected 200, got 403\n",
		"        log:\n          ",
		"  SKIP  skipped scenario  (",
		"        When the environment has no VM  (line ",
		"no VM on this target",
		"  FAIL  undefined scenario  (",
		"  FAIL  harness fault  (",
	} {
		assert.Contains(t, out, want)
	}
	pass := strings.Index(out, "PASS  passing scenario")
	fail := strings.Index(out, "FAIL  failing scenario")
	skip := strings.Index(out, "SKIP  skipped scenario")
	assert.True(t, pass < fail && fail < skip, "scenarios in file order:\n%s", out)
	assert.NotContains(t, out, fakeJWT)
	assert.NotContains(t, out, lateSecret)
	assert.NotContains(t, out, "\x1b[")
}

// A feature's time is wall time: scenarios that ran at once overlap.
func TestFeatureDurationIsWallTime(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f := &Feature{Scenarios: []*Scenario{
		{Started: t0, Duration: time.Second},
		{Started: t0.Add(200 * time.Millisecond), Duration: time.Second},
		{Started: t0.Add(100 * time.Millisecond), Duration: 100 * time.Millisecond},
	}}
	assert.Equal(t, 1200*time.Millisecond, f.Duration())
	assert.Zero(t, (&Feature{}).Duration())
}

// A previous run's JUnit gives each feature's longest scenario; a missing
// or unreadable file gives nothing.
func TestLongestScenarios(t *testing.T) {
	dir := winetest.TempDir(t)
	path := dir + "/junit.xml"
	assert.Nil(t, LongestScenarios(path))

	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	res := &Result{Suite: "s", Started: t0, Features: []*Feature{
		{Name: "slow", URI: "features/slow.feature", Scenarios: []*Scenario{
			{Name: "a", Status: Passed, Started: t0, Duration: 300 * time.Millisecond},
			{Name: "b", Status: Passed, Started: t0, Duration: 1500 * time.Millisecond},
		}},
		{Name: "quick", URI: "features/quick.feature", Scenarios: []*Scenario{
			{Name: "c", Status: Passed, Started: t0, Duration: 20 * time.Millisecond},
		}},
	}}
	if err := res.WriteJUnit(path); err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, map[string]time.Duration{
		"features/slow.feature": 1500 * time.Millisecond, "features/quick.feature": 20 * time.Millisecond,
	}, LongestScenarios(path))

	if err := os.WriteFile(path, []byte("<testsuites><testsuite"), 0o644); err != nil {
		t.Fatal(err)
	}
	assert.Nil(t, LongestScenarios(path))
}
