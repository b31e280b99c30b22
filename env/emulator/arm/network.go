package arm

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Microsoft.Network network interfaces: the NIC a VM's networkProfile
// points at is a resource of its own, created before the VM.
// https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces
// Shape: Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/vm/tests/latest/recordings/test_vm_create_ubuntu.yaml
// (GET networkInterfaces, 2018-01-01: etag, tags {}, resourceGuid,
// ipConfigurations with id/etag/type, dnsSettings, macAddress, primary,
// virtualMachine).

// TypeNIC is the network interface resource type.
const TypeNIC = "Microsoft.Network/networkInterfaces"

func (s *Server) registerNetworkRoutes(rg string) {
	nic := rg + "/providers/Microsoft.Network/networkInterfaces/{networkInterfaceName}"
	s.Handle("GET", nic, TypeNIC+"/read", "2015-06-15", s.GetNetworkInterface)
	s.Handle("PUT", nic, TypeNIC+"/write", "2015-06-15", s.CreateOrUpdateNetworkInterface)
	s.Handle("DELETE", nic, TypeNIC+"/delete", "2015-06-15", s.DeleteNetworkInterface)
	s.Handle("GET", rg+"/providers/Microsoft.Network/networkInterfaces", "", "2015-06-15",
		func(r *Request) Response { return s.listNICs(r) })
}

func (s *Server) nicID(r *Request) string {
	return s.ResourceID(r, "Microsoft.Network", "networkInterfaces", r.Var("networkInterfaceName"))
}

// nicBody renders a NIC as Microsoft.Network does for the requested
// api-version: an etag beside the resource and on each IP configuration;
// tags only when some were given (none at all otherwise: the 2023 create
// below); the MAC address, primary and the VM only once attached to one
// (the unattached and attached NICs of Azure/azure-sdk-for-net
// sdk/network/Azure.ResourceManager.Network/tests/SessionRecords/NetworkInterfaceTests/NetworkInterfaceApiTest.json,
// 2020-04-01). Fields newer api-versions add are shown from the first
// recorded version that shows them: 2020-04-01 (that recording) adds
// enableAcceleratedNetworking, hostedWorkloads, tapConfigurations and
// nicType; 2023-02-01 (sdk/compute/Azure.ResourceManager.Compute/tests/SessionRecords/VirtualMachineCollectionTests/CreateOrUpdate()[2023-03-01].json,
// its NIC) adds kind, vnetEncryptionSupported, disableTcpStateTracking and
// allowPort25Out.
func (s *Server) nicBody(res Resource, apiVersion string) map[string]any {
	b := s.TrackedBody(res)
	if res.Tags == nil {
		delete(b, "tags")
	}
	etag, _ := res.Properties["etag"].(string)
	props := map[string]any{}
	for k, v := range res.Properties {
		if k != "etag" {
			props[k] = v
		}
	}
	if _, attached := props["virtualMachine"]; !attached {
		delete(props, "macAddress")
		delete(props, "primary")
	}
	if apiVersion >= "2020-04-01" {
		props["enableAcceleratedNetworking"] = false
		props["hostedWorkloads"], props["tapConfigurations"] = []any{}, []any{}
		props["nicType"] = "Standard"
	}
	if apiVersion >= "2023-02-01" {
		b["kind"] = "Regular"
		props["vnetEncryptionSupported"], props["disableTcpStateTracking"], props["allowPort25Out"] = false, false, true
	}
	b["etag"] = etag
	b["properties"] = props
	return b
}

// GetNetworkInterface is Network Interfaces - Get.
func (s *Server) GetNetworkInterface(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	res, ok := s.store.get(s.nicID(r))
	if !ok {
		return Fail(ErrResourceNotFound(TypeNIC, r.Var("networkInterfaceName"), r.Var("resourceGroupName")))
	}
	return networkAnswer(OK(s.nicBody(res, r.APIVersion)))
}

type nicRequest struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		IPConfigurations []struct {
			Name       string `json:"name"`
			Properties struct {
				PrivateIPAllocationMethod string          `json:"privateIPAllocationMethod"`
				PrivateIPAddress          string          `json:"privateIPAddress"`
				Subnet                    *map[string]any `json:"subnet"`
				PublicIPAddress           *map[string]any `json:"publicIPAddress"`
			} `json:"properties"`
		} `json:"ipConfigurations"`
		NetworkSecurityGroup map[string]any `json:"networkSecurityGroup"`
	} `json:"properties"`
}

// CreateOrUpdateNetworkInterface is Network Interfaces - Create Or Update:
// 201 with the NIC (provisioningState Succeeded), 200 on update. Each IP
// configuration gets a private address from 10.0.0.4 up, as Azure hands
// out the first free address of a subnet.
func (s *Server) CreateOrUpdateNetworkInterface(r *Request) Response {
	g, e := s.RequireGroup(r)
	if e != nil {
		return Fail(e)
	}
	var body nicRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	id := s.nicID(r)
	existing, exists := s.store.get(id)
	if !exists && body.Location == "" {
		return Fail(Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	if len(body.Properties.IPConfigurations) == 0 {
		return Fail(Errorf(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", "Network interface %s must have one or more IP configurations.", id))
	}
	etag := "W/\"" + directory.NewGUID() + "\""
	var ipcs []any
	for i, c := range body.Properties.IPConfigurations {
		if c.Name == "" {
			return Fail(Errorf(400, "InvalidRequestFormat", "Cannot parse the request: the IP configuration at index %d has no name.", i))
		}
		p := map[string]any{
			"provisioningState": "Succeeded", "privateIPAllocationMethod": "Dynamic",
			"privateIPAddress": fmt.Sprintf("10.0.0.%d", 4+i), "primary": i == 0, "privateIPAddressVersion": "IPv4",
		}
		if c.Properties.PrivateIPAllocationMethod == "Static" && c.Properties.PrivateIPAddress != "" {
			p["privateIPAllocationMethod"], p["privateIPAddress"] = "Static", c.Properties.PrivateIPAddress
		}
		if c.Properties.Subnet != nil {
			p["subnet"] = *c.Properties.Subnet
		}
		if c.Properties.PublicIPAddress != nil {
			p["publicIPAddress"] = *c.Properties.PublicIPAddress
		}
		ipcs = append(ipcs, map[string]any{
			"name": c.Name, "id": id + "/ipConfigurations/" + c.Name, "etag": etag,
			"type": TypeNIC + "/ipConfigurations", "properties": p,
		})
	}
	props := map[string]any{
		"etag": etag, "provisioningState": "Succeeded", "resourceGuid": directory.NewGUID(),
		"ipConfigurations": ipcs,
		"dnsSettings": map[string]any{"dnsServers": []any{}, "appliedDnsServers": []any{},
			"internalDomainNameSuffix": internalDomainNameSuffix()},
		"macAddress": macAddress(), "enableIPForwarding": false, "primary": true,
	}
	if body.Properties.NetworkSecurityGroup != nil {
		props["networkSecurityGroup"] = body.Properties.NetworkSecurityGroup
	}
	res := Resource{ID: id, Name: r.Var("networkInterfaceName"), Type: TypeNIC, ResourceGroup: g.Name,
		Location: NormalizeLocation(body.Location), Tags: body.Tags, Properties: props, Created: time.Now().UTC()}
	if exists {
		res.Name, res.Location, res.Created = existing.Name, existing.Location, existing.Created
		if vm, ok := existing.Properties["virtualMachine"]; ok {
			props["virtualMachine"] = vm
		}
		props["resourceGuid"], props["macAddress"] = existing.Properties["resourceGuid"], existing.Properties["macAddress"]
		props["dnsSettings"] = existing.Properties["dnsSettings"]
		s.store.put(res)
		return s.nicAccepted(r, OK(s.nicBody(res, r.APIVersion)), res)
	}
	s.store.put(res)
	return s.nicAccepted(r, Created(s.nicBody(res, r.APIVersion)), res)
}

// Microsoft.Network's long-running operations: a NIC create answers 201
// with the NIC already Succeeded and an Azure-AsyncOperation (no
// Retry-After), whose status resource is {"status":"InProgress"} (with
// Retry-After) until {"status":"Succeeded"} (Azure/azure-sdk-for-net
// sdk/compute/Azure.ResourceManager.Compute/tests/SessionRecords/VirtualMachineCollectionTests/CreateOrUpdate()[2023-03-01].json:
// the NIC and the virtual network before it). A delete answers 202 with
// Azure-AsyncOperation and a Location under .../operationResults/{id}
// (NetworkInterfaceTests/NetworkInterfaceApiTest.json).
const (
	opPutNIC    = "PutNetworkInterface"
	opDeleteNIC = "DeleteNetworkInterface"
)

func (s *Server) networkOperationURL(location, id, apiVersion string, result bool) string {
	seg := "operations"
	if result {
		seg = "operationResults"
	}
	return "https://" + s.Cloud.ARMHost + "/subscriptions/" + s.SubscriptionID + "/providers/Microsoft.Network/locations/" + location + "/" + seg + "/" + id + "?api-version=" + apiVersion
}

func (s *Server) nicAccepted(r *Request, resp Response, res Resource) Response {
	op := s.BeginOperation(res.ID, opPutNIC)
	return networkAnswer(resp).WithHeader("Azure-AsyncNotification", "Enabled").
		WithHeader("Azure-AsyncOperation", s.networkOperationURL(res.Location, op.ID, r.APIVersion, false))
}

// networkOperation is the status resource of a Network operation. An
// unknown operation is a 404 in Resource Manager's error shape
// [unverified: no recording polls one].
func (s *Server) networkOperation(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	op, inProgress, found := s.PollOperation(r.Var("operationId"))
	if !found || (op.Kind != opPutNIC && op.Kind != opDeleteNIC) {
		return Fail(Errorf(404, "NotFound", "Operation %s not found.", r.Var("operationId")))
	}
	if inProgress {
		return OK(map[string]any{"status": "InProgress"}).WithHeader("Retry-After", s.RetryAfter())
	}
	return OK(map[string]any{"status": "Succeeded"})
}

// networkOperationResult is a Network delete's Location: 202 (with the
// Location again and Retry-After) while it runs, then 204 without a body
// but with Content-Type, the Azure-AsyncOperation and the Location
// (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/network/tests/latest/recordings/test_network_nic.yaml,
// az network nic delete).
func (s *Server) networkOperationResult(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	op, inProgress, found := s.PollOperation(r.Var("operationId"))
	if !found || (op.Kind != opPutNIC && op.Kind != opDeleteNIC) {
		return Fail(Errorf(404, "NotFound", "Operation %s not found.", r.Var("operationId")))
	}
	loc := s.networkOperationURL(r.Var("location"), op.ID, r.APIVersion, true)
	if inProgress {
		return Status(202, http.Header{"Location": {loc}, "Retry-After": {s.RetryAfter()}})
	}
	return Status(204, http.Header{
		"Azure-AsyncNotification": {"Enabled"},
		"Azure-AsyncOperation":    {s.networkOperationURL(r.Var("location"), op.ID, r.APIVersion, false)},
		"Location":                {loc},
		"Content-Type":            {"application/json; charset=utf-8"},
	})
}

// internalDomainNameSuffix is the VNet's internal DNS suffix Azure reports
// in a NIC's dnsSettings (26 letters and digits, a region code).
func internalDomainNameSuffix() string {
	g := strings.ReplaceAll(directory.NewGUID()+directory.NewGUID(), "-", "")
	return g[:26] + ".dx.internal.cloudapp.net"
}

// macAddress is a NIC's MAC in Azure's notation (00-0D-3A-xx-xx-xx,
// Microsoft's Azure prefix).
func macAddress() string {
	g := strings.ReplaceAll(directory.NewGUID(), "-", "")
	return strings.ToUpper("00-0D-3A-" + g[0:2] + "-" + g[2:4] + "-" + g[4:6])
}

// DeleteNetworkInterface is Network Interfaces - Delete: a NIC attached
// to a VM cannot go (NicInUse); otherwise 202 with the operation to poll
// and no body, or 204 when there is no such NIC.
func (s *Server) DeleteNetworkInterface(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	id := s.nicID(r)
	res, ok := s.store.get(id)
	if !ok {
		return Response{status: 204}
	}
	if vm, ok := res.Properties["virtualMachine"].(map[string]any); ok {
		return Fail(Errorf(400, "NicInUse", "Network Interface %s is used by existing resource %v. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.", id, vm["id"]))
	}
	s.DeleteResource(id)
	op := s.BeginOperation(res.ID, opDeleteNIC)
	return networkAnswer(Status(202, http.Header{
		"Azure-AsyncNotification": {"Enabled"},
		"Azure-AsyncOperation":    {s.networkOperationURL(res.Location, op.ID, r.APIVersion, false)},
		"Location":                {s.networkOperationURL(res.Location, op.ID, r.APIVersion, true)},
	}))
}

func (s *Server) listNICs(r *Request) Response {
	return networkAnswer(s.ListInGroup(r, TypeNIC, func(res Resource) any { return s.nicBody(res, r.APIVersion) }))
}
