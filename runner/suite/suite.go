// Package suite wires godog to miconform: the feature files, the step
// definitions, the chosen target and the report writers. The CLI and
// `go test` both run the tutorials through it.
package suite

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/runner/redact"
	"github.com/miconform/miconform/runner/report"
	"github.com/miconform/miconform/steps"
)

// Options says what to run and where reports go.
type Options struct {
	Target target.Target
	// Paths are feature files or directories (default: features/ of the repo).
	Paths []string
	// Tags is an extra godog tag expression, e.g. "@tutorial:rm-user-identity".
	Tags string
	// ReportDir receives junit.xml, cucumber.json and summary.md; empty
	// writes no files.
	ReportDir string
	// Output receives godog's pretty output, or the result's Outline when
	// scenarios run at once (redacted); nil discards it.
	Output io.Writer
	// T runs each scenario as a subtest of a Go test.
	T *testing.T
	// Meta adds properties to the reports (VM, region, ...).
	Meta map[string]string
	// Colors turns on ANSI colors in the pretty output.
	Colors bool
	// Concurrency is how many scenarios run at once; 0 is
	// DefaultConcurrency on a target that isolates scenarios
	// (target.Isolator, the emulator) and 1 elsewhere (an Azure VM, whose
	// scenarios share the one VM).
	Concurrency int
}

// DefaultConcurrency is how many scenarios run at once on a target that
// isolates them. Most of a scenario's time is spent waiting (on retries,
// Retry-After, fault windows, the Azure CLI), so this is more than the
// cores a laptop or CI runner has.
const DefaultConcurrency = 16

// godog's formatter registry is global; each run registers its collector
// under its own name.
var (
	regMu sync.Mutex
	regN  int
)

// Run runs the features and writes the reports. It returns the result and
// whether every scenario passed (strict: undefined or pending steps fail).
func Run(ctx context.Context, o Options) (*report.Result, bool, error) {
	if len(o.Paths) == 0 {
		o.Paths = []string{DefaultFeatures()}
	}
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	rw := redact.Writer(out)
	defer rw.Close()

	_, isolates := o.Target.(target.Isolator)
	conc := o.Concurrency
	switch {
	case conc < 0:
		return nil, false, fmt.Errorf("concurrency %d: want 1 or more (0: the target's default)", conc)
	case conc == 0 && isolates:
		conc = DefaultConcurrency
	case conc == 0:
		conc = 1
	case conc > 1 && !isolates:
		return nil, false, fmt.Errorf("the %s target runs one scenario at a time (its scenarios share one VM); concurrency %d is for the emulator", o.Target.Name(), conc)
	}

	f := o.Target.Facts()
	extra := map[string]string{}
	for k, v := range o.Meta {
		extra[k] = v
	}
	meta := report.Meta{Target: o.Target.Name(), Cloud: o.Target.Cloud().Name, VM: f.VMName, Region: f.Location, Extra: extra}
	// Scenarios add up their waits for role assignments to take effect.
	stats := &steps.RBACStats{}
	ctx = steps.WithRBACStats(ctx, stats)
	col := report.NewCollector(meta)
	regMu.Lock()
	regN++
	name := fmt.Sprintf("miconform%d", regN)
	godog.Format(name, "miconform JUnit and summary collector", col.Formatter)
	regMu.Unlock()

	// godog's pretty output interleaves scenarios that run at once; such
	// a run prints its Outline, feature by feature, when it is over.
	format := name
	if conc == 1 {
		format = "pretty," + name
	}
	var cuke *bytes.Buffer
	if o.ReportDir != "" {
		if err := os.MkdirAll(o.ReportDir, 0o755); err != nil {
			return nil, false, err
		}
		// godog's "cucumber:<file>" writes the file one rune per write
		// call (its no-colors writer), a second or more of system calls
		// for a full run, and unredacted; the same formatter writes into
		// memory here, and the file is written once, redacted, at the end
		// (report.WriteRedacted).
		cuke = new(bytes.Buffer)
		cucumber := godog.FindFmt("cucumber")
		regMu.Lock()
		godog.Format(name+"-cucumber", "cucumber JSON, buffered", func(suite string, _ io.Writer) godog.Formatter { return cucumber(suite, cuke) })
		regMu.Unlock()
		format += "," + name + "-cucumber"
	}
	tags := targetTags(o.Target.Name())
	if o.Tags != "" {
		tags += " && " + o.Tags
	}
	paths := o.Paths
	if conc > 1 && o.ReportDir != "" {
		// The previous run's report tells which features take longest;
		// starting them first keeps them off the end of the run.
		paths = longestFirst(paths, report.LongestScenarios(filepath.Join(o.ReportDir, "junit.xml")))
	}
	opts := godog.Options{
		Format:         format,
		Paths:          paths,
		Tags:           tags,
		Strict:         true,
		Concurrency:    conc,
		Output:         rw,
		NoColors:       !o.Colors,
		DefaultContext: ctx,
		TestingT:       o.T,
	}
	status := godog.TestSuite{
		Name: "miconform",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			col.Hooks(sc)
			// godog goes on through the features after an interrupt; the
			// scenarios left are skipped, not run against a dead context.
			sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
				if ctx.Err() != nil {
					return ctx, fmt.Errorf("%w: the run was interrupted", godog.ErrSkip)
				}
				return ctx, nil
			})
			steps.Register(sc, o.Target)
		},
		Options: &opts,
	}.Run()

	res := col.Result()
	res.Meta.Extra["rbac-propagation-wait"] = stats.Summary()
	if conc > 1 {
		fmt.Fprint(rw, res.Outline())
	}
	if o.ReportDir != "" {
		if err := res.WriteJUnit(filepath.Join(o.ReportDir, "junit.xml")); err != nil {
			return res, false, err
		}
		if err := res.WriteSummary(filepath.Join(o.ReportDir, "summary.md")); err != nil {
			return res, false, err
		}
		if err := report.WriteRedacted(filepath.Join(o.ReportDir, "cucumber.json"), cuke.Bytes()); err != nil {
			return res, false, err
		}
	}
	return res, status == 0, nil
}

// longestFirst lists the feature files under paths (directories walked in
// lexical order, as godog walks them), those whose longest scenario took
// longest in the previous run first, the rest in their order. godog runs
// features in the order of its paths, so a run whose scenarios run at once
// then ends with short scenarios rather than a long one started last.
func longestFirst(paths []string, prev map[string]time.Duration) []string {
	if len(prev) == 0 {
		return paths
	}
	var files []string
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			files = append(files, p) // a file, or file:line for godog to judge
			continue
		}
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".feature") {
				files = append(files, path)
			}
			return nil
		})
	}
	slices.SortStableFunc(files, func(a, b string) int {
		return cmp.Compare(prev[report.DisplayPath(b)], prev[report.DisplayPath(a)])
	})
	return files
}

// targetTags leaves out what cannot run on the target: @azure-only
// scenarios on the emulator, @emulator-only ones on Azure.
func targetTags(name string) string {
	if name == "azure" {
		return "~@emulator-only"
	}
	return "~@azure-only"
}

// DefaultFeatures finds the repository's features/ directory from the
// working directory or its parents, so the suite runs from the repo root
// (go run ./runner) and from a package directory (go test).
func DefaultFeatures() string {
	dir, err := os.Getwd()
	if err != nil {
		return "features"
	}
	for {
		p := filepath.Join(dir, "features")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "features"
		}
		dir = parent
	}
}
