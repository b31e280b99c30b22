package arm

import (
	"net/http"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// A VM's OS disk and NIC are resources of their own: Compute creates the
// managed OS disk from the image when it creates the VM (named
// {vm}_OsDisk_1_{32 hex}, as the portal's VMs are), and the VM's
// networkProfile points at a NIC created before it. The VM's
// storageProfile, osProfile and networkProfile are completed the way
// Compute completes them.
// Shape: Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/vm/tests/latest/recordings/test_vm_create_ubuntu.yaml
// (GET virtualMachines, 2022-03-01); disk: Azure/azure-rest-api-specs
// specification/compute/resource-manager/Microsoft.Compute/DiskRP/stable/2024-03-02/examples/diskExamples/Disk_Get.json.

// TypeDisk is the managed disk resource type.
const TypeDisk = "Microsoft.Compute/disks"

func (s *Server) registerDiskRoutes(rg string) {
	disk := rg + "/providers/Microsoft.Compute/disks/{diskName}"
	s.Handle("GET", disk, TypeDisk+"/read", "2016-04-30", s.GetDisk)
	s.Handle("DELETE", disk, TypeDisk+"/delete", "2016-04-30", s.DeleteDisk)
	s.Handle("GET", rg+"/providers/Microsoft.Compute/disks", "", "2016-04-30", s.ListDisks)
	// What goes with a VM: a disk or NIC whose deleteOption is Delete is
	// deleted, the others are detached.
	s.OnDelete(func(vm Resource) {
		if !strings.EqualFold(vm.Type, typeVM) {
			return
		}
		if d, opt, ok := s.VMOSDisk(vm); ok {
			if strings.EqualFold(opt, "Delete") {
				s.DeleteResource(d.ID)
			} else {
				_, _, _ = s.store.update(d.ID, func(r *Resource) *Error { // cannot fail: the closure returns nil
					delete(r.Properties, "managedBy")
					r.Properties["diskState"] = "Unattached"
					return nil
				})
			}
		}
		for _, n := range s.VMNICs(vm) {
			_, _, _ = s.store.update(n.ID, func(r *Resource) *Error { delete(r.Properties, "virtualMachine"); return nil })
			if strings.EqualFold(n.DeleteOption, "Delete") {
				s.DeleteResource(n.ID)
			}
		}
	})
}

// VMOSDisk is the VM's managed OS disk and its deleteOption.
func (s *Server) VMOSDisk(vm Resource) (Resource, string, bool) {
	osDisk, _ := dig(vm.Properties, "storageProfile", "osDisk").(map[string]any)
	id, _ := dig(osDisk, "managedDisk", "id").(string)
	opt, _ := osDisk["deleteOption"].(string)
	d, ok := s.store.get(id)
	return d, opt, ok && id != ""
}

// NICRef is a NIC a VM points at, with what happens to it when the VM
// goes ("Delete" or "Detach").
type NICRef struct {
	Resource
	DeleteOption string
}

// VMNICs are the network interfaces the VM's networkProfile points at.
func (s *Server) VMNICs(vm Resource) []NICRef {
	list, _ := dig(vm.Properties, "networkProfile", "networkInterfaces").([]any)
	var out []NICRef
	for _, x := range list {
		m, _ := x.(map[string]any)
		id, _ := m["id"].(string)
		opt, _ := dig(m, "properties", "deleteOption").(string)
		if n, ok := s.store.get(id); ok {
			out = append(out, NICRef{n, opt})
		}
	}
	return out
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func (s *Server) diskID(r *Request) string {
	return s.ResourceID(r, "Microsoft.Compute", "disks", r.Var("diskName"))
}

// diskBody renders a managed disk; managedBy and sku sit beside properties.
func (s *Server) diskBody(res Resource) map[string]any {
	b := s.TrackedBody(res)
	props := map[string]any{}
	for k, v := range res.Properties {
		switch k {
		case "managedBy":
			b["managedBy"] = v
		case "sku":
			b["sku"] = v
		default:
			props[k] = v
		}
	}
	b["properties"] = props
	return b
}

// GetDisk is Disks - Get.
func (s *Server) GetDisk(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	res, ok := s.store.get(s.diskID(r))
	if !ok {
		return Fail(ErrResourceNotFound(TypeDisk, r.Var("diskName"), r.Var("resourceGroupName")))
	}
	return diskAnswer(OK(s.diskBody(res)), bucketGet)
}

// opDeleteDisk names a disk delete among the operations.
const opDeleteDisk = "DeleteDisk"

// DeleteDisk is Disks - Delete: an attached disk cannot go; otherwise 202
// with an Azure-AsyncOperation and a Location (?monitor=true) under
// .../locations/{location}/DiskOperations/{id}, no Retry-After and no body
// (Azure/azure-sdk-for-net
// sdk/compute/Azure.ResourceManager.Compute/tests/SessionRecords/DiskOperationsTests/Delete().json),
// and 204 when there is no such disk.
func (s *Server) DeleteDisk(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	id := s.diskID(r)
	res, ok := s.store.get(id)
	if !ok {
		return Response{status: 204}
	}
	if vm, ok := res.Properties["managedBy"].(string); ok && vm != "" {
		return Fail(Errorf(409, "OperationNotAllowed", "Disk %s is attached to VM %s.", res.Name, vm))
	}
	s.DeleteResource(id)
	op := s.BeginOperation(res.ID, opDeleteDisk)
	return diskAnswer(Status(202, http.Header{
		"Azure-AsyncOperation": {s.computeOperationURL(opDeleteDisk, res.Location, op.ID, r.APIVersion, false)},
		"Location":             {s.computeOperationURL(opDeleteDisk, res.Location, op.ID, r.APIVersion, true)},
	}), bucketDelDsk)
}

// ListDisks is Disks - List By Resource Group: {"value":[...]}, each disk
// as Get answers it (DiskCollectionTests/GetAll().json).
func (s *Server) ListDisks(r *Request) Response {
	return diskAnswer(s.ListInGroup(r, TypeDisk, func(res Resource) any { return s.diskBody(res) }), bucketList)
}

// completeVMProfiles fills in what Compute adds to a new VM's profiles
// and creates its managed OS disk; NICs the networkProfile names must
// exist and become attached to the VM. It returns the resources to store
// with the VM.
func (s *Server) completeVMProfiles(vm *Resource) ([]Resource, *Error) {
	now := time.Now().UTC()
	var side []Resource
	props := vm.Properties
	if sp, ok := props["storageProfile"].(map[string]any); ok {
		img, _ := sp["imageReference"].(map[string]any)
		osType := "Linux"
		if img != nil {
			if p, _ := img["publisher"].(string); strings.Contains(strings.ToLower(p), "windows") {
				osType = "Windows"
			}
			if v, _ := img["version"].(string); v == "latest" || v == "" {
				img["exactVersion"] = "24.04.202411030"
			} else {
				img["exactVersion"] = v
			}
		}
		osDisk, _ := sp["osDisk"].(map[string]any)
		if osDisk == nil {
			osDisk = map[string]any{"createOption": "FromImage"}
			sp["osDisk"] = osDisk
		}
		md, _ := osDisk["managedDisk"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			osDisk["managedDisk"] = md
		}
		if id, _ := md["id"].(string); id == "" {
			sku, _ := md["storageAccountType"].(string)
			if sku == "" {
				sku = "Premium_LRS"
			}
			name, _ := osDisk["name"].(string)
			if name == "" {
				name = vm.Name + "_OsDisk_1_" + strings.ReplaceAll(directory.NewGUID(), "-", "")
			}
			size := 30
			if n, ok := osDisk["diskSizeGB"].(float64); ok && n > 0 {
				size = int(n)
			}
			diskID := s.GroupID(vm.ResourceGroup) + "/providers/Microsoft.Compute/disks/" + name
			creation := map[string]any{"createOption": "FromImage"}
			if img != nil {
				creation["imageReference"] = map[string]any{"id": "/Subscriptions/" + s.SubscriptionID + "/Providers/Microsoft.Compute/Locations/" + vm.Location +
					"/Publishers/" + str(img["publisher"]) + "/ArtifactTypes/VMImage/Offers/" + str(img["offer"]) + "/Skus/" + str(img["sku"]) + "/Versions/" + str(img["exactVersion"])}
			}
			side = append(side, Resource{ID: diskID, Name: name, Type: TypeDisk, ResourceGroup: vm.ResourceGroup, Location: vm.Location, Created: now,
				Properties: map[string]any{
					"managedBy": vm.ID, "sku": map[string]any{"name": sku, "tier": strings.SplitN(sku, "_", 2)[0]},
					"osType": osType, "hyperVGeneration": "V2", "supportsHibernation": true,
					"supportedCapabilities": map[string]any{"diskControllerTypes": "SCSI, NVMe", "acceleratedNetwork": true, "architecture": "x64"},
					"creationData":          creation, "diskSizeGB": size, "diskIOPSReadWrite": 120, "diskMBpsReadWrite": 25,
					"encryption":          map[string]any{"type": "EncryptionAtRestWithPlatformKey"},
					"networkAccessPolicy": "AllowAll", "publicNetworkAccess": "Enabled",
					"timeCreated": now.Format("2006-01-02T15:04:05.0000000+00:00"), "provisioningState": "Succeeded",
					"diskState": "Attached", "diskSizeBytes": int64(size) << 30, "uniqueId": directory.NewGUID(), "tier": "P4",
				}})
			md["id"], md["storageAccountType"] = diskID, sku
			osDisk["name"], osDisk["diskSizeGB"] = name, size
		}
		osDisk["osType"] = osType
		for k, v := range map[string]any{"createOption": "FromImage", "caching": "ReadWrite", "deleteOption": "Detach"} {
			if _, ok := osDisk[k]; !ok {
				osDisk[k] = v
			}
		}
		if _, ok := sp["dataDisks"]; !ok {
			sp["dataDisks"] = []any{}
		}
		if op, ok := props["osProfile"].(map[string]any); ok {
			completeOSProfile(op, osType)
		}
	}
	if np, ok := props["networkProfile"].(map[string]any); ok {
		list, _ := np["networkInterfaces"].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			id, _ := m["id"].(string)
			nic, ok := s.store.get(id)
			if !ok || !strings.EqualFold(nic.Type, TypeNIC) {
				return nil, Errorf(400, "InvalidParameter", "Resource '%s' was not found or is not a network interface.", id)
			}
			if other, ok := nic.Properties["virtualMachine"].(map[string]any); ok && !strings.EqualFold(str(other["id"]), vm.ID) {
				return nil, Errorf(400, "NicInUse", "Network interface %s is already attached to virtual machine %s.", id, str(other["id"]))
			}
			m["id"] = nic.ID
			nic.Properties["virtualMachine"] = map[string]any{"id": vm.ID}
			side = append(side, nic)
		}
	}
	return side, nil
}

// completeOSProfile adds what Compute reports for a new VM's osProfile.
func completeOSProfile(op map[string]any, osType string) {
	for k, v := range map[string]any{"secrets": []any{}, "allowExtensionOperations": true, "requireGuestProvisionSignal": true} {
		if _, ok := op[k]; !ok {
			op[k] = v
		}
	}
	key, defaults := "linuxConfiguration", map[string]any{
		"disablePasswordAuthentication": false, "provisionVMAgent": true,
		"patchSettings":                map[string]any{"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"},
		"enableVMAgentPlatformUpdates": false,
	}
	if osType == "Windows" {
		key, defaults = "windowsConfiguration", map[string]any{
			"provisionVMAgent": true, "enableAutomaticUpdates": true,
			"patchSettings": map[string]any{"patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"},
		}
	}
	cfg, _ := op[key].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
		op[key] = cfg
	}
	for k, v := range defaults {
		if _, ok := cfg[k]; !ok {
			cfg[k] = v
		}
	}
}

func str(v any) string { s, _ := v.(string); return s }
