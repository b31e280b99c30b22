package arm

import (
	"net/http"
	"strings"
	"time"
)

// Virtual machine extensions: what the 2017 portal's "Enable MSI" installed
// (ManagedIdentityExtensionForWindows / ForLinux) and what its Extensions
// page lists. The emulator keeps them as tracked resources (so the resources
// list shows them and deleting the group or the VM removes them); the
// emulator opens or closes the VM's localhost:50342 listener from OnPut and
// OnDelete. https://learn.microsoft.com/rest/api/compute/virtual-machine-extensions
// (specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachine.json)

// TypeVMExtension is the resource type of a VM extension.
const TypeVMExtension = "Microsoft.Compute/virtualMachines/extensions"

func (s *Server) registerExtensionRoutes(vm string) {
	ext := vm + "/extensions/{vmExtensionName}"
	s.Handle("GET", ext, "Microsoft.Compute/virtualMachines/extensions/read", "2015-06-15", s.GetVirtualMachineExtension)
	s.Handle("PUT", ext, "Microsoft.Compute/virtualMachines/extensions/write", "2015-06-15", s.CreateOrUpdateVirtualMachineExtension)
	s.Handle("PATCH", ext, "Microsoft.Compute/virtualMachines/extensions/write", "2015-06-15", s.UpdateVirtualMachineExtension)
	s.Handle("DELETE", ext, "Microsoft.Compute/virtualMachines/extensions/delete", "2015-06-15", s.DeleteVirtualMachineExtension)
	s.Handle("GET", vm+"/extensions", "Microsoft.Compute/virtualMachines/extensions/read", "2015-06-15", s.ListVirtualMachineExtensions)
	// Extensions are child resources: they go with their VM.
	s.OnDelete(func(r Resource) {
		if strings.EqualFold(r.Type, typeVM) {
			for _, x := range s.VMExtensions(r.ID) {
				s.DeleteResource(x.ID)
			}
		}
	})
}

// VMExtensions lists the extensions installed on a VM.
func (s *Server) VMExtensions(vmID string) []Resource {
	prefix := strings.ToLower(vmID) + "/extensions/"
	return s.store.list(func(r *Resource) bool {
		return strings.EqualFold(r.Type, TypeVMExtension) && strings.HasPrefix(strings.ToLower(r.ID), prefix)
	})
}

// ExtensionName is an extension's own name; the store keeps the
// "{vm}/{extension}" name the resources list shows.
func ExtensionName(r Resource) string { return r.Name[strings.LastIndex(r.Name, "/")+1:] }

// extensionBody is VirtualMachineExtension as Compute renders it; while
// an operation on it runs, its provisioningState is the operation's
// ("Creating", "Updating").
func (s *Server) extensionBody(r Resource, state string) map[string]any {
	props := r.Properties
	if state != "" {
		props = map[string]any{}
		for k, v := range r.Properties {
			props[k] = v
		}
		props["provisioningState"] = state
	}
	b := map[string]any{"id": r.ID, "name": ExtensionName(r), "type": TypeVMExtension, "location": r.Location, "properties": props}
	if len(r.Tags) > 0 {
		b["tags"] = r.Tags
	}
	return b
}

// Compute's operation kinds, named by the provisioningState the resource
// shows while they run.
const (
	opCreating = "Creating"
	opUpdating = "Updating"
	opDeleting = "Deleting"
)

// extensionState is one look at an extension: the provisioningState of an
// operation still running on it, or "" (observe counts the look, as a GET
// of the resource does; lists only peek).
func (s *Server) extensionState(id string, observe bool) string {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	now := time.Now()
	state := ""
	for _, o := range s.ops.byID {
		if !strings.EqualFold(o.ResourceID, id) || (o.Kind != opCreating && o.Kind != opUpdating) {
			continue
		}
		if observe && o.observe(now) || !observe && !o.done {
			state = o.Kind
		}
	}
	return state
}

// parentVM checks the group and the VM an extension path names.
func (s *Server) parentVM(r *Request) (Resource, *Error) {
	if _, e := s.RequireGroup(r); e != nil {
		return Resource{}, e
	}
	vm, ok := s.VirtualMachine(s.vmID(r))
	if !ok {
		return Resource{}, Errorf(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '%s' not found.", r.Var("vmName"))
	}
	return vm, nil
}

func (s *Server) extensionID(r *Request, vm Resource) string {
	return vm.ID + "/extensions/" + r.Var("vmExtensionName")
}

func errExtensionNotFound(r *Request) *Error {
	return ErrResourceNotFound(TypeVMExtension, r.Var("vmName")+"/"+r.Var("vmExtensionName"), r.Var("resourceGroupName"))
}

// GetVirtualMachineExtension is Virtual Machine Extensions - Get.
func (s *Server) GetVirtualMachineExtension(r *Request) Response {
	vm, e := s.parentVM(r)
	if e != nil {
		return Fail(e)
	}
	x, ok := s.store.get(s.extensionID(r, vm))
	if !ok {
		return Fail(errExtensionNotFound(r))
	}
	return OK(s.extensionBody(x, s.extensionState(x.ID, true)))
}

// ListVirtualMachineExtensions is Virtual Machine Extensions - List: the
// portal's Extensions page.
func (s *Server) ListVirtualMachineExtensions(r *Request) Response {
	vm, e := s.parentVM(r)
	if e != nil {
		return Fail(e)
	}
	value := []any{}
	for _, x := range s.VMExtensions(vm.ID) {
		value = append(value, s.extensionBody(x, s.extensionState(x.ID, false)))
	}
	return OK(map[string]any{"value": value})
}

type extensionRequest struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *struct {
		Publisher               *string        `json:"publisher"`
		Type                    *string        `json:"type"`
		TypeHandlerVersion      *string        `json:"typeHandlerVersion"`
		AutoUpgradeMinorVersion *bool          `json:"autoUpgradeMinorVersion"`
		Settings                map[string]any `json:"settings"`
		// ProtectedSettings are accepted and never returned, as Compute does.
		ProtectedSettings map[string]any `json:"protectedSettings"`
	} `json:"properties"`
}

func errRequiredParameter(name string) *Error {
	return Errorf(400, "InvalidParameter", "Required parameter '%s' is missing (null).", name)
}

// CreateOrUpdateVirtualMachineExtension is Virtual Machine Extensions -
// Create Or Update, long-running as in Azure: 201 (200 for an update) with
// the extension "Creating" ("Updating") and an Azure-AsyncOperation to
// poll, no Location and no Retry-After (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/vm/tests/latest/recordings/test_vm_extension_instance_name.yaml,
// 2024-11-01). The emulator installs at once; only the answers are paced.
func (s *Server) CreateOrUpdateVirtualMachineExtension(r *Request) Response {
	return s.putExtension(r, false)
}

// UpdateVirtualMachineExtension is Virtual Machine Extensions - Update
// (PATCH): settings and version of an installed extension.
func (s *Server) UpdateVirtualMachineExtension(r *Request) Response {
	return s.putExtension(r, true)
}

func (s *Server) putExtension(r *Request, patch bool) Response {
	vm, e := s.parentVM(r)
	if e != nil {
		return Fail(e)
	}
	var body extensionRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	id := s.extensionID(r, vm)
	old, exists := s.store.get(id)
	if patch && !exists {
		return Fail(errExtensionNotFound(r))
	}
	// A PUT replaces the extension's properties, a PATCH changes those it
	// names.
	props := map[string]any{}
	if exists && patch {
		for k, v := range old.Properties {
			props[k] = v
		}
	}
	if body.Properties == nil && !patch {
		return Fail(errRequiredParameter("properties"))
	}
	if p := body.Properties; p != nil {
		set := func(k string, v *string) {
			if v != nil {
				props[k] = *v
			}
		}
		set("publisher", p.Publisher)
		set("type", p.Type)
		set("typeHandlerVersion", p.TypeHandlerVersion)
		if p.AutoUpgradeMinorVersion != nil {
			props["autoUpgradeMinorVersion"] = *p.AutoUpgradeMinorVersion
		}
		if p.Settings != nil {
			props["settings"] = p.Settings
		}
	}
	for _, k := range []string{"publisher", "type", "typeHandlerVersion"} {
		if v, _ := props[k].(string); v == "" {
			return Fail(errRequiredParameter(k))
		}
	}
	if exists && (!strings.EqualFold(props["publisher"].(string), old.Properties["publisher"].(string)) || !strings.EqualFold(props["type"].(string), old.Properties["type"].(string))) {
		return Fail(Errorf(400, "OperationNotAllowed", "Changing property 'type' or 'publisher' of extension '%s' is not allowed.", r.Var("vmExtensionName")))
	}
	if _, ok := props["autoUpgradeMinorVersion"]; !ok {
		props["autoUpgradeMinorVersion"] = false
	}
	props["provisioningState"] = "Succeeded"
	// An extension lives where its VM does, whatever location the body names.
	res := Resource{
		ID: id, Name: vm.Name + "/" + r.Var("vmExtensionName"), Type: TypeVMExtension, ResourceGroup: vm.ResourceGroup,
		Location: vm.Location, Tags: body.Tags, Properties: props, Created: time.Now().UTC(),
	}
	if exists {
		res.ID, res.Name, res.Created = old.ID, old.Name, old.Created
		if body.Tags == nil {
			res.Tags = old.Tags
		}
	}
	s.PutResource(res)
	kind, status := opCreating, http.StatusCreated
	if exists {
		kind, status = opUpdating, http.StatusOK
	}
	op := s.BeginOperation(res.ID, kind)
	return Response{status: status, body: s.extensionBody(res, kind), header: http.Header{
		"Azure-AsyncOperation":    {s.computeOperationURL(op.Kind, vm.Location, op.ID, r.APIVersion, false)},
		"Azure-AsyncNotification": {"Enabled"},
	}}
}

// DeleteVirtualMachineExtension is Virtual Machine Extensions - Delete,
// long-running as in Azure: 202 with no body, Azure-AsyncOperation and a
// Location (the same status resource with monitor=true) (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/vm/tests/latest/recordings/test_vm_extension_instance_name.yaml;
// Azure/azure-sdk-for-python
// sdk/compute/azure-mgmt-compute/tests/recordings/test_mgmt_compute.test_vm_extensions.yaml).
// 204 when there was nothing to delete. The emulator removes the
// extension (and closes its endpoint) at once; only the polls are paced.
func (s *Server) DeleteVirtualMachineExtension(r *Request) Response {
	vm, e := s.parentVM(r)
	if e != nil {
		return Fail(e)
	}
	x, found := s.DeleteResource(s.extensionID(r, vm))
	if !found {
		return Response{status: 204}
	}
	op := s.BeginOperation(x.ID, opDeleting)
	return Accepted(nil, http.Header{
		"Azure-AsyncOperation":    {s.computeOperationURL(op.Kind, vm.Location, op.ID, r.APIVersion, false)},
		"Location":                {s.computeOperationURL(op.Kind, vm.Location, op.ID, r.APIVersion, true)},
		"Azure-AsyncNotification": {"Enabled"},
	})
}
