package steps

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// Concept steps (004): the token's claims, and RBAC: "Role-based access consists of three elements: the
// security principal, role definition, and scope" - an assignment grants at
// its scope and below, not above it or beside it, and removing it takes the
// access away.
func registerConcepts(sc *godog.ScenarioContext) {
	sc.Step(re(`^the access token's "([^"]*)" claim is a GUID$`), tokenClaimIsGUID)
	sc.Step(re(`^a second new resource group named like "([^"]*)"$`), secondResourceGroup)
	sc.Step(re(`^the operator grants the VM's system-assigned identity the "([^"]*)" role on the user-assigned identity$`), grantOnUserIdentity)
	sc.Step(re(`^the operator removes that role assignment$`), removeLastAssignment)
	sc.Step(re(`^the VM sends GET "([^"]*)" with the access token, expecting to be refused$`), vmCallExpectRefusal)
}

func (s *scenario) provisioning() bool { return s.t.Policy().Mode == target.Provision }

// secondResourceGroup creates a group beside <RESOURCE-GROUP>, named
// <OTHER-RESOURCE-GROUP>, and deletes it afterwards.
func secondResourceGroup(ctx context.Context, like string) error {
	s := from(ctx)
	first := s.vars["RESOURCE-GROUP"]
	if err := newResourceGroup(ctx, like); err != nil {
		return err
	}
	s.set("OTHER-RESOURCE-GROUP", s.vars["RESOURCE-GROUP"])
	s.set("RESOURCE-GROUP", first)
	return nil
}

// grantOnUserIdentity assigns a role whose scope is one resource (the
// user-assigned identity <UAI-ID>), not its group.
func grantOnUserIdentity(ctx context.Context, role string) error {
	s := from(ctx)
	pid, err := s.expand("<VM-PRINCIPAL-ID>")
	if err != nil {
		return err
	}
	scope, err := s.expand("<UAI-ID>")
	if err != nil {
		return err
	}
	_, err = s.assignRole(ctx, role, pid, scope)
	return err
}

// removeLastAssignment is "Access control (IAM) > Role assignments > Remove"
// for the assignment this scenario made last.
func removeLastAssignment(ctx context.Context) error {
	s := from(ctx)
	path := s.vars["ASSIGNMENT-PATH"]
	if path == "" {
		return fmt.Errorf("this scenario has made no role assignment to remove")
	}
	x, err := s.operator(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return err
	}
	if x.Status != http.StatusOK {
		return fmt.Errorf("removing the role assignment answered %d, want 200", x.Status)
	}
	s.set("ASSIGNMENT-REMOVED", "yes")
	return nil
}

// vmCallExpectRefusal reads with the VM's token where it should have no
// access. A 403 is final here (no grant can be propagating towards a scope
// it does not cover); a 200 is retried for the policy's propagation window,
// since Azure applies a removal eventually too.
func vmCallExpectRefusal(ctx context.Context, rawURL string) error {
	s := from(ctx)
	u, err := s.tokenURL(rawURL)
	if err != nil {
		return err
	}
	h := http.Header{"Authorization": {"Bearer " + s.token}}
	window := s.t.Policy().RBACPropagation
	if window <= 0 || !s.assignmentRemoved() {
		s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, u, h, nil)
		return nil
	}
	// The removal's propagation, retried as a grant's is, but while the
	// answer is still 200.
	p := s.rbacRetry(window)
	p.Attempts, p.Persistent = 30, nil
	p.Retryable = func(x *azhttp.Exchange) bool { return x.Err == nil && x.Status == http.StatusOK }
	s.last = azhttp.SendWithRetry(ctx, s.t.HTTPClient(), s.log, p, http.MethodGet, u, h, nil)
	return nil
}

func (s *scenario) assignmentRemoved() bool { return s.vars["ASSIGNMENT-REMOVED"] != "" }

func tokenClaimIsGUID(ctx context.Context, claim string) error {
	c, err := from(ctx).claims()
	if err != nil {
		return err
	}
	if v := c.Get(gjson.Escape(claim)).String(); !isGUID(v) {
		return fmt.Errorf("claim %q is %q, not a GUID", claim, v)
	}
	return nil
}
