package imds

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/recording"
)

// TestTokenAsRecorded holds the token answer, and the 400 for a request
// without the Metadata header, against live IMDS answers recorded by the
// Python SDK: status, header names, field paths and JSON types.
func TestTokenAsRecorded(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, tc := range []struct {
		file   string
		header map[string]string
	}{
		{"testdata/token_recorded.json", md},
		{"testdata/token_no_metadata_recorded.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, err := recording.Load(tc.file)
			require.NoError(t, err)
			rec := f.serve("GET", tokenPath(armQuery("resource", "https://management.azure.com")), tc.header)
			assert.Equal(t, want.Status, rec.Code)
			assert.Empty(t, want.HeaderDiffs(rec.Header(), true), want.Source)
			assert.Empty(t, want.JSONDiffs(rec.Body.Bytes()), want.Source)
			assert.Equal(t, rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()))
		})
	}
	t.Run("a cached token counts expires_in down, ext_expires_in stays", func(t *testing.T) {
		f := newFixture(t, "AzureCloud")
		r := f.do(t, "GET", tokenPath(armQuery()), md)
		require.Equal(t, 200, r.code)
		f.now = f.now.Add(89 * time.Second)
		r2 := f.do(t, "GET", tokenPath(armQuery()), md)
		assert.Equal(t, r.body["access_token"], r2.body["access_token"])
		assert.Equal(t, "86311", r2.body["expires_in"])
		assert.Equal(t, "86399", r2.body["ext_expires_in"])
	})
}

// TestTokenOverHTTP checks the headers a real listener adds: Date, and no
// chunking (IMDS sends Content-Length).
func TestTokenOverHTTP(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	req, err := http.NewRequest("GET", ts.URL+tokenPath(armQuery()), nil)
	require.NoError(t, err)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	want, err := recording.Load("testdata/token_recorded.json")
	require.NoError(t, err)
	assert.Empty(t, want.HeaderDiffs(resp.Header, true))
	assert.NotEmpty(t, resp.Header.Get("Date"))
	assert.Positive(t, resp.ContentLength)
}

// TestInstanceAsRecorded holds the instance document against real answers:
// every field path and type of a captured 2021-05-01 answer, and of a
// Linux VM's compute section at 2021-12-13.
func TestInstanceAsRecorded(t *testing.T) {
	for _, tc := range []struct {
		file, target string
		props        map[string]any
	}{
		{"testdata/instance_2021-05-01_captured.json", "/metadata/instance?api-version=2021-05-01", nil},
		{"testdata/compute_2021-12-13_recorded.json", "/metadata/instance/compute?api-version=2021-12-13", seededProperties()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := newFixture(t, "AzureCloud")
			f.vm.Properties = tc.props
			want, err := recording.Load(tc.file)
			require.NoError(t, err)
			rec := f.serve("GET", tc.target, md)
			assert.Equal(t, want.Status, rec.Code)
			assert.Empty(t, want.JSONDiffs(rec.Body.Bytes()), want.Source)
		})
	}
}

// seededProperties are a VM's properties as Resource Manager holds them
// after "az vm create" (Virtual Machines - Get, api-version 2024-07-01).
func seededProperties() map[string]any {
	return map[string]any{
		"hardwareProfile": map[string]any{"vmSize": "Standard_B2s"},
		"storageProfile": map[string]any{
			"imageReference": map[string]any{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest", "exactVersion": "24.04.202411030"},
			"osDisk": map[string]any{
				"osType": "Linux", "name": "myVM_OsDisk_1_abc", "createOption": "FromImage", "caching": "ReadWrite", "diskSizeGB": float64(30),
				"managedDisk": map[string]any{"storageAccountType": "Premium_LRS", "id": rgID + "/providers/Microsoft.Compute/disks/myVM_OsDisk_1_abc"},
			},
			"dataDisks": []any{},
		},
		"osProfile": map[string]any{
			"computerName": "myVM", "adminUsername": "azureuser",
			"linuxConfiguration": map[string]any{"disablePasswordAuthentication": true, "ssh": map[string]any{"publicKeys": []any{
				map[string]any{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": "ssh-rsa AAAA"},
			}}},
		},
		"securityProfile": map[string]any{"securityType": "TrustedLaunch", "uefiSettings": map[string]any{"secureBootEnabled": true, "vTpmEnabled": true}},
		"networkProfile":  map[string]any{"networkInterfaces": []any{map[string]any{"id": rgID + "/providers/Microsoft.Network/networkInterfaces/myVMVMNic"}}},
	}
}

// TestInstanceFromVMResource checks that the document takes the VM
// resource's image, OS disk, admin and NIC, and keeps to the keys of the
// requested api-version.
func TestInstanceFromVMResource(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	f.vm.Properties = seededProperties()
	f.vm.Zones = []string{"2"}
	f.vm.NICs = []map[string]any{{"macAddress": "60-45-BD-FE-2D-67", "ipConfigurations": []any{map[string]any{"properties": map[string]any{"privateIPAddress": "10.1.0.5"}}}}}
	r := f.do(t, "GET", "/metadata/instance?api-version=2025-04-07", md)
	require.Equal(t, 200, r.code)
	c := r.body["compute"].(map[string]any)
	sp := c["storageProfile"].(map[string]any)
	assert.Equal(t, "Canonical", c["publisher"])
	assert.Equal(t, "ubuntu-24_04-lts", c["offer"])
	assert.Equal(t, "server", c["sku"])
	assert.Equal(t, "24.04.202411030", c["version"])
	assert.Equal(t, "2", c["zone"])
	assert.Equal(t, "myVM_OsDisk_1_abc", sp["osDisk"].(map[string]any)["name"])
	assert.Equal(t, "30", sp["osDisk"].(map[string]any)["diskSizeGB"])
	assert.Equal(t, "latest", sp["imageReference"].(map[string]any)["version"])
	assert.Equal(t, "24.04.202411030", sp["imageReference"].(map[string]any)["exactVersion"])
	assert.Equal(t, []any{map[string]any{"keyData": "ssh-rsa AAAA", "path": "/home/azureuser/.ssh/authorized_keys"}}, c["publicKeys"])
	assert.Equal(t, map[string]any{"encryptionAtHost": "false", "secureBootEnabled": "true", "securityType": "TrustedLaunch", "virtualTpmEnabled": "true"}, c["securityProfile"])
	assert.Contains(t, c, "physicalZone")
	iface := r.body["network"].(map[string]any)["interface"].([]any)[0].(map[string]any)
	assert.Equal(t, "6045BDFE2D67", iface["macAddress"])
	assert.Equal(t, "10.1.0.5", iface["ipv4"].(map[string]any)["ipAddress"].([]any)[0].(map[string]any)["privateIpAddress"])
	assert.Equal(t, "10.1.0.0", iface["ipv4"].(map[string]any)["subnet"].([]any)[0].(map[string]any)["address"])

	old := f.do(t, "GET", "/metadata/instance/compute?api-version=2017-04-02", md)
	require.Equal(t, 200, old.code)
	for _, k := range []string{"azEnvironment", "storageProfile", "osProfile", "tagsList", "resourceId", "userData", "zone", "subscriptionId"} {
		assert.NotContains(t, old.body, k, "2017-04-02 predates %s", k)
	}
	for _, k := range []string{"location", "name", "offer", "osType", "publisher", "sku", "version", "vmId", "vmSize", "platformFaultDomain", "platformUpdateDomain"} {
		assert.Contains(t, old.body, k)
	}
	mid := f.do(t, "GET", "/metadata/instance/compute/osProfile?api-version=2020-07-15", md)
	assert.Equal(t, map[string]any{"adminUsername": "azureuser", "computerName": "myVM"}, mid.body, "disablePasswordAuthentication came in 2020-10-01")
}
