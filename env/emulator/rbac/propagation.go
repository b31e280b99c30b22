package rbac

import (
	"strings"
	"time"
)

// Azure RBAC is eventually consistent: a new role assignment can take up
// to 10 minutes to take effect, and a removed one goes on granting for a
// while (cached in the services).
// https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected
// By default the store applies changes at once; SetPropagation makes it
// behave like Azure for a fault scenario. Only enforcement (Allowed,
// HasAnyAt) lags: listing and reading assignments shows the change at once,
// as Resource Manager does.

// propagation is the store's delayed view; guarded by Store.mu.
type propagation struct {
	grant, revoke time.Duration
	now           func() time.Time
	// pending: lower-case assignment name -> when it takes effect.
	pending map[string]time.Time
	// lingering are removed assignments still enforced until their time.
	lingering []lingered
}

type lingered struct {
	a     Assignment
	until time.Time
}

// MaxPropagation bounds both delays: Azure documents up to 10 minutes
// (up to 30 for some cached cases); an emulator fault longer than that
// would only hang tests.
const MaxPropagation = 30 * time.Minute

// SetPropagation makes new assignments take effect grant after they are
// created, and removed ones keep granting for revoke after they are
// deleted. Zero for both restores immediate effect and forgets what was
// pending or lingering. Negative values count as zero; values above
// MaxPropagation are capped.
func (s *Store) SetPropagation(grant, revoke time.Duration) {
	clamp := func(d time.Duration) time.Duration { return min(max(d, 0), MaxPropagation) }
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prop.grant, s.prop.revoke = clamp(grant), clamp(revoke)
	if s.prop.grant == 0 {
		s.prop.pending = nil
	}
	if s.prop.revoke == 0 {
		s.prop.lingering = nil
	}
}

// Propagation returns the delays SetPropagation set.
func (s *Store) Propagation() (grant, revoke time.Duration) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.prop.grant, s.prop.revoke
}

// SetClock replaces the clock propagation delays are measured with (tests).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.prop.now = now
	s.mu.Unlock()
}

func (p *propagation) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// created records a new assignment (s.mu held for writing).
func (p *propagation) created(name string) {
	if p.grant == 0 {
		return
	}
	if p.pending == nil {
		p.pending = map[string]time.Time{}
	}
	p.pending[strings.ToLower(name)] = p.clock().Add(p.grant)
	p.prune()
}

// removed records a deleted assignment (s.mu held for writing).
func (p *propagation) removed(a Assignment) {
	delete(p.pending, strings.ToLower(a.Name))
	if p.revoke == 0 {
		return
	}
	p.lingering = append(p.lingering, lingered{a: a, until: p.clock().Add(p.revoke)})
	p.prune()
}

// prune forgets what has fully propagated, keeping the lists short.
func (p *propagation) prune() {
	now := p.clock()
	for k, at := range p.pending {
		if !now.Before(at) {
			delete(p.pending, k)
		}
	}
	keep := p.lingering[:0]
	for _, l := range p.lingering {
		if now.Before(l.until) {
			keep = append(keep, l)
		}
	}
	p.lingering = keep
}

// enforced calls fn with each assignment that is in force now: stored ones
// that have taken effect, and removed ones still lingering (s.mu held).
// fn returns true to stop.
func (s *Store) enforced(fn func(Assignment) bool) {
	now := s.prop.clock()
	for k, a := range s.byName {
		if at, ok := s.prop.pending[k]; ok && now.Before(at) {
			continue
		}
		if fn(a) {
			return
		}
	}
	for _, l := range s.prop.lingering {
		if now.Before(l.until) && fn(l.a) {
			return
		}
	}
}
