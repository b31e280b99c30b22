package arm

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// ResourceGroup is a Microsoft.Resources/resourceGroups resource.
type ResourceGroup struct {
	Name     string
	Location string
	Tags     map[string]string
	Created  time.Time
}

// Resource is a tracked resource inside a resource group.
type Resource struct {
	// ID is the resource id with the casing it was created with.
	ID            string
	Name          string
	Type          string
	ResourceGroup string
	Location      string
	Tags          map[string]string
	Identity      *Identity
	// Properties is the RP-specific properties object.
	Properties map[string]any
	Created    time.Time
}

// Identity is the identity block of a resource with managed identities.
// https://learn.microsoft.com/rest/api/compute/virtual-machines/get (VirtualMachineIdentity)
type Identity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
	// UserAssigned maps identity resource ids to their principal and client ids.
	UserAssigned map[string]UserAssignedRef `json:"userAssignedIdentities,omitempty"`
}

// UserAssignedRef is one entry of identity.userAssignedIdentities.
type UserAssignedRef struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

// HasSystem reports whether the identity type includes SystemAssigned.
func (i *Identity) HasSystem() bool {
	return i != nil && strings.Contains(strings.ToLower(i.Type), "systemassigned")
}

// store keeps resource groups and resources, keyed by lower-cased names and
// ids since ARM matches them without regard to case.
type store struct {
	// wmu serializes writers, so update's callback can read the store
	// (through mu) while no other write interleaves.
	wmu       sync.Mutex
	mu        sync.RWMutex
	groups    map[string]*ResourceGroup
	resources map[string]*Resource
}

func newStore() *store {
	return &store{groups: map[string]*ResourceGroup{}, resources: map[string]*Resource{}}
}

func (st *store) group(name string) (ResourceGroup, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	g, ok := st.groups[strings.ToLower(name)]
	if !ok {
		return ResourceGroup{}, false
	}
	return *g, true
}

// putGroup creates or updates a group and reports whether it was created.
// An update keeps the original name casing, as ARM does.
func (st *store) putGroup(g ResourceGroup) (ResourceGroup, bool) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	k := strings.ToLower(g.Name)
	if old, ok := st.groups[k]; ok {
		old.Tags = g.Tags
		return *old, false
	}
	st.groups[k] = &g
	return g, true
}

// deleteGroup removes a group and every resource in it, returning them.
func (st *store) deleteGroup(name string) ([]Resource, bool) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	k := strings.ToLower(name)
	if _, ok := st.groups[k]; !ok {
		return nil, false
	}
	delete(st.groups, k)
	var gone []Resource
	for id, r := range st.resources {
		if strings.EqualFold(r.ResourceGroup, name) {
			gone = append(gone, *r)
			delete(st.resources, id)
		}
	}
	return gone, true
}

func (st *store) allGroups() []ResourceGroup {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]ResourceGroup, 0, len(st.groups))
	for _, g := range st.groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

func (st *store) get(id string) (Resource, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	r, ok := st.resources[strings.ToLower(id)]
	if !ok {
		return Resource{}, false
	}
	return r.clone(), true
}

// put stores a resource and reports whether it is new.
func (st *store) put(r Resource) bool {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	k := strings.ToLower(r.ID)
	_, existed := st.resources[k]
	c := r.clone()
	st.resources[k] = &c
	return !existed
}

func (st *store) delete(id string) (Resource, bool) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	k := strings.ToLower(id)
	r, ok := st.resources[k]
	if !ok {
		return Resource{}, false
	}
	delete(st.resources, k)
	return *r, true
}

// list returns the resources that match keep, ordered by id.
func (st *store) list(keep func(*Resource) bool) []Resource {
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []Resource
	for _, r := range st.resources {
		if keep(r) {
			out = append(out, r.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].ID) < strings.ToLower(out[j].ID) })
	return out
}

// update applies fn to the stored resource under the store lock, so
// read-modify-write of identities cannot interleave.
func (st *store) update(id string, fn func(*Resource) *Error) (Resource, *Error, bool) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	cur, ok := st.get(id)
	if !ok {
		return Resource{}, nil, false
	}
	if err := fn(&cur); err != nil {
		return Resource{}, err, true
	}
	st.mu.Lock()
	c := cur.clone()
	st.resources[strings.ToLower(id)] = &c
	st.mu.Unlock()
	return cur, nil, true
}

func (r Resource) clone() Resource {
	c := r
	if r.Tags != nil {
		c.Tags = make(map[string]string, len(r.Tags))
		for k, v := range r.Tags {
			c.Tags[k] = v
		}
	}
	if r.Identity != nil {
		id := *r.Identity
		if r.Identity.UserAssigned != nil {
			id.UserAssigned = make(map[string]UserAssignedRef, len(r.Identity.UserAssigned))
			for k, v := range r.Identity.UserAssigned {
				id.UserAssigned[k] = v
			}
		}
		c.Identity = &id
	}
	if r.Properties != nil {
		c.Properties = deepCopy(r.Properties).(map[string]any)
	}
	return c
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}
