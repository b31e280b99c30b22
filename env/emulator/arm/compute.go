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

// UserAssignedPrincipal resolves a user-assigned identity resource id to its
// principal.
func (s *Server) UserAssignedPrincipal(id string) (directory.Principal, bool) {
	return s.Dir.ByResourceID(id)
}

func (s *Server) vmID(r *request) string {
	return s.resourceID(r, "Microsoft.Compute", "virtualMachines", r.v("vmName"))
}

// GetVirtualMachine is Virtual Machines - Get.
func (s *Server) GetVirtualMachine(r *request) response {
	if _, e := s.requireGroup(r); e != nil {
		return fail(e)
	}
	res, found := s.store.get(s.vmID(r))
	if !found {
		return fail(errResourceNotFound(typeVM, r.v("vmName"), r.v("resourceGroupName")))
	}
	return ok(s.trackedBody(res))
}

// CreateOrUpdateVirtualMachine is Virtual Machines - Create Or Update. The
// emulator keeps the properties it is given and adds what Compute computes
// (vmId, provisioningState, timeCreated); only the identity has behaviour.
func (s *Server) CreateOrUpdateVirtualMachine(r *request) response {
	g, e := s.requireGroup(r)
	if e != nil {
		return fail(e)
	}
	var body trackedRequest
	if e := r.decode(&body); e != nil {
		return fail(e)
	}
	id := s.vmID(r)
	if _, found := s.store.get(id); found {
		res, e, _ := s.store.update(id, func(res *Resource) *Error {
			if body.Identity != nil {
				if e := s.applyIdentity(r.caller, res, body.Identity, false); e != nil {
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
			return fail(e)
		}
		return ok(s.trackedBody(res))
	}
	if body.Location == "" {
		return fail(errorf(400, "LocationRequired", "The location property is required for this definition."))
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
	res := Resource{ID: id, Name: r.v("vmName"), Type: typeVM, ResourceGroup: g.Name, Location: normalizeLocation(body.Location), Tags: body.Tags, Properties: props, Created: time.Now().UTC()}
	if e := s.applyIdentity(r.caller, &res, body.Identity, false); e != nil {
		return fail(e)
	}
	s.store.put(res)
	return created(s.trackedBody(res))
}

// UpdateVirtualMachine is Virtual Machines - Update (PATCH): what the portal's
// identity blade, `az vm identity assign` and Update-AzVM send.
func (s *Server) UpdateVirtualMachine(r *request) response {
	if _, e := s.requireGroup(r); e != nil {
		return fail(e)
	}
	var body trackedRequest
	if e := r.decode(&body); e != nil {
		return fail(e)
	}
	res, e, found := s.store.update(s.vmID(r), func(res *Resource) *Error {
		if e := s.applyIdentity(r.caller, res, body.Identity, true); e != nil {
			return e
		}
		if body.Tags != nil {
			res.Tags = body.Tags
		}
		mergeProps(res.Properties, body.Properties)
		return nil
	})
	if !found {
		return fail(errResourceNotFound(typeVM, r.v("vmName"), r.v("resourceGroupName")))
	}
	if e != nil {
		return fail(e)
	}
	return ok(s.trackedBody(res))
}

// DeleteVirtualMachine is Virtual Machines - Delete.
func (s *Server) DeleteVirtualMachine(r *request) response {
	if _, e := s.requireGroup(r); e != nil {
		return fail(e)
	}
	res, found := s.store.delete(s.vmID(r))
	if !found {
		return response{status: 204}
	}
	s.forgetIdentities(res)
	return response{status: 200}
}

// ListVirtualMachines is Virtual Machines - List (by resource group).
func (s *Server) ListVirtualMachines(r *request) response { return s.listTyped(r, typeVM) }

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
