package azure_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// windows-vm.json: a Windows Server VM with the tutorials' identities,
// checked as azuredeploy.json is.
func TestWindowsTemplate(t *testing.T) {
	b := mustRead(t, "windows-vm.json")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", raw["$schema"])
	checkScope(t, "windows-vm.json", raw)

	var tpl template
	require.NoError(t, json.Unmarshal(b, &tpl))
	var vm map[string]any
	assignments := 0
	for _, r := range tpl.Resources {
		switch r["type"] {
		case "Microsoft.Compute/virtualMachines":
			vm = r
		case "Microsoft.Authorization/roleAssignments":
			assignments++
		}
	}
	require.NotNil(t, vm)
	ident := vm["identity"].(map[string]any)
	assert.Equal(t, "SystemAssigned, UserAssigned", ident["type"])
	assert.Len(t, ident["userAssignedIdentities"], 1, "ID1")
	props := vm["properties"].(map[string]any)
	img := props["storageProfile"].(map[string]any)["imageReference"].(map[string]any)
	assert.Equal(t, "MicrosoftWindowsServer", img["publisher"])
	assert.Contains(t, props["osProfile"], "windowsConfiguration")
	assert.Equal(t, 1, assignments, "Reader for the VM's system identity on the group")
	for _, m := range guid.FindAllStringSubmatch(string(b), -1) {
		_, ok := builtinRoles[m[1]+m[2]]
		assert.True(t, ok, "GUID %s is not a built-in role", m[1]+m[2])
	}
	assert.NotContains(t, string(b), `"createdBy"`, "the sweep would delete it")

	readme := string(mustRead(t, "README.md"))
	for name, p := range tpl.Parameters {
		var d struct {
			DefaultValue any `json:"defaultValue"`
		}
		require.NoError(t, json.Unmarshal(p, &d))
		if d.DefaultValue == nil {
			assert.Contains(t, readme, name+"=", "README should show how to pass %s", name)
		}
	}
}
