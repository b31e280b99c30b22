package suite

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/runner/report"
	"github.com/miconform/miconform/runner/tagexpr"
)

// Feature is a feature file as a run would select it.
type Feature struct {
	// Path is the file as reports name it (report.DisplayPath).
	Path string
	Name string
	// Tutorial is the feature's "@tutorial:..." tag ("" if none).
	Tutorial  string
	Tags      []string
	Scenarios []Scenario
}

// Scenario is one scenario (one example row of an outline) a run would run.
type Scenario struct {
	// Line is where the scenario (or its outline) starts; Path:Line
	// selects it (every row of an outline: godog selects no single row).
	Line int64
	// Row is the line of the example row of an outline, 0 otherwise.
	Row  int64
	Name string
	// Tags are every tag it carries, its feature's included.
	Tags []string
}

// Selection is what a run over some paths and a tag expression would run.
type Selection struct {
	Features []Feature
	// Expr is the tag expression the run evaluates, the target's own
	// exclusions included; nil selects everything.
	Expr tagexpr.Expr
	// Godog is Expr in godog's syntax.
	Godog string
	// Unknown are tags the user's expression names that no scenario under
	// the paths carries (a likely typo).
	Unknown []string
	// All is every tag under the paths.
	All []string
}

// Count is the number of scenarios selected.
func (s *Selection) Count() int {
	n := 0
	for _, f := range s.Features {
		n += len(f.Scenarios)
	}
	return n
}

// ErrUsage marks a selection error that is the caller's arguments' fault:
// a path that does not exist, a bad tag expression, a line with no
// scenario.
var ErrUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

var (
	pathLine = regexp.MustCompile(`^(.*):([0-9]+)$`)
	// gherkin's "(line:column): message" inside godog's "path - Parser errors:\n..."
	gherkinPos = regexp.MustCompile(`\((\d+):(\d+)\): `)
)

// Select parses the feature files under paths (default: DefaultFeatures)
// and returns the scenarios a run on the named target ("" for every
// scenario, whatever its target) with the tag expression tags would run. A path that does not exist, a file:line on
// which no scenario starts, a feature that does not parse and a bad tag
// expression are errors naming the file:line or the expression.
func Select(paths []string, tags, targetName string) (*Selection, error) {
	if len(paths) == 0 {
		paths = []string{DefaultFeatures()}
		if _, err := os.Stat(paths[0]); err != nil {
			return nil, usagef("no features/ directory here or in a parent directory: run from the repository, or name feature paths")
		}
	}
	user, err := tagexpr.Parse(tags)
	if err != nil {
		return nil, usagef("%v", err)
	}
	expr := user
	if ex := excludedTag(targetName); ex != "" {
		expr = tagexpr.And(tagexpr.Not(ex), user)
	}
	g, err := tagexpr.Godog(expr)
	if err != nil {
		return nil, usagef("--tags %q: %v", tags, err)
	}
	sel := &Selection{Expr: expr, Godog: g}
	seenTag := map[string]bool{}
	seenFile := map[string]bool{}
	for _, p := range paths {
		file, line := p, -1
		if m := pathLine.FindStringSubmatch(p); m != nil {
			file = m[1]
			line, _ = strconv.Atoi(m[2])
		}
		if _, err := os.Stat(file); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, usagef("%s: no such feature file or directory", file)
			}
			return nil, usagef("%s: %v", file, err)
		}
		if line == 0 {
			return nil, usagef("%s: line 0: lines start at 1", p)
		}
		feats, err := godog.TestSuite{Options: &godog.Options{Paths: []string{p}}}.RetrieveFeatures()
		if err != nil {
			return nil, parseError(err)
		}
		if line > 0 && len(feats) == 0 {
			return nil, usagef("%s: no scenario starts on line %d (%s)", file, line, scenarioLines(file))
		}
		for _, ft := range feats {
			if ft.GherkinDocument == nil || ft.Feature == nil {
				continue
			}
			uri := report.DisplayPath(strings.TrimSuffix(ft.Uri, ":"+strconv.Itoa(line)))
			f := Feature{Path: uri, Name: ft.Feature.Name}
			for _, t := range ft.Feature.Tags {
				f.Tags = append(f.Tags, t.Name)
			}
			for _, pk := range ft.Pickles {
				var tags []string
				for _, t := range pk.Tags {
					tags = append(tags, t.Name)
					if !seenTag[t.Name] {
						seenTag[t.Name] = true
						sel.All = append(sel.All, t.Name)
					}
					if f.Tutorial == "" && strings.HasPrefix(t.Name, "@tutorial:") {
						f.Tutorial = t.Name
					}
				}
				if expr != nil && !expr.Eval(tags) {
					continue
				}
				s := Scenario{Name: pk.Name, Tags: tags}
				for _, id := range pk.AstNodeIds {
					if sc := ft.FindScenario(id); sc != nil && sc.Location != nil {
						s.Line = sc.Location.Line
					}
					if _, row := ft.FindExample(id); row != nil && row.Location != nil {
						s.Row = row.Location.Line
					}
				}
				f.Scenarios = append(f.Scenarios, s)
			}
			key := uri + "\x00" + strconv.Itoa(line)
			if len(f.Scenarios) > 0 && !seenFile[key] {
				seenFile[key] = true
				sel.Features = append(sel.Features, f)
			}
		}
	}
	if user != nil {
		for _, t := range tagexpr.Tags(user) {
			if !seenTag[t] {
				sel.Unknown = append(sel.Unknown, t)
			}
		}
	}
	slices.Sort(sel.All)
	return sel, nil
}

// excludedTag is what cannot run on the target: @azure-only scenarios on
// the emulator, @emulator-only ones on Azure; "" (no target: a listing of
// everything) excludes nothing.
func excludedTag(targetName string) string {
	switch targetName {
	case "azure":
		return "@emulator-only"
	case "":
		return ""
	}
	return "@azure-only"
}

// parseError restates godog's "path - Parser errors:\n(3:5): message" as
// "path:3:5: message", the form editors and terminals link to a place.
func parseError(err error) error {
	msg := err.Error()
	path, rest, ok := strings.Cut(msg, " - ")
	if !ok {
		return errors.New(msg)
	}
	rest = strings.TrimPrefix(rest, "Parser errors:\n")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(rest), "\n") {
		if m := gherkinPos.FindStringSubmatchIndex(l); m != nil && m[0] == 0 {
			l = fmt.Sprintf("%s:%s:%s: %s", report.DisplayPath(path), l[m[2]:m[3]], l[m[4]:m[5]], l[m[1]:])
		} else {
			l = report.DisplayPath(path) + ": " + l
		}
		lines = append(lines, l)
	}
	return fmt.Errorf("feature does not parse:\n  %s", strings.Join(lines, "\n  "))
}

// scenarioLines names the lines scenarios start on in file, for an error
// about a file:line that selects nothing.
func scenarioLines(file string) string {
	feats, err := godog.TestSuite{Options: &godog.Options{Paths: []string{file}}}.RetrieveFeatures()
	if err != nil || len(feats) == 0 {
		return "it has no scenarios"
	}
	var lines []string
	seen := map[int64]bool{}
	for _, pk := range feats[0].Pickles {
		if sc := feats[0].FindScenario(pk.AstNodeIds[0]); sc != nil && !seen[sc.Location.Line] {
			seen[sc.Location.Line] = true
			lines = append(lines, strconv.FormatInt(sc.Location.Line, 10))
		}
	}
	return "scenarios start on lines " + strings.Join(lines, ", ")
}
