// Package redact removes secrets from text that goes to a report or a log.
//
// String recognises the usual shapes of credentials met while following the
// managed-identity tutorials (JWT access tokens, Authorization headers, SAS
// signatures, OAuth form fields, JSON token responses, storage account keys,
// connection strings, PEM private keys) and, in addition, any exact string
// registered at run time with Register.
//
// Masked values keep a short prefix where that helps debugging (JWTs keep
// their first 8 characters, SAS signatures and storage keys their first 4)
// followed by Masked; other values are replaced by Marker. String is
// idempotent: String(String(s)) == String(s).
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

const (
	// Marker replaces a secret value entirely.
	Marker = "[redacted]"
	// Masked follows the kept prefix of a partially masked value.
	Masked = "…" + Marker
	// MinSecretLen is the shortest string Register accepts (in characters).
	MinSecretLen = 6
	// maxPasses bounds the fixpoint iteration in String.
	maxPasses = 16
)

// rule masks capture group `group` of every match of re.
type rule struct {
	re    *regexp.Regexp
	group int
	keep  int                        // characters of the value to keep before Masked
	valid func(v, after string) bool // optional: only mask values for which valid is true
	// needles are lower-case literals of which every match contains at
	// least one; a text holding none of them cannot match, and the regexp
	// (tens of microseconds on a logged exchange) is skipped.
	needles []string
	// lead says every match starts with a needle (after a \b where the
	// pattern begins with one): the finder tries anchored, re anchored at
	// the start, at the needles only (find.go).
	lead     bool
	anchored *regexp.Regexp
	boundary bool
	// find, when set, is a hand-written finder of re's matches (find.go).
	find func(s string) [][]int
	// mask is the set of r's needles in needles (all bits when it has none).
	mask uint64
}

// jsonSecretNames are JSON member names whose string value is always a secret.
const jsonSecretNames = `access_token|refresh_token|id_token|client_secret|clientSecret|client_assertion|` +
	`secret|password|primaryKey|secondaryKey|accountKey|sharedAccessKey`

// formSecretNames are form and query fields whose value is always a secret.
const formSecretNames = `client_secret|client_assertion|assertion|refresh_token|access_token|id_token|code_verifier`

// quoted is the lower-case names of an alternation, each between open and close.
func quoted(names, open, close string) []string {
	var out []string
	for _, n := range strings.Split(strings.ToLower(names), "|") {
		out = append(out, open+n+close)
	}
	return out
}

var rules = withFinders([]rule{
	// PEM private keys (the body, across lines).
	{re: regexp.MustCompile(`(-----BEGIN [A-Z ]*PRIVATE KEY-----)([\s\S]*?)(-----END [A-Z ]*PRIVATE KEY-----)`), group: 2, needles: []string{"private key-----"}},
	// (a) JWT / JWS / JWE: base64url segments, the first starting with eyJ.
	{re: regexp.MustCompile(`(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2})`), group: 1, keep: 8, needles: []string{"eyj"}},
	// (b) Bearer tokens (Authorization headers, WWW-Authenticate excluded by shape).
	{re: regexp.MustCompile(`(?i)\bBearer\s+([A-Za-z0-9\-._~+/]+=*)`), group: 1, valid: tokenish, needles: []string{"bearer"}, lead: true},
	// Basic credentials and storage Shared Key signatures in Authorization headers.
	{re: regexp.MustCompile(`(?i)\bAuthorization:\s*Basic\s+([A-Za-z0-9+/]+=*)`), group: 1, needles: []string{"basic"}},
	{re: regexp.MustCompile(`(?i)\bSharedKey(?:Lite)?\s+[A-Za-z0-9-]+:([A-Za-z0-9+/]+=*)`), group: 1, needles: []string{"sharedkey"}, lead: true},
	// API-key style headers.
	{re: regexp.MustCompile(`(?i)\b(?:Ocp-Apim-Subscription-Key|x-functions-key|api-key|x-ms-client-secret)\s*:\s*([^\s"',;]+)`), group: 1, needles: []string{"ocp-apim-subscription-key", "x-functions-key", "api-key", "x-ms-client-secret"}, lead: true},
	// (c) SAS signatures, plain and URL-encoded (sig%3D...), keep 4.
	{re: regexp.MustCompile(`(?i)\bsig=([A-Za-z0-9%+/=_.~-]+)`), group: 1, keep: 4, needles: []string{"sig="}, lead: true},
	{re: regexp.MustCompile(`(?i)(?:\bsig|%26sig|%3Fsig)%3D((?:[A-Za-z0-9+/=_.~-]|%(?:2[0-57-9A-F]|[013-9A-F][0-9A-F]))+)`), group: 1, keep: 4, needles: []string{"sig%3d"}},
	// (d) JSON members holding secrets, plain and inside an escaped JSON string.
	{re: regexp.MustCompile(`"(?i:` + jsonSecretNames + `)"\s*:\s*"((?:[^"\\]|\\.)*)"`), group: 1, needles: quoted(jsonSecretNames, `"`, `"`), lead: true},
	{re: regexp.MustCompile(`\\"(?i:` + jsonSecretNames + `)\\"\s*:\s*\\"([^"\\]*)\\"`), group: 1, needles: quoted(jsonSecretNames, `\"`, `\"`), lead: true},
	// (e) form / query fields.
	{re: regexp.MustCompile(`(?i)\b(?:` + formSecretNames + `)=([^&;"'\s<>]+)`), group: 1, needles: quoted(formSecretNames, "", "="), lead: true},
	// (f) 64-byte base64 keys (storage / Cosmos account keys): 88 chars ending ==.
	{re: regexp.MustCompile(`(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{86}==)`), group: 1, keep: 4, needles: []string{"=="}, find: findAccountKeys},
	// (g) connection strings (and password= form fields).
	{re: regexp.MustCompile(`(?i)\b(?:AccountKey|SharedAccessKey|Password|Pwd)=([^;&"'\s<>]+)`), group: 1, needles: []string{"accountkey=", "sharedaccesskey=", "password=", "pwd="}, lead: true},
	{re: regexp.MustCompile(`(?i)\bSharedAccessSignature=([^;"'\s<>]+)`), group: 1, needles: []string{"sharedaccesssignature="}, lead: true},
})

// needles finds every rule's needles in one pass, and where those of the
// lead rules (leadNeedles) start (withFinders builds both).
var (
	needles     *needleSet
	leadNeedles uint64
)

// withFinders compiles the anchored patterns of the lead rules and the
// needle set.
func withFinders(rs []rule) []rule {
	var all []string
	ids := map[string]int{}
	for i, r := range rs {
		if r.lead {
			rs[i] = leading(r)
		}
		if len(r.needles) == 0 {
			rs[i].mask = ^uint64(0)
		}
		for _, n := range r.needles {
			id, ok := ids[n]
			if !ok {
				id = len(all)
				ids[n] = id
				all = append(all, n)
			}
			rs[i].mask |= 1 << id
		}
		if r.lead {
			leadNeedles |= rs[i].mask
		}
	}
	needles = newNeedleSet(all)
	return rs
}

// keyObject finds flat JSON objects that carry a "keyName" member (storage
// account listKeys results); their "key"/"value" members are secrets.
var (
	keyObject = regexp.MustCompile(`\{[^{}]*"keyName"[^{}]*\}`)
	keyMember = rule{re: regexp.MustCompile(`"(?:key|value)"\s*:\s*"((?:[^"\\]|\\.)*)"`), group: 1}
)

// authParam matches the name of a WWW-Authenticate parameter
// (Bearer authorization_uri="...", realm="...").
var authParam = regexp.MustCompile(`^[A-Za-z_]+=$`)

// tokenish tells a credential from a prose word or a challenge parameter
// after "Bearer".
func tokenish(v, after string) bool {
	if authParam.MatchString(v) && strings.HasPrefix(after, `"`) {
		return false
	}
	if len(v) >= 16 {
		return true
	}
	return strings.ContainsAny(v, "0123456789")
}

// mask returns the replacement for value v, given the text that follows it.
func mask(v string, keep int, after string) string {
	switch {
	case v == "", v == Marker, strings.HasSuffix(v, Masked), strings.HasPrefix(after, Masked):
		return v // empty or already masked
	}
	if keep > 0 && utf8.RuneCountInString(v) >= 3*keep {
		i, n := 0, 0
		for n < keep {
			_, w := utf8.DecodeRuneInString(v[i:])
			i += w
			n++
		}
		return v[:i] + Masked
	}
	return Marker
}

// apply masks r's group in every match in s (hits as for matches).
func (r rule) apply(s string, hits *needleHits) string {
	ms := r.matches(s, hits)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		lo, hi := m[2*r.group], m[2*r.group+1]
		if lo < 0 {
			continue
		}
		v := s[lo:hi]
		if r.valid != nil && !r.valid(v, s[hi:]) {
			continue
		}
		b.WriteString(s[last:lo])
		b.WriteString(mask(v, r.keep, s[hi:]))
		last = hi
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// mayMatch is false only when the text holds none of r's needles (found
// is needles.scan of it).
func (r rule) mayMatch(found uint64) bool {
	return r.mask&found != 0
}

// foldsToASCII holds the two non-ASCII case folds of ASCII letters (the
// Kelvin sign for k, the long s for s; unicode.SimpleFold has no others).
// Case-insensitive rules match them, lower-cased needles would not.
const foldsToASCII = "\u212a\u017f"

// hasFoldToASCII reports whether s holds one of foldsToASCII (two searches
// for a lead byte, where strings.ContainsAny would decode every rune).
func hasFoldToASCII(s string) bool {
	return strings.Contains(s, "\u212a") || strings.Contains(s, "\u017f")
}

func applyKeyObjects(s string, fast bool) string {
	if !strings.Contains(s, `"keyName"`) {
		return s
	}
	apply := func(obj string) string { return keyMember.apply(obj, nil) }
	if !fast {
		return keyObject.ReplaceAllStringFunc(s, apply)
	}
	var b strings.Builder
	last := 0
	for _, o := range findKeyObjects(s) {
		b.WriteString(s[last:o[0]])
		b.WriteString(apply(s[o[0]:o[1]]))
		last = o[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// pass runs every rule that can match, then the registry, once. The
// prefilter (off only in tests, which check it changes nothing) skips the
// rules whose needles are absent.
func pass(s string, reg *registry, prefilter bool, depth int) string {
	prefilter = prefilter && !hasFoldToASCII(s)
	var hits *needleHits
	if prefilter {
		hits = needles.find(s, leadNeedles)
	}
	for _, r := range rules {
		if hits != nil && !r.mayMatch(hits.found) {
			continue
		}
		if n := r.apply(s, hits); n != s {
			s = n
			if hits != nil {
				hits = needles.find(s, leadNeedles)
			}
		}
	}
	s = applyKeyObjects(s, prefilter)
	s = reg.apply(s)
	// The same secrets, escaped (encodings.go).
	if mayBeEncoded(s) {
		if view, ok := decodeView(s); ok {
			spans := encodedMatches(view, prefilter)
			spans = append(spans, reg.encodedMatches(view)...)
			s = replaceSpans(s, spans)
		}
	}
	return maskBase64(s, reg, depth, prefilter)
}

// String returns s with every recognised secret masked. It is safe for
// concurrent use, never panics, and is idempotent.
func String(s string) string {
	return redactWith(s, &global)
}

func redactWith(s string, reg *registry) string {
	return fixpoint(s, reg, true)
}

func fixpoint(s string, reg *registry, prefilter bool) string {
	return fixpointAt(s, reg, prefilter, 0)
}

// fixpointDepth redacts text decoded from base64 at depth (maskBase64).
func fixpointDepth(s string, reg *registry, depth int) string {
	return fixpointAt(s, reg, true, depth)
}

func fixpointAt(s string, reg *registry, prefilter bool, depth int) string {
	for i := 0; i < maxPasses; i++ {
		n := pass(s, reg, prefilter, depth)
		if n == s {
			return s
		}
		s = n
	}
	return s
}

// registry holds exact strings to redact.
type registry struct {
	mu      sync.Mutex
	secrets map[string]struct{}
	repl    atomic.Pointer[strings.Replacer]
}

var global registry

// Register adds secret to the strings that String always replaces with
// Marker, together with its URL-query-escaped and JSON-escaped forms.
// Strings shorter than MinSecretLen characters are ignored, as are strings
// that occur inside Masked itself. Register is safe for concurrent use.
func Register(secret string) {
	global.add(secret)
}

func (r *registry) add(secret string) {
	if utf8.RuneCountInString(secret) < MinSecretLen || strings.Contains(Masked, secret) {
		return
	}
	variants := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	// Its base64 forms, whole and inside longer encoded text (one per
	// alignment, without the edge characters that depend on neighbours).
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		variants = append(variants, enc.EncodeToString([]byte(secret)))
		for shift := range 3 {
			e := enc.EncodeToString(append(make([]byte, shift), secret...))
			lo, hi := (shift*4+2)/3, len(e)-3
			if hi-lo >= MinSecretLen+2 {
				variants = append(variants, e[lo:hi])
			}
		}
	}
	if j, err := json.Marshal(secret); err == nil {
		variants = append(variants, string(j[1:len(j)-1]))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]struct{}{}
	}
	added := false
	for _, v := range variants {
		if utf8.RuneCountInString(v) < MinSecretLen || strings.Contains(Masked, v) {
			continue
		}
		if _, ok := r.secrets[v]; !ok {
			r.secrets[v] = struct{}{}
			added = true
		}
	}
	if !added {
		return
	}
	// Longest first, so a secret that contains another is replaced whole.
	list := make([]string, 0, len(r.secrets))
	for v := range r.secrets {
		list = append(list, v)
	}
	sortLongestFirst(list)
	args := make([]string, 0, 2*len(list))
	for _, v := range list {
		args = append(args, v, Marker)
	}
	r.repl.Store(strings.NewReplacer(args...))
}

// encodedMatches finds the registered secrets in view, the decoded view
// of a text.
func (r *registry) encodedMatches(view decoded) []span {
	// One pass of the replacer tells most texts hold none, where a search
	// per secret costs as many passes as secrets were registered.
	if rp := r.repl.Load(); rp == nil || rp.Replace(view.s) == view.s {
		return nil
	}
	r.mu.Lock()
	list := make([]string, 0, len(r.secrets))
	for v := range r.secrets {
		list = append(list, v)
	}
	r.mu.Unlock()
	var out []span
	for _, v := range list {
		for from := 0; ; {
			i := strings.Index(view.s[from:], v)
			if i < 0 {
				break
			}
			lo, hi := from+i, from+i+len(v)
			out = append(out, span{lo: view.start(lo), hi: view.end(hi - 1), with: Marker})
			from = hi
		}
	}
	return out
}

func (r *registry) apply(s string) string {
	if rp := r.repl.Load(); rp != nil {
		return rp.Replace(s)
	}
	return s
}

func sortLongestFirst(list []string) {
	slices.SortFunc(list, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
}
