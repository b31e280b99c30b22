package arm

import (
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// VirtualMachine returns a VM by resource id (IMDS reads the identity of the
// VM it runs on from here).
func (s *Server) VirtualMachine(id string) (Resource, bool) {
	res, found := s.store.get(id)
	if !found || !strings.EqualFold(res.Type, typeVM) {
		return Resource{}, false
	}
	return res, true
}

// VirtualMachineIdentity returns a VM's resource id and a copy of its
// identity, without copying its properties as VirtualMachine does: IMDS
// reads it on every token request.
func (s *Server) VirtualMachineIdentity(id string) (string, *Identity, bool) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	r, ok := s.store.resources[strings.ToLower(id)]
	if !ok || !strings.EqualFold(r.Type, typeVM) {
		return "", nil, false
	}
	if r.Identity == nil {
		return r.ID, nil, true
	}
	c := *r.Identity
	if r.Identity.UserAssigned != nil {
		c.UserAssigned = make(map[string]UserAssignedRef, len(r.Identity.UserAssigned))
		for k, v := range r.Identity.UserAssigned {
			c.UserAssigned[k] = v
		}
	}
	return r.ID, &c, true
}

// UserAssignedPrincipal resolves a user-assigned identity resource id to its
// principal.
func (s *Server) UserAssignedPrincipal(id string) (directory.Principal, bool) {
	return s.Dir.ByResourceID(id)
}

func (s *Server) vmID(r *Request) string {
	return s.ResourceID(r, "Microsoft.Compute", "virtualMachines", r.Var("vmName"))
}

// GetVirtualMachine is Virtual Machines - Get.
func (s *Server) GetVirtualMachine(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	res, found := s.store.get(s.vmID(r))
	if !found {
		return Fail(ErrResourceNotFound(typeVM, r.Var("vmName"), r.Var("resourceGroupName")))
	}
	return OK(s.TrackedBody(res))
}

// CreateOrUpdateVirtualMachine is Virtual Machines - Create Or Update. The
// emulator keeps the properties it is given and adds what Compute computes
// (vmId, provisioningState, timeCreated); only the identity has behaviour.
func (s *Server) CreateOrUpdateVirtualMachine(r *Request) Response {
	g, e := s.RequireGroup(r)
	if e != nil {
		return Fail(e)
	}
	var body trackedRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	id := s.vmID(r)
	if _, found := s.store.get(id); found {
		res, e, _ := s.store.update(id, func(res *Resource) *Error {
			if body.Identity != nil {
				if e := s.applyIdentity(r.Caller, res, body.Identity, false); e != nil {
					return e
				}
			}
			if body.Tags != nil {
				res.Tags = body.Tags
			}
			mergeProps(res.Properties, body.Properties)
			return nil
		})
		if e != nil {
			return Fail(e)
		}
		return OK(s.TrackedBody(res))
	}
	if body.Location == "" {
		return Fail(Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	props := body.Properties
	if props == nil {
		props = map[string]any{}
	}
	props["vmId"] = directory.NewGUID()
	props["provisioningState"] = "Succeeded"
	props["timeCreated"] = time.Now().UTC().Format(time.RFC3339Nano)
	if _, ok := props["hardwareProfile"]; !ok {
		props["hardwareProfile"] = map[string]any{"vmSize": "Standard_B2s"}
	}
	res := Resource{ID: id, Name: r.Var("vmName"), Type: typeVM, ResourceGroup: g.Name, Location: NormalizeLocation(body.Location), Tags: body.Tags, Properties: props, Created: time.Now().UTC()}
	side, e := s.completeVMProfiles(&res)
	if e != nil {
		return Fail(e)
	}
	if e := s.applyIdentity(r.Caller, &res, body.Identity, false); e != nil {
		return Fail(e)
	}
	for _, x := range side {
		s.store.put(x)
	}
	s.store.put(res)
	return Created(s.TrackedBody(res))
}

// UpdateVirtualMachine is Virtual Machines - Update (PATCH): what the portal's
// identity blade, `az vm identity assign` and Update-AzVM send.
func (s *Server) UpdateVirtualMachine(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	var body trackedRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	res, e, found := s.store.update(s.vmID(r), func(res *Resource) *Error {
		if e := s.applyIdentity(r.Caller, res, body.Identity, true); e != nil {
			return e
		}
		if body.Tags != nil {
			res.Tags = body.Tags
		}
		mergeProps(res.Properties, body.Properties)
		return nil
	})
	if !found {
		return Fail(ErrResourceNotFound(typeVM, r.Var("vmName"), r.Var("resourceGroupName")))
	}
	if e != nil {
		return Fail(e)
	}
	return OK(s.TrackedBody(res))
}

// DeleteVirtualMachine is Virtual Machines - Delete.
func (s *Server) DeleteVirtualMachine(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	if _, found := s.DeleteResource(s.vmID(r)); !found {
		return Response{status: 204}
	}
	return Response{status: 200}
}

// ListVirtualMachines is Virtual Machines - List (by resource group).
func (s *Server) ListVirtualMachines(r *Request) Response { return s.ListTyped(r, typeVM) }

// mergeProps applies a PATCH-style merge of properties, keeping the ones
// Compute owns.
func mergeProps(dst, src map[string]any) {
	for k, v := range src {
		switch k {
		case "vmId", "provisioningState", "timeCreated":
			continue
		}
		dst[k] = v
	}
}
