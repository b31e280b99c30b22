package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Service SAS: https://learn.microsoft.com/rest/api/storageservices/create-service-sas
// (string-to-sign per version under "Version 2020-12-06 and later", "2018-11-09
// and later", "2015-04-05 and later", "2013-08-15 through 2015-02-21").

// SAS is a parsed service SAS token (the query parameters of a SAS URL).
type SAS struct {
	Version     string // sv
	Resource    string // sr
	Permissions string // sp
	Start       string // st, as sent
	Expiry      string // se, as sent
	Identifier  string // si
	IP          string // sip
	Protocol    string // spr
	Snapshot    string // snapshot time (sr=bs) or version id (sr=bv)
	Encryption  string // ses
	// Response header overrides.
	CacheControl, Disposition, Encoding, Language, ContentType string // rscc rscd rsce rscl rsct
	Signature                                                  string // sig

	// A user delegation SAS names the key that signed it (delegation.go).
	KeyOID, KeyTID, KeyStart, KeyExpiry, KeyService, KeyVersion string // skoid sktid skt ske sks skv
	KeyDelegatedUserTID                                         string // skdutid
	DelegatedUserOID                                            string // sduoid
	AuthorizedOID, UnauthorizedOID, CorrelationID               string // saoid suoid scid
	DirectoryDepth                                              string // sdd
	// SignedHeaders and SignedQuery name the request headers and query
	// parameters whose values the signature covers (srh, srq).
	SignedHeaders, SignedQuery string

	// signedHeaderValues and signedQueryValues are those values as the
	// request carries them, canonicalized (bindRequest).
	signedHeaderValues, signedQueryValues string
}

// IsSAS reports whether a request's query carries a SAS (sig present).
func IsSAS(q url.Values) bool { return q.Has("sig") }

// sasError is why a SAS is refused; Detail is the AuthenticationErrorDetail.
type sasError struct{ Detail string }

func (e *sasError) Error() string { return e.Detail }

const notWellFormed = "Signature fields not well formed."

// sasFields are the SAS's query parameters and the fields they fill; a
// package table rather than a literal in ParseSAS, whose large frame
// made every request's handler goroutine grow its stack there.
var sasFields = [...]struct {
	k string
	p func(*SAS) *string
}{
	{"sv", func(s *SAS) *string { return &s.Version }}, {"sr", func(s *SAS) *string { return &s.Resource }},
	{"sp", func(s *SAS) *string { return &s.Permissions }}, {"st", func(s *SAS) *string { return &s.Start }},
	{"se", func(s *SAS) *string { return &s.Expiry }}, {"si", func(s *SAS) *string { return &s.Identifier }},
	{"sip", func(s *SAS) *string { return &s.IP }}, {"spr", func(s *SAS) *string { return &s.Protocol }},
	{"ses", func(s *SAS) *string { return &s.Encryption }}, {"rscc", func(s *SAS) *string { return &s.CacheControl }},
	{"rscd", func(s *SAS) *string { return &s.Disposition }}, {"rsce", func(s *SAS) *string { return &s.Encoding }},
	{"rscl", func(s *SAS) *string { return &s.Language }}, {"rsct", func(s *SAS) *string { return &s.ContentType }},
	{"sig", func(s *SAS) *string { return &s.Signature }}, {"skoid", func(s *SAS) *string { return &s.KeyOID }},
	{"sktid", func(s *SAS) *string { return &s.KeyTID }}, {"skt", func(s *SAS) *string { return &s.KeyStart }},
	{"ske", func(s *SAS) *string { return &s.KeyExpiry }}, {"sks", func(s *SAS) *string { return &s.KeyService }},
	{"skv", func(s *SAS) *string { return &s.KeyVersion }}, {"skdutid", func(s *SAS) *string { return &s.KeyDelegatedUserTID }},
	{"sduoid", func(s *SAS) *string { return &s.DelegatedUserOID }}, {"saoid", func(s *SAS) *string { return &s.AuthorizedOID }},
	{"suoid", func(s *SAS) *string { return &s.UnauthorizedOID }}, {"scid", func(s *SAS) *string { return &s.CorrelationID }},
	{"sdd", func(s *SAS) *string { return &s.DirectoryDepth }}, {"srh", func(s *SAS) *string { return &s.SignedHeaders }},
	{"srq", func(s *SAS) *string { return &s.SignedQuery }},
}

// ParseSAS reads the SAS fields of a query and checks that they are well
// formed for their version: required fields present, known resource type,
// permissions from the allowed set in Azure's order without repeats,
// parseable times and IP range, and a known protocol.
func ParseSAS(q url.Values) (*SAS, error) {
	one := func(k string) (string, bool) {
		v := q[k]
		if len(v) > 1 {
			return "", false
		}
		if len(v) == 0 {
			return "", true
		}
		return v[0], true
	}
	s := &SAS{}
	for _, f := range sasFields {
		v, ok := one(f.k)
		if !ok {
			return nil, &sasError{notWellFormed}
		}
		*f.p(s) = v
	}
	switch {
	case s.Version == "":
		return nil, &sasError{"sv is mandatory. Cannot be empty"}
	case s.Signature == "":
		return nil, &sasError{"sig is mandatory. Cannot be empty"}
	case s.Resource == "":
		return nil, &sasError{"sr is mandatory. Cannot be empty"}
	case s.Identifier == "" && s.Expiry == "":
		return nil, &sasError{"se is mandatory. Cannot be empty"}
	case s.Identifier == "" && s.Permissions == "":
		return nil, &sasError{"sp is mandatory. Cannot be empty"}
	}
	if !validSASVersion(s.Version) {
		return nil, &sasError{notWellFormed}
	}
	if _, err := base64.StdEncoding.DecodeString(s.Signature); err != nil {
		return nil, &sasError{notWellFormed}
	}
	switch s.Resource {
	case "b", "c":
	default:
		return nil, &sasError{notWellFormed}
	}
	if !permissionsInOrder(s.Permissions) {
		return nil, &sasError{notWellFormed}
	}
	for _, t := range []string{s.Start, s.Expiry} {
		if _, ok := parseSASTime(t); t != "" && !ok {
			return nil, &sasError{notWellFormed}
		}
	}
	if s.Version < "2015-04-05" && (s.IP != "" || s.Protocol != "") {
		return nil, &sasError{notWellFormed}
	}
	switch s.Protocol {
	case "", "https", "https,http":
	default:
		return nil, &sasError{notWellFormed}
	}
	if s.IP != "" {
		if _, _, ok := parseIPRange(s.IP); !ok {
			return nil, &sasError{notWellFormed}
		}
	}
	if s.UserDelegation() {
		if err := s.checkUserDelegation(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// permissionOrder is the order Azure requires of a service SAS's sp
// ("racwdxyltmeopi" in the docs, with f for tag filtering after t).
const permissionOrder = "racwdxyltfmeopi"

func permissionsInOrder(p string) bool {
	last := -1
	for _, c := range p {
		i := strings.IndexRune(permissionOrder, c)
		if i <= last {
			return false // unknown letter, out of order, or repeated
		}
		last = i
	}
	return true
}

// sasTimeLayouts are the ISO 8601 forms Azure accepts for st and se.
var sasTimeLayouts = []string{"2006-01-02T15:04:05Z", "2006-01-02T15:04:05.9999999Z", "2006-01-02T15:04Z", "2006-01-02"}

func parseSASTime(v string) (time.Time, bool) {
	for _, l := range sasTimeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseIPRange(v string) (net.IP, net.IP, bool) {
	lo, hi, found := strings.Cut(v, "-")
	a := net.ParseIP(lo).To4()
	if !found {
		return a, a, a != nil
	}
	b := net.ParseIP(hi).To4()
	return a, b, a != nil && b != nil && bytesLE(a, b)
}

func bytesLE(a, b net.IP) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return true
}

func ipInRange(ip net.IP, r string) bool {
	lo, hi, ok := parseIPRange(r)
	ip = ip.To4()
	return ok && ip != nil && bytesLE(lo, ip) && bytesLE(ip, hi)
}

// StringToSign is the string a service or user delegation SAS signs, in
// the layout of its version. canonicalResource is
// "/blob/{account}/{container}[/{blob}]".
func (s *SAS) StringToSign(canonicalResource string) string {
	if s.UserDelegation() {
		return s.userDelegationStringToSign(canonicalResource)
	}
	fields := []string{s.Permissions, s.Start, s.Expiry, canonicalResource, s.Identifier}
	switch {
	case s.Version >= "2020-12-06":
		fields = append(fields, s.IP, s.Protocol, s.Version, s.Resource, s.Snapshot, s.Encryption)
	case s.Version >= "2018-11-09":
		fields = append(fields, s.IP, s.Protocol, s.Version, s.Resource, s.Snapshot)
	case s.Version >= "2015-04-05":
		fields = append(fields, s.IP, s.Protocol, s.Version)
	default: // 2013-08-15 through 2015-02-21
		fields = append(fields, s.Version)
	}
	fields = append(fields, s.CacheControl, s.Disposition, s.Encoding, s.Language, s.ContentType)
	return strings.Join(fields, "\n")
}

// CanonicalResource is the canonicalized resource a SAS of this version
// signs for a container or blob: versions before 2015-02-21 omit the
// "/blob" service prefix.
func (s *SAS) CanonicalResource(account, container, blob string) string {
	r := "/" + account + "/" + container
	if s.Resource == "b" {
		r += "/" + blob
	}
	if s.Version >= "2015-02-21" {
		r = "/blob" + r
	}
	return r
}

// Encode renders the SAS as a query string in the order Azure's Resource
// Manager writes it (sv, sr, st, spr, se, sp, ..., sig).
func (s *SAS) Encode() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+url.QueryEscape(v))
		}
	}
	add("sv", s.Version)
	add("sr", s.Resource)
	add("si", s.Identifier)
	add("sip", s.IP)
	add("st", s.Start)
	add("spr", s.Protocol)
	add("se", s.Expiry)
	add("sp", s.Permissions)
	add("skoid", s.KeyOID)
	add("sktid", s.KeyTID)
	add("skt", s.KeyStart)
	add("ske", s.KeyExpiry)
	add("sks", s.KeyService)
	add("skv", s.KeyVersion)
	add("skdutid", s.KeyDelegatedUserTID)
	add("sduoid", s.DelegatedUserOID)
	add("saoid", s.AuthorizedOID)
	add("suoid", s.UnauthorizedOID)
	add("scid", s.CorrelationID)
	add("sdd", s.DirectoryDepth)
	add("ses", s.Encryption)
	add("srh", s.SignedHeaders)
	add("srq", s.SignedQuery)
	add("rscc", s.CacheControl)
	add("rscd", s.Disposition)
	add("rsce", s.Encoding)
	add("rscl", s.Language)
	add("rsct", s.ContentType)
	add("sig", s.Signature)
	return strings.Join(parts, "&")
}

// sign computes the HMAC-SHA256 signature of a string with an account key.
func sign(key []byte, stringToSign string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// sigCache remembers the SAS signatures that matched, by key, string to
// sign and signature: a client sends the same SAS request after request,
// and the HMAC (with its key schedule) was a sixth of a Get Blob's time.
// Only matches are kept, and at most sigCacheMax of them (the map starts
// over when full); a regenerated key is another key, so its old entries
// never match.
var sigCache struct {
	sync.Mutex
	m map[sigKey]struct{}
}

type sigKey struct{ key, sts, sig string }

const sigCacheMax = 1024

// signedBy reports whether sig is the signature of sts with key.
func signedBy(key []byte, sts, sig string) bool {
	k := sigKey{string(key), sts, sig}
	sigCache.Lock()
	_, ok := sigCache.m[k]
	sigCache.Unlock()
	if ok {
		return true
	}
	if !hmac.Equal([]byte(sign(key, sts)), []byte(sig)) {
		return false
	}
	sigCache.Lock()
	if sigCache.m == nil || len(sigCache.m) >= sigCacheMax {
		sigCache.m = map[sigKey]struct{}{}
	}
	sigCache.m[k] = struct{}{}
	sigCache.Unlock()
	return true
}

// verifySAS checks a parsed SAS against the account's keys, the clock and
// the request's protocol and address. It returns the AuthenticationFailed or
// Authorization*Mismatch error Azure answers with.
func verifySAS(s *SAS, keys [][]byte, canonicalResource string, now time.Time, https bool, ip net.IP) *Error {
	var start, expiry time.Time
	if s.Start != "" {
		start, _ = parseSASTime(s.Start)
	}
	if s.Expiry != "" {
		expiry, _ = parseSASTime(s.Expiry)
	}
	if s.Start != "" && s.Expiry != "" && !expiry.After(start) {
		return errAuthFailed(fmt.Sprintf("Signed expiry time [%s] must be after signed start time [%s]", httpTime(expiry), httpTime(start)))
	}
	if (s.Start != "" && now.Before(start)) || (s.Expiry != "" && now.After(expiry)) {
		st := ""
		if s.Start != "" {
			st = httpTime(start)
		}
		return errAuthFailed(fmt.Sprintf("Signature not valid in the specified time frame: Start [%s] - Expiry [%s] - Current [%s]", st, httpTime(expiry), httpTime(now)))
	}
	sts := s.StringToSign(canonicalResource)
	ok := false
	for _, k := range keys {
		if signedBy(k, sts, s.Signature) {
			ok = true
			break
		}
	}
	if !ok {
		return errAuthFailed("Signature did not match. String to sign used was " + sts)
	}
	if s.Protocol == "https" && !https {
		return errProtocolMismatch()
	}
	if s.IP != "" && !ipInRange(ip, s.IP) {
		return errSourceIPMismatch(ip.String())
	}
	return nil
}

// validSASVersion accepts the service versions with a service SAS layout
// this emulator knows (2013-08-15 on), up to the newest known version.
func validSASVersion(v string) bool {
	return v >= "2013-08-15" && knownVersion(v)
}
