package steps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cucumber/godog"
	"github.com/tidwall/gjson"
)

// Sign-in steps (003): what `az login --identity`, `Add-AzAccount -identity`,
// `az resource list -n <VM-NAME>` and `Get-AzVM` do, as HTTP, and the error
// handling guidance when the VM's identity is not configured.
func registerSignin(sc *godog.ScenarioContext) {
	sc.Step(re(`^the subscriptions listed include <SUBSCRIPTION-ID> in the access token's tenant$`), subscriptionsInTokenTenant)
	sc.Step(re(`^the response's "([^"]*)" is exactly the access token's "([^"]*)" claim$`), responseIsClaim)
	sc.Step(re(`^the operator disables the VM's managed identities$`), disableIdentities)
	sc.Step(re(`^the operator disables and re-enables the VM's system-assigned identity$`), reenableSystemIdentity)
	sc.Step(re(`^the VM's new principal id differs from the one before$`), principalChanged)
}

// tokenRequestFailed explains a token request that gave no token, in what
// the endpoint did: a refused connection, no answer, or its status and body.
// (003's "Error handling guidance" is not repeated here: it names the
// retired extension and the old portal, see legacy_endpoint.feature.)
func (s *scenario) tokenRequestFailed() error {
	x := s.last
	if x == nil {
		return fmt.Errorf("no request has been sent yet")
	}
	switch {
	case x.Refused():
		return fmt.Errorf("%s %s: connection refused", x.Method, x.URL)
	case x.Err != nil:
		return fmt.Errorf("%s %s got no answer: %v", x.Method, x.URL, x.Err)
	case x.Status != http.StatusOK:
		return fmt.Errorf("the token request answered %d%s: %.300s", x.Status, retryNote(x), x.Body)
	}
	return nil
}

// subscriptionsInTokenTenant is what `az login --identity` prints: the
// subscriptions the identity can see, each with its tenantId, which is the
// token's tid.
func subscriptionsInTokenTenant(ctx context.Context) error {
	s := from(ctx)
	j, c, err := s.answerAndClaims()
	if err != nil {
		return err
	}
	var seen []string
	for _, sub := range j.Get("value").Array() {
		id := sub.Get("subscriptionId").String()
		seen = append(seen, id)
		if !strings.EqualFold(id, s.vars["SUBSCRIPTION-ID"]) {
			continue
		}
		if !strings.EqualFold(sub.Get("tenantId").String(), c.Get("tid").String()) {
			return fmt.Errorf("subscription %s is in tenant %s, the token's tid is %s", id, sub.Get("tenantId").String(), c.Get("tid").String())
		}
		if st := sub.Get("state").String(); st != "Enabled" {
			return fmt.Errorf("subscription %s is %q, want Enabled", id, st)
		}
		return nil
	}
	return fmt.Errorf("the subscriptions listed are %v; %s is not among them", seen, s.vars["SUBSCRIPTION-ID"])
}

// answerAndClaims is the last answer's JSON and the token's claims.
func (s *scenario) answerAndClaims() (gjson.Result, gjson.Result, error) {
	j, err := s.json()
	if err != nil {
		return j, gjson.Result{}, err
	}
	c, err := s.claims()
	return j, c, err
}

// responseIsClaim compares what a CLI query would print with a claim:
// "value.#.identity.principalId" is `--query [*].identity.principalId`,
// which must give exactly one value.
func responseIsClaim(ctx context.Context, path, claim string) error {
	s := from(ctx)
	j, c, err := s.answerAndClaims()
	if err != nil {
		return err
	}
	want := c.Get(gjson.Escape(claim)).String()
	got := j.Get(path)
	var vals []string
	if got.IsArray() {
		for _, v := range got.Array() {
			vals = append(vals, v.String())
		}
	} else if got.Exists() {
		vals = []string{got.String()}
	}
	if len(vals) != 1 || !strings.EqualFold(vals[0], want) {
		return fmt.Errorf("%q gives %v; want exactly the token's %s %q", path, vals, claim, want)
	}
	return nil
}

// vmIdentity is the VM's identity block as the operator reads it.
type vmIdentity struct {
	typ       string
	principal string
	users     []string
}

func (s *scenario) readVMIdentity(ctx context.Context) (vmIdentity, error) {
	x, err := s.operator(ctx, http.MethodGet, s.vars["VM-RESOURCE-ID"]+"?api-version="+computeAPI, nil)
	if err != nil {
		return vmIdentity{}, err
	}
	id := vmIdentity{typ: gjson.GetBytes(x.Body, "identity.type").String(), principal: gjson.GetBytes(x.Body, "identity.principalId").String()}
	if id.typ == "" {
		id.typ = "None"
	}
	for k := range gjson.GetBytes(x.Body, "identity.userAssignedIdentities").Map() {
		id.users = append(id.users, k)
	}
	return id, nil
}

func (s *scenario) patchVMIdentity(ctx context.Context, identity map[string]any) (gjson.Result, error) {
	x, err := s.operator(ctx, http.MethodPatch, s.vars["VM-RESOURCE-ID"]+"?api-version="+computeAPI, map[string]any{"identity": identity})
	if err != nil {
		return gjson.Result{}, err
	}
	return gjson.ParseBytes(x.Body), nil
}

// keepIdentityAccess records, once per scenario, the VM's identities and
// what its system identity was given (role assignments anywhere in the
// subscription, Key Vault access policies), and registers the cleanup that
// puts the identities back and gives the re-created system identity, a new
// service principal, the same access: the world the other scenarios rely on.
func (s *scenario) keepIdentityAccess(ctx context.Context) error {
	if s.vars["IDENTITY-ACCESS-KEPT"] != "" {
		return nil
	}
	before, err := s.readVMIdentity(ctx)
	if err != nil {
		return err
	}
	s.set("IDENTITY-ACCESS-KEPT", "yes")
	var roles []gjson.Result
	var policies []vaultPolicy
	if before.principal != "" {
		if roles, err = s.assignmentsOf(ctx, before.principal); err != nil {
			return err
		}
		if policies, err = s.vaultPoliciesOf(ctx, before.principal); err != nil {
			return err
		}
	}
	s.onCleanup("restore the VM's identities and their access", func(ctx context.Context) error {
		users := map[string]any{}
		for _, u := range before.users {
			users[u] = map[string]any{}
		}
		identity := map[string]any{"type": before.typ}
		if len(users) > 0 {
			identity["userAssignedIdentities"] = users
		}
		vm, err := s.patchVMIdentity(ctx, identity)
		if err != nil {
			return err
		}
		now := vm.Get("identity.principalId").String()
		if before.principal == "" || strings.EqualFold(now, before.principal) {
			return nil
		}
		var errs []error
		done := map[string]bool{}
		for _, a := range roles {
			scope := a.Get("properties.scope").String()
			k := strings.ToLower(scope + "|" + lastSegment(a.Get("properties.roleDefinitionId").String()))
			if done[k] {
				continue
			}
			done[k] = true
			if _, err := s.operator(ctx, http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+newGUID()+"?api-version="+authorizationAPI, map[string]any{"properties": map[string]any{
				"roleDefinitionId": a.Get("properties.roleDefinitionId").String(), "principalId": now, "principalType": "ServicePrincipal",
			}}); err != nil {
				errs = append(errs, err)
			}
			if _, err := s.operator(ctx, http.MethodDelete, a.Get("id").String()+"?api-version="+authorizationAPI, nil); err != nil {
				errs = append(errs, err)
			}
		}
		for _, p := range policies {
			add := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{"tenantId": p.tenant, "objectId": now, "permissions": p.permissions}}}}
			if _, err := s.operator(ctx, http.MethodPut, p.vault+"/accessPolicies/add?api-version=2023-07-01", add); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	return nil
}

// assignmentsOf lists a principal's role assignments in the subscription.
func (s *scenario) assignmentsOf(ctx context.Context, principal string) ([]gjson.Result, error) {
	q := url.Values{"api-version": {authorizationAPI}, "$filter": {"principalId eq '" + principal + "'"}}
	x, err := s.operator(ctx, http.MethodGet, "/subscriptions/"+s.vars["SUBSCRIPTION-ID"]+"/providers/Microsoft.Authorization/roleAssignments?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return gjson.GetBytes(x.Body, "value").Array(), nil
}

type vaultPolicy struct {
	vault, tenant string
	permissions   any
}

// vaultPoliciesOf finds the Key Vault access policies naming a principal.
func (s *scenario) vaultPoliciesOf(ctx context.Context, principal string) ([]vaultPolicy, error) {
	q := url.Values{"api-version": {armAPI}, "$filter": {"resourceType eq 'Microsoft.KeyVault/vaults'"}}
	x, err := s.operator(ctx, http.MethodGet, "/subscriptions/"+s.vars["SUBSCRIPTION-ID"]+"/resources?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	var out []vaultPolicy
	for _, v := range gjson.GetBytes(x.Body, "value").Array() {
		id := v.Get("id").String()
		vx, err := s.operator(ctx, http.MethodGet, id+"?api-version=2023-07-01", nil)
		if err != nil {
			return nil, err
		}
		for _, p := range gjson.GetBytes(vx.Body, "properties.accessPolicies").Array() {
			if strings.EqualFold(p.Get("objectId").String(), principal) {
				out = append(out, vaultPolicy{vault: id, tenant: p.Get("tenantId").String(), permissions: p.Get("permissions").Value()})
			}
		}
	}
	return out, nil
}

// disableIdentities is the portal's Identity page set to "No" for the
// system identity and every user-assigned identity removed: PATCH identity
// type None. Only on the emulator: on a real VM it would delete the
// identity's service principal and with it its standing role assignments.
func disableIdentities(ctx context.Context) error {
	s := from(ctx)
	if err := s.keepIdentityAccess(ctx); err != nil {
		return err
	}
	vm, err := s.patchVMIdentity(ctx, map[string]any{"type": "None"})
	if err != nil {
		return err
	}
	if t := vm.Get("identity.type").String(); t != "" && t != "None" {
		return fmt.Errorf("the VM's identity type is %q after disabling, want None", t)
	}
	return nil
}

// reenableSystemIdentity is the Identity page's "System assigned" set to
// "No", saved, then "Yes": 004's "a service principal is created for the
// VM within the tenant". The VM's answer to the last PATCH becomes the last
// response.
func reenableSystemIdentity(ctx context.Context) error {
	s := from(ctx)
	if err := s.keepIdentityAccess(ctx); err != nil {
		return err
	}
	before, err := s.readVMIdentity(ctx)
	if err != nil {
		return err
	}
	s.set("PREVIOUS-PRINCIPAL-ID", before.principal)
	typ := "None"
	if len(before.users) > 0 {
		typ = "UserAssigned"
	}
	if _, err := s.patchVMIdentity(ctx, map[string]any{"type": typ}); err != nil {
		return err
	}
	typ = "SystemAssigned"
	if len(before.users) > 0 {
		typ = "SystemAssigned, UserAssigned"
	}
	x, err := s.operator(ctx, http.MethodPatch, s.vars["VM-RESOURCE-ID"]+"?api-version="+computeAPI, map[string]any{"identity": map[string]any{"type": typ}})
	if err != nil {
		return err
	}
	s.last = x
	pid := gjson.GetBytes(x.Body, "identity.principalId").String()
	if !isGUID(pid) {
		return fmt.Errorf("the re-enabled identity's principalId %q is not a GUID", pid)
	}
	s.set("VM-PRINCIPAL-ID", pid)
	// "the tenant that the subscription trusts": the subscription's tenantId.
	sub, err := s.operator(ctx, http.MethodGet, "/subscriptions/"+s.vars["SUBSCRIPTION-ID"]+"?api-version=2022-12-01", nil)
	if err != nil {
		return err
	}
	s.set("SUBSCRIPTION-TENANT-ID", gjson.GetBytes(sub.Body, "tenantId").String())
	return nil
}

func principalChanged(ctx context.Context) error {
	s := from(ctx)
	if strings.EqualFold(s.vars["PREVIOUS-PRINCIPAL-ID"], s.vars["VM-PRINCIPAL-ID"]) {
		return fmt.Errorf("the re-enabled identity has the old principal id %s; a new service principal should have been created", s.vars["VM-PRINCIPAL-ID"])
	}
	return nil
}
