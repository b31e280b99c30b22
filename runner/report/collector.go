package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/formatters"
	messages "github.com/cucumber/messages/go/v21"
)

// Collector gathers a godog run's results for the reports. Install it with
//
//	godog.Format(name, "miconform reports", col.Formatter) // once per collector; names are global
//	opts.Format = "pretty," + name + ",cucumber:reports/cucumber.json"
//	ScenarioInitializer: func(sc *godog.ScenarioContext) { col.Hooks(sc); ... }
//
// and call Result after the run. A Collector is safe for concurrent use
// (godog.Options.Concurrency > 1).
type Collector struct {
	meta Meta

	mu        sync.Mutex
	suite     string
	started   time.Time
	finished  time.Time
	features  []*featureState
	byURI     map[string]*featureState
	scenarios map[string]*scenarioState // by pickle ID
	hooks     map[string]*hookState     // by pickle ID
}

type featureState struct {
	uri      string
	doc      *messages.GherkinDocument
	lines    map[string]int64  // AST node ID → line
	keywords map[string]string // step AST node ID → keyword
	pickles  []string          // pickle IDs in order of arrival
}

type scenarioState struct {
	pickle *messages.Pickle
	seen   time.Time // Pickle event
	last   time.Time // latest step event
	steps  map[string]*stepState
}

type stepState struct {
	status Status
	err    error
}

// hookState is what the scenario hooks record, in real time even when
// godog buffers formatter events (Concurrency > 1).
type hookState struct {
	log        *Log
	start, end time.Time
	stepStart  map[string]time.Time
	stepEnd    map[string]time.Time
	stepErr    map[string]error
	// stepLog is where each step's share of the log starts and ends.
	stepLog map[string][2]int
	// stepCancelled: the run's context was cancelled when the step ended.
	stepCancelled map[string]bool
}

// NewCollector returns a collector for a run described by meta.
func NewCollector(meta Meta) *Collector {
	return &Collector{
		meta:      meta,
		byURI:     map[string]*featureState{},
		scenarios: map[string]*scenarioState{},
		hooks:     map[string]*hookState{},
	}
}

// Formatter is a godog.FormatterFunc: register it with godog.Format. The
// formatter it returns writes nothing to out; it only collects.
func (c *Collector) Formatter(suite string, _ io.Writer) formatters.Formatter {
	c.mu.Lock()
	c.suite = suite
	c.mu.Unlock()
	return &formatter{c: c}
}

// Hooks installs the collector's scenario and step hooks. Call it first in
// the ScenarioInitializer, so that later Before hooks and every step find
// the scenario's Log in their context (LogFrom).
func (c *Collector) Hooks(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		h := c.hook(s.Id)
		c.mu.Lock()
		h.start = time.Now()
		l := h.log
		c.mu.Unlock()
		ctx = context.WithValue(ctx, pickleKey{}, s.Id)
		return WithLog(ctx, l), nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		h := c.hook(s.Id)
		c.mu.Lock()
		h.end = time.Now()
		c.mu.Unlock()
		return ctx, nil
	})
	stc := sc.StepContext()
	stc.Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		if id, ok := pickleID(ctx); ok {
			h := c.hook(id)
			n := h.log.Len()
			c.mu.Lock()
			h.stepStart[st.Id] = time.Now()
			h.stepLog[st.Id] = [2]int{n, n}
			c.mu.Unlock()
		}
		return ctx, nil
	})
	stc.After(func(ctx context.Context, st *godog.Step, _ godog.StepResultStatus, err error) (context.Context, error) {
		if id, ok := pickleID(ctx); ok {
			h := c.hook(id)
			n := h.log.Len()
			c.mu.Lock()
			h.stepEnd[st.Id] = time.Now()
			if r, ok := h.stepLog[st.Id]; ok {
				h.stepLog[st.Id] = [2]int{r[0], n}
			}
			h.stepCancelled[st.Id] = ctx.Err() != nil
			if err != nil {
				h.stepErr[st.Id] = err
			}
			c.mu.Unlock()
		}
		return ctx, nil
	})
}

type pickleKey struct{}

// pickleID finds the scenario a step runs in; the Before hook put it in the
// context.
func pickleID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(pickleKey{}).(string)
	return id, ok
}

// hook returns the hook state for a pickle, creating it.
func (c *Collector) hook(id string) *hookState {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hooks[id]
	if h == nil {
		h = &hookState{
			log:       NewLog(),
			stepStart: map[string]time.Time{},
			stepEnd:   map[string]time.Time{},
			stepErr:   map[string]error{},
			stepLog:   map[string][2]int{},

			stepCancelled: map[string]bool{},
		}
		c.hooks[id] = h
	}
	return h
}

// LogFor returns the step log of the scenario (pickle) with the given ID,
// creating it if needed.
func (c *Collector) LogFor(pickleID string) *Log {
	return c.hook(pickleID).log
}

// formatter feeds godog's events to the collector.
type formatter struct{ c *Collector }

var _ formatters.Formatter = (*formatter)(nil)

func (f *formatter) TestRunStarted() {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if f.c.started.IsZero() {
		f.c.started = time.Now()
	}
}

func (f *formatter) Feature(doc *messages.GherkinDocument, uri string, _ []byte) {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byURI[uri]; ok {
		return
	}
	fs := &featureState{uri: uri, doc: doc, lines: map[string]int64{}, keywords: map[string]string{}}
	indexDocument(fs, doc)
	c.byURI[uri] = fs
	c.features = append(c.features, fs)
}

func indexDocument(fs *featureState, doc *messages.GherkinDocument) {
	if doc == nil || doc.Feature == nil {
		return
	}
	steps := func(sts []*messages.Step) {
		for _, st := range sts {
			if st.Location != nil {
				fs.lines[st.Id] = st.Location.Line
			}
			fs.keywords[st.Id] = strings.TrimSpace(st.Keyword)
		}
	}
	scenario := func(sc *messages.Scenario) {
		if sc.Location != nil {
			fs.lines[sc.Id] = sc.Location.Line
		}
		steps(sc.Steps)
		for _, ex := range sc.Examples {
			for _, row := range ex.TableBody {
				if row.Location != nil {
					fs.lines[row.Id] = row.Location.Line
				}
			}
		}
	}
	for _, ch := range doc.Feature.Children {
		switch {
		case ch.Background != nil:
			steps(ch.Background.Steps)
		case ch.Scenario != nil:
			scenario(ch.Scenario)
		case ch.Rule != nil:
			for _, rc := range ch.Rule.Children {
				if rc.Background != nil {
					steps(rc.Background.Steps)
				}
				if rc.Scenario != nil {
					scenario(rc.Scenario)
				}
			}
		}
	}
}

func (f *formatter) Pickle(p *messages.Pickle) {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.scenarios[p.Id]; ok {
		return
	}
	c.scenarios[p.Id] = &scenarioState{pickle: p, seen: time.Now(), steps: map[string]*stepState{}}
	fs := c.byURI[p.Uri]
	if fs == nil { // no Feature event (should not happen)
		fs = &featureState{uri: p.Uri, lines: map[string]int64{}, keywords: map[string]string{}}
		c.byURI[p.Uri] = fs
		c.features = append(c.features, fs)
	}
	fs.pickles = append(fs.pickles, p.Id)
}

func (f *formatter) step(p *messages.Pickle, st *messages.PickleStep, status Status, err error) {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scenarios[p.Id]
	if s == nil {
		s = &scenarioState{pickle: p, seen: time.Now(), steps: map[string]*stepState{}}
		c.scenarios[p.Id] = s
		if fs := c.byURI[p.Uri]; fs != nil {
			fs.pickles = append(fs.pickles, p.Id)
		}
	}
	s.steps[st.Id] = &stepState{status: status, err: err}
	s.last = time.Now()
}

func (f *formatter) Defined(*messages.Pickle, *messages.PickleStep, *formatters.StepDefinition) {}

func (f *formatter) Passed(p *messages.Pickle, st *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, st, Passed, nil)
}

func (f *formatter) Skipped(p *messages.Pickle, st *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, st, Skipped, nil)
}

func (f *formatter) Undefined(p *messages.Pickle, st *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, st, Undefined, nil)
}

func (f *formatter) Pending(p *messages.Pickle, st *messages.PickleStep, _ *formatters.StepDefinition) {
	f.step(p, st, Pending, nil)
}

func (f *formatter) Failed(p *messages.Pickle, st *messages.PickleStep, _ *formatters.StepDefinition, err error) {
	f.step(p, st, Failed, err)
}

func (f *formatter) Ambiguous(p *messages.Pickle, st *messages.PickleStep, _ *formatters.StepDefinition, err error) {
	f.step(p, st, Ambiguous, err)
}

func (f *formatter) Summary() {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	f.c.finished = time.Now()
}

// isFault tells harness faults (hook errors, panics in step code) from
// failed checks.
func isFault(err error) bool {
	if err == nil {
		return false
	}
	if strings.Contains(err.Error(), "hook failed:") {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if t := reflect.TypeOf(e); t != nil && t.String() == "*godog.traceError" {
			return true // godog wraps recovered panics in traceError
		}
	}
	return false
}

// Result snapshots what has been collected. Call it after the run.
func (c *Collector) Result() *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &Result{Suite: c.suite, Meta: c.meta, Started: c.started}
	if r.Suite == "" {
		r.Suite = "miconform"
	}
	end := c.finished
	if end.IsZero() {
		end = time.Now()
	}
	if !c.started.IsZero() {
		r.Duration = end.Sub(c.started)
	}
	for _, fs := range c.features {
		r.Features = append(r.Features, c.buildFeature(fs))
	}
	// Features in file order, however the run scheduled them.
	slices.SortStableFunc(r.Features, func(a, b *Feature) int { return strings.Compare(a.URI, b.URI) })
	return r
}

func (c *Collector) buildFeature(fs *featureState) *Feature {
	f := &Feature{URI: DisplayPath(fs.uri)}
	if fs.doc != nil && fs.doc.Feature != nil {
		gf := fs.doc.Feature
		f.Name = gf.Name
		f.Description = strings.TrimSpace(dedent(gf.Description))
		for _, t := range gf.Tags {
			f.Tags = append(f.Tags, t.Name)
		}
	}
	if f.Name == "" {
		f.Name = strings.TrimSuffix(filepath.Base(fs.uri), ".feature")
	}
	f.Tutorial = tutorialTag(f.Tags)
	for _, id := range fs.pickles {
		s := c.buildScenario(fs, c.scenarios[id])
		if f.Tutorial == "" {
			f.Tutorial = tutorialTag(s.Tags)
		}
		f.Scenarios = append(f.Scenarios, s)
	}
	slices.SortStableFunc(f.Scenarios, func(a, b *Scenario) int {
		if a.Line != b.Line {
			return int(a.Line - b.Line)
		}
		return strings.Compare(a.ID, b.ID)
	})
	// Make names unique within the feature, as JUnit consumers merge repeats.
	count := map[string]int{}
	for _, s := range f.Scenarios {
		count[s.Name]++
	}
	seq := map[string]int{}
	for _, s := range f.Scenarios {
		if count[s.Name] > 1 {
			seq[s.Name]++
			s.Name = fmt.Sprintf("%s #%d", s.Name, seq[s.Name])
		}
	}
	return f
}

func (c *Collector) buildScenario(fs *featureState, ss *scenarioState) *Scenario {
	p := ss.pickle
	s := &Scenario{ID: p.Id, Name: p.Name, Started: ss.seen}
	for _, id := range p.AstNodeIds { // scenario, then example row
		if l, ok := fs.lines[id]; ok {
			s.Line = l
		}
	}
	for _, t := range p.Tags {
		s.Tags = append(s.Tags, t.Name)
	}
	h := c.hooks[p.Id]
	end := ss.last
	if h != nil {
		s.Log = h.log.String()
		if !h.start.IsZero() {
			s.Started = h.start
		}
		if !h.end.IsZero() {
			end = h.end
		}
	}
	if end.After(s.Started) {
		s.Duration = end.Sub(s.Started)
	}

	var seen = map[Status]bool{}
	for _, ps := range p.Steps {
		st := &Step{Text: ps.Text, Status: Skipped}
		if len(ps.AstNodeIds) > 0 {
			st.Line = fs.lines[ps.AstNodeIds[0]]
			st.Keyword = fs.keywords[ps.AstNodeIds[0]]
		}
		var err error
		if r := ss.steps[ps.Id]; r != nil {
			st.Status = r.status
			err = r.err
		}
		if h != nil {
			if err == nil {
				err = h.stepErr[ps.Id] // skip and pending reasons
			}
			if a, b := h.stepStart[ps.Id], h.stepEnd[ps.Id]; !a.IsZero() && b.After(a) {
				st.Duration = b.Sub(a)
			}
			st.Ended = h.stepEnd[ps.Id]
			st.Cancelled = h.stepCancelled[ps.Id]
			if r, ok := h.stepLog[ps.Id]; ok && r[0] <= r[1] && r[1] <= len(s.Log) {
				st.Log = s.Log[r[0]:r[1]]
			}
		}
		switch {
		case err != nil:
			st.Error = fmt.Sprintf("%+v", err)
			if st.Status == Failed && isFault(err) {
				s.Fault = true
			}
		case st.Status == Undefined:
			st.Error = "step is undefined"
		case st.Status == Pending:
			st.Error = godog.ErrPending.Error()
		}
		seen[st.Status] = true
		s.Steps = append(s.Steps, st)
	}
	switch {
	case seen[Failed]:
		s.Status = Failed
	case seen[Ambiguous]:
		s.Status = Ambiguous
	case seen[Undefined], len(s.Steps) == 0:
		s.Status = Undefined
	case seen[Pending]:
		s.Status = Pending
	case seen[Skipped]:
		s.Status = Skipped
	default:
		s.Status = Passed
	}
	return s
}

func tutorialTag(tags []string) string {
	for _, t := range tags {
		if strings.HasPrefix(t, "@tutorial:") {
			return t
		}
	}
	return ""
}

// dedent removes the common leading indentation of a Gherkin description.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		} else {
			lines[i] = strings.TrimLeft(l, " \t")
		}
	}
	return strings.Join(lines, "\n")
}

// DisplayPath is how reports name a feature file: an absolute path is made
// relative to the module root (the nearest parent holding go.mod), so
// reports show repository paths.
func DisplayPath(uri string) string {
	if !filepath.IsAbs(uri) {
		return filepath.ToSlash(uri)
	}
	for dir := filepath.Dir(uri); ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if rel, err := filepath.Rel(dir, uri); err == nil {
				return filepath.ToSlash(rel)
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return filepath.ToSlash(uri)
}
