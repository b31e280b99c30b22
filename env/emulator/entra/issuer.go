// Package entra is the emulator's Microsoft Entra ID: it signs v1 access
// tokens for managed identities and the operator application, verifies them
// for the other services, and serves the login host (OpenID configuration,
// signing keys, the client-credentials grant).
package entra

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
)

// DefaultLifetime is the lifetime of managed identity tokens: Entra issues
// them for 24 hours (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/managed-identities-faq).
const DefaultLifetime = 24 * time.Hour

// SigningKey is the key the issuer signs with, for another emulator in
// the same process to share (emulator.Config.SigningKey).
func (i *Issuer) SigningKey() *SigningKey { return i.key }

// AppTokenLifetime is the lifetime of client-credentials tokens (60 to 90
// minutes in Entra; the emulator uses the lower bound).
const AppTokenLifetime = time.Hour

// refreshWindow: a cached token is handed out again only while it has more
// than this left, as IMDS does.
const refreshWindow = 5 * time.Minute

// Token is an issued access token.
type Token struct {
	Raw       string
	Resource  string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresOn time.Time
}

// Issuer signs and verifies the tenant's access tokens.
type Issuer struct {
	Cloud cloud.Profile
	Dir   *directory.Directory
	key   *SigningKey
	clock atomic.Pointer[func() time.Time]
	mu    sync.Mutex
	cache map[cacheKey]Token
	// lifetime overrides the token lifetimes when positive (a fault:
	// short-lived tokens to exercise expiry and refresh).
	lifetime atomic.Int64
	// verified caches signature checks (verified.go).
	verified verifiedCache
}

type cacheKey struct{ oid, azrid, resource string }

// NewIssuer makes an issuer for the directory's tenant in the given cloud.
func NewIssuer(c cloud.Profile, dir *directory.Directory, key *SigningKey) *Issuer {
	i := &Issuer{Cloud: c, Dir: dir, key: key, cache: map[cacheKey]Token{}}
	i.SetClock(time.Now)
	return i
}

// SetClock replaces the issuer's clock (tests, clock-skew faults). It is
// safe to call while the emulator serves requests.
func (i *Issuer) SetClock(now func() time.Time) { i.clock.Store(&now) }

func (i *Issuer) now() time.Time { return (*i.clock.Load())() }

// SetLifetime makes every token issued from now on live d (managed identity
// and application tokens alike); 0 restores Entra's lifetimes. Cached
// managed identity tokens are dropped so the next request gets one of the
// new lifetime.
func (i *Issuer) SetLifetime(d time.Duration) {
	i.lifetime.Store(int64(max(d, 0)))
	i.mu.Lock()
	clear(i.cache)
	i.mu.Unlock()
}

// Lifetime is the lifetime override, 0 when tokens get Entra's lifetimes.
func (i *Issuer) Lifetime() time.Duration { return time.Duration(i.lifetime.Load()) }

// lifetimeOr is the override when one is set, else def.
func (i *Issuer) lifetimeOr(def time.Duration) time.Duration {
	if d := i.Lifetime(); d > 0 {
		return d
	}
	return def
}

// Now is the issuer's current time.
func (i *Issuer) Now() time.Time { return i.now() }

// IssuerURL is the iss claim of this tenant's v1 tokens.
func (i *Issuer) IssuerURL() string { return i.Cloud.Issuer(i.Dir.TenantID) }

// ManagedIdentityToken returns a token for a managed identity, reusing a
// cached one for the same identity and resource until it nears expiry, as IMDS
// does. vmResourceID is the resource the request came from (xms_az_rid for
// user-assigned identities).
func (i *Issuer) ManagedIdentityToken(p directory.Principal, resource, vmResourceID string) (Token, error) {
	k := cacheKey{strings.ToLower(p.ObjectID), strings.ToLower(vmResourceID), resource}
	now := i.now()
	i.mu.Lock()
	if t, ok := i.cache[k]; ok && t.ExpiresOn.Sub(now) > refreshWindow && !t.IssuedAt.After(now) {
		i.mu.Unlock()
		return t, nil
	}
	i.mu.Unlock()
	c := i.claims(p, resource, now, i.lifetimeOr(DefaultLifetime))
	c.XMSMIRID = claimResourceID(p.ResourceID)
	if p.Kind == directory.UserAssigned {
		c.XMSAZRID = claimResourceID(vmResourceID)
	}
	t, err := i.sign(c, resource)
	if err != nil {
		return Token{}, err
	}
	i.mu.Lock()
	i.cache[k] = t
	i.mu.Unlock()
	return t, nil
}

// claimResourceID spells a resource id as Entra writes it in xms_mirid and
// xms_az_rid: the resourceGroups segment in lower case ("/resourcegroups/"),
// everything else as the resource was created. Consumers compare resource
// ids without regard to case, as Azure does.
func claimResourceID(id string) string {
	const seg = "/resourcegroups/"
	if i := strings.Index(strings.ToLower(id), seg); i >= 0 {
		return id[:i] + seg + id[i+len(seg):]
	}
	return id
}

// AppToken issues a client-credentials token for an application.
func (i *Issuer) AppToken(p directory.Principal, resource string) (Token, error) {
	c := i.claims(p, resource, i.now(), i.lifetimeOr(AppTokenLifetime))
	c.AppIDACR = "1" // client secret; "2" is a certificate, which managed identities use
	return i.sign(c, resource)
}

// Forget drops cached tokens of a principal, so a disabled and re-enabled
// identity never gets a token of its former self.
func (i *Issuer) Forget(objectID string) {
	i.verified.forget(objectID)
	i.mu.Lock()
	defer i.mu.Unlock()
	for k := range i.cache {
		if strings.EqualFold(k.oid, objectID) {
			delete(i.cache, k)
		}
	}
}

func (i *Issuer) claims(p directory.Principal, resource string, now time.Time, life time.Duration) *Claims {
	iss := i.IssuerURL()
	var roles []string
	if i.isGraph(resource) {
		roles = p.GraphRoles
	}
	return &Claims{
		Roles:    roles,
		Aud:      resource,
		Iss:      iss,
		Iat:      now.Unix(),
		Nbf:      now.Unix(),
		Exp:      now.Add(life).Unix(),
		AIO:      b64.EncodeToString([]byte(directory.NewGUID()))[:24],
		AppID:    p.ClientID,
		AppIDACR: "2",
		IDP:      iss,
		IDTyp:    "app",
		OID:      p.ObjectID,
		RH:       "0.A" + b64.EncodeToString([]byte(p.ObjectID))[:20] + ".",
		Sub:      p.ObjectID,
		TID:      i.Dir.TenantID,
		UTI:      b64.EncodeToString([]byte(directory.NewGUID()))[:22],
		Ver:      "1.0",
	}
}

func (i *Issuer) sign(c *Claims, resource string) (Token, error) {
	raw, err := sign(i.key.Private, header{Typ: "JWT", Alg: "RS256", X5T: i.key.KID, Kid: i.key.KID}, c)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, Resource: resource, IssuedAt: time.Unix(c.Iat, 0), NotBefore: time.Unix(c.Nbf, 0), ExpiresOn: time.Unix(c.Exp, 0)}, nil
}

// clockSkew is the leeway Azure services allow on exp and nbf.
const clockSkew = 5 * time.Minute

// Verify checks a token's algorithm, key and signature, its validity window
// and that its principal still exists in the directory (a token replayed
// after its identity was disabled is refused: ErrPrincipalGone). It does
// not check audience, issuer or tenant: those are each service's rules and
// errors. Every service calls it, so these checks live in one place.
func (i *Issuer) Verify(raw string) (*Claims, error) {
	c, err := i.verified.verifySignature(raw, i.key)
	if err != nil {
		return c, err
	}
	now := i.now()
	if now.After(c.ExpiresAt().Add(clockSkew)) {
		return c, ErrExpired
	}
	if now.Add(clockSkew).Before(c.NotBefore()) {
		return c, ErrNotYetValid
	}
	// Another tenant's principals are not in this directory; the services'
	// issuer checks refuse those tokens with their own errors.
	if _, ok := i.Dir.ByObjectID(c.OID); !ok && strings.EqualFold(c.TID, i.Dir.TenantID) {
		return c, ErrPrincipalGone
	}
	return c, nil
}

// isGraph reports whether resource is Microsoft Graph's, the one resource
// whose app roles the directory keeps.
func (i *Issuer) isGraph(resource string) bool {
	for _, a := range i.Cloud.GraphAudiences() {
		if strings.EqualFold(strings.TrimSuffix(resource, "/"), strings.TrimSuffix(a, "/")) {
			return true
		}
	}
	return false
}

// thumbprint is the base64url SHA-1 thumbprint Entra uses as both x5t and kid.
func thumbprint(cert *x509.Certificate) string {
	sum := sha1Sum(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
