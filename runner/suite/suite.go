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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/features/tutorials"
	"github.com/miconform/miconform/internal/redact"
	"github.com/miconform/miconform/runner/report"
	"github.com/miconform/miconform/steps"
)

// Options says what to run and where reports go.
type Options struct {
	Target target.Target
	// Paths are feature files or directories (default: features/ of the repo).
	Paths []string
	// Tags is a tag expression selecting scenarios, in Cucumber's syntax
	// ("@tutorial:rm-user-identity and not @failure") or godog's
	// ("@a && ~@b"); see package tagexpr.
	Tags string
	// ReportDir receives junit.xml, cucumber.json, summary.md and
	// report.html; empty writes no files. They are written aside and
	// moved in at the end, so a run that selects nothing or fails keeps
	// the previous run's reports.
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
	// Articles are the tutorials the steps read (verbatim blocks, quoted
	// text) and the coverage is computed against: nil is the copies
	// embedded in the binary, tutorials.Load(dir) a docs writer's edited
	// ones (--articles). Steps reach them with tutorials.FromContext.
	Articles *tutorials.Set
	// HTMLSections are extra tables for report.html (the articles'
	// coverage table goes here).
	HTMLSections []report.HTMLSection
	// Progress receives one line per finished scenario when scenarios run
	// at once (godog's pretty output, printed when one runs at a time,
	// says as much); nil prints none.
	Progress io.Writer
	// Concurrency is how many scenarios run at once; 0 is
	// DefaultConcurrency on a target that isolates scenarios
	// (target.Isolator, the emulator) and 1 elsewhere (an Azure VM, whose
	// scenarios share the one VM).
	Concurrency int
	// Steps, when set, adds step definitions after the project's (a test's
	// own steps: a value of the run, not a global, so such tests run in
	// parallel with the others).
	Steps func(*godog.ScenarioContext)
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

	sel, err := Select(o.Paths, o.Tags, o.Target.Name())
	if err != nil {
		return nil, false, err
	}
	if sel.Count() == 0 {
		return nil, false, usagef("no scenario matched (tags %q, paths %q)", o.Tags, o.Paths)
	}
	set := o.Articles
	if set == nil {
		var err error
		if set, err = tutorials.Embedded(); err != nil {
			return nil, false, err
		}
	}
	// Coverage is of every feature whenever the run's paths lie inside
	// features/: a run of one feature or one scenario is a part of the
	// suite, and the rest still binds what it binds (it just did not run).
	covPaths := o.Paths
	if insideDefaultFeatures(o.Paths) {
		covPaths = nil
	}
	cov, err := Coverage(set, covPaths...)
	if err != nil {
		return nil, false, err
	}
	if len(cov.Problems) > 0 {
		return nil, false, &BindingError{Problems: cov.Problems}
	}
	ctx = tutorials.NewContext(ctx, set)

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
	var staging string
	if o.ReportDir != "" {
		if err := os.MkdirAll(o.ReportDir, 0o755); err != nil {
			return nil, false, err
		}
		// Reports are written here and moved in only when the run ends.
		if staging, err = os.MkdirTemp(o.ReportDir, ".run-"); err != nil {
			return nil, false, err
		}
		defer os.RemoveAll(staging)
		// godog's "cucumber:<file>" writes the file one rune per write
		// call (its no-colors writer), a second or more of system calls
		// for a full run, and unredacted; the same formatter writes into
		// memory here, and the file is written once, redacted, with the
		// other reports (writeReports).
		cuke = new(bytes.Buffer)
		cucumber := godog.FindFmt("cucumber")
		regMu.Lock()
		godog.Format(name+"-cucumber", "cucumber JSON, buffered", func(suite string, _ io.Writer) godog.Formatter { return cucumber(suite, cuke) })
		regMu.Unlock()
		format += "," + name + "-cucumber"
	}
	tags := sel.Godog
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
	// When the run was interrupted: scenarios running then were cut short.
	var interruptMu sync.Mutex
	var interruptedAt time.Time
	stopWatch := context.AfterFunc(ctx, func() {
		interruptMu.Lock()
		interruptedAt = time.Now()
		interruptMu.Unlock()
	})
	defer stopWatch()
	prog := newProgress(o.Progress, sel, conc > 1)
	status := godog.TestSuite{
		Name: "miconform",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			col.Hooks(sc)
			prog.hook(sc)
			// godog goes on through the features after an interrupt; the
			// scenarios left are skipped, not run against a dead context.
			sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
				if ctx.Err() != nil {
					return ctx, fmt.Errorf("%w: the run was interrupted", godog.ErrSkip)
				}
				return ctx, nil
			})
			steps.Register(sc, o.Target)
			if o.Steps != nil {
				o.Steps(sc)
			}
		},
		Options: &opts,
	}.Run()

	res := col.Result()
	res.Meta.Extra["rbac-propagation-wait"] = stats.Summary()
	res.Articles = set
	cov.Record(outcomes(res))
	res.Coverage = cov
	res.HTMLSections = o.HTMLSections
	interruptMu.Lock()
	at := interruptedAt
	interruptMu.Unlock()
	if !at.IsZero() {
		res.MarkInterrupted(at)
	}
	if conc > 1 {
		fmt.Fprint(rw, res.Outline())
	}
	if o.ReportDir != "" {
		if res.Counts().Tests == 0 {
			// godog ran nothing (it could not start): keep the previous reports.
			return res, false, fmt.Errorf("no scenario ran; the reports in %s are the previous run's", o.ReportDir)
		}
		if err := writeReports(res, cuke.Bytes(), staging, o.ReportDir); err != nil {
			return res, false, err
		}
	}
	return res, status == 0, nil
}

// reportFiles are the files a run writes to its report directory.
var reportFiles = []string{"junit.xml", "summary.md", "cucumber.json", "report.html"}

// writeReports writes the reports into staging (where cucumber.json
// already is), then moves each into dir.
func writeReports(res *report.Result, cucumber []byte, staging, dir string) error {
	if err := res.WriteJUnit(filepath.Join(staging, "junit.xml")); err != nil {
		return err
	}
	if err := res.WriteSummary(filepath.Join(staging, "summary.md")); err != nil {
		return err
	}
	if err := res.WriteHTML(filepath.Join(staging, "report.html")); err != nil {
		return err
	}
	if err := report.WriteRedacted(filepath.Join(staging, "cucumber.json"), cucumber); err != nil {
		return err
	}
	for _, name := range reportFiles {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
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

// BindingError is a run refused because binding tags name blocks or
// claims the articles do not have (a typo, or an article edited under
// --articles): coverage would silently lose them.
type BindingError struct{ Problems []string }

func (e *BindingError) Error() string {
	return "binding tags that name nothing in the articles:\n  " + strings.Join(e.Problems, "\n  ")
}

// featureFiles drops godog's ":line" suffixes from paths, for reading the
// files whole.
func featureFiles(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if i := strings.LastIndexByte(p, ':'); i > 0 {
				if _, err := os.Stat(p[:i]); err == nil {
					p = p[:i]
				}
			}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// outcomes is the run's result of the scenario at file:line, for the
// coverage: "" for a scenario that did not run (filtered out by tags).
func outcomes(res *report.Result) func(string, int) string {
	m := map[string]string{}
	for _, f := range res.Features {
		for _, s := range f.Scenarios {
			r := tutorials.RunPassed
			switch {
			case s.Failing():
				r = tutorials.RunFailed
			case s.Status != report.Passed:
				r = tutorials.RunSkipped
			}
			m[fmt.Sprintf("%s:%d", report.DisplayPath(f.URI), s.Line)] = r
		}
	}
	return func(file string, line int) string {
		return m[fmt.Sprintf("%s:%d", file, line)]
	}
}

// Coverage is how the feature files under paths (default: the repo's
// features/) bind the articles, without running anything.
func Coverage(set *tutorials.Set, paths ...string) (*tutorials.Coverage, error) {
	if len(paths) == 0 {
		paths = []string{DefaultFeatures()}
	}
	bound, err := tutorials.ScanFeatures(featureFiles(paths)...)
	if err != nil {
		return nil, err
	}
	for i := range bound {
		bound[i].File = report.DisplayPath(bound[i].File)
	}
	return tutorials.Cover(set, bound), nil
}

// insideDefaultFeatures reports whether every path (a file, a directory or
// file:line) lies in DefaultFeatures().
func insideDefaultFeatures(paths []string) bool {
	root, err := filepath.Abs(DefaultFeatures())
	if err != nil {
		return false
	}
	for _, p := range paths {
		if i := strings.LastIndex(p, ":"); i > 1 {
			if _, err := strconv.Atoi(p[i+1:]); err == nil {
				p = p[:i]
			}
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return false
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return false
		}
	}
	return true
}
