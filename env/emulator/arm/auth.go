package arm

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/entra"
)

// Caller is the authenticated identity behind a request.
type Caller struct {
	ObjectID string
	AppID    string
	claims   *entra.Claims
}

// authenticate checks the bearer token the way ARM's front door does: header
// present and well formed, signature, lifetime, audience, tenant.
// Codes and messages: https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/error-codes/invalidauthenticationtokentenant
// and the REST API troubleshooting pages; WWW-Authenticate as ARM sends it.
func (s *Server) authenticate(r *http.Request) (*Caller, *Error) {
	// ARM names the subscription's tenant in the challenge on subscription
	// paths, which tools use to discover it.
	loginURL := "https://" + s.Cloud.ChallengeLoginHost + "/"
	if strings.HasPrefix(strings.ToLower(r.URL.Path), "/subscriptions/") {
		loginURL += s.TenantID
	}
	challenge := func(desc string) string {
		return `Bearer authorization_uri="` + loginURL + `", error="invalid_token", error_description="` + desc + `"`
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		e := Errorf(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		e.Challenge = challenge("The authentication failed because of missing 'Authorization' header.")
		return nil, e
	}
	scheme, raw, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		e := Errorf(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
		e.Challenge = challenge("The authentication failed because of invalid 'Authorization' header format.")
		return nil, e
	}
	claims, err := s.Issuer.Verify(strings.TrimSpace(raw))
	switch {
	case errors.Is(err, entra.ErrExpired):
		e := Errorf(401, "ExpiredAuthenticationToken", "The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			armTime(claims.ExpiresAt()), armTime(s.Issuer.Now()))
		e.Challenge = challenge("The access token expiry UTC time '" + armTime(claims.ExpiresAt()) + "' is earlier than current UTC time '" + armTime(s.Issuer.Now()) + "'.")
		return nil, e
	case errors.Is(err, entra.ErrNotYetValid):
		e := Errorf(401, "InvalidAuthenticationToken", "The access token is not yet valid. Token validity starts at '%s'.", armTime(claims.NotBefore()))
		e.Challenge = challenge("The access token is not yet valid.")
		return nil, e
	case errors.Is(err, entra.ErrSignature), errors.Is(err, entra.ErrUnknownKey), errors.Is(err, entra.ErrAlgorithm):
		e := Errorf(401, "InvalidAuthenticationToken", "The access token is invalid.")
		e.Challenge = challenge("The access token is invalid.")
		return nil, e
	case err != nil:
		e := Errorf(401, "InvalidAuthenticationToken", "The access token is invalid.")
		e.Challenge = challenge("The access token is invalid.")
		return nil, e
	}
	if !s.audienceOK(claims.Aud) {
		aud := s.Cloud.ARMAudiences()
		quoted := make([]string, len(aud))
		for i, a := range aud {
			quoted[i] = "'" + a + "'"
		}
		e := Errorf(401, "InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences %s.",
			claims.Aud, strings.Join(quoted, ","))
		e.Challenge = challenge("The access token has been obtained for wrong audience or resource '" + claims.Aud + "'.")
		return nil, e
	}
	if !strings.EqualFold(claims.TID, s.TenantID) || claims.Iss != s.Issuer.IssuerURL() {
		want := s.Issuer.IssuerURL()
		e := Errorf(401, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) '%s' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
			claims.Iss, want, "https://"+s.Cloud.ChallengeLoginHost+"/"+s.TenantID)
		e.Challenge = challenge("The access token is from the wrong issuer.")
		return nil, e
	}
	return &Caller{ObjectID: claims.OID, AppID: claims.AppID, claims: claims}, nil
}

func (s *Server) audienceOK(aud string) bool {
	for _, a := range s.Cloud.ARMAudiences() {
		if aud == a {
			return true
		}
	}
	return false
}

// Authorize runs the RBAC check for action at scope and builds ARM's
// AuthorizationFailed answer when it fails.
func (s *Server) Authorize(c *Caller, action, scope string) *Error {
	if s.RBAC.Allowed(c.ObjectID, action, scope, false) {
		return nil
	}
	return errAuthorizationFailed(c, action, scope)
}

func errAuthorizationFailed(c *Caller, action, scope string) *Error {
	return Errorf(403, "AuthorizationFailed", "The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		c.clientName(), c.ObjectID, action, scope)
}

// Modified stamps systemData for a change the caller makes at now: a new
// block when sd is nil, else sd with lastModified* updated. Service
// principals (apps and managed identities) appear by their application id.
func (c *Caller) Modified(sd *SystemData, now time.Time) *SystemData {
	by, typ := c.clientName(), "Application"
	if c.claims != nil && c.claims.XMSMIRID != "" {
		typ = "ManagedIdentity"
	}
	at := now.UTC().Format("2006-01-02T15:04:05.000Z")
	if sd == nil {
		return &SystemData{CreatedBy: by, CreatedByType: typ, CreatedAt: at, LastModifiedBy: by, LastModifiedByType: typ, LastModifiedAt: at}
	}
	n := *sd
	n.LastModifiedBy, n.LastModifiedByType, n.LastModifiedAt = by, typ, at
	return &n
}

// clientName is how ARM names a service principal in error messages: by its
// application (client) id.
func (c *Caller) clientName() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.ObjectID
}
