package blob

import (
	"crypto/hmac"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/entra"
)

// level is what an operation acts on, which decides the RBAC scope and
// which SAS resource types may authorize it.
type level int

const (
	levelAccount level = iota
	levelContainer
	levelBlob
)

// operation is one Blob service REST operation and what it needs.
type operation struct {
	name  string
	level level
	// action is the RBAC action a token's principal needs; data says
	// whether it is a data action (blobs) or a control action (containers).
	action string
	data   bool
	// sas lists the SAS permission letters any one of which allows it;
	// empty means a service SAS cannot authorize it.
	sas string
	// bearerOnly operations refuse Shared Key and SAS callers.
	bearerOnly bool
	h          func(*Service, *request) reply
}

// createsBlob tells the operations that create or replace a blob, which
// need less to create one than to overwrite one.
func (o *operation) createsBlob() bool {
	return o.name == "PutBlob" || o.name == "PutBlockList" || o.name == "PutBlock"
}

const (
	actContainers = "Microsoft.Storage/storageAccounts/blobServices/containers"
	actBlobs      = actContainers + "/blobs"
)

// authenticate decides who is calling and whether they may run the
// operation: a SAS in the query, a Bearer token, Shared Key, or nothing.
// https://learn.microsoft.com/rest/api/storageservices/authorize-requests-to-azure-storage
func (s *Service) authenticate(r *request) *Error {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	if r.op.bearerOnly && (IsSAS(r.q) || scheme == "SharedKey") {
		// Azure's answer to Get User Delegation Key with Shared Key
		// (github.com/Azure/azure-storage-net-data-movement/issues/176,
		// Azure/azure-sdk-for-net#12052); the same for a SAS is [unverified].
		return errAuthFailed("Only authentication scheme Bearer is supported")
	}
	if IsSAS(r.q) {
		return s.authSAS(r)
	}
	if h == "" {
		e := errorf(401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
		e.Challenge = s.challenge()
		return e
	}
	switch scheme {
	case "Bearer":
		return s.authBearer(r, strings.TrimSpace(rest))
	case "SharedKey":
		return s.authSharedKey(r, h)
	}
	return errorf(400, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format. Check the value of Authorization header.")
}

// challenge is the WWW-Authenticate value that tells a client where to get
// a token for Storage.
// https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#bearer-challenge
func (s *Service) challenge() string {
	return "Bearer authorization_uri=https://" + s.Cloud.LoginHost + "/" + s.Issuer.Dir.TenantID + "/oauth2/authorize resource_id=https://storage.azure.com"
}

func (s *Service) invalidToken(detail string) *Error {
	e := errorf(401, "InvalidAuthenticationInfo", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.", "AuthenticationErrorDetail", detail)
	e.Challenge = s.challenge()
	e.frontEnd = true
	return e
}

// audienceOK accepts Storage's resource and the account's own blob
// endpoint, each with or without the trailing slash.
func (s *Service) audienceOK(aud, account string) bool {
	a := strings.TrimSuffix(strings.ToLower(aud), "/")
	return a == strings.TrimSuffix(strings.ToLower(s.Cloud.StorageResource), "/") || a == "https://storage.azure.com" ||
		a == strings.TrimSuffix(strings.ToLower(s.Endpoint(account)), "/")
}

func (s *Service) authBearer(r *request, raw string) *Error {
	c, e := s.verifyToken(r, raw)
	if e != nil {
		return e
	}
	r.oid, r.tid = c.OID, c.TID
	if s.rbacAllows(r, c.OID) {
		return nil
	}
	return errPermissionMismatch()
}

// verifyToken checks a bearer token as Storage does: version, signature,
// lifetime, audience, issuer and tenant.
func (s *Service) verifyToken(r *request, raw string) (*entra.Claims, *Error) {
	if r.version < bearerMinVersion {
		return nil, errAuthFailed("Authentication scheme Bearer is not supported in this version.")
	}
	if raw == "" {
		return nil, errorf(400, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format. Check the value of Authorization header.")
	}
	c, err := s.Issuer.Verify(raw)
	switch {
	case errors.Is(err, entra.ErrExpired):
		return nil, s.invalidToken("Lifetime validation failed. The token is expired.")
	case errors.Is(err, entra.ErrNotYetValid):
		return nil, s.invalidToken("Lifetime validation failed. The token is not yet valid.")
	case errors.Is(err, entra.ErrSignature), errors.Is(err, entra.ErrUnknownKey), errors.Is(err, entra.ErrAlgorithm):
		return nil, s.invalidToken("Signature validation failed. Signature is invalid.")
	case errors.Is(err, entra.ErrPrincipalGone):
		return nil, s.invalidToken("The principal the token was issued to no longer exists in the tenant.")
	case err != nil:
		return nil, s.invalidToken("The token is malformed.")
	}
	if !s.audienceOK(c.Aud, r.acct.Name) {
		return nil, s.invalidToken("Audience validation failed. Audience did not match.")
	}
	if c.Iss != s.Issuer.IssuerURL() || !strings.EqualFold(c.TID, s.Issuer.Dir.TenantID) {
		return nil, s.invalidToken("Issuer validation failed. Issuer did not match.")
	}
	return c, nil
}

// rbacAllows reports whether a principal's role assignments grant the
// request's operation at its scope (the container, or the account's blob
// service for account-level operations).
func (s *Service) rbacAllows(r *request, oid string) bool {
	scope := r.acct.ResourceID + "/blobServices/default"
	if r.op.level != levelAccount {
		scope += "/containers/" + r.container
	}
	actions := strings.Split(r.op.action, "|")
	if r.op.createsBlob() {
		// Creating a blob needs write or add; replacing one needs write.
		if _, err := s.Store.GetBlob(r.acct.Name, r.container, r.blob); err == nil {
			actions = actions[:1]
		}
	}
	for _, a := range actions {
		if s.RBAC.Allowed(oid, a, scope, r.op.data) {
			return true
		}
	}
	return false
}

func (s *Service) authSharedKey(r *request, h string) *Error {
	account, sig, ok := parseSharedKey(h)
	if !ok {
		return errorf(400, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format. Check the value of Authorization header.")
	}
	date := r.Header.Get("x-ms-date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	if date == "" {
		return errAuthFailed("Request date header not specified")
	}
	t, err := time.Parse(time.RFC1123, date)
	if err != nil {
		return errAuthFailed("The Date header in the request is incorrect.")
	}
	// Shared Key signatures are valid for 15 minutes either side.
	if d := s.Issuer.Now().Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return errAuthFailed("Request date header too old: '" + date + "'")
	}
	// Path-style URLs name the account in the path; clients sign the path
	// as sent, so the account appears twice in the canonicalized resource.
	sts := sharedKeyStringToSign(r.Method, r.Header, r.ContentLength, account, r.escapedPath, r.q, r.version)
	if account == r.acct.Name {
		for _, k := range r.acct.Keys {
			if hmac.Equal([]byte(sign(k, sts)), []byte(sig)) {
				return nil
			}
		}
	}
	return errAuthFailed("The MAC signature found in the HTTP request '" + sig + "' is not the same as any computed signature. Server used following string to sign: '" + sts + "'.")
}

func (s *Service) authSAS(r *request) *Error {
	sas, err := ParseSAS(r.q)
	if err != nil {
		return errAuthFailed(err.Error())
	}
	if r.version == "" {
		r.version = sas.Version
	}
	if r.op.level == levelAccount || (sas.Resource == "b" && r.op.level != levelBlob) {
		return errAuthFailed("The specified signed resource is not allowed for the this resource level")
	}
	if sas.Identifier != "" {
		// Stored access policies (Set Container ACL) are not emulated, so
		// no signed identifier can name one.
		return errAuthFailed("The specified signed identifier does not exist.")
	}
	ip := net.ParseIP(hostOnly(r.RemoteAddr))
	if sas.UserDelegation() {
		if e := s.verifyUserDelegation(r, sas, ip); e != nil {
			return e
		}
	} else if e := verifySAS(sas, r.acct.Keys[:], sas.CanonicalResource(r.acct.Name, r.container, r.blob), s.Issuer.Now().UTC(), r.https, ip); e != nil {
		return e
	}
	r.sas = sas
	need := r.op.sas
	if r.op.createsBlob() {
		// A new blob may be created with c or w; an existing one needs w.
		if _, err := s.Store.GetBlob(r.acct.Name, r.container, r.blob); err == nil {
			need = "w"
		}
	}
	if r.op == opLeaseBlob && strings.EqualFold(r.Header.Get("x-ms-lease-action"), "break") && sas.Version >= "2017-07-29" {
		// "For version 2017-07-29 and later, the Delete permission also
		// allows breaking a lease on a blob" (create-service-sas).
		need = "wd"
	}
	if need == "" || !strings.ContainsAny(sas.Permissions, need) {
		return errPermissionMismatch()
	}
	// A user delegation SAS grants the intersection of its permissions and
	// the RBAC permissions of the principal that requested the key, checked
	// when the SAS is used (create-user-delegation-sas, "Assign permissions
	// with Azure RBAC"): removing the role revokes the SAS.
	if sas.UserDelegation() && !s.rbacAllows(r, sas.KeyOID) {
		return errPermissionMismatch()
	}
	return nil
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
