package imds

// This file builds the instance metadata document, GET /metadata/instance.
//
// Evidence, in this order:
//   - A real answer at api-version 2021-05-01 captured in a public write-up
//     (SANS Holiday Hack 2023, curl on a VM; excerpt in
//     testdata/instance_2021-05-01_captured.json): which keys a plain VM's
//     answer has (customData, licenseType, priority, evictionPolicy,
//     placementGroupId, vmScaleSetName, zone, userData "" and plan,
//     extendedLocation, virtualMachineScaleSet with empty strings; publicKeys
//     and dataDisks []), and that every primitive is a string.
//   - The documented schema: MicrosoftDocs/azure-compute-docs
//     articles/virtual-machines/instance-metadata-service.md, "Schema
//     breakdown" (each key's "Version introduced") and "Sample 4" / "Sample 6"
//     (the full compute and network samples). Keys are left out of answers
//     to api-versions older than the one that introduced them.

import (
	"fmt"
	"sort"
	"strings"
)

// since gives, for each compute key, the api-version that introduced it
// (the doc's "Version introduced" column). Keys not listed date from
// 2017-04-02, the oldest version served.
var since = map[string]string{
	"azEnvironment":              "2018-10-01",
	"additionalCapabilities":     "2021-11-01",
	"customData":                 "2019-02-01",
	"evictionPolicy":             "2020-12-01",
	"extendedLocation":           "2021-03-01",
	"host":                       "2021-11-15",
	"hostGroup":                  "2021-11-15",
	"isHostCompatibilityLayerVm": "2020-06-01",
	"licenseType":                "2020-09-01",
	"osProfile":                  "2020-07-15",
	"physicalZone":               "2023-11-15",
	"placementGroupId":           "2017-08-01",
	"plan":                       "2018-04-02",
	"platformSubFaultDomain":     "2021-10-01",
	"priority":                   "2020-12-01",
	"provider":                   "2018-10-01",
	"publicKeys":                 "2018-04-02",
	"resourceGroupName":          "2017-08-01",
	"resourceId":                 "2019-03-11",
	"securityProfile":            "2020-06-01",
	"storageProfile":             "2019-06-01",
	"subscriptionId":             "2017-08-01",
	"tags":                       "2017-08-01",
	"tagsList":                   "2019-06-04",
	"userData":                   "2021-01-01",
	"virtualMachineScaleSet":     "2021-03-01",
	"vmScaleSetName":             "2017-12-01",
	"zone":                       "2017-12-01",
}

// Fallbacks for a VM resource that does not say: the image and disk a VM
// created with "az vm create --image Ubuntu2204" has.
const (
	defaultPublisher = "Canonical"
	defaultOffer     = "0001-com-ubuntu-server-jammy"
	defaultSKU       = "22_04-lts-gen2"
	defaultVersion   = "22.04.202404230"
	defaultAdmin     = "azureuser"
	defaultDiskGB    = "30"
	defaultMAC       = "000D3A000001"
	defaultPrivateIP = "10.0.0.4"
)

// instanceDocument is the VM's instance metadata for api-version v. It is
// built from map[string]any, []any and string only, so that lookup and
// listing see one shape and every primitive is a string, as in IMDS's JSON.
// Tags are sorted by name so tags and tagsList/<index> name the same tag on
// every request (the doc's samples list them in that order too).
func (s *Server) instanceDocument(vm VM, v string) map[string]any {
	props := vm.Properties
	names := make([]string, 0, len(vm.Tags))
	for k := range vm.Tags {
		names = append(names, k)
	}
	sort.Strings(names)
	tags := make([]string, 0, len(names))
	tagsList := make([]any, 0, len(names))
	for _, k := range names {
		tags = append(tags, k+":"+vm.Tags[k])
		tagsList = append(tagsList, map[string]any{"name": k, "value": vm.Tags[k]})
	}
	image := obj(obj(props, "storageProfile"), "imageReference")
	osDiskRes := obj(obj(props, "storageProfile"), "osDisk")
	osProfile := obj(props, "osProfile")
	linux := obj(osProfile, "linuxConfiguration")
	osType := str(osDiskRes, "osType", "Linux")
	publisher := str(image, "publisher", defaultPublisher)
	offer := str(image, "offer", defaultOffer)
	sku := str(image, "sku", defaultSKU)
	version := str(image, "exactVersion", "")
	if version == "" {
		if version = str(image, "version", defaultVersion); version == "latest" {
			version = defaultVersion
		}
	}
	zone := ""
	if len(vm.Zones) > 0 {
		zone = vm.Zones[0]
	}
	publicKeys := []any{}
	for _, k := range list(obj(linux, "ssh"), "publicKeys") {
		if m, ok := k.(map[string]any); ok {
			publicKeys = append(publicKeys, map[string]any{"keyData": str(m, "keyData", ""), "path": str(m, "path", "")})
		}
	}
	disablePassword := "true"
	if b, ok := linux["disablePasswordAuthentication"].(bool); ok && !b {
		disablePassword = "false"
	}
	if !strings.EqualFold(osType, "Linux") {
		disablePassword = "" // "only present for Linux VMs"; Windows answers ""
	}
	security := map[string]any{"secureBootEnabled": "false", "virtualTpmEnabled": "false"}
	if uefi := obj(obj(props, "securityProfile"), "uefiSettings"); uefi != nil {
		security["secureBootEnabled"] = boolStr(uefi, "secureBootEnabled")
		security["virtualTpmEnabled"] = boolStr(uefi, "vTpmEnabled")
	}
	if v >= "2021-11-01" {
		security["encryptionAtHost"] = boolStr(obj(props, "securityProfile"), "encryptionAtHost")
	}
	if v >= "2021-12-13" {
		security["securityType"] = str(obj(props, "securityProfile"), "securityType", "")
	}
	imageRef := map[string]any{
		"id": str(image, "id", ""), "offer": offer, "publisher": publisher, "sku": sku, "version": str(image, "version", "latest"),
	}
	if v >= "2023-07-01" {
		imageRef["communityGalleryImageId"] = str(image, "communityGalleryImageId", "")
		imageRef["sharedGalleryImageId"] = str(image, "sharedGalleryImageId", "")
		imageRef["exactVersion"] = str(image, "exactVersion", "")
	}
	storage := map[string]any{
		"dataDisks":      []any{},
		"imageReference": imageRef,
		"osDisk":         s.osDisk(vm, osDiskRes, osType),
	}
	if v >= "2021-02-01" {
		// Standard_B2s has an 8 GiB temporary disk. [unverified] The
		// unit: the doc says kB, yet the captured B4ms (32 GiB) answers
		// "63488"; 8192 is the size in MiB.
		storage["resourceDisk"] = map[string]any{"size": "8192"}
	}
	compute := map[string]any{
		"azEnvironment":              s.Cloud.IMDSEnvironment,
		"additionalCapabilities":     map[string]any{"hibernationEnabled": boolStr(obj(props, "additionalCapabilities"), "hibernationEnabled")},
		"customData":                 "",
		"evictionPolicy":             "",
		"extendedLocation":           map[string]any{"name": "", "type": ""},
		"host":                       map[string]any{"id": ""},
		"hostGroup":                  map[string]any{"id": ""},
		"isHostCompatibilityLayerVm": "false",
		"licenseType":                str(props, "licenseType", ""),
		"location":                   vm.Location,
		"name":                       vm.Name,
		"offer":                      offer,
		"osProfile": map[string]any{
			"adminUsername": str(osProfile, "adminUsername", defaultAdmin),
			"computerName":  str(osProfile, "computerName", vm.Name),
		},
		"osType":                 osType,
		"physicalZone":           "",
		"placementGroupId":       "",
		"plan":                   map[string]any{"name": "", "product": "", "publisher": ""},
		"platformFaultDomain":    "0",
		"platformSubFaultDomain": "",
		"platformUpdateDomain":   "0",
		"priority":               str(props, "priority", ""),
		"provider":               "Microsoft.Compute",
		"publicKeys":             publicKeys,
		"publisher":              publisher,
		"resourceGroupName":      vm.ResourceGroup,
		"resourceId":             vm.ResourceID,
		"securityProfile":        security,
		"sku":                    sku,
		"storageProfile":         storage,
		"subscriptionId":         vm.SubscriptionID,
		"tags":                   strings.Join(tags, ";"),
		"tagsList":               tagsList,
		"userData":               "",
		"version":                version,
		"virtualMachineScaleSet": map[string]any{"id": ""},
		"vmId":                   vm.VMID,
		"vmScaleSetName":         "",
		"vmSize":                 vm.VMSize,
		"zone":                   zone,
	}
	if v >= "2020-10-01" {
		compute["osProfile"].(map[string]any)["disablePasswordAuthentication"] = disablePassword
	}
	for k, introduced := range since {
		if v < introduced {
			delete(compute, k)
		}
	}
	return map[string]any{"compute": compute, "network": s.network(vm)}
}

// osDisk is storageProfile.osDisk: the OS disk as the VM resource names it
// (its managed disk is a resource of its own), else the name Azure gives a
// VM's OS disk when the create request names none.
func (s *Server) osDisk(vm VM, res map[string]any, osType string) map[string]any {
	name := str(res, "name", "")
	md := obj(res, "managedDisk")
	diskID := str(md, "id", "")
	if name == "" && diskID != "" {
		name = diskID[strings.LastIndex(diskID, "/")+1:]
	}
	if name == "" {
		name = vm.Name + "_OsDisk_1"
	}
	if diskID == "" && vm.SubscriptionID != "" {
		diskID = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s", vm.SubscriptionID, vm.ResourceGroup, name)
	}
	size := defaultDiskGB
	switch n := res["diskSizeGB"].(type) {
	case float64:
		size = fmt.Sprint(int64(n))
	case int:
		size = fmt.Sprint(n)
	case string:
		size = n
	}
	return map[string]any{
		"caching":                 str(res, "caching", "ReadWrite"),
		"createOption":            str(res, "createOption", "FromImage"),
		"diffDiskSettings":        map[string]any{"option": str(obj(res, "diffDiskSettings"), "option", "")},
		"diskSizeGB":              size,
		"encryptionSettings":      map[string]any{"enabled": "false"},
		"image":                   map[string]any{"uri": ""},
		"managedDisk":             map[string]any{"id": diskID, "storageAccountType": str(md, "storageAccountType", "Premium_LRS")},
		"name":                    name,
		"osType":                  osType,
		"vhd":                     map[string]any{"uri": ""},
		"writeAcceleratorEnabled": boolStr(res, "writeAcceleratorEnabled"),
	}
}

// network is the network section: one interface a NIC, with the NIC
// resource's private address and MAC where Resource Manager has them.
// IMDS has no view of public IPs of Standard SKU (the doc sends readers to
// the load balancer metadata), so publicIpAddress is "" as in the captured
// answer; the subnet is the /24 of the private address.
func (s *Server) network(vm VM) map[string]any {
	var ifaces []any
	for _, nic := range vm.NICs {
		ip := ""
		for _, c := range list(nic, "ipConfigurations") {
			if m, ok := c.(map[string]any); ok {
				if ip = str(obj(m, "properties"), "privateIPAddress", ""); ip != "" {
					break
				}
			}
		}
		ifaces = append(ifaces, iface(ip, strings.ReplaceAll(str(nic, "macAddress", ""), "-", "")))
	}
	if len(ifaces) == 0 {
		ifaces = []any{iface("", "")}
	}
	return map[string]any{"interface": ifaces}
}

func iface(ip, mac string) map[string]any {
	if ip == "" {
		ip = defaultPrivateIP
	}
	if mac == "" {
		mac = defaultMAC
	}
	subnet := ip
	if i := strings.LastIndex(ip, "."); i > 0 {
		subnet = ip[:i] + ".0"
	}
	return map[string]any{
		"ipv4": map[string]any{
			"ipAddress": []any{map[string]any{"privateIpAddress": ip, "publicIpAddress": ""}},
			"subnet":    []any{map[string]any{"address": subnet, "prefix": "24"}},
		},
		"ipv6":       map[string]any{"ipAddress": []any{}},
		"macAddress": mac,
	}
}

func obj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func list(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

func str(m map[string]any, k, def string) string {
	if v, ok := m[k].(string); ok && v != "" {
		return v
	}
	return def
}

func boolStr(m map[string]any, k string) string {
	if b, ok := m[k].(bool); ok && b {
		return "true"
	}
	return "false"
}
