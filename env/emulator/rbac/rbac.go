package rbac

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/emulator/state"
)

// Assignment is a Microsoft.Authorization/roleAssignments resource.
type Assignment struct {
	// Name is the assignment's GUID (last segment of its id).
	Name  string
	Scope string
	// RoleDefinitionID is the full id of the role definition
	// (/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}).
	RoleDefinitionID string
	PrincipalID      string
	PrincipalType    string
	Description      string
	CreatedOn        time.Time
	UpdatedOn        time.Time
	CreatedBy        string
	UpdatedBy        string
}

// ID is the assignment's resource id.
func (a Assignment) ID() string {
	return strings.TrimSuffix(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name
}

// RoleGUID is the role definition GUID the assignment names.
func (a Assignment) RoleGUID() string {
	i := strings.LastIndex(a.RoleDefinitionID, "/")
	return a.RoleDefinitionID[i+1:]
}

// Store holds the role assignments of the emulated tenant. It is safe for
// concurrent use.
type Store struct {
	mu     sync.RWMutex
	byName map[string]Assignment // lower-case name -> assignment
	roles  map[string]RoleDefinition
	prop   propagation // delayed enforcement (propagation.go)
	// log keeps the assignments across restarts (nil: memory only).
	log *state.Log
}

// Persist loads the assignments l holds and records every later change in
// it.
func (s *Store) Persist(l *state.Log) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := l.Each(assignmentKey(""), func(_ string, v []byte) error {
		var a Assignment
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		s.byName[strings.ToLower(a.Name)] = a
		return nil
	}); err != nil {
		return err
	}
	s.log = l
	// Memory changes only after the log took them (record), so a write
	// the disk refuses leaves nothing to undo and the log may go on.
	l.RecoverWrites()
	return nil
}

func assignmentKey(name string) string { return "a/" + strings.ToLower(name) }

// record writes b to the log under s.mu, before memory takes the change,
// and returns the wait for its durability, to call after unlocking. When
// the disk refuses the write (a full disk) it returns the error and the
// caller leaves memory as it was, so the log goes on and later writes
// succeed once there is space.
func (s *Store) record(b *state.Batch) (func() error, error) {
	t, err := s.log.Write(b)
	if err != nil {
		return nil, err
	}
	return func() error { return s.log.Wait(t) }, nil
}

// NewStore makes a store that knows the built-in roles.
func NewStore() *Store {
	s := &Store{byName: map[string]Assignment{}, roles: map[string]RoleDefinition{}}
	for _, r := range BuiltinRoles {
		s.roles[strings.ToLower(r.ID)] = r
	}
	return s
}

// Role finds a role definition by GUID.
func (s *Store) Role(guid string) (RoleDefinition, bool) {
	r, ok := s.roles[strings.ToLower(guid)]
	return r, ok
}

// RoleByName finds a built-in role by its display name, case-insensitively.
func (s *Store) RoleByName(name string) (RoleDefinition, bool) {
	for _, r := range s.roles {
		if strings.EqualFold(r.RoleName, name) {
			return r, true
		}
	}
	return RoleDefinition{}, false
}

// Roles lists the role definitions ordered by name.
func (s *Store) Roles() []RoleDefinition {
	out := make([]RoleDefinition, 0, len(s.roles))
	for _, r := range s.roles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RoleName < out[j].RoleName })
	return out
}

// ErrExists is returned by Create when the same principal already has the same
// role at the same scope (ARM's RoleAssignmentExists), with the existing id.
type ErrExists struct{ ExistingName string }

func (e ErrExists) Error() string { return "The role assignment already exists." }

// ErrNameTaken is returned by Create when an assignment of that name exists
// at another scope: names are unique in the subscription, and Azure refuses
// the PUT (RoleAssignmentUpdateNotPermitted) rather than moving it.
type ErrNameTaken struct{ Existing Assignment }

func (e ErrNameTaken) Error() string {
	return "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."
}

// Create adds an assignment. Azure refuses a second assignment of the same role
// to the same principal at the same scope, whatever its name.
func (s *Store) Create(a Assignment) error {
	var b state.Batch
	if err := b.PutJSON(assignmentKey(a.Name), a); err != nil {
		return err
	}
	s.mu.Lock()
	if x, ok := s.byName[strings.ToLower(a.Name)]; ok && normScope(x.Scope) != normScope(a.Scope) {
		s.mu.Unlock()
		return ErrNameTaken{Existing: x}
	}
	for _, x := range s.byName {
		if strings.EqualFold(x.PrincipalID, a.PrincipalID) && strings.EqualFold(x.RoleGUID(), a.RoleGUID()) &&
			normScope(x.Scope) == normScope(a.Scope) && !strings.EqualFold(x.Name, a.Name) {
			s.mu.Unlock()
			return ErrExists{ExistingName: x.Name}
		}
	}
	wait, err := s.record(&b)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.byName[strings.ToLower(a.Name)] = a
	s.prop.created(a.Name)
	s.mu.Unlock()
	return wait()
}

// Get returns the assignment with that name at that scope.
func (s *Store) Get(scope, name string) (Assignment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byName[strings.ToLower(name)]
	if !ok || normScope(a.Scope) != normScope(scope) {
		return Assignment{}, false
	}
	return a, true
}

// Delete removes the assignment and returns it; it panics with
// state.Failure if the state log cannot record the removal.
func (s *Store) Delete(scope, name string) (Assignment, bool) {
	s.mu.Lock()
	a, ok := s.byName[strings.ToLower(name)]
	if !ok || normScope(a.Scope) != normScope(scope) {
		s.mu.Unlock()
		return Assignment{}, false
	}
	var b state.Batch
	b.Delete(assignmentKey(name))
	wait, err := s.record(&b)
	if err != nil {
		s.mu.Unlock()
		state.Must(err)
	}
	delete(s.byName, strings.ToLower(name))
	s.prop.removed(a)
	s.mu.Unlock()
	state.Must(wait())
	return a, true
}

// DeleteUnder removes every assignment at scope or below (a deleted resource
// group takes its assignments with it); it panics with state.Failure if the
// state log cannot record the removal.
func (s *Store) DeleteUnder(scope string) {
	state.Must(s.TryDeleteUnder(scope))
}

// TryDeleteUnder is DeleteUnder returning the log's refusal (a full disk),
// with every assignment left in place.
func (s *Store) TryDeleteUnder(scope string) error {
	var b state.Batch
	var gone []string
	s.mu.Lock()
	for k, a := range s.byName {
		if Contains(scope, a.Scope) {
			gone = append(gone, k)
			b.Delete(assignmentKey(k))
		}
	}
	if len(gone) == 0 {
		s.mu.Unlock()
		return nil
	}
	wait, err := s.record(&b)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	for _, k := range gone {
		s.prop.removed(s.byName[k])
		delete(s.byName, k)
	}
	s.mu.Unlock()
	return wait()
}

// List returns assignments that apply at scope: those at scope, above it and,
// when below is true, those beneath it too (ARM's list at scope without and
// with atScope()). Ordered by id.
func (s *Store) List(scope string, below bool) []Assignment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Assignment
	for _, a := range s.byName {
		if Contains(a.Scope, scope) || (below && Contains(scope, a.Scope)) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Allowed reports whether principal may perform action at scope: some role
// assigned to it at the scope or an ancestor lists the action (or a wildcard
// of it) in its actions (dataActions when data is true) and not in its
// notActions. https://learn.microsoft.com/azure/role-based-access-control/role-definitions#notactions
// Only assignments in force count (see SetPropagation).
func (s *Store) Allowed(principalID, action, scope string, data bool) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	allowed := false
	s.enforced(func(a Assignment) bool {
		if !strings.EqualFold(a.PrincipalID, principalID) || !Contains(a.Scope, scope) {
			return false
		}
		role, ok := s.roles[strings.ToLower(a.RoleGUID())]
		allowed = ok && role.Grants(action, data)
		return allowed
	})
	return allowed
}

// HasAnyAt reports whether the principal has some assignment at scope, above
// it or below it: what decides whether a subscription is visible to it.
func (s *Store) HasAnyAt(principalID, scope string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	found := false
	s.enforced(func(a Assignment) bool {
		found = strings.EqualFold(a.PrincipalID, principalID) && (Contains(a.Scope, scope) || Contains(scope, a.Scope))
		return found
	})
	return found
}

// Grants reports whether the role grants the action.
func (r RoleDefinition) Grants(action string, data bool) bool {
	for _, p := range r.Permissions {
		allow, deny := p.Actions, p.NotActions
		if data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		if matchAny(allow, action) && !matchAny(deny, action) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if Match(p, action) {
			return true
		}
	}
	return false
}

// Match reports whether an Azure RBAC action pattern matches an action. "*"
// matches any run of characters, slashes included ("*/read",
// "Microsoft.Authorization/*/Delete"), and a "/*/" segment also matches no
// segment at all: Managed Identity Operator's
// "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action" grants
// "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action".
// Comparison ignores case.
func Match(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	if glob(p, a) {
		return true
	}
	// Try each "/*/" collapsed to "/" (patterns hold one or two of them).
	for i := strings.Index(p, "/*/"); i >= 0; {
		if Match(p[:i]+p[i+2:], a) {
			return true
		}
		j := strings.Index(p[i+1:], "/*/")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// glob matches p against a, where '*' matches any run of characters.
func glob(p, a string) bool {
	// Iterative glob with a single backtrack point per star.
	pi, ai, star, mark := 0, 0, -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case pi < len(p) && p[pi] == a[ai]:
			pi++
			ai++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Contains reports whether scope outer is inner or an ancestor of it
// ("/" is the root above every subscription).
func Contains(outer, inner string) bool {
	o, i := normScope(outer), normScope(inner)
	return o == "" || o == i || strings.HasPrefix(i, o+"/")
}

func normScope(s string) string { return strings.TrimSuffix(strings.ToLower(s), "/") }

// RoleDefinitionID is the full id of a role definition as seen from a subscription.
func RoleDefinitionID(subscription, guid string) string {
	return fmt.Sprintf("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s", subscription, guid)
}
