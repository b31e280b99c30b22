package keyvault

import (
	"errors"
	"net/http"
	"strings"

	"github.com/miconform/miconform/env/emulator/entra"
)

// caller is who a verified token says is calling.
type caller struct {
	OID, AppID, TID, Iss string
}

// describe is how Key Vault names a caller in 403 messages:
// appid=...;oid=...;iss=... (numgroups appears only for tokens with groups,
// which managed identities and applications do not carry).
func (c *caller) describe() string {
	return "appid=" + c.AppID + ";oid=" + c.OID + ";iss=" + c.Iss
}

// keyVaultAppID is Azure Key Vault's first-party application id, which Key
// Vault accepts as audience too ("AKV10022: Invalid audience. Expected
// https://vault.azure.net or cfa8b339-82a2-471a-a3c9-0fc0be7a4093, found: ...",
// argoproj-labs/argocd-vault-plugin#621).
const keyVaultAppID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"

// authenticate checks the bearer token as Key Vault does: present, a JWT
// signed by a key of the authority, in its lifetime, for the vault audience
// (exactly the resource, no trailing slash) and from the vault's tenant.
func (s *Service) authenticate(r *http.Request, tenant string) (*caller, *Error) {
	h := r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(h, " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, errNoToken()
	}
	cl, err := s.Issuer.Verify(raw)
	switch {
	case errors.Is(err, entra.ErrExpired):
		return nil, errToken("IDX10223")
	case errors.Is(err, entra.ErrNotYetValid):
		return nil, errToken("IDX10222")
	case errors.Is(err, entra.ErrUnknownKey):
		return nil, errUnknownKey()
	case errors.Is(err, entra.ErrSignature), errors.Is(err, entra.ErrAlgorithm):
		return nil, errToken("IDX10511")
	case err != nil:
		return nil, errToken("IDX14100")
	}
	if cl.Aud != s.Cloud.VaultResource && cl.Aud != keyVaultAppID {
		return nil, errAudience(s.Cloud.VaultResource, cl.Aud)
	}
	want := s.Cloud.Issuer(tenant)
	v2 := "https://" + s.Cloud.LoginHost + "/" + tenant + "/v2.0"
	if (cl.Iss != want && cl.Iss != v2) || !strings.EqualFold(cl.TID, tenant) {
		return nil, errIssuer(want, cl.Iss)
	}
	return &caller{OID: cl.OID, AppID: cl.AppID, TID: cl.TID, Iss: cl.Iss}, nil
}

// authorize applies the vault's permission model: RBAC data actions at the
// secret's scope when enableRbacAuthorization is true, the access policies
// otherwise. https://learn.microsoft.com/azure/key-vault/general/rbac-access-policy
func (s *Service) authorize(c *caller, op operation, v *vaultInfo) *Error {
	need := op.access
	coll, perms := "secrets", func(p permissions) []string { return p.Secrets }
	if op.kind.isKeyOp() {
		coll, perms = "keys", func(p permissions) []string { return p.Keys }
	}
	if v.Props.EnableRbacAuthorization {
		scope := v.ID
		if op.name != "" {
			scope += "/" + coll + "/" + op.name
		}
		if s.RBAC.Allowed(c.OID, need.action, scope, true) {
			return nil
		}
		return errForbiddenByRbac(c, need.action, scope, v)
	}
	for _, p := range v.Props.AccessPolicies {
		if !strings.EqualFold(p.ObjectID, c.OID) || !strings.EqualFold(p.TenantID, c.TID) {
			continue
		}
		// A compound identity (applicationId set) applies only to that
		// application acting for that principal.
		if p.ApplicationID != "" && !strings.EqualFold(p.ApplicationID, c.AppID) {
			continue
		}
		for _, perm := range perms(p.Permissions) {
			if strings.EqualFold(perm, need.perm) || strings.EqualFold(perm, "all") {
				return nil
			}
		}
	}
	return errAccessDenied(c, coll, need.perm, v)
}
