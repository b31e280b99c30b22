// Package imds is the emulator's Azure Instance Metadata Service: the
// managed identity token endpoint and the instance metadata a VM reads at
// http://169.254.169.254.
//
// Contracts: https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service
// and https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token
// (REST spec: specification/imds/data-plane/InstanceMetadataService/stable/2023-07-01/imds.json).
package imds

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
)

// VM is what IMDS knows about the VM it serves.
type VM struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	VMID           string
	ResourceID     string
	VMSize         string
	Tags           map[string]string
	// System is the system-assigned identity, nil when disabled.
	System *directory.Principal
	// User are the attached user-assigned identities.
	User []directory.Principal
	// Properties are the VM resource's properties as Resource Manager
	// holds them (storageProfile, osProfile, networkProfile, ...), nil when
	// unknown; the instance document is built from them.
	Properties map[string]any
	// Zones are the VM resource's availability zones.
	Zones []string
	// NICs are the properties of the VM's network interfaces, in the order
	// of networkProfile.networkInterfaces; nil when unknown.
	NICs []map[string]any
}

// VMSource reports the current state of the VM IMDS runs on; ok is false
// when the VM does not exist (then no identity is available).
type VMSource func() (vm VM, ok bool)

// Server serves IMDS.
type Server struct {
	Cloud  cloud.Profile
	Issuer *entra.Issuer
	VM     VMSource
	// Identity, when set, is a cheaper VMSource for the token path, which
	// reads only ResourceID, System and User (read on every token request,
	// so identity changes take effect at once).
	Identity VMSource
	// Throttle turns on the managed identity category's limits: 20
	// requests per second and 5 concurrent requests per VM.
	Throttle bool

	limiter *limiter
	// known caches resources the issuer accepts (Token checks each
	// request's), up to maxKnown of them.
	known  sync.Map
	nKnown atomic.Int32
}

const maxKnown = 64

// knownResource is Issuer.KnownResource, remembered for the resources it
// accepted: the set is fixed for an issuer's cloud.
func (s *Server) knownResource(resource string) bool {
	if _, ok := s.known.Load(resource); ok {
		return true
	}
	if !s.Issuer.KnownResource(resource) {
		return false
	}
	if s.nKnown.Load() < maxKnown {
		if _, loaded := s.known.LoadOrStore(resource, true); !loaded {
			s.nKnown.Add(1)
		}
	}
	return true
}

// New makes an IMDS for the VM that source describes.
func New(c cloud.Profile, iss *entra.Issuer, source VMSource, throttle bool) *Server {
	return &Server{Cloud: c, Issuer: iss, VM: source, Throttle: throttle, limiter: newLimiter(20, 5)}
}

// identityAPIVersions and instanceAPIVersions are the api-versions IMDS
// accepts; the identity category exists from 2018-02-01 on.
var instanceAPIVersions = []string{
	"2025-04-07", "2024-07-17", "2024-03-15", "2023-11-15", "2023-07-01", "2021-12-13", "2021-11-15", "2021-11-01",
	"2021-10-01", "2021-08-01", "2021-05-01", "2021-03-01", "2021-02-01", "2021-01-01", "2020-12-01", "2020-10-01",
	"2020-09-01", "2020-07-15", "2020-06-01", "2019-11-01", "2019-08-15", "2019-08-01", "2019-06-04", "2019-06-01",
	"2019-04-30", "2019-03-11", "2019-02-01", "2018-10-01", "2018-04-02", "2018-02-01", "2017-12-01", "2017-10-01",
	"2017-08-01", "2017-04-02", "2017-03-01",
}

func supported(v, since string) bool {
	if v < since {
		return false
	}
	for _, s := range instanceAPIVersions {
		if s == v {
			return true
		}
	}
	return false
}

// ServeHTTP applies the rules every IMDS request must meet (GET, the
// Metadata header, no X-Forwarded-For), then routes by category.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	identity := strings.HasPrefix(r.URL.Path, "/metadata/identity/")
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, identityError("method_not_allowed", "The HTTP method "+r.Method+" is not supported on this endpoint."))
		return
	}
	if r.Header.Get("Metadata") != "true" {
		if identity {
			writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Required metadata header not specified"))
		} else {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad request: . Required metadata header not specified"})
		}
		return
	}
	// IMDS refuses proxied requests; the exact text is not published.
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		if identity {
			writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Request contains the X-Forwarded-For header, which is not allowed"))
		} else {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad request. X-Forwarded-For header is not allowed"})
		}
		return
	}
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Duplicate query parameter '"+k+"' in the request"))
			return
		}
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	for _, rt := range imdsRoutes {
		if rt.match(path) {
			rt.serve(s, w, r, q)
			return
		}
	}
	writeNotFound(w, identity)
}

// imdsRoute is one IMDS operation: a path, or a path prefix whose rest
// ({path}) walks the instance document.
type imdsRoute struct {
	pattern string
	serve   func(s *Server, w http.ResponseWriter, r *http.Request, q url.Values)
}

func (rt imdsRoute) match(path string) bool {
	if prefix, ok := strings.CutSuffix(rt.pattern, "{path}"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return path == rt.pattern
}

// imdsRoutes lists every operation IMDS serves, all GET; ServeHTTP
// dispatches by it and Operations reads it.
var imdsRoutes = []imdsRoute{
	{"/metadata/identity/oauth2/token", func(s *Server, w http.ResponseWriter, _ *http.Request, q url.Values) {
		if s.Throttle {
			// The issuer's clock is the emulated world's clock, so clock
			// faults and tests with a fixed clock govern throttling too.
			release, ok := s.limiter.acquire(s.Issuer.Now())
			if !ok {
				writeThrottled(w)
				return
			}
			defer release()
		}
		s.token(w, q)
	}},
	{"/metadata/identity/info", func(s *Server, w http.ResponseWriter, r *http.Request, _ url.Values) { s.IdentityInfo(w, r) }},
	{"/metadata/versions", func(_ *Server, w http.ResponseWriter, _ *http.Request, _ url.Values) {
		writeJSON(w, http.StatusOK, map[string]any{"apiVersions": reversed(instanceAPIVersions)})
	}},
	{"/metadata/instance", func(s *Server, w http.ResponseWriter, r *http.Request, _ url.Values) { s.Instance(w, r) }},
	{"/metadata/instance/{path}", func(s *Server, w http.ResponseWriter, r *http.Request, _ url.Values) { s.Instance(w, r) }},
}

// Operations lists what IMDS serves, "GET pattern".
func (s *Server) Operations() []string {
	ops := make([]string, 0, len(imdsRoutes))
	for _, rt := range imdsRoutes {
		ops = append(ops, http.MethodGet+" "+rt.pattern)
	}
	return ops
}

// tokenResponse is IMDS's token answer: eight string fields, no
// refresh_token (recorded live in Azure/azure-sdk-for-python
// sdk/identity/azure-identity/tests/recordings/test_imds_credential.pyTestImdstest_system_assigned.json
// and ...test_user_assigned.json, 2022; testdata/imds_token_recorded.json).
// The 2017 tutorials' sample shows refresh_token "" and lacks client_id and
// ext_expires_in; Azure no longer answers so.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
}

// Token is Get Managed Identity Token: GET /metadata/identity/oauth2/token.
func (s *Server) Token(w http.ResponseWriter, r *http.Request) { s.token(w, r.URL.Query()) }

// token is Token with the request's query parsed once by ServeHTTP.
func (s *Server) token(w http.ResponseWriter, q url.Values) {
	v := q.Get("api-version")
	if v == "" {
		writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Required query variable 'api-version' is missing"))
		return
	}
	if !supported(v, "2018-02-01") {
		writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Invalid api-version '"+v+"' specified in the request"))
		return
	}
	resource := q.Get("resource")
	if resource == "" {
		writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Required query variable 'resource' is missing"))
		return
	}
	source := s.VM
	if s.Identity != nil {
		source = s.Identity
	}
	vm, ok := source()
	if !ok {
		writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Identity not found"))
		return
	}
	p, errBody := selectIdentity(vm, q.Get("client_id"), q.Get("object_id"), q.Get("msi_res_id"))
	if errBody != nil {
		writeJSON(w, http.StatusBadRequest, errBody)
		return
	}
	if !s.knownResource(resource) {
		writeJSON(w, http.StatusBadRequest, s.Issuer.UnknownResourceError(resource))
		return
	}
	t, err := s.Issuer.ManagedIdentityToken(p, resource, vm.ResourceID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, identityError("unknown", "Failed to retrieve token from the Active directory."))
		return
	}
	now := s.Issuer.Now()
	writeToken(w, tokenResponse{
		AccessToken: t.Raw,
		ClientID:    p.ClientID,
		// expires_in counts down with the cached token; ext_expires_in is
		// what Entra said when IMDS got the token, its lifetime less one
		// second ("86399" in every recorded answer, beside an expires_in of
		// 86311 or 86315 for a token cached a minute or so earlier).
		ExpiresIn:    strconv.FormatInt(int64(t.ExpiresOn.Sub(now)/time.Second), 10),
		ExpiresOn:    strconv.FormatInt(t.ExpiresOn.Unix(), 10),
		ExtExpiresIn: strconv.FormatInt(int64(t.ExpiresOn.Sub(t.IssuedAt)/time.Second)-1, 10),
		NotBefore:    strconv.FormatInt(t.NotBefore.Unix(), 10),
		Resource:     resource,
		TokenType:    "Bearer",
	})
}

// writeToken is writeJSON of a token answer, encoded by hand: the same
// bytes json.Marshal writes (a test compares them), without reflection,
// which was a third of the token path's time.
func writeToken(w http.ResponseWriter, t tokenResponse) {
	bp := tokenBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for _, f := range [...]struct{ k, v string }{
		{`{"access_token":`, t.AccessToken}, {`,"client_id":`, t.ClientID}, {`,"expires_in":`, t.ExpiresIn},
		{`,"expires_on":`, t.ExpiresOn}, {`,"ext_expires_in":`, t.ExtExpiresIn}, {`,"not_before":`, t.NotBefore},
		{`,"resource":`, t.Resource}, {`,"token_type":`, t.TokenType},
	} {
		b = append(b, f.k...)
		if f.v == t.AccessToken && lastPlainToken.Load() != nil && *lastPlainToken.Load() == f.v {
			// The issuer answers the same cached token request after
			// request; it was checked plain the first time.
			b = append(append(append(b, '"'), f.v...), '"')
			continue
		}
		b = appendJSONString(b, f.v)
		if f.v == t.AccessToken && isPlainJSON(f.v) {
			lastPlainToken.Store(&t.AccessToken)
		}
	}
	b = append(b, '}')
	writeBytes(w, http.StatusOK, b)
	if cap(b) <= 16<<10 {
		*bp = b
		tokenBufs.Put(bp)
	}
}

// tokenBufs are writeToken's buffers: the server copies the body before
// Write returns.
var tokenBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// lastPlainToken is the last access token found to need no JSON escaping.
var lastPlainToken atomic.Pointer[string]

func isPlainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			return false
		}
	}
	return true
}

// plainJSON marks the bytes json.Marshal writes as they are in a string.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as json.Marshal writes a string: plain
// printable ASCII as it is, anything else through json.Marshal (which
// also escapes <, > and &).
func appendJSONString(b []byte, s string) []byte {
	if !isPlainJSON(s) {
		j, _ := json.Marshal(s)
		return append(b, j...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// selectIdentity picks the identity a token request is for: the one named by
// client_id, object_id or msi_res_id (at most one of them), else the
// system-assigned identity, else the only user-assigned one.
func selectIdentity(vm VM, clientID, objectID, resID string) (directory.Principal, map[string]string) {
	n := 0
	for _, v := range []string{clientID, objectID, resID} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return directory.Principal{}, identityError("invalid_request", "Only one of client_id, object_id or msi_res_id may be specified in the request")
	}
	if n == 1 {
		all := append([]directory.Principal{}, vm.User...)
		if vm.System != nil {
			all = append(all, *vm.System)
		}
		for _, p := range all {
			if (clientID != "" && strings.EqualFold(p.ClientID, clientID)) ||
				(objectID != "" && strings.EqualFold(p.ObjectID, objectID)) ||
				(resID != "" && strings.EqualFold(p.ResourceID, resID)) {
				return p, nil
			}
		}
		return directory.Principal{}, identityError("invalid_request", "Identity not found")
	}
	switch {
	case vm.System != nil:
		return *vm.System, nil
	case len(vm.User) == 1:
		return vm.User[0], nil
	case len(vm.User) > 1:
		return directory.Principal{}, identityError("invalid_request", "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request")
	}
	return directory.Principal{}, identityError("invalid_request", "Identity not found")
}

// IdentityInfo is GET /metadata/identity/info: the VM identity's tenant.
func (s *Server) IdentityInfo(w http.ResponseWriter, r *http.Request) {
	if !supported(r.URL.Query().Get("api-version"), "2018-02-01") {
		writeJSON(w, http.StatusBadRequest, badVersion())
		return
	}
	vm, ok := s.VM()
	if !ok || (vm.System == nil && len(vm.User) == 0) {
		writeJSON(w, http.StatusBadRequest, identityError("invalid_request", "Identity not found"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"tenantId": s.Issuer.Dir.TenantID})
}

func badVersion() map[string]any {
	return map[string]any{
		"error":           "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds",
		"newest-versions": instanceAPIVersions[:3],
	}
}

func identityError(code, desc string) map[string]string {
	return map[string]string{"error": code, "error_description": desc}
}

func reversed(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[len(in)-1-i] = v
	}
	return out
}

// serverHeader is the Server header IMDS answers carry.
const serverHeader = "IMDS/150.870.65.1854"

// writeJSON is an IMDS JSON answer. Recorded IMDS answers, the token's and
// its 400s alike, carry only Content-Length, Content-Type "application/json;
// charset=utf-8", Date and Server "IMDS/<build>" (the Python recordings cited
// at tokenResponse): no Cache-Control. The JSON is compact, with no
// trailing newline, as the recorded Content-Length of the 400 (88 bytes)
// shows. The identity and instance categories answer with the same
// headers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"unknown"}`)
	}
	writeBytes(w, status, b)
}

// jsonTypeValue and serverValue are the header values every answer shares; the
// server only reads them.
var (
	jsonTypeValue = []string{"application/json; charset=utf-8"}
	serverValue   = []string{serverHeader}
)

// writeBytes sends a JSON body with IMDS's headers, set in canonical form
// without Header.Set's canonicalisation.
func writeBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonTypeValue
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	h["Server"] = serverValue
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// limiter enforces a requests-per-second budget (a token bucket refilled
// continuously) and a cap on requests in flight.
type limiter struct {
	mu       sync.Mutex
	rate     float64
	tokens   float64
	last     time.Time
	inflight int
	maxConc  int
}

func newLimiter(perSecond, concurrent int) *limiter {
	return &limiter{rate: float64(perSecond), tokens: float64(perSecond), maxConc: concurrent}
}

func (l *limiter) acquire(now time.Time) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A clock set back (a clock-skew fault reset) refills nothing rather
	// than draining the bucket until real time catches up.
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens += now.Sub(l.last).Seconds() * l.rate
		if l.tokens > l.rate {
			l.tokens = l.rate
		}
	}
	l.last = now
	if l.tokens < 1 || l.inflight >= l.maxConc {
		return nil, false
	}
	l.tokens--
	l.inflight++
	return func() {
		l.mu.Lock()
		l.inflight--
		l.mu.Unlock()
	}, true
}
