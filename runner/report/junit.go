package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JUnit XML document, in the shape CI test reporters read (Jenkins/Surefire
// schema: failures and errors are disjoint, skipped is separate).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	File       string          `xml:"file,attr,omitempty"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int64         `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitText struct {
	Body string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// properties lists the run's JUnit properties: tutorial, cloud, target, vm,
// region, then the extras in name order.
func (r *Result) properties(f *Feature) []junitProperty {
	var ps []junitProperty
	add := func(n, v string) {
		if v != "" {
			ps = append(ps, junitProperty{Name: clean(n), Value: clean(v)})
		}
	}
	add("tutorial", f.Tutorial)
	add("cloud", r.Meta.Cloud)
	add("target", r.Meta.Target)
	add("vm", r.Meta.VM)
	add("region", r.Meta.Region)
	for _, k := range slices.Sorted(maps.Keys(r.Meta.Extra)) {
		switch k {
		case "tutorial", "cloud", "target", "vm", "region":
			continue // the fixed properties win
		}
		add(k, r.Meta.Extra[k])
	}
	cov := r.coverageProperties(f)
	for _, k := range slices.Sorted(maps.Keys(cov)) {
		add(k, cov[k])
	}
	return ps
}

// classname is the JUnit class of a feature's scenarios: its tutorial tag
// without "@", or the feature name.
func classname(f *Feature) string {
	if f.Tutorial != "" {
		return strings.TrimPrefix(f.Tutorial, "@")
	}
	return f.Name
}

// JUnit renders the JUnit XML document.
func (r *Result) JUnit() ([]byte, error) {
	c := r.Counts()
	doc := junitSuites{
		Name: clean(r.Suite), Tests: c.Tests, Failures: c.Failed, Errors: c.Errors, Skipped: c.Skipped,
		Time: seconds(r.Duration),
	}
	for _, f := range r.Features {
		fc := f.Counts()
		js := junitSuite{
			Name: clean(f.Name), File: clean(f.URI),
			Tests: fc.Tests, Failures: fc.Failed, Errors: fc.Errors, Skipped: fc.Skipped,
			Time:       seconds(f.Duration()),
			Properties: r.properties(f),
		}
		if t := f.Started(); !t.IsZero() {
			js.Timestamp = t.UTC().Format("2006-01-02T15:04:05")
		} else if !r.Started.IsZero() {
			js.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
		}
		for _, s := range f.Scenarios {
			js.Cases = append(js.Cases, r.junitTestCase(f, s))
		}
		doc.Suites = append(doc.Suites, js)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

func (r *Result) junitTestCase(f *Feature, s *Scenario) junitCase {
	jc := junitCase{
		Classname: clean(classname(f)), Name: clean(s.Name), File: clean(f.URI), Line: s.Line,
		Time: seconds(s.Duration),
	}
	if out := clean(systemOut(s)); out != "" {
		jc.SystemOut = &junitText{Body: out}
	}
	cul := s.Culprit()
	msg := func(def string) string {
		if cul == nil {
			return clean(def)
		}
		text := cul.Keyword + " " + cul.Text
		if e := sentences(clean(cul.Error)); e != "" {
			return clean(strings.TrimSpace(text) + ": " + e)
		}
		return clean(strings.TrimSpace(text))
	}
	body := func() string {
		var b strings.Builder
		if cul != nil && cul.Error != "" {
			b.WriteString(cul.Error)
			b.WriteString("\n\n")
		}
		if a := r.articleContext(s); a != "" {
			b.WriteString(a)
			b.WriteString("\n")
		}
		b.WriteString(stepList(s))
		return clean(b.String())
	}
	switch {
	case s.Fault:
		jc.Error = &junitProblem{Message: msg("harness error"), Type: "HarnessError", Body: body()}
	case s.Status == Failed:
		jc.Failure = &junitProblem{Message: msg("failed"), Type: "StepFailed", Body: body()}
	case s.Status == Undefined:
		if cul == nil {
			jc.Failure = &junitProblem{Message: "scenario has no steps", Type: "StepUndefined", Body: body()}
		} else {
			jc.Failure = &junitProblem{Message: msg("undefined step"), Type: "StepUndefined", Body: body()}
		}
	case s.Status == Ambiguous:
		jc.Failure = &junitProblem{Message: msg("ambiguous step"), Type: "StepAmbiguous", Body: body()}
	case s.Status == Interrupted:
		jc.Skipped = &junitSkipped{Message: clean("interrupted: the run was interrupted while this scenario ran (" + msg("") + ")")}
	case s.Status == Pending:
		jc.Skipped = &junitSkipped{Message: msg("pending")}
	case s.Status == Skipped:
		jc.Skipped = &junitSkipped{Message: msg("skipped")}
	}
	return jc
}

// stepList renders a scenario's steps with their statuses, one a line.
func stepList(s *Scenario) string {
	var b strings.Builder
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "%-12s %s %s", "["+string(st.Status)+"]", st.Keyword, st.Text)
		if st.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", st.Line)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// systemOut is a test case's system-out: step statuses, then the step log.
func systemOut(s *Scenario) string {
	var b strings.Builder
	b.WriteString(stepList(s))
	for _, st := range s.Steps {
		if st.Error != "" && st.Status != Failed && st.Status != Ambiguous {
			fmt.Fprintf(&b, "%s %s: %s\n", st.Keyword, st.Text, firstLine(st.Error))
		}
	}
	if s.Log != "" {
		b.WriteString("\n--- step log ---\n")
		b.WriteString(s.Log)
	}
	return b.String()
}

// WriteJUnit writes the JUnit XML report to path, creating its directory.
func (r *Result) WriteJUnit(path string) error {
	b, err := r.JUnit()
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

func writeFile(path string, b []byte) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b, 0o644)
}
