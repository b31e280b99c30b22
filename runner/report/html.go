package report

import (
	"github.com/miconform/miconform/features/tutorials"

	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strings"
)

// HTMLSection is an extra table report.html shows after the run's verdict
// and before the tutorials. The articles' coverage table (which claims of
// which article a scenario checks, issue 14) plugs in here: set
// Result.HTMLSections before WriteHTML.
type HTMLSection struct {
	// ID is the section's anchor (letters, digits and dashes).
	ID    string
	Title string
	// Intro is a sentence above the table.
	Intro  string
	Header []string
	Rows   [][]string
}

//go:embed report.html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"clean": clean,
	"dur":   round,
	"lines": func(s string) int { return strings.Count(strings.TrimRight(s, "\n"), "\n") + 1 },
	"lower": strings.ToLower,
	"trim":  strings.TrimSpace,
}).Parse(htmlTemplate))

// htmlFeature and htmlScenario are what the template reads: the result,
// with each scenario's verdict and deciding step worked out.
type htmlFeature struct {
	*Feature
	ID      string
	Verdict string
	Counts  Counts
}

type htmlScenario struct {
	*Scenario
	ID      string
	Verdict string // PASS, FAIL, SKIP or STOP
	Culprit *Step
	// Label heads the failure panel.
	Label string
}

// HTML renders report.html: one self-contained page (inline styles, no
// script, no image, no request to anything) a person opens from the
// artifacts: per tutorial its scenarios, each step with its status and
// its request/response log, and a failure panel for every scenario that
// failed. Every text goes through clean (redaction) and html/template's
// escaping.
func (r *Result) HTML() ([]byte, error) {
	var fs []htmlFeature
	scen := map[*Feature][]htmlScenario{}
	for i, f := range r.Features {
		c := f.Counts()
		fs = append(fs, htmlFeature{Feature: f, ID: fmt.Sprintf("t%d", i+1), Verdict: c.verdict(), Counts: c})
		for j, s := range f.Scenarios {
			v := s.verdict()
			label := map[Status]string{Failed: "Failed step", Undefined: "Undefined step", Ambiguous: "Ambiguous step", Interrupted: "Cut short by the interrupt"}[s.Status]
			if s.Fault {
				label = "Harness error"
			}
			scen[f] = append(scen[f], htmlScenario{Scenario: s, ID: fmt.Sprintf("t%d-s%d", i+1, j+1), Verdict: v, Culprit: s.Culprit(), Label: label})
		}
	}
	data := map[string]any{
		"R":         r,
		"Title":     r.title(),
		"Status":    r.StatusLine(),
		"Counts":    r.Counts(),
		"OK":        r.OK(),
		"Features":  fs,
		"Scenarios": scen,
		"Sections":  r.sections(),
		"Started":   r.Started.UTC().Format("2006-01-02 15:04:05 MST"),
	}
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteHTML writes report.html to path, creating its directory.
func (r *Result) WriteHTML(path string) error {
	b, err := r.HTML()
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// sections are the extra tables of report.html: the articles' coverage
// first (when the run computed it), then whatever the caller added.
func (r *Result) sections() []HTMLSection {
	if r.Coverage == nil {
		return r.HTMLSections
	}
	sec := HTMLSection{
		ID:    "coverage",
		Title: "Coverage of the tutorial articles",
		Intro: "Per article: code blocks run verbatim, restated or not checked; claims that hold, that Azure contradicts (doc-discrepancy) or that are not checked. `runner coverage` lists each one with its reason.",
		Header: []string{"article", "blocks", "verbatim", "restated", "blocks not checked",
			"claims", "hold", "doc-discrepancy", "claims not checked"},
	}
	row := func(name string, n tutorials.Counts) []string {
		return []string{name, fmt.Sprint(n.Blocks), fmt.Sprint(n.Verbatim), fmt.Sprint(n.Restated), fmt.Sprint(n.BlocksNotChecked),
			fmt.Sprint(n.Claims), fmt.Sprint(n.Holds), fmt.Sprint(n.DocDiscrepancy), fmt.Sprint(n.ClaimsNotChecked)}
	}
	for _, a := range r.Coverage.Articles {
		sec.Rows = append(sec.Rows, row(a.Name, a.Counts()))
	}
	sec.Rows = append(sec.Rows, row("all", r.Coverage.Total()))
	return append([]HTMLSection{sec}, r.HTMLSections...)
}
