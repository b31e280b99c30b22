package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/redact"
	"github.com/miconform/miconform/runner/report"
)

// progress prints one line per finished scenario while scenarios run at
// once, so a long run shows it is moving; godog's own output of such a run
// comes only at the end.
type progress struct {
	w     io.Writer
	total int

	// lines finds a scenario's line by file and name (0 when an outline's
	// rows share the name).
	lines map[string]int64

	mu    sync.Mutex
	done  int
	start map[string]time.Time
}

func newProgress(w io.Writer, sel *Selection, on bool) *progress {
	if !on || w == nil {
		return nil
	}
	p := &progress{w: w, total: sel.Count(), start: map[string]time.Time{}, lines: map[string]int64{}}
	for _, f := range sel.Features {
		for _, s := range f.Scenarios {
			k := f.Path + "\x00" + s.Name
			line := s.Line
			if s.Row > 0 {
				line = s.Row // as the reports name an outline's rows
			}
			if _, dup := p.lines[k]; dup {
				p.lines[k] = 0
			} else {
				p.lines[k] = line
			}
		}
	}
	return p
}

func (p *progress) hook(sc *godog.ScenarioContext) {
	if p == nil {
		return
	}
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		p.mu.Lock()
		p.start[s.Id] = time.Now()
		p.mu.Unlock()
		return ctx, nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		word := "passed"
		switch {
		case errors.Is(err, godog.ErrSkip), errors.Is(err, godog.ErrPending):
			word = "skipped"
		case err != nil && ctx.Err() != nil:
			word = "interrupted"
		case err != nil:
			word = "FAILED"
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.done++
		d := time.Since(p.start[s.Id]).Round(100 * time.Millisecond)
		where := report.DisplayPath(s.Uri)
		if l := p.lines[where+"\x00"+s.Name]; l > 0 {
			where = fmt.Sprintf("%s:%d", where, l)
		}
		fmt.Fprintln(p.w, redact.String(fmt.Sprintf("[%*d/%d] %-11s %s %s (%s)", len(fmt.Sprint(p.total)), p.done, p.total, word, where, s.Name, d)))
		return ctx, nil
	})
}
