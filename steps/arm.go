package steps

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// Resource Manager steps: the portal actions of the tutorials (done as the
// operator through ARM) and the VM's calls with its access token.
func registerARM(sc *godog.ScenarioContext) {
	sc.Step(re(`^the VM has a system-assigned managed identity$`), vmHasSystemIdentity)
	sc.Step(re(`^the resource group the VM is in$`), theVMsResourceGroup)
	sc.Step(re(`^a new resource group named like "([^"]*)"$`), newResourceGroup)
	sc.Step(re(`^the operator grants the VM's system-assigned identity the "([^"]*)" role on the resource group$`), grantVMRole)
	sc.Step(re(`^the operator creates the user-assigned identity "([^"]*)" in the resource group$`), createUserIdentity)
	sc.Step(re(`^the operator assigns the user-assigned identity to the VM, keeping its system-assigned identity$`), assignUserIdentity)
	sc.Step(re(`^the operator sets the VM's identity type to "UserAssigned" with the user-assigned identity, as Update-AzVM -IdentityType "UserAssigned" does$`), setUserAssignedOnly)
	sc.Step(re(`^the operator grants the user-assigned identity the "([^"]*)" role on the resource group$`), grantUserIdentityRole)
	sc.Step(re(`^the VM sends (GET|PUT|POST|PATCH|DELETE) "([^"]*)" with the access token$`), vmCallWithToken)
	sc.Step(re(`^the VM sends GET "([^"]*)" without a token$`), vmCallWithoutToken)
	sc.Step(re(`^the VM's identity in the response lists the user-assigned identity$`), responseListsUAI)
	sc.Step(re(`^the VM sends (PUT|PATCH) "([^"]*)" with the access token and the JSON body '([^']*)', expecting to be refused$`), vmWriteExpectRefusal)
}

const (
	armAPI           = "2021-04-01"
	computeAPI       = "2024-07-01"
	identityAPI      = "2023-01-31"
	authorizationAPI = "2022-04-01"
)

// operator sends a Resource Manager request as the operator and requires a
// 2xx answer; the answer becomes the scenario's last response only when
// keep is true.
func (s *scenario) operator(ctx context.Context, method, path string, body any) (*azhttp.Exchange, error) {
	verifyOnly := s.t.Policy().Mode == target.VerifyOnly
	if verifyOnly && method != http.MethodGet {
		// The one guard every Given step passes through: a verify-only run
		// changes nothing in Azure.
		return nil, skipf("verify-only run: this scenario needs the operator to %s %s, which only a --provision run does", method, path)
	}
	scope := strings.TrimSuffix(s.t.Cloud().ARMResource, "/") + "/.default"
	tok, err := s.t.Operator().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil && verifyOnly {
		return nil, skipf("verify-only run without an operator signed in (az login): cannot read %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("operator sign-in: %w", err)
	}
	var b []byte
	h := http.Header{"Authorization": {"Bearer " + tok.Token}}
	if body != nil {
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
		h.Set("Content-Type", "application/json")
	}
	x := azhttp.Send(ctx, s.t.HTTPClient(), s.log, method, "https://"+s.t.Cloud().ARMHost+path, h, b)
	if x.Err != nil {
		return x, fmt.Errorf("operator %s %s: %w", method, path, x.Err)
	}
	if x.Status/100 != 2 {
		return x, fmt.Errorf("operator %s %s: %d %s", method, path, x.Status, x.Body)
	}
	return x, nil
}

func (s *scenario) rgPath() (string, error) {
	return s.expand("/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>")
}

// vmHasSystemIdentity is the tutorials' "Enable MSI on your VM": the VM's
// identity type includes SystemAssigned; if not, the operator turns it on
// as the portal's Identity blade does.
func vmHasSystemIdentity(ctx context.Context) error {
	s := from(ctx)
	if s.t.Policy().Mode == target.VerifyOnly {
		return s.verifySystemIdentity(ctx)
	}
	vmPath := s.vars["VM-RESOURCE-ID"] + "?api-version=" + computeAPI
	x, err := s.operator(ctx, http.MethodGet, vmPath, nil)
	if err != nil {
		return err
	}
	typ := gjson.GetBytes(x.Body, "identity.type").String()
	if !strings.Contains(strings.ToLower(typ), "systemassigned") {
		newType := "SystemAssigned"
		if strings.Contains(strings.ToLower(typ), "userassigned") {
			newType = "SystemAssigned, UserAssigned"
		}
		if x, err = s.operator(ctx, http.MethodPatch, vmPath, map[string]any{"identity": map[string]any{"type": newType}}); err != nil {
			return err
		}
	}
	pid := gjson.GetBytes(x.Body, "identity.principalId").String()
	if !isGUID(pid) {
		return fmt.Errorf("the VM's identity.principalId %q is not a GUID", pid)
	}
	s.set("VM-PRINCIPAL-ID", pid)
	s.set("TENANT-ID", gjson.GetBytes(x.Body, "identity.tenantId").String())
	return nil
}

func theVMsResourceGroup(ctx context.Context) error {
	s := from(ctx)
	s.set("RESOURCE-GROUP", s.t.Facts().ResourceGroup)
	return nil
}

// newResourceGroup creates a resource group for this scenario alone (a
// random suffix keeps scenarios and concurrent runs apart) and deletes it
// afterwards.
func newResourceGroup(ctx context.Context, like string) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("a new resource group like " + like); err != nil {
		return err
	}
	name := like + "-" + randomSuffix()
	s.set("RESOURCE-GROUP", name)
	path, _ := s.rgPath()
	// The policy's tags let the run's teardown and `runner sweep` find it.
	x, err := s.operator(ctx, http.MethodPut, path+"?api-version="+armAPI, map[string]any{
		"location": s.vars["LOCATION"], "tags": s.t.Policy().Tags,
	})
	if err != nil {
		return err
	}
	if x.Status != http.StatusCreated {
		return fmt.Errorf("creating resource group %s answered %d, want 201", name, x.Status)
	}
	s.set("LOCATION", gjson.GetBytes(x.Body, "location").String())
	s.onCleanup("delete resource group "+name, func(ctx context.Context) error {
		_, err := s.operator(ctx, http.MethodDelete, path+"?api-version="+armAPI, nil)
		return err
	})
	return nil
}

// grant is "Access control (IAM) > Add role assignment": look the role up by
// name, as the portal does, and assign it at the resource group.
func (s *scenario) grant(ctx context.Context, role, principal string) error {
	if s.t.Policy().Mode == target.VerifyOnly {
		return s.verifyRole(ctx, role, principal)
	}
	rg, err := s.rgPath()
	if err != nil {
		return err
	}
	_, err = s.assignRole(ctx, role, principal, rg)
	return err
}

// assignRole assigns role to principal at scope (a group, a resource, ...),
// removes the assignment after the scenario and returns its path, or ""
// when the principal already held the role there.
func (s *scenario) assignRole(ctx context.Context, role, principal, scope string) (string, error) {
	q := url.Values{"api-version": {authorizationAPI}, "$filter": {"roleName eq '" + role + "'"}}
	x, err := s.operator(ctx, http.MethodGet, scope+"/providers/Microsoft.Authorization/roleDefinitions?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	defs := gjson.GetBytes(x.Body, "value")
	if len(defs.Array()) != 1 {
		return "", fmt.Errorf("role %q: %d role definitions found, want 1", role, len(defs.Array()))
	}
	roleID := defs.Array()[0].Get("id").String()
	// A role the principal already holds at exactly this scope is left as
	// it is (and not removed afterwards): the portal would say it exists.
	q = url.Values{"api-version": {authorizationAPI}, "$filter": {"principalId eq '" + principal + "'"}}
	if x, err = s.operator(ctx, http.MethodGet, scope+"/providers/Microsoft.Authorization/roleAssignments?"+q.Encode(), nil); err != nil {
		return "", err
	}
	for _, a := range gjson.GetBytes(x.Body, "value").Array() {
		if strings.EqualFold(a.Get("properties.scope").String(), scope) && strings.EqualFold(lastSegment(a.Get("properties.roleDefinitionId").String()), lastSegment(roleID)) {
			return "", nil
		}
	}
	name := newGUID()
	path := scope + "/providers/Microsoft.Authorization/roleAssignments/" + name + "?api-version=" + authorizationAPI
	x, err = s.operator(ctx, http.MethodPut, path, map[string]any{"properties": map[string]any{
		"roleDefinitionId": roleID, "principalId": principal, "principalType": "ServicePrincipal",
	}})
	if err != nil {
		return "", err
	}
	if x.Status != http.StatusCreated {
		return "", fmt.Errorf("role assignment answered %d, want 201", x.Status)
	}
	s.granted(principal)
	s.onCleanup("remove "+role+" assignment", func(ctx context.Context) error {
		_, err := s.operator(ctx, http.MethodDelete, path, nil)
		return err
	})
	s.set("ASSIGNMENT-PATH", path)
	return path, nil
}

func grantVMRole(ctx context.Context, role string) error {
	s := from(ctx)
	pid, err := s.expand("<VM-PRINCIPAL-ID>")
	if err != nil {
		return err
	}
	return s.grant(ctx, role, pid)
}

func grantUserIdentityRole(ctx context.Context, role string) error {
	s := from(ctx)
	pid, err := s.expand("<UAI-PRINCIPAL-ID>")
	if err != nil {
		return err
	}
	return s.grant(ctx, role, pid)
}

// createUserIdentity is New-AzUserAssignedIdentity; the answer becomes the
// last response so the feature can check what the tutorial shows of it.
func createUserIdentity(ctx context.Context, name string) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("the user-assigned identity " + name + " created"); err != nil {
		return err
	}
	rg, err := s.rgPath()
	if err != nil {
		return err
	}
	path := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
	x, err := s.operator(ctx, http.MethodPut, path+"?api-version="+identityAPI, map[string]any{"location": s.vars["LOCATION"]})
	if err != nil {
		return err
	}
	s.last = x
	s.set("UAI-ID", gjson.GetBytes(x.Body, "id").String())
	s.set("CLIENT-ID", gjson.GetBytes(x.Body, "properties.clientId").String())
	s.set("UAI-PRINCIPAL-ID", gjson.GetBytes(x.Body, "properties.principalId").String())
	s.set("UAI-NAME", name)
	return nil
}

// assignUserIdentity is Update-AzVM -IdentityType SystemAssignedUserAssigned
// -IdentityID ...: ID1 added, the system-assigned identity kept. The
// article's -IdentityType "UserAssigned" drops the system identity (see
// setUserAssignedOnly). Removed again after the scenario.
func assignUserIdentity(ctx context.Context) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("a user-assigned identity assigned to the VM"); err != nil {
		return err
	}
	uai, err := s.expand("<UAI-ID>")
	if err != nil {
		return err
	}
	vmPath := s.vars["VM-RESOURCE-ID"] + "?api-version=" + computeAPI
	x, err := s.operator(ctx, http.MethodGet, vmPath, nil)
	if err != nil {
		return err
	}
	typ := "UserAssigned"
	if strings.Contains(strings.ToLower(gjson.GetBytes(x.Body, "identity.type").String()), "systemassigned") {
		typ = "SystemAssigned, UserAssigned"
	}
	x, err = s.operator(ctx, http.MethodPatch, vmPath, map[string]any{"identity": map[string]any{
		"type": typ, "userAssignedIdentities": map[string]any{uai: map[string]any{}},
	}})
	if err != nil {
		return err
	}
	s.onCleanup("detach "+uai+" from the VM", func(ctx context.Context) error {
		_, err := s.operator(ctx, http.MethodPatch, vmPath, map[string]any{"identity": map[string]any{
			"userAssignedIdentities": map[string]any{uai: nil},
		}})
		return err
	})
	s.last = x
	var got map[string]struct{ ClientID string }
	for k, v := range gjson.GetBytes(x.Body, "identity.userAssignedIdentities").Map() {
		if strings.EqualFold(k, uai) {
			got = map[string]struct{ ClientID string }{k: {v.Get("clientId").String()}}
		}
	}
	if len(got) == 0 {
		return fmt.Errorf("the VM's identity does not list %s after the update", uai)
	}
	for _, v := range got {
		if !strings.EqualFold(v.ClientID, s.vars["CLIENT-ID"]) {
			return fmt.Errorf("the VM lists client id %s for the identity, the identity says %s", v.ClientID, s.vars["CLIENT-ID"])
		}
	}
	return nil
}

// setUserAssignedOnly is the article's command as written: Update-AzVM
// -VM $vm -IdentityType "UserAssigned" -IdentityID <ID1>, a PATCH of the
// VM's identity to type UserAssigned with ID1. Resource Manager's answer
// becomes the last response. The VM's identities and their access are put
// back after the scenario.
func setUserAssignedOnly(ctx context.Context) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("the VM's identity type changed"); err != nil {
		return err
	}
	uai, err := s.expand("<UAI-ID>")
	if err != nil {
		return err
	}
	if err := s.keepIdentityAccess(ctx); err != nil {
		return err
	}
	x, err := s.operator(ctx, http.MethodPatch, s.vars["VM-RESOURCE-ID"]+"?api-version="+computeAPI, map[string]any{"identity": map[string]any{
		"type": "UserAssigned", "userAssignedIdentities": map[string]any{uai: map[string]any{}},
	}})
	s.last = x
	return err
}

// vmCallWithToken is the tutorials' Invoke-WebRequest / curl with
// -H "Authorization: Bearer <ACCESS-TOKEN>".
func vmCallWithToken(ctx context.Context, method, rawURL string) error {
	s := from(ctx)
	u, err := s.tokenURL(rawURL)
	if err != nil {
		return err
	}
	s.last = s.sendAsVM(ctx, method, u, nil, nil)
	return nil
}

// responseListsUAI checks the VM's answer (Resource Manager's, after an
// update) for <UAI-ID> among identity.userAssignedIdentities, whose keys
// are resource ids compared without regard to case, with its client id.
func responseListsUAI(ctx context.Context) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	uai, err := s.expand("<UAI-ID>")
	if err != nil {
		return err
	}
	var keys []string
	for k, v := range j.Get("identity.userAssignedIdentities").Map() {
		if strings.EqualFold(k, uai) {
			if got := v.Get("clientId").String(); !strings.EqualFold(got, s.vars["CLIENT-ID"]) {
				return fmt.Errorf("the VM lists %s with client id %q, the identity's is %q", k, got, s.vars["CLIENT-ID"])
			}
			return nil
		}
		keys = append(keys, k)
	}
	return fmt.Errorf("the VM's user-assigned identities are %v; %s is not among them", keys, uai)
}

// vmWriteExpectRefusal is a change the VM's identity should not be allowed
// to make, sent once (a refusal is the expected answer, nothing to wait for).
func vmWriteExpectRefusal(ctx context.Context, method, rawURL, body string) error {
	s := from(ctx)
	u, err := s.tokenURL(rawURL)
	if err != nil {
		return err
	}
	if !json.Valid([]byte(body)) {
		return fmt.Errorf("the body in the feature is not JSON: %s", body)
	}
	h := http.Header{"Authorization": {"Bearer " + s.token}, "Content-Type": {"application/json"}}
	s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, method, u, h, []byte(body))
	return nil
}

func vmCallWithoutToken(ctx context.Context, rawURL string) error {
	s := from(ctx)
	u, err := s.expand(rawURL)
	if err != nil {
		return err
	}
	s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, u, http.Header{}, nil)
	return nil
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func randomSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
