package suite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/env/target/targettest"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/slowtest"
	"github.com/miconform/miconform/runner/suite"
)

// TestFeatures runs every feature on an in-process emulator of each cloud.
func TestFeatures(t *testing.T) {
	paths := secondRunOrder(t)
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The Azure CLI's sign-in snippet starts az, about 1.6 s of
			// CPU for a cloud: it runs with the slow tests
			// (internal/slowtest; .ci/run), on every cloud.
			tags := ""
			if !slowtest.Enabled() {
				tags = "not @snippets:sign-in"
				t.Logf("the Azure CLI sign-in snippet runs with %s=1 (as .ci/run does)", slowtest.Env)
			}
			tg := targettest.Emulator(t, name)
			var pretty bytes.Buffer
			dir := winetest.TempDir(t)
			res, ok, err := suite.Run(context.Background(), suite.Options{Target: tg, T: t, ReportDir: dir, Output: &pretty, Tags: tags, Paths: paths})
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("features failed on %s:\n%s", name, res.Table())
			}
			// Every report and log of the full run is free of secrets.
			assertNoSecrets(t, tg, dir, pretty.String())
			// Scenarios ran at once, each on an emulator of its own.
			if n := len(tg.Pooled()); n < 2 {
				t.Errorf("the run used %d emulator; scenarios did not run concurrently", n)
			}
		})
	}
}

// secondRunOrder lists every feature file in the order a second run of
// the runner takes them (longest first, learnt from the first run's report):
// the tutorials' commands, which run the Azure CLI, first, rather than
// started last and ending the run alone.
func secondRunOrder(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(suite.DefaultFeatures(), "*.feature"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no features under %s (%v)", suite.DefaultFeatures(), err)
	}
	slices.SortStableFunc(paths, func(a, b string) int {
		first := func(p string) bool { return filepath.Base(p) == "tutorial_snippets.feature" }
		switch {
		case first(a) && !first(b):
			return -1
		case first(b) && !first(a):
			return 1
		}
		return 0
	})
	if filepath.Base(paths[0]) != "tutorial_snippets.feature" {
		t.Fatalf("features/tutorial_snippets.feature is gone; order: %v", paths)
	}
	return paths
}

// notIsolating hides the emulator's Isolate, as an Azure VM target has none.
type notIsolating struct{ target.Target }

// A target whose scenarios share one VM runs them one at a time: asking
// for more is an error, not a run whose scenarios trample each other.
func TestConcurrencyNeedsIsolation(t *testing.T) {
	t.Parallel()
	tg := targettest.Emulator(t, "AzureCloud")
	_, _, err := suite.Run(context.Background(), suite.Options{Target: notIsolating{tg}, Concurrency: 2, Tags: "@tutorial:rm-system-identity"})
	if err == nil || !strings.Contains(err.Error(), "one scenario at a time") {
		t.Fatalf("Concurrency 2 on a target without Isolate: err = %v", err)
	}
	res, ok, err := suite.Run(context.Background(), suite.Options{Target: notIsolating{tg}, Tags: "@tutorial:rm-system-identity"})
	if err != nil || !ok {
		t.Fatalf("the default (one at a time) failed: %v\n%s", err, res.Table())
	}
	if n := len(tg.Pooled()); n != 1 {
		t.Errorf("a sequential run started %d emulators", n)
	}
}
