// Package steps holds the Go step definitions behind features/. Each file
// serves one domain (imds, arm, token, ...). A scenario's state travels in
// its context.Context; steps read like the tutorial and leave the mechanics
// (HTTP, retries, redaction) to azhttp and the target.
package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/miconform/miconform/internal/redact"
	"github.com/miconform/miconform/internal/steplog"
)

// scenario is one scenario's state.
type scenario struct {
	t target.Target
	// release gives t back to the run when the scenario is over (see
	// target.Isolator).
	release func()
	log     azhttp.Logger
	vars    map[string]string
	last    *azhttp.Exchange
	token   string // the access token the VM extracted
	// requested is the resource parameter of the last token request.
	requested string

	mu       sync.Mutex
	cleanups []cleanup
	// grants is when the operator gave each principal (lower-case object
	// id) a role in this scenario (see sendAsVM).
	grants map[string]time.Time
	// pollBackoff is the first wait between polls of a long-running
	// operation that sends no Retry-After (0: lroBackoff); tests of the
	// polling shorten it.
	pollBackoff time.Duration
}

type cleanup struct {
	what string
	fn   func(context.Context) error
}

type ctxKey struct{}

func from(ctx context.Context) *scenario {
	s, _ := ctx.Value(ctxKey{}).(*scenario)
	if s == nil {
		panic("steps: no scenario in context (Register not called)")
	}
	return s
}

// stepREs caches compiled step patterns. godog compiles a string pattern
// on every registration, and Register runs once per scenario: compiling
// the ~140 patterns each time cost 13% of a suite run's CPU.
var stepREs sync.Map // pattern -> *regexp.Regexp

// re is pattern compiled once per process. Call sites keep calling
// sc.Step themselves, since godog reports the caller's file and line as
// the step definition's location.
func re(pattern string) *regexp.Regexp {
	r, ok := stepREs.Load(pattern)
	if !ok {
		r, _ = stepREs.LoadOrStore(pattern, regexp.MustCompile(pattern))
	}
	return r.(*regexp.Regexp)
}

// Register adds every step definition and the scenario hooks for target t.
func Register(sc *godog.ScenarioContext, t target.Target) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		// A target that can isolate scenarios gives this one a VM of its
		// own, so scenarios running at once never see each other's faults
		// or role assignments; released once the scenario has cleaned up.
		t, release := t, func() {}
		if iso, ok := t.(target.Isolator); ok {
			var err error
			if t, release, err = iso.Isolate(); err != nil {
				return ctx, err
			}
		}
		f := t.Facts()
		c := t.Cloud()
		s := &scenario{t: t, release: release, log: steplog.LogFrom(ctx), vars: map[string]string{
			"SUBSCRIPTION-ID":       f.SubscriptionID,
			"TENANT-ID":             f.TenantID,
			"VM-NAME":               f.VMName,
			"VM-RESOURCE-ID":        f.VMResourceID,
			"LOCATION":              f.Location,
			"ARM-HOST":              c.ARMHost,
			"ARM-RESOURCE":          c.ARMResource,
			"ARM-RESOURCE-NO-SLASH": strings.TrimSuffix(c.ARMResource, "/"),
			"LOGIN-HOST":            c.LoginHost,
			"TOKEN-ISSUER":          c.Issuer(f.TenantID),
		}}
		for k, v := range f.Fixtures {
			s.vars[k] = v
		}
		return context.WithValue(ctx, ctxKey{}, s), nil
	})
	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		s := from(ctx)
		var errs []error
		// Undo in reverse order, as a person cleaning up would.
		for i := len(s.cleanups) - 1; i >= 0; i-- {
			c := s.cleanups[i]
			if err := c.fn(context.WithoutCancel(ctx)); err != nil {
				errs = append(errs, fmt.Errorf("cleanup %s: %w", c.what, err))
			}
		}
		// An emulator a scenario could not clean up stays out of the pool,
		// so no later scenario starts on its leftovers.
		if len(errs) == 0 {
			s.release()
		}
		return ctx, errors.Join(errs...)
	})
	registerIMDS(sc)
	registerARM(sc)
	registerToken(sc)
	registerResponse(sc)
	registerSQL(sc)
	registerLegacy(sc)
	registerSignin(sc)
	registerConcepts(sc)
	registerSnippets(sc)
	registerArticles(sc)
	registerStorage(sc)
	registerKeyVault(sc)
	registerFaults(sc)
	registerGraph(sc)
}

func (s *scenario) onCleanup(what string, fn func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, cleanup{what, fn})
}

var placeholder = regexp.MustCompile(`<([A-Z][A-Z0-9-]*)>`)

// expand replaces <PLACEHOLDER>s, the tutorials' own notation, with this
// run's values; an unknown placeholder is an error rather than a silent
// literal.
func (s *scenario) expand(text string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(text, func(m string) string {
		k := m[1 : len(m)-1]
		if v, ok := s.vars[k]; ok && v != "" {
			return v
		}
		missing = append(missing, m)
		return m
	})
	if len(missing) > 0 {
		return out, fmt.Errorf("placeholder(s) %s have no value at this point of the scenario", strings.Join(missing, ", "))
	}
	return out, nil
}

// tokenURL is the prologue of every step that calls with the VM's token:
// there must be one, and the URL's placeholders are filled in.
func (s *scenario) tokenURL(rawURL string) (string, error) {
	if s.token == "" {
		return "", fmt.Errorf("the VM has no access token yet")
	}
	return s.expand(rawURL)
}

// set records a placeholder's value, and the forms derived from it.
func (s *scenario) set(k, v string) {
	s.vars[k] = v
	if k == "RESOURCE-GROUP" {
		s.vars["RESOURCE-GROUP-LOWER"] = strings.ToLower(v)
	}
}

// check collects testify failures into one step error, with testify's
// trace lines dropped and secrets redacted.
type check struct{ msgs []string }

func (c *check) Errorf(format string, args ...any) {
	var keep []string
	for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "Error Trace:") || strings.HasPrefix(t, "Test:") || strings.HasSuffix(t, ".go:0") {
			continue
		}
		keep = append(keep, line)
	}
	c.msgs = append(c.msgs, strings.TrimSpace(strings.Join(keep, "\n")))
}

func (c *check) err() error {
	if len(c.msgs) == 0 {
		return nil
	}
	return errors.New(redact.String(strings.Join(c.msgs, "\n")))
}
