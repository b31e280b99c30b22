package arm

import (
	"strings"

	"github.com/miconform/miconform/env/emulator/state"
)

// This file is the API through which a service package (blob, keyvault,
// sql) adds its resource provider to Resource Manager: routes with their
// RBAC action through Handle, tracked resources kept in the shared store (so
// the resources list, $filter and resource group deletion see them), and a
// hook to drop its own data when a resource goes.

// GetResource returns a tracked resource by id (compared without regard to case).
func (s *Server) GetResource(id string) (Resource, bool) { return s.store.get(id) }

// PutResource stores a tracked resource, runs the put hooks and reports
// whether it is new.
func (s *Server) PutResource(r Resource) bool {
	isNew := s.store.put(r)
	for _, fn := range s.onPut {
		fn(r)
	}
	return isNew
}

// TryPutResource is PutResource for a provider that changed its own state
// first and must undo it when Resource Manager's state dir refuses the
// resource (a full disk): the refusal is returned instead of answering the
// request with a 500 (nothing was stored, no put hook ran). Answer it with
// Fail(StoreFailure(err)).
func (s *Server) TryPutResource(r Resource) (isNew bool, err error) {
	news, err := s.TryPutResources(r)
	if err != nil {
		return false, err
	}
	return news[0], nil
}

// TryPutResources is TryPutResource for resources that are one change (a
// server and its admin): they are stored in one write, so a refusal leaves
// none of them, and success all of them; isNew says which are new.
func (s *Server) TryPutResources(rs ...Resource) (isNew []bool, err error) {
	if err := state.Catch(func() { isNew = s.store.putAll(rs) }); err != nil {
		return nil, err
	}
	for _, r := range rs {
		for _, fn := range s.onPut {
			fn(r)
		}
	}
	return isNew, nil
}

// OnPut registers fn to run after PutResource stores a resource (services
// whose state follows a resource's existence, such as the VM extension's
// listener, watch it here).
func (s *Server) OnPut(fn func(Resource)) { s.onPut = append(s.onPut, fn) }

// UpdateResource applies fn to a stored resource atomically.
func (s *Server) UpdateResource(id string, fn func(*Resource) *Error) (Resource, *Error, bool) {
	return s.store.update(id, fn)
}

// DeleteResource removes a tracked resource, runs the delete hooks and
// returns it.
func (s *Server) DeleteResource(id string) (Resource, bool) {
	r, ok := s.store.delete(id)
	if ok {
		s.deleted(r)
	}
	return r, ok
}

// Resources lists tracked resources of a type (all types when typ is "").
func (s *Server) Resources(typ string) []Resource {
	return s.store.list(func(r *Resource) bool { return typ == "" || strings.EqualFold(r.Type, typ) })
}

// OnDelete registers fn to run after any tracked resource is deleted,
// directly or with its resource group.
func (s *Server) OnDelete(fn func(Resource)) { s.onDelete = append(s.onDelete, fn) }

func (s *Server) deleted(r Resource) {
	s.forgetIdentities(r)
	for _, fn := range s.onDelete {
		fn(r)
	}
}

// Group returns a resource group by name.
func (s *Server) Group(name string) (ResourceGroup, bool) { return s.store.group(name) }
