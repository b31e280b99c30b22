package arm

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/emulator/state"
)

// ResourceGroup is a Microsoft.Resources/resourceGroups resource.
type ResourceGroup struct {
	Name     string
	Location string
	Tags     map[string]string
	// ManagedBy is the id of the resource that manages the group, when one
	// does ("managedBy" in the body).
	ManagedBy string `json:",omitempty"`
	Created   time.Time
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
	// SystemData is who created and last changed the resource, for the
	// providers that report it (nil: not shown).
	SystemData *SystemData `json:",omitempty"`
}

// SystemData is ARM's systemData block.
// https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/common-api-contracts.md#system-metadata-for-all-azure-resources
type SystemData struct {
	CreatedBy          string `json:"createdBy"`
	CreatedByType      string `json:"createdByType"`
	CreatedAt          string `json:"createdAt"`
	LastModifiedBy     string `json:"lastModifiedBy"`
	LastModifiedByType string `json:"lastModifiedByType"`
	LastModifiedAt     string `json:"lastModifiedAt"`
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
	// log keeps groups and resources across restarts (nil: memory only).
	// Writes are recorded under wmu, in the order memory sees them.
	log *state.Log
}

func groupKey(name string) string  { return "g/" + strings.ToLower(name) }
func resourceKey(id string) string { return "r/" + strings.ToLower(id) }

// persist loads what l holds and records every later change in it.
func (st *store) persist(l *state.Log) error {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	err := l.Each("g/", func(_ string, v []byte) error {
		var g ResourceGroup
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		st.groups[strings.ToLower(g.Name)] = &g
		return nil
	})
	if err == nil {
		err = l.Each("r/", func(_ string, v []byte) error {
			var r Resource
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			st.resources[strings.ToLower(r.ID)] = &r
			return nil
		})
	}
	if err != nil {
		return err
	}
	st.log = l
	// Memory changes only after the log took them (record), so a write
	// the disk refuses leaves nothing to undo and the log may go on.
	l.RecoverWrites()
	return nil
}

// record writes b to the log before memory takes the change (the caller
// holds wmu and applies the change after record returns), and returns the
// wait for its durability, to call once the locks are released so writers
// share fsyncs. A write the disk refuses (a full disk) releases wmu and
// panics with state.Failure: memory never held the change, so the log goes
// on and later writes succeed once there is space. Without a state dir
// both are free.
func (st *store) record(b *state.Batch) func() {
	t, err := st.log.Write(b)
	if err != nil {
		st.wmu.Unlock()
		panic(state.Failure{Err: err})
	}
	return func() { state.Must(st.log.Wait(t)) }
}

func putJSON(b *state.Batch, key string, v any) {
	state.Must(b.PutJSON(key, v))
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
	// Only writers change the maps, and they hold wmu: reading them
	// here needs no mu.
	k := strings.ToLower(g.Name)
	old, found := st.groups[k]
	if found {
		tags := g.Tags
		g = *old
		g.Tags = tags
	}
	var b state.Batch
	putJSON(&b, groupKey(g.Name), g)
	wait := st.record(&b)
	st.mu.Lock()
	c := g
	st.groups[k] = &c
	st.mu.Unlock()
	st.wmu.Unlock()
	wait()
	return g, !found
}

// deleteGroup removes a group and every resource in it, returning them.
func (st *store) deleteGroup(name string) ([]Resource, bool) {
	st.wmu.Lock()
	k := strings.ToLower(name)
	if _, ok := st.groups[k]; !ok {
		st.wmu.Unlock()
		return nil, false
	}
	// One batch: after a crash the group is gone with all its resources,
	// or still there with all of them.
	var b state.Batch
	b.Delete(groupKey(name))
	var gone []Resource
	var ids []string
	for id, r := range st.resources {
		if strings.EqualFold(r.ResourceGroup, name) {
			gone = append(gone, *r)
			ids = append(ids, id)
			b.Delete(resourceKey(id))
		}
	}
	wait := st.record(&b)
	st.mu.Lock()
	delete(st.groups, k)
	for _, id := range ids {
		delete(st.resources, id)
	}
	st.mu.Unlock()
	st.wmu.Unlock()
	wait()
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
	return st.putAll([]Resource{r})[0]
}

// putAll stores resources as one change (one log record: after a crash or
// a refused write, all of them or none) and reports which are new.
func (st *store) putAll(rs []Resource) []bool {
	var b state.Batch
	if st.log != nil {
		for _, r := range rs {
			putJSON(&b, resourceKey(r.ID), r)
		}
	}
	st.wmu.Lock()
	isNew := make([]bool, len(rs))
	for i, r := range rs {
		_, existed := st.resources[strings.ToLower(r.ID)]
		isNew[i] = !existed
	}
	wait := st.record(&b)
	st.mu.Lock()
	for _, r := range rs {
		c := r.clone()
		st.resources[strings.ToLower(r.ID)] = &c
	}
	st.mu.Unlock()
	st.wmu.Unlock()
	wait()
	return isNew
}

func (st *store) delete(id string) (Resource, bool) {
	st.wmu.Lock()
	k := strings.ToLower(id)
	r, ok := st.resources[k]
	if !ok {
		st.wmu.Unlock()
		return Resource{}, false
	}
	var b state.Batch
	b.Delete(resourceKey(id))
	wait := st.record(&b)
	st.mu.Lock()
	delete(st.resources, k)
	st.mu.Unlock()
	st.wmu.Unlock()
	wait()
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
	cur, ok := st.get(id)
	if !ok {
		st.wmu.Unlock()
		return Resource{}, nil, false
	}
	if err := fn(&cur); err != nil {
		st.wmu.Unlock()
		return Resource{}, err, true
	}
	c := cur.clone()
	var b state.Batch
	if st.log != nil {
		putJSON(&b, resourceKey(id), c)
	}
	wait := st.record(&b)
	st.mu.Lock()
	st.resources[strings.ToLower(id)] = &c
	st.mu.Unlock()
	st.wmu.Unlock()
	wait()
	return cur, nil, true
}

func (r Resource) clone() Resource {
	c := r
	if r.SystemData != nil {
		sd := *r.SystemData
		c.SystemData = &sd
	}
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
