package arm

import (
	"net/http"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/state"
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

// Long-running VM operations, as Compute answers them (Azure/azure-sdk-for-net
// sdk/compute/Azure.ResourceManager.Compute/tests/SessionRecords/VirtualMachineCollectionTests/CreateOrUpdate()[2023-03-01].json,
// VirtualMachineOperationsTests/Update()[2023-03-01].json and
// VirtualMachineOperationsTests/Delete()[2023-03-01].json): a create is 201
// with the VM in provisioningState Creating, an update (PUT or PATCH) 200
// with Updating, both with an Azure-AsyncOperation to poll; a delete is 202
// with Azure-AsyncOperation, Location (?monitor=true) and Retry-After and
// no body. The status resource is
// /subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/operations/{id}?p={partition}.
const (
	opCreateVM = "CreateVirtualMachine"
	opUpdateVM = "UpdateVirtualMachine"
	opDeleteVM = "DeleteVirtualMachine"
)

// vmTransitional is the provisioningState a VM shows while an operation
// of that kind runs.
var vmTransitional = map[string]string{opCreateVM: "Creating", opUpdateVM: "Updating"}

// computePartition stands for the p= query parameter Compute adds to its
// polling URLs (the same GUID for every operation of a region's fleet).
var computePartition = directory.NewGUID()

// computeOperationURL is a Compute status (or, with monitor, result) URL.
func (s *Server) computeOperationURL(kind, location, id, apiVersion string, monitor bool) string {
	seg := "operations"
	if kind == opDeleteDisk {
		seg = "DiskOperations"
	}
	q := "?p=" + computePartition
	if monitor {
		q += "&monitor=true"
	}
	return "https://" + s.Cloud.ARMHost + "/subscriptions/" + s.SubscriptionID + "/providers/Microsoft.Compute/locations/" + location + "/" + seg + "/" + id + q + "&api-version=" + apiVersion
}

// vmBody renders a VM, in state when state is not "" (a transitional
// provisioningState while an operation runs).
func (s *Server) vmBody(res Resource, state string) map[string]any {
	if state != "" {
		res.Properties["provisioningState"] = state
	}
	return s.TrackedBody(res)
}

// vmState is the VM's transitional provisioningState while a create or
// update of it runs ("" otherwise); observe counts the look as a GET.
func (s *Server) vmState(id string, observe bool) string {
	kind, pending := s.PendingKind(id, observe, opCreateVM, opUpdateVM)
	if !pending {
		return ""
	}
	return vmTransitional[kind]
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
	return computeAnswer(OK(s.vmBody(res, s.vmState(res.ID, true))), bucketGet)
}

// vmAccepted adds what Compute sends with a VM write it runs in the
// background: the operation's Azure-AsyncOperation and, for a create,
// Retry-After (the recorded update sends none).
func (s *Server) vmAccepted(r *Request, resp Response, res Resource, kind string) Response {
	op := s.BeginOperation(res.ID, kind)
	resp = computeAnswer(resp, bucketPutVM).WithHeader("Azure-AsyncNotification", "Enabled")
	resp = resp.WithHeader("Azure-AsyncOperation", s.computeOperationURL(kind, res.Location, op.ID, r.APIVersion, false))
	if kind == opCreateVM {
		resp = resp.WithHeader("Retry-After", s.RetryAfter())
	}
	return resp
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
		return s.updateVM(r, id, body, false)
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
	fx, e := s.applyIdentity(r.Caller, &res, body.Identity, false)
	if e != nil {
		return Fail(e)
	}
	// The VM and what comes with it (its OS disk, ...) are one write.
	refused := state.Catch(func() { s.store.putAll(append(side, res)) })
	s.settle(fx, refused)
	if refused != nil {
		return Fail(StoreFailure(refused))
	}
	// The 201 is written before Compute has made the OS disk: it names
	// neither the disk nor its id yet (recorded).
	created := res.clone()
	if osDisk, ok := dig(created.Properties, "storageProfile", "osDisk").(map[string]any); ok {
		delete(osDisk, "name")
		if md, ok := osDisk["managedDisk"].(map[string]any); ok {
			delete(md, "id")
		}
	}
	return s.vmAccepted(r, Created(s.vmBody(created, "Creating")), res, opCreateVM)
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
	return s.updateVM(r, s.vmID(r), body, true)
}

// updateVM changes an existing VM as a PUT (patch false) or PATCH does:
// its identity (the directory following the write, see settle), tags and
// properties, in one write.
func (s *Server) updateVM(r *Request, id string, body trackedRequest, patch bool) Response {
	var fx identityEffects
	var res Resource
	var e *Error
	var found bool
	refused := state.Catch(func() {
		res, e, found = s.store.update(id, func(res *Resource) *Error {
			var e *Error
			if fx, e = s.applyIdentity(r.Caller, res, body.Identity, patch); e != nil {
				return e
			}
			if body.Tags != nil {
				res.Tags = body.Tags
			}
			mergeProps(res.Properties, body.Properties)
			return nil
		})
	})
	s.settle(fx, refused)
	if refused != nil {
		return Fail(StoreFailure(refused))
	}
	if !found {
		return Fail(ErrResourceNotFound(typeVM, r.Var("vmName"), r.Var("resourceGroupName")))
	}
	if e != nil {
		return Fail(e)
	}
	return s.vmAccepted(r, OK(s.vmBody(res, "Updating")), res, opUpdateVM)
}

// DeleteVirtualMachine is Virtual Machines - Delete: 202 and an operation
// to poll, or 204 when there is no such VM. The VM (and what goes with it)
// is gone at once; only the operation's answers are paced.
func (s *Server) DeleteVirtualMachine(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	res, found := s.DeleteResource(s.vmID(r))
	if !found {
		return Response{status: 204}
	}
	op := s.BeginOperation(res.ID, opDeleteVM)
	return computeAnswer(Status(202, http.Header{
		"Azure-AsyncNotification": {"Enabled"},
		"Azure-AsyncOperation":    {s.computeOperationURL(opDeleteVM, res.Location, op.ID, r.APIVersion, false)},
		"Location":                {s.computeOperationURL(opDeleteVM, res.Location, op.ID, r.APIVersion, true)},
		"Retry-After":             {s.RetryAfter()},
	}), bucketDelVM)
}

// ListVirtualMachines is Virtual Machines - List (by resource group).
func (s *Server) ListVirtualMachines(r *Request) Response {
	return computeAnswer(s.ListInGroup(r, typeVM, func(res Resource) any { return s.vmBody(res, s.vmState(res.ID, false)) }), bucketList)
}

// registerOperationRoutes serves the status resources of Compute's and
// Network's long-running operations.
func (s *Server) registerOperationRoutes(sub string) {
	s.Handle("GET", sub+"/providers/Microsoft.Compute/locations/{location}/operations/{operationId}", "", "2015-06-15",
		func(r *Request) Response {
			return computeAnswer(s.computeOperation(r, opCreateVM, opUpdateVM, opDeleteVM, opCreating, opUpdating, opDeleting), bucketPoll)
		})
	s.Handle("GET", sub+"/providers/Microsoft.Compute/locations/{location}/DiskOperations/{operationId}", "", "2016-04-30",
		func(r *Request) Response { return diskAnswer(s.computeOperation(r, opDeleteDisk), bucketPoll) })
	s.Handle("GET", sub+"/providers/Microsoft.Network/locations/{location}/operations/{operationId}", "", "2015-06-15",
		func(r *Request) Response { return networkAnswer(s.networkOperation(r)) })
	s.Handle("GET", sub+"/providers/Microsoft.Network/locations/{location}/operationResults/{operationId}", "", "2015-06-15",
		func(r *Request) Response { return networkAnswer(s.networkOperationResult(r)) })
}

// computeOperation answers a poll of a Compute operation. The status
// resource is {"startTime","status","name"} (and "endTime" when done),
// 200 either way, with Retry-After while in progress; the ?monitor=true
// Location answers 202 while in progress, then 200 without a body
// (Azure/azure-sdk-for-net
// sdk/compute/Azure.ResourceManager.Compute/tests/SessionRecords/VirtualMachineOperationsTests/Update()[2023-03-01].json;
// disks: DiskOperationsTests/Delete().json).
func (s *Server) computeOperation(r *Request, kinds ...string) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	op, inProgress, found := s.PollOperation(r.Var("operationId"))
	if !found || !containsFold(kinds, op.Kind) {
		// [unverified: no recording polls an unknown operation; the shape
		// is Resource Manager's error, the words Compute's for a missing
		// entity.]
		return Fail(Errorf(404, "NotFound", "The entity was not found in this Azure location."))
	}
	if r.URL.Query().Get("monitor") == "true" {
		if inProgress {
			return Status(202, http.Header{
				"Location":    {s.computeOperationURL(op.Kind, r.Var("location"), op.ID, r.APIVersion, true)},
				"Retry-After": {s.RetryAfter()},
			})
		}
		return Status(200, nil)
	}
	body := map[string]any{"startTime": computeTime(op.Start), "status": "Succeeded", "name": op.ID}
	if inProgress {
		body["status"] = "InProgress"
		return OK(body).WithHeader("Retry-After", s.RetryAfter())
	}
	body["endTime"] = computeTime(op.End)
	return OK(body)
}

// Headers Compute's and Network's front ends add to their answers
// (Server, twice: Resource Manager's and the provider's), the remaining
// calls of Compute's throttling buckets by kind of call, Disks' serving
// instance and Network's own request id, as the recordings cited in
// compute_*.json and network_*.json show them. The bucket counts are
// fixed: nothing here is throttled.
const (
	bucketGet    = "Microsoft.Compute/LowCostGet3Min;3999,Microsoft.Compute/LowCostGet30Min;31999"
	bucketList   = "Microsoft.Compute/HighCostGet3Min;239,Microsoft.Compute/HighCostGet30Min;1199"
	bucketPutVM  = "Microsoft.Compute/PutVM3Min;239,Microsoft.Compute/PutVM30Min;1199"
	bucketDelVM  = "Microsoft.Compute/DeleteVM3Min;239,Microsoft.Compute/DeleteVM30Min;1199"
	bucketPoll   = "Microsoft.Compute/GetOperation3Min;14999,Microsoft.Compute/GetOperation30Min;29999"
	bucketDelDsk = "Microsoft.Compute/DeleteDisks3Min;2999,Microsoft.Compute/DeleteDisks30Min;23999"
)

// diskServedBy stands for Disks' x-ms-served-by (the serving instance).
var diskServedBy = directory.NewGUID() + "_132726572129482938"

func computeAnswer(resp Response, bucket string) Response {
	if resp.err != nil {
		return resp
	}
	resp = resp.WithHeader("Server", "Microsoft-HTTPAPI/2.0")
	if bucket != "" {
		resp = resp.WithHeader("x-ms-ratelimit-remaining-resource", bucket)
	}
	return resp
}

func diskAnswer(resp Response, bucket string) Response {
	resp = computeAnswer(resp, bucket)
	if resp.err != nil {
		return resp
	}
	return resp.WithHeader("x-ms-served-by", diskServedBy)
}

func networkAnswer(resp Response) Response {
	if resp.err != nil {
		return resp
	}
	return resp.WithHeader("Server", "Microsoft-HTTPAPI/2.0").WithHeader("x-ms-arm-service-request-id", directory.NewGUID())
}

// computeTime is how Compute prints times ("2023-04-28T17:55:45.4622202+00:00").
func computeTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000-07:00") }

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
