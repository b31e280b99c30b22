// Package azure_test checks env/azure/azuredeploy.json, the ARM template
// of a nightly VM's standing prerequisites, without deploying it.
package azure_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// known lists the resource types and api-versions the template may use:
// each pair is a published one (see the template reference linked).
var known = map[string]string{
	// https://learn.microsoft.com/azure/templates/microsoft.managedidentity/2023-01-31/userassignedidentities
	"Microsoft.ManagedIdentity/userAssignedIdentities 2023-01-31": "",
	// https://learn.microsoft.com/azure/templates/microsoft.managedidentity/2023-01-31/userassignedidentities/federatedidentitycredentials
	"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials 2023-01-31": "",
	// https://learn.microsoft.com/azure/templates/microsoft.network/2023-09-01/networksecuritygroups
	"Microsoft.Network/networkSecurityGroups 2023-09-01": "",
	// https://learn.microsoft.com/azure/templates/microsoft.network/2023-09-01/virtualnetworks
	"Microsoft.Network/virtualNetworks 2023-09-01": "",
	// https://learn.microsoft.com/azure/templates/microsoft.network/2023-09-01/publicipaddresses
	"Microsoft.Network/publicIPAddresses 2023-09-01": "",
	// https://learn.microsoft.com/azure/templates/microsoft.network/2023-09-01/networkinterfaces
	"Microsoft.Network/networkInterfaces 2023-09-01": "",
	// https://learn.microsoft.com/azure/templates/microsoft.compute/2024-07-01/virtualmachines
	"Microsoft.Compute/virtualMachines 2024-07-01": "",
	// https://learn.microsoft.com/azure/templates/microsoft.authorization/2022-04-01/roleassignments
	"Microsoft.Authorization/roleAssignments 2022-04-01": "",
	// https://learn.microsoft.com/azure/templates/microsoft.resources/2022-09-01/deployments
	"Microsoft.Resources/deployments 2022-09-01": "",
}

// builtinRoles are the role definition ids the template may assign.
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
var builtinRoles = map[string]string{
	"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
	"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
	"f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}

var (
	paramRef    = regexp.MustCompile(`parameters\('([^']+)'\)`)
	varRef      = regexp.MustCompile(`variables\('([^']+)'\)`)
	referenceOf = regexp.MustCompile(`reference\(resourceId\('([^']+)'[^)]*\), '([0-9]{4}-[0-9]{2}-[0-9]{2})'`)
	resourceID  = regexp.MustCompile(`resourceId\('([^']+)'`)
	guid        = regexp.MustCompile(`'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'|"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"`)
)

type template struct {
	Schema     string                     `json:"$schema"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Variables  map[string]json.RawMessage `json:"variables"`
	Resources  []map[string]any           `json:"resources"`
	Outputs    map[string]json.RawMessage `json:"outputs"`
}

func load(t *testing.T) ([]byte, template) {
	b, err := os.ReadFile("azuredeploy.json")
	require.NoError(t, err)
	var tpl template
	require.NoError(t, json.Unmarshal(b, &tpl), "azuredeploy.json is JSON")
	return b, tpl
}

// strings collects every string value under v, nested templates excepted
// (they have their own parameters).
func stringsIn(v any, nested *[]map[string]any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = append(out, stringsIn(e, nested)...)
		}
	case map[string]any:
		for k, e := range x {
			if k == "template" {
				if m, ok := e.(map[string]any); ok && nested != nil {
					*nested = append(*nested, m)
					continue
				}
			}
			out = append(out, k)
			out = append(out, stringsIn(e, nested)...)
		}
	}
	return out
}

// checkScope checks one template scope: every parameter and variable
// referenced is declared and every one declared is used; resources have
// known type/apiVersion pairs.
func checkScope(t *testing.T, name string, tpl map[string]any) {
	params, _ := tpl["parameters"].(map[string]any)
	vars, _ := tpl["variables"].(map[string]any)
	var nested []map[string]any
	body := map[string]any{"variables": tpl["variables"], "resources": tpl["resources"], "outputs": tpl["outputs"]}
	// Parameter default values may use other parameters and functions.
	for _, p := range params {
		if m, ok := p.(map[string]any); ok {
			body["default-"+name] = m["defaultValue"]
		}
	}
	text := strings.Join(stringsIn(body, &nested), "\n")
	usedP, usedV := map[string]bool{}, map[string]bool{}
	for _, m := range paramRef.FindAllStringSubmatch(text, -1) {
		usedP[m[1]] = true
		_, ok := params[m[1]]
		assert.True(t, ok, "%s: [parameters('%s')] has no declaration", name, m[1])
	}
	for _, m := range varRef.FindAllStringSubmatch(text, -1) {
		usedV[m[1]] = true
		_, ok := vars[m[1]]
		assert.True(t, ok, "%s: [variables('%s')] has no declaration", name, m[1])
	}
	for p := range params {
		assert.True(t, usedP[p], "%s: parameter %s is never used", name, p)
	}
	for v := range vars {
		assert.True(t, usedV[v], "%s: variable %s is never used", name, v)
	}
	types := map[string]bool{}
	resources, _ := tpl["resources"].([]any)
	require.NotEmpty(t, resources, name)
	for _, r := range resources {
		m := r.(map[string]any)
		typ, _ := m["type"].(string)
		api, _ := m["apiVersion"].(string)
		types[typ] = true
		_, ok := known[typ+" "+api]
		assert.True(t, ok, "%s: resource type %s api-version %s is not in the known list", name, typ, api)
		assert.NotEmpty(t, m["name"], "%s: a %s has no name", name, typ)
	}
	for _, m := range referenceOf.FindAllStringSubmatch(text, -1) {
		_, ok := known[m[1]+" "+m[2]]
		assert.True(t, ok, "%s: reference() to %s with unknown api-version %s", name, m[1], m[2])
	}
	for _, m := range resourceID.FindAllStringSubmatch(text, -1) {
		typ := m[1]
		if typ == "Microsoft.Network/virtualNetworks/subnets" {
			typ = "Microsoft.Network/virtualNetworks" // subnets are declared inside the network
		}
		if typ == "Microsoft.Authorization/roleDefinitions" {
			continue // built in, not deployed
		}
		assert.True(t, types[typ], "%s: resourceId('%s', ...) names a type the template does not deploy", name, m[1])
	}
	for _, n := range nested {
		checkScope(t, name+" > nested", n)
	}
}

func TestTemplate(t *testing.T) {
	b, _ := load(t)
	var tpl map[string]any
	require.NoError(t, json.Unmarshal(b, &tpl))
	assert.Equal(t, "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", tpl["$schema"])
	checkScope(t, "azuredeploy.json", tpl)
}

func TestTemplateRolesAreBuiltIn(t *testing.T) {
	b, _ := load(t)
	found := map[string]bool{}
	for _, m := range guid.FindAllStringSubmatch(string(b), -1) {
		id := m[1] + m[2]
		name, ok := builtinRoles[id]
		assert.True(t, ok, "GUID %s is not a built-in role this template may assign", id)
		found[name] = true
	}
	for _, want := range builtinRoles {
		assert.True(t, found[want], "the template should assign %s", want)
	}
}

// The VM carries what the tutorials need: a system-assigned identity and
// ID1; the runner's identity trusts GitHub's issuer for this repository.
func TestTemplateProvidesThePrerequisites(t *testing.T) {
	_, tpl := load(t)
	byType := map[string][]map[string]any{}
	for _, r := range tpl.Resources {
		byType[r["type"].(string)] = append(byType[r["type"].(string)], r)
	}
	vms := byType["Microsoft.Compute/virtualMachines"]
	require.Len(t, vms, 1)
	ident := vms[0]["identity"].(map[string]any)
	assert.Equal(t, "SystemAssigned, UserAssigned", ident["type"])
	assert.Len(t, ident["userAssignedIdentities"], 1)
	fic := byType["Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"]
	require.Len(t, fic, 1)
	props := fic[0]["properties"].(map[string]any)
	assert.Equal(t, "https://token.actions.githubusercontent.com", props["issuer"])
	assert.Contains(t, props["subject"], ":environment:nightly-", "the subject matches the nightly workflow's job environment")
	assert.Len(t, byType["Microsoft.Authorization/roleAssignments"], 2, "Reader for the VM's identity and ID1 on the group")
	// Nothing standing is tagged as miconform's leftovers: the sweep would delete it.
	assert.NotContains(t, string(mustRead(t, "azuredeploy.json")), `"createdBy"`)
}

// The README names every parameter a deployment must pass.
func TestREADMENamesRequiredParameters(t *testing.T) {
	_, tpl := load(t)
	readme := string(mustRead(t, "README.md"))
	for name, raw := range tpl.Parameters {
		var p struct {
			DefaultValue any `json:"defaultValue"`
		}
		require.NoError(t, json.Unmarshal(raw, &p))
		if p.DefaultValue == nil {
			assert.Contains(t, readme, name+"=", "README should show how to pass %s", name)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}
