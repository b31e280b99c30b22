// Package report turns a godog run into miconform's reports: JUnit XML,
// a GitHub-flavoured Markdown summary and a plain-text table for the CLI.
//
// A Collector gathers the results: its Formatter is registered with godog
// (godog.Format) and listed in Options.Format, and its Hooks are installed
// first in the ScenarioInitializer so that every scenario gets a step Log in
// its context and accurate timings. After the run, Collector.Result returns
// a Result whose Write* methods produce the files. Every string a report
// writes is stripped of ANSI escapes and redacted (package redact).
package report

import (
	"time"

	"github.com/miconform/miconform/features/tutorials"
)

// Meta describes the run; it becomes JUnit properties and the summary's
// status line.
type Meta struct {
	// Target is where the tutorials ran: "emulator" or "azure".
	Target string
	// Cloud is the Azure cloud name, e.g. "AzureCloud".
	Cloud string
	// VM and Region are optional.
	VM     string
	Region string
	// Extra holds free-form properties.
	Extra map[string]string
}

// Status is the outcome of a step or a scenario.
type Status string

// Step and scenario statuses, as godog reports them.
const (
	Passed    Status = "passed"
	Failed    Status = "failed"
	Skipped   Status = "skipped"
	Pending   Status = "pending"
	Undefined Status = "undefined"
	Ambiguous Status = "ambiguous"
	// Interrupted is a scenario the run's interrupt (Ctrl-C) cut short:
	// it says nothing about the tutorial, so it is not a failure.
	Interrupted Status = "interrupted"
)

// Result is a finished run.
type Result struct {
	Suite    string
	Meta     Meta
	Started  time.Time
	Duration time.Duration
	Features []*Feature
	// Articles are the tutorials the run read (nil: failures are shown
	// without the article's text); Coverage is how the run's scenarios
	// cover them (nil: no coverage in the reports).
	Articles *tutorials.Set
	Coverage *tutorials.Coverage
	// Interrupted is set when the run was interrupted (MarkInterrupted).
	Interrupted bool
	// HTMLSections are extra tables report.html shows after the run's
	// verdict; the articles' coverage table (issue 14) goes here.
	HTMLSections []HTMLSection
}

// Feature is one feature file: one Microsoft tutorial.
type Feature struct {
	Name        string
	URI         string // feature file path (relative to the module root when possible)
	Description string
	Tags        []string
	// Tutorial is the feature's "@tutorial:..." tag, "" if it has none.
	Tutorial  string
	Scenarios []*Scenario // ordered by line
}

// Scenario is one pickle: a scenario or one example row of an outline.
type Scenario struct {
	ID       string // pickle ID
	Name     string // unique within the feature (" #2" appended to repeats)
	Line     int64  // line of the scenario, or of the example row
	Tags     []string
	Started  time.Time
	Duration time.Duration
	Status   Status
	// Fault marks a harness fault (a hook error or a panic) rather than a
	// failed check; JUnit reports it as <error>.
	Fault bool
	Steps []*Step
	// Log is the scenario's step log (already redacted).
	Log string
}

// Step is one step of a scenario.
type Step struct {
	Keyword  string // "Given", "When", "And", ...
	Text     string
	Line     int64
	Status   Status
	Error    string // full error text for failed, ambiguous, pending and skipped steps
	Duration time.Duration
	// Ended is when the step finished (zero if it did not run).
	Ended time.Time
	// Cancelled is set when the run's context was already cancelled as
	// the step ended (an interrupt): its failure may be the interrupt's.
	Cancelled bool
	// Log is the step's share of the scenario's log: the requests and
	// answers it made (already redacted).
	Log string
}

// Counts tallies scenarios. Failed counts failed, undefined and ambiguous
// scenarios that are not harness faults; Errors counts harness faults;
// Skipped counts skipped, pending and interrupted scenarios; Interrupted
// counts those an interrupt cut short (also in Skipped).
type Counts struct {
	Tests, Passed, Failed, Errors, Skipped int
	Interrupted                            int
}

// verdict is a feature's one-word result: FAIL when anything failed or
// errored, SKIP when nothing passed, else PASS.
func (c Counts) verdict() string {
	switch {
	case c.Failed+c.Errors > 0:
		return "FAIL"
	case c.Passed == 0:
		return "SKIP"
	}
	return "PASS"
}

func (c *Counts) add(s *Scenario) {
	c.Tests++
	switch {
	case s.Fault:
		c.Errors++
	case s.Status == Passed:
		c.Passed++
	case s.Status == Skipped, s.Status == Pending:
		c.Skipped++
	case s.Status == Interrupted:
		c.Skipped++
		c.Interrupted++
	default:
		c.Failed++
	}
}

// Counts tallies the feature's scenarios.
func (f *Feature) Counts() Counts {
	var c Counts
	for _, s := range f.Scenarios {
		c.add(s)
	}
	return c
}

// Duration is the feature's wall time, from its first scenario's start to
// its last one's end. Scenarios may run at once, so it can be less than
// the sum of their durations (a sum would exceed the run itself).
func (f *Feature) Duration() time.Duration {
	start := f.Started()
	var end time.Time
	for _, s := range f.Scenarios {
		if e := s.Started.Add(s.Duration); !s.Started.IsZero() && e.After(end) {
			end = e
		}
	}
	if start.IsZero() || !end.After(start) {
		return 0
	}
	return end.Sub(start)
}

// Started is the start of the feature's first scenario.
func (f *Feature) Started() time.Time {
	var t time.Time
	for _, s := range f.Scenarios {
		if !s.Started.IsZero() && (t.IsZero() || s.Started.Before(t)) {
			t = s.Started
		}
	}
	return t
}

// Counts tallies every scenario of the run.
func (r *Result) Counts() Counts {
	var c Counts
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			c.add(s)
		}
	}
	return c
}

// OK reports whether no scenario failed or errored (skipped and pending
// scenarios do not count against it).
func (r *Result) OK() bool {
	c := r.Counts()
	return c.Failed == 0 && c.Errors == 0
}

// Failing reports whether the scenario failed or errored.
// verdict is a scenario's one-word result in report.html and the
// outline: FAIL (Failing), STOP (cut short by an interrupt), SKIP
// (anything else not passed), PASS.
func (s *Scenario) verdict() string {
	switch {
	case s.Failing():
		return "FAIL"
	case s.Status == Interrupted:
		return "STOP"
	case s.Status != Passed:
		return "SKIP"
	}
	return "PASS"
}

func (s *Scenario) Failing() bool {
	switch s.Status {
	case Passed, Skipped, Pending, Interrupted:
		return s.Fault
	}
	return true
}

// MarkInterrupted records that the run was interrupted at time at. A
// failed scenario whose deciding step ended after the run's context was
// cancelled (Step.Cancelled), or, for a hook failure, that ended at or
// after at, was cut short by the interrupt (its requests were cancelled,
// its waits ended): it is reported as interrupted, not as a failure of
// the tutorial. The run's properties say it was interrupted.
func (r *Result) MarkInterrupted(at time.Time) {
	r.Interrupted = true
	if r.Meta.Extra == nil {
		r.Meta.Extra = map[string]string{}
	}
	r.Meta.Extra["interrupted"] = "true"
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			if s.Status != Failed {
				continue // undefined and ambiguous steps fail whenever they run
			}
			st := s.Culprit()
			cut := false
			if st != nil && !st.Ended.IsZero() {
				cut = st.Cancelled
			} else {
				cut = !s.Started.Add(s.Duration).Before(at)
			}
			if !cut {
				continue // it had failed before the interrupt
			}
			s.Status, s.Fault = Interrupted, false
			if st != nil {
				st.Status = Interrupted
				st.Error = "the run was interrupted while this step ran: " + st.Error
			}
		}
	}
}

// Culprit returns the step that decided the scenario's status: the first
// failed, undefined or ambiguous step of a failing scenario, the first
// pending or skipped step of a pending or skipped one; nil otherwise.
func (s *Scenario) Culprit() *Step {
	for _, st := range s.Steps {
		if st.Status == s.Status {
			return st
		}
	}
	if s.Failing() {
		for _, st := range s.Steps {
			switch st.Status {
			case Failed, Undefined, Ambiguous:
				return st
			}
		}
	}
	return nil
}
