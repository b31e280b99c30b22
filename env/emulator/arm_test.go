package emulator_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
)

func TestARMRequestValidation(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	rg := h.rg("myResourceGroupVM")
	t.Run("missing api-version", func(t *testing.T) {
		r := h.op("GET", rg, nil)
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "MissingApiVersionParameter", r.errCode())
		assert.Equal(t, "The api-version query parameter (?api-version=) is required for all requests.", r.errMessage())
	})
	for _, v := range []string{"2099-01-01", "latest", "2021-13-01", "2013-01-01", "2021-04-01-foo"} {
		t.Run("invalid api-version "+v, func(t *testing.T) {
			r := h.op("GET", rg+"?api-version="+v, nil)
			assert.Equal(t, 400, r.code)
			assert.Equal(t, "InvalidApiVersionParameter", r.errCode())
			assert.True(t, strings.HasPrefix(r.errMessage(), "The api-version '"+v+"' is invalid. The supported versions are '2025-04-01,"), r.errMessage())
			assert.True(t, strings.HasSuffix(r.errMessage(), "'. Please see https://aka.ms/arm-api-versions for more details."), r.errMessage())
		})
	}
	t.Run("preview api-version", func(t *testing.T) {
		r := h.op("GET", rg+"?api-version=2021-04-01-preview", nil)
		assert.Equal(t, 200, r.code)
	})
	t.Run("resource group not found", func(t *testing.T) {
		r := h.op("GET", h.rg("NoSuchGroup")+"?api-version=2021-04-01", nil)
		assert.Equal(t, 404, r.code)
		assert.Equal(t, "ResourceGroupNotFound", r.errCode())
		assert.Equal(t, "Resource group 'NoSuchGroup' could not be found.", r.errMessage())
		r = h.op("GET", h.rg("NoSuchGroup")+"/providers/Microsoft.Compute/virtualMachines/myVM?api-version=2024-07-01", nil)
		assert.Equal(t, "ResourceGroupNotFound", r.errCode())
	})
	t.Run("resource not found", func(t *testing.T) {
		r := h.op("GET", rg+"/providers/Microsoft.Compute/virtualMachines/nope?api-version=2024-07-01", nil)
		assert.Equal(t, 404, r.code)
		assert.Equal(t, "ResourceNotFound", r.errCode())
		assert.Equal(t, "The Resource 'Microsoft.Compute/virtualMachines/nope' under resource group 'myResourceGroupVM' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", r.errMessage())
		r = h.op("GET", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope?api-version=2023-01-31", nil)
		assert.Equal(t, "ResourceNotFound", r.errCode())
		assert.Contains(t, r.errMessage(), "'Microsoft.ManagedIdentity/userAssignedIdentities/nope'")
	})
	t.Run("another subscription", func(t *testing.T) {
		r := h.op("GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2021-04-01", nil)
		assert.Equal(t, 404, r.code)
		assert.Equal(t, "SubscriptionNotFound", r.errCode())
	})
	t.Run("unknown resource type", func(t *testing.T) {
		r := h.op("GET", rg+"/providers/Microsoft.Nope/things/x?api-version=2021-04-01", nil)
		assert.Equal(t, 404, r.code)
		assert.Equal(t, "InvalidResourceType", r.errCode())
	})
	t.Run("unsupported method", func(t *testing.T) {
		r := h.op("POST", rg+"?api-version=2021-04-01", map[string]any{})
		assert.Equal(t, 405, r.code)
		assert.Equal(t, "MethodNotAllowed", r.errCode())
	})
	t.Run("body errors", func(t *testing.T) {
		r := h.op("PUT", h.rg("x1")+"?api-version=2021-04-01", "{not json")
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "InvalidRequestContent", r.errCode())
		r = h.op("PUT", h.rg("x1")+"?api-version=2021-04-01", " ")
		assert.Equal(t, "InvalidRequestContent", r.errCode())
	})
}

func TestARMResourceGroups(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	t.Run("names match without case, answers use the created casing", func(t *testing.T) {
		for _, name := range []string{"myresourcegroupvm", "MYRESOURCEGROUPVM", "myResourceGroupVM"} {
			r := h.op("GET", h.sub()+"/resourcegroups/"+name+"?api-version=2021-04-01", nil)
			require.Equal(t, 200, r.code)
			assert.Equal(t, "myResourceGroupVM", r.body["name"])
			assert.Equal(t, h.rg("myResourceGroupVM"), r.body["id"])
			assert.Equal(t, "Microsoft.Resources/resourceGroups", r.body["type"])
			assert.Equal(t, "westus", r.body["location"])
			assert.Equal(t, "Succeeded", str(r.body, "properties", "provisioningState"))
		}
		r := h.op("GET", strings.ToUpper(h.rg("myResourceGroupVM"))+"?api-version=2021-04-01", nil)
		assert.Equal(t, 200, r.code, "the whole path matches without case")
	})
	t.Run("PUT creates with 201, then updates with 200", func(t *testing.T) {
		r := h.op("PUT", h.rg("NewGroup")+"?api-version=2021-04-01", map[string]any{"location": "West US 2", "tags": map[string]string{"k": "v"}})
		require.Equal(t, 201, r.code, "%s", r.raw)
		assert.Equal(t, "NewGroup", r.body["name"])
		assert.Equal(t, "westus2", r.body["location"])
		assert.Equal(t, map[string]any{"k": "v"}, r.body["tags"])

		r = h.op("PUT", h.rg("newgroup")+"?api-version=2021-04-01", map[string]any{"location": "westus2"})
		require.Equal(t, 200, r.code)
		assert.Equal(t, "NewGroup", r.body["name"], "an update keeps the original casing")
		assert.Equal(t, h.rg("NewGroup"), r.body["id"])

		r = h.op("PUT", h.rg("NewGroup")+"?api-version=2021-04-01", map[string]any{"location": "eastus"})
		assert.Equal(t, 409, r.code)
		assert.Equal(t, "InvalidResourceGroupLocation", r.errCode())
		assert.Equal(t, "Invalid resource group location 'eastus'. The Resource group already exists in location 'westus2'.", r.errMessage())

		r = h.op("PATCH", h.rg("NEWGROUP")+"?api-version=2021-04-01", map[string]any{"tags": map[string]string{"x": "y"}})
		require.Equal(t, 200, r.code)
		assert.Equal(t, map[string]any{"x": "y"}, r.body["tags"])
		assert.Equal(t, "NewGroup", r.body["name"])
	})
	t.Run("PUT validation", func(t *testing.T) {
		r := h.op("PUT", h.rg("nolocation")+"?api-version=2021-04-01", map[string]any{"tags": map[string]string{}})
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "LocationRequired", r.errCode())
		r = h.op("PUT", h.rg("bad.")+"?api-version=2021-04-01", map[string]any{"location": "westus"})
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "InvalidResourceGroup", r.errCode())
		r = h.op("PUT", h.rg("bad%24name")+"?api-version=2021-04-01", map[string]any{"location": "westus"})
		assert.Equal(t, "InvalidResourceGroup", r.errCode())
		assert.Contains(t, r.errMessage(), "has these invalid characters: '$'")
	})
	t.Run("HEAD", func(t *testing.T) {
		assert.Equal(t, 204, h.op("HEAD", h.rg("myResourceGroupVM")+"?api-version=2021-04-01", nil).code)
		assert.Equal(t, 404, h.op("HEAD", h.rg("nope")+"?api-version=2021-04-01", nil).code)
	})
	t.Run("list", func(t *testing.T) {
		r := h.op("GET", h.sub()+"/resourcegroups?api-version=2021-04-01", nil)
		require.Equal(t, 200, r.code)
		var names []string
		for _, g := range r.value() {
			names = append(names, g["name"].(string))
		}
		assert.Contains(t, names, "myResourceGroupVM")
		assert.Contains(t, names, "NewGroup")
	})
}

func TestARMDeleteResourceGroupCascades(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	rg := h.rg("myResourceGroupVM")
	vm := rg + "/providers/Microsoft.Compute/virtualMachines/myVM"
	vmPrincipal := h.vmPrincipalID(vm)
	uai := h.op("GET", h.E.World.UserIdentityResourceID+"?api-version=2023-01-31", nil)
	require.Equal(t, 200, uai.code)
	uaiPrincipal := str(uai.body, "properties", "principalId")
	_, ok := h.E.Dir.ByObjectID(vmPrincipal)
	require.True(t, ok)
	_, ok = h.E.Dir.ByObjectID(uaiPrincipal)
	require.True(t, ok)
	under := func() []string {
		var out []string
		for _, a := range h.E.RBAC.List(rg, true) {
			if strings.HasPrefix(strings.ToLower(a.Scope), strings.ToLower(rg)) {
				out = append(out, a.Scope)
			}
		}
		return out
	}
	require.NotEmpty(t, under(), "the seed assigns Reader on the group")
	// An assignment in a group whose name extends this one's survives.
	require.Equal(t, 201, h.op("PUT", h.rg("myResourceGroupVM2")+"?api-version=2021-04-01", map[string]any{"location": "westus"}).code)
	keep := h.assignRole(h.E.Operator.ObjectID, readerRole, h.rg("myResourceGroupVM2"))
	require.Equal(t, 200, h.imds("/metadata/identity/oauth2/token", url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}}).code)

	r := h.op("DELETE", h.sub()+"/resourcegroups/MYRESOURCEGROUPVM?api-version=2021-04-01", nil)
	require.Equal(t, 202, r.code, "%s", r.raw)
	loc := r.header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "https://management.azure.com"+h.sub()+"/operationresults/"), loc)
	assert.Contains(t, loc, "api-version=2021-04-01")
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	// The Location answers 202 while the deletion runs, then 200.
	poll := h.arm("GET", strings.TrimPrefix(loc, "https://management.azure.com"), h.operatorToken(), nil)
	for i := 0; poll.code == 202 && i < 10; i++ {
		poll = h.arm("GET", strings.TrimPrefix(loc, "https://management.azure.com"), h.operatorToken(), nil)
	}
	assert.Equal(t, 200, poll.code)

	assert.Equal(t, 404, h.op("GET", rg+"?api-version=2021-04-01", nil).code)
	assert.Equal(t, "ResourceGroupNotFound", h.op("GET", vm+"?api-version=2024-07-01", nil).errCode())
	_, ok = h.E.Dir.ByObjectID(vmPrincipal)
	assert.False(t, ok, "the VM's identity left the directory")
	_, ok = h.E.Dir.ByObjectID(uaiPrincipal)
	assert.False(t, ok, "the user-assigned identity left the directory")
	assert.Empty(t, under(), "assignments in the group are gone")
	_, ok = h.E.RBAC.Get(h.rg("myResourceGroupVM2"), keep)
	assert.True(t, ok, "an assignment in myResourceGroupVM2 is not under myResourceGroupVM")

	tok := h.imds("/metadata/identity/oauth2/token", url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}})
	assert.Equal(t, 400, tok.code)
	assert.Equal(t, "Identity not found", tok.body["error_description"])

	r = h.op("DELETE", rg+"?api-version=2021-04-01", nil)
	assert.Equal(t, 404, r.code)
	assert.Equal(t, "ResourceGroupNotFound", r.errCode())
}

func assignmentBody(h *harness, role, principal string) map[string]any {
	return map[string]any{"properties": map[string]any{
		"roleDefinitionId": h.sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + role,
		"principalId":      principal, "principalType": "ServicePrincipal",
	}}
}

func TestARMRoleAssignments(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	rg := h.rg("myResourceGroupVM")
	app := h.newApp("assignee")
	name := "05c5a614-a7d6-4502-b150-c2fb455033ff"
	path := rg + "/providers/Microsoft.Authorization/roleAssignments/" + name + "?api-version=2022-04-01"

	r := h.op("PUT", path, assignmentBody(h, contributorRole, app.ObjectID))
	require.Equal(t, 201, r.code, "%s", r.raw)
	assert.Equal(t, rg+"/providers/Microsoft.Authorization/roleAssignments/"+name, r.body["id"])
	assert.Equal(t, name, r.body["name"])
	assert.Equal(t, "Microsoft.Authorization/roleAssignments", r.body["type"])
	assert.Equal(t, rg, str(r.body, "properties", "scope"))
	assert.Equal(t, app.ObjectID, str(r.body, "properties", "principalId"))
	assert.Equal(t, "ServicePrincipal", str(r.body, "properties", "principalType"))
	assert.Equal(t, h.sub()+"/providers/Microsoft.Authorization/roleDefinitions/"+contributorRole, str(r.body, "properties", "roleDefinitionId"))
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`, str(r.body, "properties", "createdOn"))
	assert.Nil(t, r.body["properties"].(map[string]any)["createdBy"], "the 201 names no creator, as Azure's does")
	assert.Equal(t, h.E.Operator.ObjectID, str(h.op("GET", path, nil).body, "properties", "createdBy"))

	t.Run("the assignment takes effect", func(t *testing.T) {
		tok := h.appToken(app, "https://management.azure.com/")
		r := h.arm("PATCH", rg+"?api-version=2021-04-01", tok, map[string]any{"tags": map[string]string{"by": "app"}})
		assert.Equal(t, 200, r.code)
	})
	t.Run("re-PUT is 200", func(t *testing.T) {
		r := h.op("PUT", path, assignmentBody(h, contributorRole, app.ObjectID))
		assert.Equal(t, 200, r.code)
	})
	t.Run("duplicate under another name", func(t *testing.T) {
		r := h.op("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", assignmentBody(h, contributorRole, app.ObjectID))
		assert.Equal(t, 409, r.code)
		assert.Equal(t, "RoleAssignmentExists", r.errCode())
		assert.Equal(t, "The role assignment already exists. The ID of the existing role assignment is 05c5a614a7d64502b150c2fb455033ff.", r.errMessage())
	})
	t.Run("changing the principal of a name", func(t *testing.T) {
		other := h.newApp("other")
		r := h.op("PUT", path, assignmentBody(h, contributorRole, other.ObjectID))
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "RoleAssignmentUpdateNotPermitted", r.errCode())
	})
	t.Run("same name at another scope", func(t *testing.T) {
		r := h.op("PUT", h.sub()+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01", assignmentBody(h, readerRole, app.ObjectID))
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "RoleAssignmentUpdateNotPermitted", r.errCode())
		assert.Equal(t, "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.", r.errMessage())
		got := h.op("GET", path, nil)
		assert.Equal(t, 200, got.code, "the original assignment is untouched")
	})
	t.Run("invalid name", func(t *testing.T) {
		r := h.op("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/not-a-guid?api-version=2022-04-01", assignmentBody(h, readerRole, app.ObjectID))
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "InvalidRoleAssignmentId", r.errCode())
		assert.Equal(t, "The role assignment ID 'not-a-guid' is not valid. The role assignment ID must be a GUID.", r.errMessage())
	})
	t.Run("unknown principal", func(t *testing.T) {
		ghost := "a1b2c3d4-0000-4000-8000-000000000001"
		r := h.op("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", assignmentBody(h, readerRole, ghost))
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "PrincipalNotFound", r.errCode())
		assert.True(t, strings.HasPrefix(r.errMessage(), "Principal a1b2c3d4000040008000000000000001 does not exist in the directory "+h.E.TenantID()+". Check that you have the correct principal ID."), r.errMessage())
	})
	t.Run("unknown role definition", func(t *testing.T) {
		r := h.op("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", assignmentBody(h, "00000000-0000-0000-0000-000000000000", app.ObjectID))
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "RoleDefinitionDoesNotExist", r.errCode())
	})
	t.Run("missing properties", func(t *testing.T) {
		r := h.op("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", map[string]any{})
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "InvalidRequestContent", r.errCode())
	})
	t.Run("group that does not exist", func(t *testing.T) {
		r := h.op("PUT", h.rg("ghost")+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", assignmentBody(h, readerRole, app.ObjectID))
		assert.Equal(t, 404, r.code)
		assert.Equal(t, "ResourceGroupNotFound", r.errCode())
	})

	vm := rg + "/providers/Microsoft.Compute/virtualMachines/myVM"
	onVM := h.assignRole(app.ObjectID, readerRole, vm)
	names := func(r reply) []string {
		var out []string
		for _, a := range r.value() {
			out = append(out, a["name"].(string))
		}
		return out
	}
	list := func(scope, filter string) reply {
		q := url.Values{"api-version": {"2022-04-01"}}
		if filter != "" {
			q.Set("$filter", filter)
		}
		r := h.op("GET", scope+"/providers/Microsoft.Authorization/roleAssignments?"+q.Encode(), nil)
		require.Equal(t, 200, r.code, "%s", r.raw)
		return r
	}
	t.Run("list at, above and below", func(t *testing.T) {
		all := names(list(rg, ""))
		assert.Contains(t, all, name)
		assert.Contains(t, all, onVM, "without atScope() assignments below the scope are listed")
	})
	t.Run("atScope()", func(t *testing.T) {
		at := list(rg, "atScope()")
		assert.Contains(t, names(at), name)
		assert.NotContains(t, names(at), onVM, "atScope() leaves out assignments below the scope")
		var scopes []string
		for _, a := range at.value() {
			scopes = append(scopes, str(a, "properties", "scope"))
		}
		assert.Contains(t, scopes, h.sub(), "the operator's subscription Owner applies at the group")
	})
	t.Run("principalId filter", func(t *testing.T) {
		assert.ElementsMatch(t, []string{name, onVM}, names(list(rg, "principalId eq '"+app.ObjectID+"'")))
		assert.ElementsMatch(t, []string{name}, names(list(rg, "atScope() and principalId eq '"+app.ObjectID+"'")))
		assert.Empty(t, names(list(rg, "principalId eq '"+directory.NewGUID()+"'")))
	})
	t.Run("unsupported filter", func(t *testing.T) {
		r := h.op("GET", rg+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter="+url.QueryEscape("roleName eq 'x'"), nil)
		assert.Equal(t, 400, r.code)
		assert.Equal(t, "UnsupportedQuery", r.errCode())
	})
	t.Run("get and delete", func(t *testing.T) {
		r := h.op("GET", path, nil)
		require.Equal(t, 200, r.code)
		assert.Equal(t, name, r.body["name"])
		r = h.op("DELETE", path, nil)
		assert.Equal(t, 200, r.code)
		assert.Equal(t, name, r.body["name"])
		r = h.op("DELETE", path, nil)
		assert.Equal(t, 204, r.code)
		r = h.op("GET", path, nil)
		assert.Equal(t, 404, r.code)
		assert.Equal(t, "RoleAssignmentNotFound", r.errCode())
		tok := h.appToken(app, "https://management.azure.com/")
		assert.Equal(t, 403, h.arm("PATCH", rg+"?api-version=2021-04-01", tok, map[string]any{"tags": map[string]string{}}).code, "access ends with the assignment")
	})
}

func TestARMRoleDefinitions(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	q := url.Values{"api-version": {"2022-04-01"}, "$filter": {"roleName eq 'Reader'"}}
	r := h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleDefinitions?"+q.Encode(), nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	v := r.value()
	require.Len(t, v, 1)
	d := v[0]
	assert.Equal(t, readerRole, d["name"])
	assert.Equal(t, h.sub()+"/providers/Microsoft.Authorization/roleDefinitions/"+readerRole, d["id"])
	assert.Equal(t, "Microsoft.Authorization/roleDefinitions", d["type"])
	assert.Equal(t, "Reader", str(d, "properties", "roleName"))
	assert.Equal(t, "BuiltInRole", str(d, "properties", "type"))
	assert.Equal(t, []any{"/"}, get(d, "properties", "assignableScopes"))
	perms := get(d, "properties", "permissions").([]any)
	require.Len(t, perms, 1)
	assert.Equal(t, []any{"*/read"}, get(perms[0], "actions"))

	r = h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", nil)
	require.Equal(t, 200, r.code)
	assert.GreaterOrEqual(t, len(r.value()), 12)

	r = h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleDefinitions/"+ownerRole+"?api-version=2022-04-01", nil)
	require.Equal(t, 200, r.code)
	assert.Equal(t, "Owner", str(r.body, "properties", "roleName"))

	r = h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000?api-version=2022-04-01", nil)
	assert.Equal(t, 404, r.code)
	assert.Equal(t, "RoleDefinitionDoesNotExist", r.errCode())

	q.Set("$filter", "description eq 'x'")
	r = h.op("GET", h.sub()+"/providers/Microsoft.Authorization/roleDefinitions?"+q.Encode(), nil)
	assert.Equal(t, 400, r.code)
}

func TestARMVirtualMachineIdentity(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	vm := h.E.World.VMResourceID
	first := h.vmPrincipalID(vm)
	p, ok := h.E.Dir.ByObjectID(first)
	require.True(t, ok)
	assert.Equal(t, directory.SystemAssigned, p.Kind)
	assert.Equal(t, vm, p.ResourceID)

	// Disable both identities.
	r := h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "None"}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, "None", str(r.body, "identity", "type"))
	assert.Empty(t, str(r.body, "identity", "principalId"))
	_, ok = h.E.Dir.ByObjectID(first)
	assert.False(t, ok, "disabling removes the service principal")
	tok := h.imds("/metadata/identity/oauth2/token", url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}})
	assert.Equal(t, 400, tok.code)
	assert.Equal(t, "Identity not found", tok.body["error_description"])

	// Re-enable: a new principal, never the old one.
	r = h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "SystemAssigned"}})
	require.Equal(t, 200, r.code)
	second := str(r.body, "identity", "principalId")
	assert.Regexp(t, `^[0-9a-f-]{36}$`, second)
	assert.NotEqual(t, first, second)
	assert.Equal(t, h.E.TenantID(), str(r.body, "identity", "tenantId"))
	_, ok = h.E.Dir.ByObjectID(second)
	assert.True(t, ok)
	tok = h.imds("/metadata/identity/oauth2/token", url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}})
	require.Equal(t, 200, tok.code)
	c, err := h.E.Issuer.Verify(tok.body["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, second, c.OID)

	// Bad identity types.
	r = h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "Both"}})
	assert.Equal(t, 400, r.code)
	assert.Equal(t, "InvalidIdentityType", r.errCode())
	r = h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "UserAssigned"}})
	assert.Equal(t, 400, r.code)
	assert.Equal(t, "InvalidIdentityValues", r.errCode())
	r = h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "SystemAssigned, UserAssigned",
		"userAssignedIdentities": map[string]any{h.rg("myResourceGroupVM") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost": map[string]any{}}}})
	assert.Equal(t, 400, r.code)
	assert.Equal(t, "FailedIdentityOperation", r.errCode())

	// Deleting the VM removes its identity (Compute answers 202 and
	// finishes in the background; the identity is gone at once here).
	r = h.op("DELETE", vm+"?api-version=2024-07-01", nil)
	assert.Equal(t, 202, r.code)
	_, ok = h.E.Dir.ByObjectID(second)
	assert.False(t, ok)
	assert.Equal(t, 204, h.op("DELETE", vm+"?api-version=2024-07-01", nil).code)
}

func TestARMUserAssignedIdentity(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	id := h.rg("myResourceGroupVM") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myIdentity"
	r := h.op("PUT", id+"?api-version=2023-01-31", map[string]any{"location": "westus"})
	require.Equal(t, 201, r.code, "%s", r.raw)
	principal, client := str(r.body, "properties", "principalId"), str(r.body, "properties", "clientId")
	assert.Regexp(t, `^[0-9a-f-]{36}$`, principal)
	assert.Regexp(t, `^[0-9a-f-]{36}$`, client)
	assert.NotEqual(t, principal, client)
	assert.Equal(t, h.E.TenantID(), str(r.body, "properties", "tenantId"))
	assert.Equal(t, id, r.body["id"])
	assert.Equal(t, "Microsoft.ManagedIdentity/userAssignedIdentities", r.body["type"])
	p, ok := h.E.Dir.ByObjectID(principal)
	require.True(t, ok)
	assert.Equal(t, client, p.ClientID)
	assert.Equal(t, directory.UserAssigned, p.Kind)
	assert.Equal(t, id, p.ResourceID)

	r = h.op("PUT", id+"?api-version=2023-01-31", map[string]any{"location": "westus", "tags": map[string]string{"a": "b"}})
	require.Equal(t, 200, r.code)
	assert.Equal(t, principal, str(r.body, "properties", "principalId"), "an update keeps the identity")

	r = h.op("PUT", h.rg("myResourceGroupVM")+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x?api-version=2023-01-31", map[string]any{"location": "westus"})
	assert.Equal(t, 400, r.code)
	assert.Equal(t, "InvalidResourceName", r.errCode())

	r = h.op("GET", h.rg("myResourceGroupVM")+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31", nil)
	require.Equal(t, 200, r.code)
	var names []string
	for _, x := range r.value() {
		names = append(names, x["name"].(string))
	}
	assert.ElementsMatch(t, []string{"ID1", "myIdentity"}, names)

	assert.Equal(t, 200, h.op("DELETE", id+"?api-version=2023-01-31", nil).code)
	_, ok = h.E.Dir.ByObjectID(principal)
	assert.False(t, ok)
}

func TestARMLinkedAuthorizationFailed(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	// The identity lives in another group, where the app may only read.
	require.Equal(t, 201, h.op("PUT", h.rg("identities")+"?api-version=2021-04-01", map[string]any{"location": "westus"}).code)
	uai := h.rg("identities") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shared"
	require.Equal(t, 201, h.op("PUT", uai+"?api-version=2023-01-31", map[string]any{"location": "westus"}).code)
	app := h.newApp("deployer")
	h.assignRole(app.ObjectID, contributorRole, h.rg("myResourceGroupVM"))
	h.assignRole(app.ObjectID, readerRole, h.rg("identities"))
	tok := h.appToken(app, "https://management.azure.com/")
	vm := h.E.World.VMResourceID
	attach := map[string]any{"identity": map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{uai: map[string]any{}}}}

	r := h.arm("PATCH", vm+"?api-version=2024-07-01", tok, attach)
	assert.Equal(t, 403, r.code)
	assert.Equal(t, "LinkedAuthorizationFailed", r.errCode())
	assert.Equal(t, "The client '"+app.ClientID+"' with object id '"+app.ObjectID+"' has permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope '"+vm+"'; however, it does not have permission to perform action(s) 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) '"+uai+"' (respectively) or the linked scope(s) are invalid.", r.errMessage())
	got := h.op("GET", vm+"?api-version=2024-07-01", nil)
	assert.NotContains(t, get(got.body, "identity", "userAssignedIdentities"), uai, "nothing was attached")

	// Managed Identity Operator on the identity grants the assign action.
	h.assignRole(app.ObjectID, miOperatorRole, uai)
	r = h.arm("PATCH", vm+"?api-version=2024-07-01", tok, attach)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Contains(t, get(r.body, "identity", "userAssignedIdentities"), uai)
	assert.Contains(t, get(r.body, "identity", "userAssignedIdentities"), h.E.World.UserIdentityResourceID, "a PATCH keeps ID1 attached")
}

func TestARMResourcesList(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	q := url.Values{"api-version": {"2021-04-01"}, "$filter": {"name eq 'myVM'"}}
	r := h.op("GET", h.sub()+"/resources?"+q.Encode(), nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	v := r.value()
	require.Len(t, v, 1)
	assert.Equal(t, "myVM", v[0]["name"])
	assert.Equal(t, "Microsoft.Compute/virtualMachines", v[0]["type"])
	assert.Equal(t, h.E.World.VMResourceID, v[0]["id"])
	assert.Equal(t, h.vmPrincipalID(h.E.World.VMResourceID), str(v[0], "identity", "principalId"))
	assert.Equal(t, "SystemAssigned, UserAssigned", str(v[0], "identity", "type"))

	q.Set("$filter", "resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities'")
	r = h.op("GET", h.sub()+"/resources?"+q.Encode(), nil)
	require.Equal(t, 200, r.code)
	require.Len(t, r.value(), 1)
	assert.Equal(t, "ID1", r.value()[0]["name"])

	// The VM, its OS disk (myVM_OsDisk_1_...) and its NIC (myvm427): the
	// match ignores case.
	q.Set("$filter", "substringof('VM', name) and resourceGroup eq 'myresourcegroupvm'")
	r = h.op("GET", h.sub()+"/resources?"+q.Encode(), nil)
	require.Equal(t, 200, r.code)
	var types []string
	for _, x := range r.value() {
		types = append(types, x["type"].(string))
	}
	assert.ElementsMatch(t, []string{"Microsoft.Compute/virtualMachines", "Microsoft.Compute/disks", "Microsoft.Network/networkInterfaces"}, types)

	r = h.op("GET", h.rg("myResourceGroupVM")+"/resources?api-version=2021-04-01", nil)
	require.Equal(t, 200, r.code)
	var names []string
	for _, x := range r.value() {
		names = append(names, x["name"].(string))
	}
	assert.Contains(t, names, "myVM")
	assert.Contains(t, names, "ID1")
	r = h.op("GET", h.rg("nope")+"/resources?api-version=2021-04-01", nil)
	assert.Equal(t, "ResourceGroupNotFound", r.errCode())

	q.Set("$filter", "name ne 'x'")
	r = h.op("GET", h.sub()+"/resources?"+q.Encode(), nil)
	assert.Equal(t, 400, r.code)
	assert.Equal(t, "InvalidFilterInQueryString", r.errCode())

	// The list shows only what the caller may read.
	app := h.newApp("reader")
	tok := h.appToken(app, "https://management.azure.com/")
	r = h.arm("GET", h.sub()+"/resources?api-version=2021-04-01", tok, nil)
	require.Equal(t, 200, r.code)
	assert.Empty(t, r.value())
	h.assignRole(app.ObjectID, readerRole, h.E.World.UserIdentityResourceID)
	r = h.arm("GET", h.sub()+"/resources?api-version=2021-04-01", tok, nil)
	require.Equal(t, 200, r.code)
	require.Len(t, r.value(), 1)
	assert.Equal(t, "ID1", r.value()[0]["name"])
}

func TestARMSubscriptionsAndTenants(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	r := h.op("GET", "/subscriptions?api-version=2022-12-01", nil)
	require.Equal(t, 200, r.code)
	require.Len(t, r.value(), 1)
	s := r.value()[0]
	assert.Equal(t, h.E.SubscriptionID(), s["subscriptionId"])
	assert.Equal(t, h.sub(), s["id"])
	assert.Equal(t, h.E.TenantID(), s["tenantId"])
	assert.Equal(t, "Enabled", s["state"])
	assert.Equal(t, "RoleBased", s["authorizationSource"])

	app := h.newApp("newcomer")
	tok := h.appToken(app, "https://management.azure.com/")
	r = h.arm("GET", "/subscriptions?api-version=2022-12-01", tok, nil)
	require.Equal(t, 200, r.code)
	assert.Empty(t, r.value(), "no assignment, no subscription")
	r = h.arm("GET", h.sub()+"?api-version=2022-12-01", tok, nil)
	assert.Equal(t, 404, r.code)
	assert.Equal(t, "SubscriptionNotFound", r.errCode())
	assert.Equal(t, "The subscription '"+h.E.SubscriptionID()+"' could not be found.", r.errMessage())

	h.assignRole(app.ObjectID, readerRole, h.rg("myResourceGroupVM"))
	r = h.arm("GET", "/subscriptions?api-version=2022-12-01", tok, nil)
	require.Equal(t, 200, r.code)
	assert.Len(t, r.value(), 1, "an assignment inside the subscription makes it visible")
	assert.Equal(t, 200, h.arm("GET", h.sub()+"?api-version=2022-12-01", tok, nil).code)

	r = h.arm("GET", "/tenants?api-version=2022-12-01", tok, nil)
	require.Equal(t, 200, r.code)
	require.Len(t, r.value(), 1)
	assert.Equal(t, h.E.TenantID(), r.value()[0]["tenantId"])
}
