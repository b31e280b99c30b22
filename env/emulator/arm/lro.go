package arm

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Long-running operations. Azure answers a create it cannot finish at once
// with 201/202 and a URL to poll (Location, Azure-AsyncOperation) or with a
// non-terminal provisioningState, and the resource provider finishes the work
// in the background; clients (azcore pollers, `az ... --no-wait` off) poll
// until a terminal state and then read the resource.
// https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/async-api-reference.md
//
// The emulator does the work at once, and only its answers are paced: an
// operation reports "in progress" for LRO.Polls observations (a poll of its
// URL, or a GET of its resource) and at least LRO.MinDuration, then done.
// Counting observations rather than time keeps the suite fast and the
// answers deterministic; MinDuration stretches it for clients whose waiting
// is what a scenario exercises.

// LROTiming paces long-running operations.
type LROTiming struct {
	// Polls is how many observations answer "in progress" before the
	// operation is done (default 1: Azure's recordings always show at
	// least one).
	Polls int
	// MinDuration is the least time an operation stays in progress.
	MinDuration time.Duration
	// RetryAfter is the Retry-After (seconds) sent with "in progress"
	// answers, where the resource provider sends one. Azure sends 17
	// (Storage), 1 to 20 (SQL); the default 1 keeps a client that honours
	// it quick without making it fall back to its own (30 s for azcore).
	RetryAfter int
}

// DefaultLROTiming is the pacing New sets.
var DefaultLROTiming = LROTiming{Polls: 1, RetryAfter: 1}

// Operation is one long-running operation of a resource.
type Operation struct {
	// ID is the operation id, the last segment of its polling URLs.
	ID string
	// ResourceID is the resource the operation creates or changes.
	ResourceID string
	// Kind is the resource provider's operation name
	// (e.g. "UpsertLogicalServer").
	Kind string
	// Start is when the request was accepted.
	Start time.Time

	// End is when the operation was first seen done (zero before).
	End time.Time

	left      int
	notBefore time.Time
	done      bool
}

// operations holds the operations in flight, in memory only: after a
// restart nothing is pending, every resource is in its final state.
type operations struct {
	mu   sync.Mutex
	byID map[string]*Operation
}

// SetLRO changes the pacing of operations begun from now on, safely
// while the server runs (a fault that stretches creates can call it).
func (s *Server) SetLRO(t LROTiming) {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	s.LRO = t
}

// BeginOperation starts a long-running operation on resourceID.
func (s *Server) BeginOperation(resourceID, kind string) *Operation {
	now := time.Now().UTC()
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	op := &Operation{ID: directory.NewGUID(), ResourceID: resourceID, Kind: kind, Start: now,
		left: s.LRO.Polls, notBefore: now.Add(s.LRO.MinDuration)}
	if s.ops.byID == nil {
		s.ops.byID = map[string]*Operation{}
	}
	// Forget finished and abandoned operations, as Azure forgets them.
	for id, o := range s.ops.byID {
		if o.done && now.Sub(o.Start) > time.Hour || now.Sub(o.Start) > 24*time.Hour {
			delete(s.ops.byID, id)
		}
	}
	s.ops.byID[op.ID] = op
	return op
}

// observe counts one look at the operation and reports whether it is still
// in progress.
func (op *Operation) observe(now time.Time) bool {
	if op.done {
		return false
	}
	if op.left > 0 {
		op.left--
		return true
	}
	if now.Before(op.notBefore) {
		return true
	}
	op.done, op.End = true, now.UTC()
	return false
}

// PollOperation is one poll of an operation's URL: whether it exists and
// whether it is still in progress.
func (s *Server) PollOperation(id string) (op Operation, inProgress, found bool) {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	o, ok := s.ops.byID[strings.ToLower(id)]
	if !ok {
		return Operation{}, false, false
	}
	inProgress = o.observe(time.Now())
	return *o, inProgress, true
}

// ObserveResource is one GET of a resource: it reports whether an
// operation on it is still in progress (the resource then shows its
// provider's transitional provisioningState).
func (s *Server) ObserveResource(resourceID string) bool {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	pending := false
	now := time.Now()
	for _, o := range s.ops.byID {
		if strings.EqualFold(o.ResourceID, resourceID) && o.observe(now) {
			pending = true
		}
	}
	return pending
}

// PendingKind reports the kind of an operation on resourceID still in
// progress, among kinds (a provider's operations that show a transitional
// provisioningState), and whether there is one. With observe, the look
// counts as an observation (a GET of the resource); lists pass false.
func (s *Server) PendingKind(resourceID string, observe bool, kinds ...string) (string, bool) {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	now := time.Now()
	kind, pending := "", false
	for _, o := range s.ops.byID {
		if !strings.EqualFold(o.ResourceID, resourceID) || !containsFold(kinds, o.Kind) {
			continue
		}
		if observe && o.observe(now) || !observe && !o.done {
			kind, pending = o.Kind, true
		}
	}
	return kind, pending
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// ResourcePending reports, without counting it as an observation, whether
// an operation on resourceID is still in progress (lists show
// the transitional state without advancing it).
func (s *Server) ResourcePending(resourceID string) bool {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	for _, o := range s.ops.byID {
		if strings.EqualFold(o.ResourceID, resourceID) && !o.done {
			return true
		}
	}
	return false
}

// RetryAfter is the Retry-After header value of "in progress" answers.
func (s *Server) RetryAfter() string {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	return strconv.Itoa(s.LRO.RetryAfter)
}

// OperationURL is an absolute URL on this Resource Manager for path (which
// starts with "/") with the request's api-version.
func (s *Server) OperationURL(path, apiVersion string) string {
	return "https://" + s.Cloud.ARMHost + path + "?api-version=" + apiVersion
}

// Accepted is a 202 answer with the polling headers and an optional body.
func Accepted(body any, header http.Header) Response {
	return Response{status: http.StatusAccepted, body: body, header: header}
}

// WithHeader returns r with header h added (Location on a 201, ...).
func (r Response) WithHeader(k, v string) Response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
	return r
}
