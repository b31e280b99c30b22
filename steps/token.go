package steps

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// Token steps: what 004 says of the access token (a JWT with claims about
// the identity), checked on the token the VM extracted. These checks work
// against real Entra ID too: keys come from the authority's published
// OpenID configuration.
func registerToken(sc *godog.ScenarioContext) {
	sc.Step(re(`^the access token is a JWT signed with a key the authority publishes$`), tokenVerifies)
	sc.Step(re(`^the access token's "([^"]*)" claim is "([^"]*)"$`), tokenClaimIs)
	sc.Step(re(`^the access token's "([^"]*)" claim is the requested resource$`), tokenClaimIsRequested)
	sc.Step(re(`^the access token's "([^"]*)" claim is absent$`), tokenClaimAbsent)
}

// jwtParts decodes a compact JWS.
func jwtParts(tok string) (header, claims gjson.Result, signing string, sig []byte, err error) {
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		return header, claims, "", nil, fmt.Errorf("the access token has %d dot-separated parts, a JWT has 3", len(p))
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(p[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(p[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(p[2])
	if err1 != nil || err2 != nil || err3 != nil || !json.Valid(hb) || !json.Valid(cb) {
		return header, claims, "", nil, fmt.Errorf("the access token is not base64url JSON parts")
	}
	return gjson.ParseBytes(hb), gjson.ParseBytes(cb), p[0] + "." + p[1], sig, nil
}

func (s *scenario) claims() (gjson.Result, error) {
	if s.token == "" {
		return gjson.Result{}, fmt.Errorf("the VM has no access token yet")
	}
	_, c, _, _, err := jwtParts(s.token)
	return c, err
}

// tokenVerifies follows the token's issuer to its OpenID configuration and
// key set and verifies the RS256 signature with the key named by kid.
func tokenVerifies(ctx context.Context) error {
	s := from(ctx)
	if s.token == "" {
		return fmt.Errorf("the VM has no access token yet")
	}
	h, c, signing, sig, err := jwtParts(s.token)
	if err != nil {
		return err
	}
	if alg := h.Get("alg").String(); alg != "RS256" {
		return fmt.Errorf("token alg is %q, want RS256", alg)
	}
	kid := h.Get("kid").String()
	if kid == "" || h.Get("x5t").String() != kid {
		return fmt.Errorf("token header kid %q and x5t %q should be present and equal", kid, h.Get("x5t").String())
	}
	tid := c.Get("tid").String()
	conf := azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, "https://"+s.t.Cloud().LoginHost+"/"+tid+"/.well-known/openid-configuration", nil, nil)
	if conf.Err != nil || conf.Status != 200 {
		return fmt.Errorf("OpenID configuration of tenant %s: %v %d", tid, conf.Err, conf.Status)
	}
	if iss := gjson.GetBytes(conf.Body, "issuer").String(); iss != c.Get("iss").String() {
		return fmt.Errorf("the authority's issuer is %q, the token's iss is %q", iss, c.Get("iss").String())
	}
	jwks := azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, gjson.GetBytes(conf.Body, "jwks_uri").String(), nil, nil)
	if jwks.Err != nil || jwks.Status != 200 {
		return fmt.Errorf("key set: %v %d", jwks.Err, jwks.Status)
	}
	var key gjson.Result
	for _, k := range gjson.GetBytes(jwks.Body, "keys").Array() {
		if k.Get("kid").String() == kid {
			key = k
		}
	}
	if !key.Exists() {
		return fmt.Errorf("the key set at %s has no key %q", gjson.GetBytes(conf.Body, "jwks_uri").String(), kid)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(key.Get("n").String())
	e, err2 := base64.RawURLEncoding.DecodeString(key.Get("e").String())
	if err1 != nil || err2 != nil {
		return fmt.Errorf("key %q has malformed n or e", kid)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sum := sha256.Sum256([]byte(signing))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("the token's signature does not verify with the published key %q: %v", kid, err)
	}
	return nil
}

func tokenClaimIs(ctx context.Context, claim, want string) error {
	s := from(ctx)
	c, err := s.claims()
	if err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	got := c.Get(gjson.Escape(claim))
	if !got.Exists() {
		return fmt.Errorf("the access token has no %q claim", claim)
	}
	// Azure ids are compared as Azure compares them: without regard to case.
	if !strings.EqualFold(got.String(), w) {
		return fmt.Errorf("claim %q is %q, want %q", claim, got.String(), w)
	}
	return nil
}

func tokenClaimIsRequested(ctx context.Context, claim string) error {
	s := from(ctx)
	c, err := s.claims()
	if err != nil {
		return err
	}
	if got := c.Get(gjson.Escape(claim)).String(); got != s.requested {
		return fmt.Errorf("claim %q is %q, the request asked for resource %q", claim, got, s.requested)
	}
	return nil
}

func tokenClaimAbsent(ctx context.Context, claim string) error {
	c, err := from(ctx).claims()
	if err != nil {
		return err
	}
	if v := c.Get(gjson.Escape(claim)); v.Exists() {
		return fmt.Errorf("the access token has a %q claim (%s), want none", claim, v.Raw)
	}
	return nil
}
