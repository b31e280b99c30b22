package arm

import (
	"fmt"
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

// nicBody renders a NIC as Microsoft.Network does: an etag beside the
// resource and on each IP configuration, and the VM it is attached to.
func (s *Server) nicBody(res Resource) map[string]any {
	b := s.TrackedBody(res)
	etag, _ := res.Properties["etag"].(string)
	props := map[string]any{}
	for k, v := range res.Properties {
		if k != "etag" {
			props[k] = v
		}
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
	return OK(s.nicBody(res))
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
		"dnsSettings":      map[string]any{"dnsServers": []any{}, "appliedDnsServers": []any{}},
		"macAddress":       macAddress(), "enableIPForwarding": false, "primary": true,
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
		s.store.put(res)
		return OK(s.nicBody(res))
	}
	s.store.put(res)
	return Created(s.nicBody(res))
}

// macAddress is a NIC's MAC in Azure's notation (00-0D-3A-xx-xx-xx,
// Microsoft's Azure prefix).
func macAddress() string {
	g := strings.ReplaceAll(directory.NewGUID(), "-", "")
	return strings.ToUpper("00-0D-3A-" + g[0:2] + "-" + g[2:4] + "-" + g[4:6])
}

// DeleteNetworkInterface is Network Interfaces - Delete: a NIC attached
// to a VM cannot go (NicInUse).
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
	return Response{status: 200}
}

func (s *Server) listNICs(r *Request) Response {
	g, e := s.RequireGroup(r)
	if e != nil {
		return Fail(e)
	}
	if e := s.Authorize(r.Caller, TypeNIC+"/read", s.GroupID(g.Name)); e != nil {
		return Fail(e)
	}
	value := []any{}
	for _, res := range s.store.list(func(x *Resource) bool {
		return strings.EqualFold(x.ResourceGroup, g.Name) && strings.EqualFold(x.Type, TypeNIC)
	}) {
		value = append(value, s.nicBody(res))
	}
	return OK(map[string]any{"value": value})
}
