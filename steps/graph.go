package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cucumber/godog"
	"github.com/tidwall/gjson"

	"github.com/miconform/miconform/internal/azhttp"
)

// Graph steps (004, "what happens"): enabling a VM's identity creates a
// service principal in the tenant, which Microsoft Graph shows as a
// ManagedIdentity whose id is the token's oid; disabling the identity
// deletes it. The operator looks it up as a person would with `az ad sp
// show`, through Graph's servicePrincipals API.
func registerGraph(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		s := from(ctx)
		c := s.t.Cloud()
		s.set("GRAPH-HOST", c.GraphHost)
		s.set("GRAPH-RESOURCE", c.GraphResource)
		return ctx, nil
	})
	sc.Step(re(`^the operator looks up, in Microsoft Graph, the service principal whose id is the access token's "([^"]*)" claim$`), graphLookupByClaim)
	sc.Step(re(`^the operator looks up, in Microsoft Graph, the service principal "([^"]*)"$`), graphLookup)
	sc.Step(re(`^the operator lists, in Microsoft Graph, the service principals whose appId is the access token's "([^"]*)" claim$`), graphListByAppIDClaim)
	sc.Step(re(`^the response field "([^"]*)" is the access token's "([^"]*)" claim$`), responseFieldIsClaim)
	sc.Step(re(`^the response field "([^"]*)" includes "([^"]*)", compared without case$`), responseListIncludesFold)
	sc.Step(re(`^the response lists (\d+) service principals?$`), responseListLength)
}

// operatorGraph sends a GET to Microsoft Graph v1.0 as the operator with a
// token for the cloud's Graph resource. On Azure an operator without
// directory read permission gets Graph's 403; that says nothing about the
// tutorial, so the step is skipped with the reason. On the emulator the
// operator is granted Directory.Read.All, and a 403 is a failure.
func (s *scenario) operatorGraph(ctx context.Context, path string) error {
	c := s.t.Cloud()
	tok, err := s.t.Operator().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.GraphResource + ".default"}})
	if err != nil {
		return fmt.Errorf("operator sign-in for Microsoft Graph: %w", err)
	}
	x := azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, "https://"+c.GraphHost+"/v1.0/"+path, http.Header{"Authorization": {"Bearer " + tok.Token}}, nil)
	if x.Err != nil {
		return fmt.Errorf("operator GET Microsoft Graph %s: %w", path, x.Err)
	}
	s.last = x
	if x.Status == http.StatusForbidden && gjson.GetBytes(x.Body, "error.code").String() == "Authorization_RequestDenied" && s.t.Name() != "emulator" {
		return s.skip("the operator may not read the directory in this tenant (Microsoft Graph: Authorization_RequestDenied); grant it Directory.Read.All to check this")
	}
	return nil
}

func graphLookupByClaim(ctx context.Context, claim string) error {
	s := from(ctx)
	c, err := s.claims()
	if err != nil {
		return err
	}
	id := c.Get(gjson.Escape(claim)).String()
	if !isGUID(id) {
		return fmt.Errorf("the access token's %q claim %q is not an object id", claim, id)
	}
	return s.operatorGraph(ctx, "servicePrincipals/"+url.PathEscape(id))
}

func graphLookup(ctx context.Context, id string) error {
	s := from(ctx)
	v, err := s.expand(id)
	if err != nil {
		return err
	}
	return s.operatorGraph(ctx, "servicePrincipals/"+url.PathEscape(v))
}

// graphListByAppIDClaim is `az ad sp list --filter "appId eq '<client id>'"`.
func graphListByAppIDClaim(ctx context.Context, claim string) error {
	s := from(ctx)
	c, err := s.claims()
	if err != nil {
		return err
	}
	appID := c.Get(gjson.Escape(claim)).String()
	if !isGUID(appID) {
		return fmt.Errorf("the access token's %q claim %q is not a client id", claim, appID)
	}
	return s.operatorGraph(ctx, "servicePrincipals?$filter="+url.QueryEscape("appId eq '"+appID+"'"))
}

func (s *scenario) lastBody() ([]byte, error) {
	if s.last == nil {
		return nil, fmt.Errorf("no response yet")
	}
	return s.last.Body, nil
}

func responseFieldIsClaim(ctx context.Context, field, claim string) error {
	s := from(ctx)
	body, err := s.lastBody()
	if err != nil {
		return err
	}
	c, err := s.claims()
	if err != nil {
		return err
	}
	got, want := gjson.GetBytes(body, field), c.Get(gjson.Escape(claim))
	if !got.Exists() {
		return fmt.Errorf("the response has no field %q (status %d)", field, s.last.Status)
	}
	if !want.Exists() || !strings.EqualFold(got.String(), want.String()) {
		return fmt.Errorf("response field %q is %q; the access token's %q claim is %q", field, got.String(), claim, want.String())
	}
	return nil
}

// responseListIncludesFold checks a string list field holds a value,
// compared as Azure compares resource ids: without case.
func responseListIncludesFold(ctx context.Context, field, want string) error {
	s := from(ctx)
	body, err := s.lastBody()
	if err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	list := gjson.GetBytes(body, field)
	if !list.IsArray() {
		return fmt.Errorf("response field %q is not a list (status %d)", field, s.last.Status)
	}
	for _, v := range list.Array() {
		if strings.EqualFold(v.String(), w) {
			return nil
		}
	}
	return fmt.Errorf("response field %q is %s; it does not include %q", field, list.Raw, w)
}

func responseListLength(ctx context.Context, n int) error {
	s := from(ctx)
	body, err := s.lastBody()
	if err != nil {
		return err
	}
	v := gjson.GetBytes(body, "value")
	if !v.IsArray() {
		return fmt.Errorf("the response is not a list (status %d)", s.last.Status)
	}
	if got := len(v.Array()); got != n {
		return fmt.Errorf("the response lists %d service principals, want %d", got, n)
	}
	return nil
}
