// Package faults injects what real Azure does to clients, so a client's
// retry logic can be shown to ride through it: IMDS's upgrade window (410),
// "IMDS endpoint is updating" (404), throttling (429), server errors,
// latency and connection resets; a fraction of any service's requests
// answered 500/503 with Retry-After; role assignments that take a while to
// take effect and to go away; short-lived tokens and a skewed clock.
//
// Faults are state of one emulator (an Injector), bounded in time or count,
// and reset as a whole or one kind at a time. They are driven through the
// control API under /_emulator/faults (control.go) or set at start
// (`runner emulate --faults`).
package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// Bounds on every fault: a fault can slow a run down, never hang it.
const (
	// MaxWindow bounds how long an IMDS or service fault lasts.
	MaxWindow = 10 * time.Minute
	// MaxLatency bounds added latency per request.
	MaxLatency = 30 * time.Second
	// MaxRetryAfter bounds the Retry-After a service fault sends.
	MaxRetryAfter = 120
	// MaxClockSkew bounds how far the emulated clock may be moved.
	MaxClockSkew = 24 * time.Hour
	// MinLifetime is the shortest token lifetime a fault may set.
	MinLifetime = time.Second
	// MaxPolls bounds the "in progress" answers an operations fault asks
	// of each long-running operation.
	MaxPolls = 1000
)

// Set is every fault kind; a nil member is "no fault of that kind". It is
// the body of GET /_emulator/faults and of `emulate --faults`.
type Set struct {
	IMDS       *IMDS       `json:"imds,omitempty"`
	Services   *Services   `json:"services,omitempty"`
	RBAC       *RBAC       `json:"rbac,omitempty"`
	Tokens     *Tokens     `json:"tokens,omitempty"`
	Operations *Operations `json:"operations,omitempty"`
}

// Window bounds a fault: it ends after Seconds or after Count faulted
// answers, whichever comes first (at least one must be set), and hits a
// Fraction of the requests it sees (default 1: all).
type Window struct {
	Seconds  float64 `json:"seconds,omitempty"`
	Count    int     `json:"count,omitempty"`
	Fraction float64 `json:"fraction,omitempty"`
	// RemainingSeconds and RemainingCount are reported by GET only.
	RemainingSeconds float64 `json:"remainingSeconds,omitempty"`
	RemainingCount   int     `json:"remainingCount,omitempty"`
}

// IMDS is a fault of the Instance Metadata Service (every path under
// 169.254.169.254). Status answers with IMDS's error for that status,
// Reset drops the connection without an answer, LatencyMS delays the
// answer (faulted or not) while the window lasts.
type IMDS struct {
	Status    int  `json:"status,omitempty"`
	Reset     bool `json:"reset,omitempty"`
	LatencyMS int  `json:"latencyMs,omitempty"`
	Window
}

// Services answers a fraction of the HTTPS services' requests with Status
// (500 or 503) and Retry-After, each in its service's error shape. Service
// limits it to one of the names the injector was made with (the
// emulator's: "arm", "login", "vault", "blob", "graph"; "" is all of them).
type Services struct {
	Status            int    `json:"status"`
	RetryAfterSeconds int    `json:"retryAfterSeconds,omitempty"`
	Service           string `json:"service,omitempty"`
	Window
}

// RBAC delays role assignments: new ones take effect after
// GrantDelaySeconds, removed ones keep granting for RevokeDelaySeconds
// (each at most MaxWindow). It lasts Seconds (default and at most
// MaxWindow) or until reset.
type RBAC struct {
	GrantDelaySeconds  float64 `json:"grantDelaySeconds,omitempty"`
	RevokeDelaySeconds float64 `json:"revokeDelaySeconds,omitempty"`
	Lasting
}

// Tokens makes tokens short-lived (LifetimeSeconds) and moves the emulated
// cloud's clock by ClockSkewSeconds (positive: ahead of the clients). It
// lasts Seconds (default and at most MaxWindow) or until reset.
type Tokens struct {
	LifetimeSeconds  float64 `json:"lifetimeSeconds,omitempty"`
	ClockSkewSeconds float64 `json:"clockSkewSeconds,omitempty"`
	Lasting
}

// Operations stretches Resource Manager's long-running operations (a VM,
// NIC or disk create, update or delete, a storage account, SQL or vault
// create) begun while it lasts: each answers "in progress" to its first
// Polls observations (polls of its status, or GETs of its resource) and
// for at least MinDurationSeconds, with Retry-After RetryAfterSeconds
// (default 1). It lasts Seconds (default and at most MaxWindow) or until
// reset; an operation keeps the pacing it began with, and the emulator's
// own (emulate --lro-*) applies again to those begun after.
type Operations struct {
	Polls              int     `json:"polls,omitempty"`
	MinDurationSeconds float64 `json:"minDurationSeconds,omitempty"`
	RetryAfterSeconds  int     `json:"retryAfterSeconds,omitempty"`
	Lasting
}

// Lasting bounds a fault that is a setting rather than answers to count:
// it ends after Seconds.
type Lasting struct {
	Seconds float64 `json:"seconds,omitempty"`
	// RemainingSeconds is reported by GET only.
	RemainingSeconds float64 `json:"remainingSeconds,omitempty"`
}

func (l *Lasting) validate(what string) error {
	if math.IsNaN(l.Seconds) || l.Seconds < 0 || l.Seconds > MaxWindow.Seconds() {
		return invalid("%s: seconds must be between 0 and %v (0: %v)", what, MaxWindow.Seconds(), MaxWindow.Seconds())
	}
	if l.Seconds == 0 {
		l.Seconds = MaxWindow.Seconds()
	}
	l.RemainingSeconds = 0
	return nil
}

// Kinds are the fault kinds, the last segment of /_emulator/faults/{kind}.
var Kinds = []string{"imds", "services", "rbac", "tokens", "operations"}

// ErrInvalid wraps every validation error (the control API's 400).
var ErrInvalid = errors.New("invalid fault")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (w *Window) validate(what string) error {
	switch {
	case math.IsNaN(w.Seconds) || w.Seconds < 0 || w.Seconds > MaxWindow.Seconds():
		return invalid("%s: seconds must be between 0 and %v", what, MaxWindow.Seconds())
	case w.Count < 0:
		return invalid("%s: count must not be negative", what)
	case w.Seconds == 0 && w.Count == 0:
		return invalid("%s: give seconds or count (or both), so the fault ends", what)
	case math.IsNaN(w.Fraction) || w.Fraction < 0 || w.Fraction > 1:
		return invalid("%s: fraction must be between 0 and 1", what)
	}
	if w.Fraction == 0 {
		w.Fraction = 1
	}
	if w.Seconds == 0 {
		w.Seconds = MaxWindow.Seconds()
	}
	w.RemainingSeconds, w.RemainingCount = 0, 0
	return nil
}

func (f *IMDS) validate() error {
	switch f.Status {
	case 0, 404, 410, 429, 500, 503:
	default:
		return invalid("imds: status %d is not one IMDS answers with (404, 410, 429, 500, 503)", f.Status)
	}
	if f.Reset && f.Status != 0 {
		return invalid("imds: reset drops the connection; it cannot also answer %d", f.Status)
	}
	if f.LatencyMS < 0 || time.Duration(f.LatencyMS)*time.Millisecond > MaxLatency {
		return invalid("imds: latencyMs must be between 0 and %d", MaxLatency.Milliseconds())
	}
	if f.Status == 0 && !f.Reset && f.LatencyMS == 0 {
		return invalid("imds: give status, reset or latencyMs")
	}
	return f.Window.validate("imds")
}

func (f *Services) validate(names []string) error {
	if f.Status != 500 && f.Status != 503 {
		return invalid("services: status must be 500 or 503")
	}
	if f.Service != "" && !contains(names, f.Service) {
		return invalid("services: service %q is not one of %s", f.Service, strings.Join(names, ", "))
	}
	if f.RetryAfterSeconds < 0 || f.RetryAfterSeconds > MaxRetryAfter {
		return invalid("services: retryAfterSeconds must be between 0 and %d", MaxRetryAfter)
	}
	if f.RetryAfterSeconds == 0 {
		f.RetryAfterSeconds = 1
	}
	return f.Window.validate("services")
}

func (f *RBAC) validate() error {
	for _, d := range []float64{f.GrantDelaySeconds, f.RevokeDelaySeconds} {
		if math.IsNaN(d) || d < 0 || seconds(d) > min(rbac.MaxPropagation, MaxWindow) {
			return invalid("rbac: delays must be between 0 and %v seconds", min(rbac.MaxPropagation, MaxWindow).Seconds())
		}
	}
	return f.Lasting.validate("rbac")
}

func (f *Tokens) validate() error {
	if math.IsNaN(f.LifetimeSeconds) || f.LifetimeSeconds < 0 || (f.LifetimeSeconds > 0 && seconds(f.LifetimeSeconds) < MinLifetime) ||
		seconds(f.LifetimeSeconds) > entra.DefaultLifetime {
		return invalid("tokens: lifetimeSeconds must be 0 (Entra's lifetimes) or between %v and %v", MinLifetime.Seconds(), entra.DefaultLifetime.Seconds())
	}
	if math.IsNaN(f.ClockSkewSeconds) || math.Abs(f.ClockSkewSeconds) > MaxClockSkew.Seconds() {
		return invalid("tokens: clockSkewSeconds must be within ±%v", MaxClockSkew.Seconds())
	}
	return f.Lasting.validate("tokens")
}

func (f *Operations) validate() error {
	switch {
	case f.Polls < 0 || f.Polls > MaxPolls:
		return invalid("operations: polls must be between 0 and %d", MaxPolls)
	case math.IsNaN(f.MinDurationSeconds) || f.MinDurationSeconds < 0 || f.MinDurationSeconds > MaxWindow.Seconds(): // in seconds: a huge float overflows a Duration
		return invalid("operations: minDurationSeconds must be between 0 and %v", MaxWindow.Seconds())
	case f.RetryAfterSeconds < 0 || f.RetryAfterSeconds > MaxRetryAfter:
		return invalid("operations: retryAfterSeconds must be between 0 and %d", MaxRetryAfter)
	case f.Polls == 0 && f.MinDurationSeconds == 0:
		return invalid("operations: give polls or minDurationSeconds (or both), so operations take longer")
	}
	if f.RetryAfterSeconds == 0 {
		f.RetryAfterSeconds = 1
	}
	return f.Lasting.validate("operations")
}

// window is a live Window: when it ends and how many hits are left.
type window struct {
	until time.Time
	left  int // -1: no count bound
	frac  float64
	seen  uint64
}

func newWindow(w Window, now time.Time) *window {
	left := -1
	if w.Count > 0 {
		left = w.Count
	}
	return &window{until: now.Add(seconds(w.Seconds)), left: left, frac: w.Fraction}
}

func (w *window) active(now time.Time) bool {
	return w != nil && now.Before(w.until) && w.left != 0
}

// hit reports whether this request is faulted. The fraction is spread
// evenly and deterministically (the n-th request is hit when the running
// share crosses a whole number), so tests and scenarios are repeatable.
func (w *window) hit(now time.Time) bool {
	if !w.active(now) {
		return false
	}
	n := float64(w.seen)
	w.seen++
	if math.Floor((n+1)*w.frac) == math.Floor(n*w.frac) {
		return false
	}
	if w.left > 0 {
		w.left--
	}
	return true
}

func (w *window) report(in Window, now time.Time) Window {
	in.RemainingSeconds = math.Max(0, math.Round(w.until.Sub(now).Seconds()*10)/10)
	if w.left > 0 {
		in.RemainingCount = w.left
	}
	return in
}

// Injector holds one emulator's faults. It is safe for concurrent use.
type Injector struct {
	iss   *entra.Issuer
	store *rbac.Store
	now   func() time.Time
	// services are the names a Services fault may be limited to.
	services []string

	mu         sync.Mutex
	imds       *IMDS
	imdsWin    *window
	svc        *Services
	svcWin     *window
	rbacFault  *RBAC
	rbacUntil  time.Time
	tokenFault *Tokens
	tokenUntil time.Time
	opsFault   *Operations
	opsUntil   time.Time
	// pace applies an operations fault to Resource Manager (nil: the
	// emulator's own pacing again); see SetOperationsTarget.
	pace func(*Operations)
}

// New makes an injector with no faults for the emulator whose issuer and
// role assignments it may change; services are the names of the services
// it may fail (the emulator's service table).
func New(iss *entra.Issuer, store *rbac.Store, services ...string) *Injector {
	return &Injector{iss: iss, store: store, now: time.Now, services: services}
}

// SetClock replaces the real-time clock fault windows are measured with
// (tests). The emulated cloud's clock is the issuer's, which the tokens
// fault moves.
func (in *Injector) SetClock(now func() time.Time) {
	in.mu.Lock()
	in.now = now
	in.mu.Unlock()
}

// SetOperationsTarget names what an operations fault changes: pace is
// called with the fault when one is set, and with nil when it ends.
func (in *Injector) SetOperationsTarget(pace func(*Operations)) {
	in.mu.Lock()
	in.pace = pace
	in.mu.Unlock()
}

// Apply validates and sets one kind of fault from its JSON, replacing the
// fault of that kind.
func (in *Injector) Apply(kind string, raw []byte) error {
	dec := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return invalid("%s: %v", kind, err)
		}
		return nil
	}
	switch kind {
	case "imds":
		var f IMDS
		if err := dec(&f); err != nil {
			return err
		}
		return in.SetIMDS(f)
	case "services":
		var f Services
		if err := dec(&f); err != nil {
			return err
		}
		return in.SetServices(f)
	case "rbac":
		var f RBAC
		if err := dec(&f); err != nil {
			return err
		}
		return in.SetRBAC(f)
	case "tokens":
		var f Tokens
		if err := dec(&f); err != nil {
			return err
		}
		return in.SetTokens(f)
	case "operations":
		var f Operations
		if err := dec(&f); err != nil {
			return err
		}
		return in.SetOperations(f)
	}
	return invalid("unknown fault kind %q (want one of %s)", kind, strings.Join(Kinds, ", "))
}

// ApplySet sets every kind the set names (emulate --faults); nothing is
// set when any member is invalid.
func (in *Injector) ApplySet(s Set) error {
	if s.IMDS != nil {
		if err := s.IMDS.validate(); err != nil {
			return err
		}
	}
	if s.Services != nil {
		if err := s.Services.validate(in.services); err != nil {
			return err
		}
	}
	if s.RBAC != nil {
		if err := s.RBAC.validate(); err != nil {
			return err
		}
	}
	if s.Tokens != nil {
		if err := s.Tokens.validate(); err != nil {
			return err
		}
	}
	if s.Operations != nil {
		if err := s.Operations.validate(); err != nil {
			return err
		}
	}
	for _, set := range []func() error{
		func() error { return ifSet(s.IMDS, in.SetIMDS) },
		func() error { return ifSet(s.Services, in.SetServices) },
		func() error { return ifSet(s.RBAC, in.SetRBAC) },
		func() error { return ifSet(s.Tokens, in.SetTokens) },
		func() error { return ifSet(s.Operations, in.SetOperations) },
	} {
		if err := set(); err != nil {
			return err
		}
	}
	return nil
}

func ifSet[T any](v *T, set func(T) error) error {
	if v == nil {
		return nil
	}
	return set(*v)
}

// SetIMDS sets the IMDS fault.
func (in *Injector) SetIMDS(f IMDS) error {
	if err := f.validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.imds, in.imdsWin = &f, newWindow(f.Window, in.now())
	return nil
}

// SetServices sets the services fault.
func (in *Injector) SetServices(f Services) error {
	if err := f.validate(in.services); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.svc, in.svcWin = &f, newWindow(f.Window, in.now())
	return nil
}

// SetRBAC sets role assignment propagation delays.
func (in *Injector) SetRBAC(f RBAC) error {
	if err := f.validate(); err != nil {
		return err
	}
	in.store.SetPropagation(seconds(f.GrantDelaySeconds), seconds(f.RevokeDelaySeconds))
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rbacFault, in.rbacUntil = &f, in.now().Add(seconds(f.Seconds))
	in.expireLater(seconds(f.Seconds))
	return nil
}

// expireLater ends settings faults once their time is up even when no
// request comes to notice (expireLocked also runs on every request).
func (in *Injector) expireLater(d time.Duration) {
	time.AfterFunc(d+10*time.Millisecond, func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.expireLocked(in.now())
	})
}

// expireLocked ends the rbac and tokens faults whose time is up.
func (in *Injector) expireLocked(now time.Time) {
	if in.rbacFault != nil && !now.Before(in.rbacUntil) {
		in.resetLocked("rbac")
	}
	if in.tokenFault != nil && !now.Before(in.tokenUntil) {
		in.resetLocked("tokens")
	}
	if in.opsFault != nil && !now.Before(in.opsUntil) {
		in.resetLocked("operations")
	}
}

// SetOperations stretches the long-running operations begun from now on.
func (in *Injector) SetOperations(f Operations) error {
	if err := f.validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.pace == nil {
		return fmt.Errorf("operations: this emulator has no long-running operations to stretch")
	}
	in.pace(&f)
	in.opsFault, in.opsUntil = &f, in.now().Add(seconds(f.Seconds))
	in.expireLater(seconds(f.Seconds))
	return nil
}

// SetTokens sets the token lifetime and clock skew.
func (in *Injector) SetTokens(f Tokens) error {
	if err := f.validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.iss.SetLifetime(seconds(f.LifetimeSeconds))
	if f.ClockSkewSeconds != 0 {
		skew := seconds(f.ClockSkewSeconds)
		in.iss.SetClock(func() time.Time { return time.Now().Add(skew) })
	} else if in.tokenFault != nil && in.tokenFault.ClockSkewSeconds != 0 {
		in.iss.SetClock(time.Now) // undo the previous fault's skew only
	}
	in.tokenFault, in.tokenUntil = &f, in.now().Add(seconds(f.Seconds))
	in.expireLater(seconds(f.Seconds))
	return nil
}

// Reset removes the faults of one kind, or of every kind when kind is "".
// The issuer's clock is restored only when a tokens fault had moved it, so
// a test's own fixed clock survives a reset.
func (in *Injector) Reset(kind string) error {
	if kind != "" && !contains(Kinds, kind) {
		return invalid("unknown fault kind %q (want one of %s)", kind, strings.Join(Kinds, ", "))
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.resetLocked(kind)
	return nil
}

func (in *Injector) resetLocked(kind string) {
	if kind == "" || kind == "imds" {
		in.imds, in.imdsWin = nil, nil
	}
	if kind == "" || kind == "services" {
		in.svc, in.svcWin = nil, nil
	}
	if (kind == "" || kind == "rbac") && in.rbacFault != nil {
		in.store.SetPropagation(0, 0)
		in.rbacFault = nil
	}
	if (kind == "" || kind == "tokens") && in.tokenFault != nil {
		in.iss.SetLifetime(0)
		if in.tokenFault.ClockSkewSeconds != 0 {
			in.iss.SetClock(time.Now)
		}
		in.tokenFault = nil
	}
	if (kind == "" || kind == "operations") && in.opsFault != nil {
		if in.pace != nil {
			in.pace(nil)
		}
		in.opsFault = nil
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Current is the faults in force, with what is left of each window;
// windows that have ended are dropped.
func (in *Injector) Current() Set {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := in.now()
	in.expireLocked(now)
	var s Set
	if in.imds != nil && in.imdsWin.active(now) {
		f := *in.imds
		f.Window = in.imdsWin.report(f.Window, now)
		s.IMDS = &f
	}
	if in.svc != nil && in.svcWin.active(now) {
		f := *in.svc
		f.Window = in.svcWin.report(f.Window, now)
		s.Services = &f
	}
	if in.rbacFault != nil {
		f := *in.rbacFault
		f.RemainingSeconds = math.Max(0, math.Round(in.rbacUntil.Sub(now).Seconds()*10)/10)
		s.RBAC = &f
	}
	if in.tokenFault != nil {
		f := *in.tokenFault
		f.RemainingSeconds = math.Max(0, math.Round(in.tokenUntil.Sub(now).Seconds()*10)/10)
		s.Tokens = &f
	}
	if in.opsFault != nil {
		f := *in.opsFault
		f.RemainingSeconds = math.Max(0, math.Round(in.opsUntil.Sub(now).Seconds()*10)/10)
		s.Operations = &f
	}
	return s
}
