package blob

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// User delegation SAS: https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
// A service SAS whose query also names a user delegation key (skoid, sktid,
// skt, ske, sks, skv) and is signed with that key instead of an account
// key. The string-to-sign grows with the version:
//
//	2018-11-09  sp st se CR skoid sktid skt ske sks skv sip spr sv sr snapshot rscc rscd rsce rscl rsct
//	2020-02-10  + saoid suoid scid after skv
//	2020-12-06  + ses after snapshot
//	2025-07-05  + skdutid sduoid after scid
//	2026-04-06  + srh srq (canonicalized values) after ses
//
// The 2026-04-06 layout and the meaning of srh/srq are [unverified] against
// the REST page: they are taken from the official Go SDK (azblob
// sas.BlobSignatureValues.SignWithUserDelegation, v1.8.3) and Azurite.

const (
	// udMinVersion is the first version with user delegation SASes and Get
	// User Delegation Key.
	udMinVersion = "2018-11-09"
	// udOIDVersion adds saoid, suoid and scid.
	udOIDVersion = "2020-02-10"
	// udEncryptionVersion adds ses to the string-to-sign.
	udEncryptionVersion = "2020-12-06"
	// udDelegatedUserVersion adds skdutid and sduoid.
	udDelegatedUserVersion = "2025-07-05"
	// udSignedRequestVersion adds srh and srq.
	udSignedRequestVersion = "2026-04-06"
)

// UserDelegation reports whether the SAS claims to be signed with a user
// delegation key (any of the key fields present).
func (s *SAS) UserDelegation() bool {
	return s.KeyOID != "" || s.KeyTID != "" || s.KeyStart != "" || s.KeyExpiry != "" || s.KeyService != "" || s.KeyVersion != ""
}

// checkUserDelegation is ParseSAS's well-formedness check of the user
// delegation fields. Every refusal uses the service SAS's "not well formed"
// detail: Azure's own text for each case is [unverified].
func (s *SAS) checkUserDelegation() error {
	bad := &sasError{notWellFormed}
	for _, v := range []string{s.KeyOID, s.KeyTID, s.KeyStart, s.KeyExpiry, s.KeyService, s.KeyVersion} {
		if v == "" {
			return bad
		}
	}
	// Stored access policies are not supported for a user delegation SAS
	// (create-user-delegation-sas, introduction).
	if s.Version < udMinVersion || s.Identifier != "" {
		return bad
	}
	// sks is the service the key was issued by; only Blob issues them here.
	if s.KeyService != "b" || !knownVersion(s.KeyVersion) || s.KeyVersion < udMinVersion {
		return bad
	}
	for _, t := range []string{s.KeyStart, s.KeyExpiry} {
		if _, ok := parseSASTime(t); !ok {
			return bad
		}
	}
	for _, id := range []string{s.KeyOID, s.KeyTID, s.AuthorizedOID, s.UnauthorizedOID, s.KeyDelegatedUserTID, s.DelegatedUserOID} {
		if id != "" && !directory.IsGUID(id) {
			return bad
		}
	}
	// A field the version's string-to-sign does not cover could be added
	// to a SAS by anyone, so it is refused rather than ignored.
	switch {
	case s.Version < udOIDVersion && (s.AuthorizedOID != "" || s.UnauthorizedOID != "" || s.CorrelationID != ""):
		return bad
	case s.Version < udDelegatedUserVersion && (s.KeyDelegatedUserTID != "" || s.DelegatedUserOID != ""):
		return bad
	case s.Version < udSignedRequestVersion && (s.SignedHeaders != "" || s.SignedQuery != ""):
		return bad
	// saoid names a user the key's owner authorizes, suoid one it does
	// not: one SAS cannot say both.
	case s.AuthorizedOID != "" && s.UnauthorizedOID != "":
		return bad
	// sdd goes with sr=d, a directory of a hierarchical namespace, which
	// this emulator's accounts do not have.
	case s.DirectoryDepth != "":
		return bad
	}
	for _, list := range []string{s.SignedHeaders, s.SignedQuery} {
		if list == "" {
			continue
		}
		for _, n := range strings.Split(list, ",") {
			if n == "" {
				return bad
			}
		}
	}
	return nil
}

// userDelegationStringToSign lays out the fields for the SAS's version.
func (s *SAS) userDelegationStringToSign(canonicalResource string) string {
	f := []string{s.Permissions, s.Start, s.Expiry, canonicalResource,
		s.KeyOID, s.KeyTID, s.KeyStart, s.KeyExpiry, s.KeyService, s.KeyVersion}
	if s.Version >= udOIDVersion {
		f = append(f, s.AuthorizedOID, s.UnauthorizedOID, s.CorrelationID)
	}
	if s.Version >= udDelegatedUserVersion {
		f = append(f, s.KeyDelegatedUserTID, s.DelegatedUserOID)
	}
	f = append(f, s.IP, s.Protocol, s.Version, s.Resource, s.Snapshot)
	if s.Version >= udEncryptionVersion {
		f = append(f, s.Encryption)
	}
	if s.Version >= udSignedRequestVersion {
		f = append(f, s.signedHeaderValues, s.signedQueryValues)
	}
	f = append(f, s.CacheControl, s.Disposition, s.Encoding, s.Language, s.ContentType)
	return strings.Join(f, "\n")
}

// bindRequest takes the values of the headers and query parameters srh and
// srq name from the request, in the order they are named: each header as
// "name:value\n", each parameter as "\nname:value" [unverified: the layout
// of the Go SDK's formatSignedRequestHeaders / ...QueryParameters].
func (s *SAS) bindRequest(h http.Header, q url.Values) {
	var hb, qb strings.Builder
	if s.SignedHeaders != "" {
		for _, n := range strings.Split(s.SignedHeaders, ",") {
			hb.WriteString(n + ":" + h.Get(n) + "\n")
		}
	}
	if s.SignedQuery != "" {
		for _, n := range strings.Split(s.SignedQuery, ",") {
			qb.WriteString("\n" + n + ":" + q.Get(n))
		}
	}
	s.signedHeaderValues, s.signedQueryValues = hb.String(), qb.String()
}

// keyWindow is the user delegation key's validity, from skt and ske.
func (s *SAS) keyWindow() (start, expiry time.Time) {
	start, _ = parseSASTime(s.KeyStart)
	expiry, _ = parseSASTime(s.KeyExpiry)
	return start, expiry
}

// verifyUserDelegation authenticates a parsed user delegation SAS: the key
// it names must be one this account issued (same tenant, in its validity
// window, recomputed from the account's delegation secret), the signature
// must match it, and a SAS for a delegated user (sduoid) must come with
// that user's token. What the SAS then allows is decided by the caller
// (authSAS): the SAS's permissions and the key owner's RBAC roles.
func (s *Service) verifyUserDelegation(r *request, sas *SAS, ip net.IP) *Error {
	now := s.Issuer.Now().UTC()
	if !strings.EqualFold(sas.KeyTID, s.Issuer.Dir.TenantID) {
		// [unverified] Azure's detail for a key of another tenant.
		return errAuthFailed("The signed key tenant id [" + sas.KeyTID + "] does not match the tenant of the storage account.")
	}
	kstart, kexpiry := sas.keyWindow()
	if !kexpiry.After(kstart) {
		// [unverified] the service SAS's wording, applied to skt/ske.
		return errAuthFailed(fmt.Sprintf("Signed key expiry time [%s] must be after signed key start time [%s]", httpTime(kexpiry), httpTime(kstart)))
	}
	if now.Before(kstart) || now.After(kexpiry) {
		// The SAS works only while its key does (skt and ske are the key's
		// lifetime: create-user-delegation-sas, signedKeyStart and
		// signedKeyExpiry). [unverified] detail text.
		return errAuthFailed(fmt.Sprintf("Signed key not valid in the specified time frame: Start [%s] - Expiry [%s] - Current [%s]", httpTime(kstart), httpTime(kexpiry), httpTime(now)))
	}
	sas.bindRequest(r.Header, r.q)
	key := delegationKey(r.acct.DelegationSecret, keyFields{
		OID: sas.KeyOID, TID: sas.KeyTID, Start: kstart, Expiry: kexpiry,
		Service: sas.KeyService, Version: sas.KeyVersion, DelegatedUserTID: sas.KeyDelegatedUserTID,
	})
	if e := verifySAS(sas, [][]byte{key}, sas.CanonicalResource(r.acct.Name, r.container, r.blob), now, r.https, ip); e != nil {
		return e
	}
	if sas.DelegatedUserOID != "" {
		return s.checkDelegatedUser(r, sas)
	}
	return nil
}

// checkDelegatedUser: from 2025-07-05, sduoid "specifies the Entra ID of
// the user would is authorized to use the resulting SAS URL. The resulting
// SAS URL must be used in conjunction with an Entra ID token that has been
// issued to the user specified in this value" (the SDKs' reference, e.g.
// https://learn.microsoft.com/dotnet/api/azure.storage.sas.sasqueryparameters.delegateduserobjectid).
// The token is checked like any bearer token; its tenant must be skdutid
// when the key names one. The error details are [unverified].
func (s *Service) checkDelegatedUser(r *request, sas *SAS) *Error {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if scheme != "Bearer" || strings.TrimSpace(raw) == "" {
		return errAuthFailed("The SAS names a delegated user object id; the request must carry that user's Bearer token.")
	}
	c, e := s.verifyToken(r, strings.TrimSpace(raw))
	if e != nil {
		return e
	}
	tid := sas.KeyDelegatedUserTID
	if tid == "" {
		tid = sas.KeyTID
	}
	if !strings.EqualFold(c.OID, sas.DelegatedUserOID) || !strings.EqualFold(c.TID, tid) {
		return errAuthFailed("The token's object id or tenant id does not match the SAS's delegated user.")
	}
	return nil
}
