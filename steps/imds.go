package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// IMDS steps: what the tutorials run on the VM against
// http://169.254.169.254/metadata/identity/oauth2/token.
func registerIMDS(sc *godog.ScenarioContext) {
	sc.Step(re(`^the VM sends GET "([^"]*)" with header "([^"]*)"$`), vmGetWithHeader)
	sc.Step(re(`^the VM sends GET "([^"]*)" without the Metadata header$`), vmGetWithoutHeader)
	sc.Step(re(`^the VM extracts the access token from the response$`), vmExtractsToken)
}

func vmGetWithHeader(ctx context.Context, rawURL, header string) error {
	s := from(ctx)
	name, value, ok := strings.Cut(header, ":")
	if !ok {
		return fmt.Errorf("header %q is not of the form Name: value", header)
	}
	h := http.Header{}
	h.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	return s.vmGet(ctx, rawURL, h)
}

func vmGetWithoutHeader(ctx context.Context, rawURL string) error {
	return from(ctx).vmGet(ctx, rawURL, http.Header{})
}

// vmGet sends a GET from the VM. Token requests to IMDS follow Microsoft's
// retry guidance, as every official client does.
func (s *scenario) vmGet(ctx context.Context, rawURL string, h http.Header) error {
	u, err := s.expand(rawURL)
	if err != nil {
		return err
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("URL %q: %w", u, err)
	}
	s.requested = parsed.Query().Get("resource")
	if parsed.Host == "169.254.169.254" && strings.HasPrefix(parsed.Path, "/metadata/identity/") {
		s.last = azhttp.SendWithRetry(ctx, s.t.HTTPClient(), s.log, azhttp.IMDSRetry, http.MethodGet, u, h, nil)
	} else {
		s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, u, h, nil)
	}
	return nil
}

// vmExtractsToken is the tutorials' `$ArmToken = $content.access_token`.
func vmExtractsToken(ctx context.Context) error {
	s := from(ctx)
	// A failed request is explained with 003's error handling guidance.
	if err := s.tokenRequestFailed(); err != nil {
		return err
	}
	tok := gjson.GetBytes(s.last.Body, "access_token")
	if tok.Type != gjson.String || tok.String() == "" {
		return fmt.Errorf("the response has no access_token string")
	}
	s.token = tok.String()
	// The system identity's client id appears only in its tokens (appid);
	// Resource Manager names callers by it in AuthorizationFailed.
	if c, err := s.claims(); err == nil && strings.EqualFold(c.Get("oid").String(), s.vars["VM-PRINCIPAL-ID"]) {
		s.set("VM-CLIENT-ID", c.Get("appid").String())
	}
	return nil
}

func (s *scenario) requireAnswer() error {
	if s.last == nil {
		return fmt.Errorf("no request has been sent yet")
	}
	if s.last.Err != nil {
		return fmt.Errorf("%s %s got no answer: %v", s.last.Method, s.last.URL, s.last.Err)
	}
	return nil
}
