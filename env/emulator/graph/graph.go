// Package graph is the emulator's Microsoft Graph (v1.0) over the emulated
// tenant's directory: the service principals of the managed identities and
// of the operator application, the operator's app registration, and what
// Graph answers an app-only token for /me. It serves the cloud's Graph host
// (graph.microsoft.com, microsoftgraph.chinacloudapi.cn, graph.microsoft.us)
// and is read-only: Graph tokens the tenant issues carry at most
// Directory.Read.All, so every write is refused as Graph refuses it.
//
// Who may read: a caller whose token's roles claim holds a directory read
// permission (Directory.Read.All, Directory.ReadWrite.All,
// Application.Read.All, Application.ReadWrite.All). The operator
// application is granted Directory.Read.All; managed identities are granted
// nothing unless directory.Principal.GraphRoles says so, and get Graph's
// 403 Authorization_RequestDenied, as a VM identity does on Azure until an
// administrator assigns it a Graph app role.
package graph

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
)

// graphAppID is Microsoft Graph's application id.
const graphAppID = cloud.GraphAppID

// DirectoryRead is the app role the operator application is granted.
const DirectoryRead = "Directory.Read.All"

// readRoles are the application permissions that let a caller read
// service principals and applications
// (https://learn.microsoft.com/graph/api/serviceprincipal-get, Permissions).
var readRoles = []string{"Directory.Read.All", "Directory.ReadWrite.All", "Application.Read.All", "Application.ReadWrite.All"}

// pageSize is Graph's default page of directory objects; maxTop its largest.
const (
	pageSize = 100
	maxTop   = 999
)

// Service is Microsoft Graph for one tenant.
type Service struct {
	Cloud  cloud.Profile
	Issuer *entra.Issuer
}

// New makes the Graph service of the issuer's tenant.
func New(c cloud.Profile, iss *entra.Issuer) *Service {
	return &Service{Cloud: c, Issuer: iss}
}

// Dir is the tenant's directory.
func (s *Service) Dir() *directory.Directory { return s.Issuer.Dir }

// Host is the Graph host name the service answers for.
func (s *Service) Host() string { return s.Cloud.GraphHost }

// request is one Graph call being served.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	claims *entra.Claims
	qs     url.Values
}

// ServeHTTP serves the Graph host: /v1.0/{segments}.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.EscapedPath(), "/")
	version, rest, _ := strings.Cut(path, "/")
	if version != "v1.0" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "BadRequest", "Invalid version: %s", version))
		return
	}
	c, e := s.authenticate(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	segs := strings.Split(rest, "/")
	for i, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[i] = u
		}
	}
	qs, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "BadRequest", "The query specified in the URI is not valid: %v.", err))
		return
	}
	q := &request{w: w, r: r, claims: c, qs: qs}
	if e := s.route(q, segs); e != nil {
		s.writeError(w, r, e)
	}
}

// authenticate checks the bearer token as Graph does: signature, lifetime,
// audience (Graph's resource or app id), this tenant's issuer.
func (s *Service) authenticate(r *http.Request) (*entra.Claims, *Error) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return nil, errToken("Access token is empty.")
	}
	c, err := s.Issuer.Verify(strings.TrimSpace(raw))
	switch {
	case errors.Is(err, entra.ErrMalformed):
		// Graph's parser error for a token that is no JWT.
		return nil, errToken("CompactToken parsing failed with error code: 80049217")
	case errors.Is(err, entra.ErrExpired):
		return nil, errToken("Lifetime validation failed, the token is expired.")
	case errors.Is(err, entra.ErrNotYetValid):
		return nil, errToken("Lifetime validation failed, the token is not yet valid.")
	case err != nil:
		return nil, errToken("Access token validation failure.")
	}
	if !slices.ContainsFunc(s.Cloud.GraphAudiences(), func(a string) bool { return strings.EqualFold(a, c.Aud) }) {
		return nil, errToken("Access token validation failure. Invalid audience.")
	}
	if c.Iss != s.Issuer.IssuerURL() || !strings.EqualFold(c.TID, s.Dir().TenantID) {
		return nil, errToken("Access token validation failure. Invalid issuer.")
	}
	return c, nil
}

// canRead reports whether the token carries a directory read permission.
func canRead(c *entra.Claims) bool {
	return slices.ContainsFunc(c.Roles, func(r string) bool { return slices.Contains(readRoles, r) })
}

// keySegment matches an alternate key: servicePrincipals(appId='...').
var keySegment = regexp.MustCompile(`^(servicePrincipals|applications)\((?:appId=)?'((?:[^']|'')*)'\)$`)

// graphOperations are the requests this Graph answers (reads only: no
// principal of the emulated tenant may write the directory). route refuses
// a collection request of any other shape, and Operations reports the
// list, so what is held against evidence is what route serves.
var graphOperations = []string{
	"GET /v1.0/me",
	"POST /v1.0/directoryObjects/getByIds",
	"GET /v1.0/servicePrincipals",
	"GET /v1.0/servicePrincipals/{id}",
	"GET /v1.0/servicePrincipals('{id}')",
	"GET /v1.0/servicePrincipals(appId='{appId}')",
	"GET /v1.0/applications",
	"GET /v1.0/applications/{id}",
	"GET /v1.0/applications('{id}')",
	"GET /v1.0/applications(appId='{appId}')",
}

// Operations lists what Graph serves, "METHOD pattern".
func (s *Service) Operations() []string { return slices.Clone(graphOperations) }

func (s *Service) route(q *request, segs []string) *Error {
	first := segs[0]
	if strings.EqualFold(first, "me") {
		// Every token of the emulated tenant is app-only (idtyp app): no
		// signed-in user to be "me".
		return errMeAppOnly()
	}
	if strings.EqualFold(first, "directoryObjects") && len(segs) == 2 && segs[1] == "getByIds" {
		if q.r.Method != http.MethodPost {
			return errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '%s' is not allowed for getByIds.", q.r.Method)
		}
		if !canRead(q.claims) {
			return errDenied()
		}
		return s.getByIDs(q)
	}
	var coll, key string
	byKey, byAppID, parens := false, false, false
	if m := keySegment.FindStringSubmatch(first); m != nil {
		parens = true
		// servicePrincipals(appId='...'), or servicePrincipals('{id}'),
		// the same as servicePrincipals/{id}.
		coll, key, byKey = m[1], strings.ReplaceAll(m[2], "''", "'"), true
		byAppID = strings.Contains(first, "(appId=")
	} else if coll = first; len(segs) > 1 {
		key, byKey, segs = segs[1], true, segs[1:]
	}
	if coll != "servicePrincipals" && coll != "applications" {
		return errSegment(first)
	}
	if len(segs) > 1 {
		return errSegment(segs[1])
	}
	shape := coll
	switch {
	case byAppID:
		shape += "(appId='{appId}')"
	case parens:
		shape += "('{id}')"
	case byKey:
		shape += "/{id}"
	}
	if !slices.Contains(graphOperations, "GET /v1.0/"+shape) {
		return errSegment(first)
	}
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		// Writes need Application.ReadWrite.All or Directory.ReadWrite.All,
		// which no principal of the tenant is granted.
		return errDenied()
	}
	if !canRead(q.claims) {
		return errDenied()
	}
	t := spType
	if coll == "applications" {
		t = appType
	}
	if !byKey {
		return s.list(q, coll, t)
	}
	if !byAppID && !directory.IsGUID(key) {
		return errObjectID(key)
	}
	obj, ok := s.lookup(coll, key, byAppID)
	if !ok {
		return errNotFound(key)
	}
	sel, e := parseSelect(q.qs, t)
	if e != nil {
		return e
	}
	o := project(obj, sel)
	o.keys = append([]string{"@odata.context"}, o.keys...)
	o.vals["@odata.context"], _ = json.Marshal(s.context(coll, sel) + "/$entity")
	s.writeJSON(q, o)
	return nil
}

// lookup finds one object by object id or app id.
func (s *Service) lookup(coll, key string, byAppID bool) (any, bool) {
	var p directory.Principal
	var ok bool
	if coll == "applications" {
		for _, a := range s.Dir().List() {
			if a.Kind == directory.Application && (byAppID && strings.EqualFold(a.ClientID, key) || !byAppID && strings.EqualFold(applicationObjectID(a), key)) {
				return s.newApplication(a), true
			}
		}
		return nil, false
	}
	if byAppID {
		p, ok = s.Dir().ByClientID(key)
	} else {
		p, ok = s.Dir().ByObjectID(key)
	}
	if !ok {
		return nil, false
	}
	return s.newServicePrincipal(p), true
}

// objects lists a collection's objects.
func (s *Service) objects(coll string) []any {
	var out []any
	for _, p := range s.Dir().List() {
		switch {
		case coll == "servicePrincipals":
			out = append(out, s.newServicePrincipal(p))
		case p.Kind == directory.Application:
			out = append(out, s.newApplication(p))
		}
	}
	return out
}

// list serves a collection with $filter, $select, $top and the
// $skiptoken of its nextLink. Shape: the recorded list answers in
// test_service_principal_scenario.yaml and test_sp_show_exit_code.yaml
// ({"@odata.context":".../$metadata#servicePrincipals","value":[...]}).
func (s *Service) list(q *request, coll string, t entityType) *Error {
	qs := q.qs
	for k := range qs {
		switch k {
		case "$filter", "$select", "$top", "$skiptoken":
		default:
			if strings.HasPrefix(k, "$") {
				return errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "The query option '%s' is not supported by this emulator's Microsoft Graph.", k)
			}
		}
	}
	var f filter
	if src := qs.Get("$filter"); qs.Has("$filter") {
		var e *Error
		if f, e = parseFilter(src, t); e != nil {
			return e
		}
	}
	sel, e := parseSelect(qs, t)
	if e != nil {
		return e
	}
	top := pageSize
	if v := qs.Get("$top"); qs.Has("$top") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTop {
			return errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, maxTop)
		}
		top = n
	}
	skip := 0
	if v := qs.Get("$skiptoken"); qs.Has("$skiptoken") {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid paging token: '%s'.", v)
		}
		skip = n
	}
	var matched []any
	for _, o := range s.objects(coll) {
		if f == nil || f.match(filterView(o)) {
			matched = append(matched, o)
		}
	}
	value := []object{}
	for i := skip; i < len(matched) && i < skip+top; i++ {
		value = append(value, project(matched[i], sel))
	}
	body := object{}
	body.set("@odata.context", s.context(coll, sel))
	if skip+top < len(matched) {
		next := url.Values{}
		for k, v := range qs {
			next[k] = v
		}
		next.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(skip+top))))
		body.set("@odata.nextLink", "https://"+s.Cloud.GraphHost+"/v1.0/"+coll+"?"+next.Encode())
	}
	body.set("value", value)
	s.writeJSON(q, body)
	return nil
}

// getByIDs is POST directoryObjects/getByIds, which az role assignment
// list sends to name the assignees (role module, custom.py
// _get_object_stubs): the principals among ids, each with its @odata.type,
// unknown ids left out. Shape: microsoftgraph/microsoft-graph-docs
// api-reference/v1.0/api/directoryobject-getbyids.md (example response).
func (s *Service) getByIDs(q *request) *Error {
	var in struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(q.w, q.r.Body, 1<<20)).Decode(&in); err != nil {
		return errorf(http.StatusBadRequest, "Request_BadRequest", "The request body is not valid JSON: %v", err)
	}
	if len(in.IDs) > 1000 {
		return errorf(http.StatusBadRequest, "Request_BadRequest", "The number of ids (%d) is greater than the allowed limit of 1000.", len(in.IDs))
	}
	wantSP := len(in.Types) == 0
	for _, t := range in.Types {
		if strings.EqualFold(t, "servicePrincipal") || strings.EqualFold(t, "directoryObject") {
			wantSP = true
		}
	}
	value := []object{}
	for _, id := range in.IDs {
		p, ok := s.Dir().ByObjectID(id)
		if !ok || !wantSP {
			continue
		}
		o := project(s.newServicePrincipal(p), nil)
		o.keys = append([]string{"@odata.type"}, o.keys...)
		o.vals["@odata.type"], _ = json.Marshal("#microsoft.graph.servicePrincipal")
		value = append(value, o)
	}
	body := object{}
	body.set("@odata.context", "https://"+s.Cloud.GraphHost+"/v1.0/$metadata#directoryObjects")
	body.set("value", value)
	s.writeJSON(q, body)
	return nil
}

// context is the @odata.context of a collection, with the $select list
// when there is one ("$metadata#servicePrincipals(id,appId)").
func (s *Service) context(coll string, sel []string) string {
	c := "https://" + s.Cloud.GraphHost + "/v1.0/$metadata#" + coll
	if len(sel) > 0 {
		c += "(" + strings.Join(sel, ",") + ")"
	}
	return c
}

// parseSelect reads $select: property names of the type, checked.
func parseSelect(qs url.Values, t entityType) ([]string, *Error) {
	if !qs.Has("$select") {
		return nil, nil
	}
	var names []string
	var sample any = servicePrincipal{}
	if t.resource == appType.resource {
		sample = application{}
	}
	fields := view(sample)
	for _, n := range strings.Split(qs.Get("$select"), ",") {
		n = strings.TrimSpace(n)
		found := ""
		for k := range fields {
			if strings.EqualFold(k, n) {
				found = k
			}
		}
		if found == "" {
			return nil, errorf(http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", n, t.odata)
		}
		if !slices.Contains(names, found) {
			names = append(names, found)
		}
	}
	return names, nil
}

// view is an object's JSON fields as generic values, string collections
// as []string, for $filter and $select.
func view(o any) map[string]any {
	b, _ := json.Marshal(o)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, v := range m {
		if list, ok := v.([]any); ok {
			ss := make([]string, 0, len(list))
			all := true
			for _, x := range list {
				s, ok := x.(string)
				all = all && ok
				ss = append(ss, s)
			}
			if all {
				m[k] = ss
			}
		}
	}
	return m
}

// filterView is the filterable fields of an object, built directly: the
// JSON round trip of view cost most of a filtered list's time.
func filterView(o any) map[string]any {
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	switch x := o.(type) {
	case servicePrincipal:
		return map[string]any{
			"id": x.ID, "appId": x.AppID, "displayName": x.DisplayName, "servicePrincipalType": x.ServicePrincipalType,
			"accountEnabled": x.AccountEnabled, "appOwnerOrganizationId": str(x.AppOwnerOrganizationID),
			"signInAudience": str(x.SignInAudience), "appDisplayName": str(x.AppDisplayName),
			"appDescription": str(x.AppDescription), "description": str(x.Description), "homepage": str(x.Homepage),
			"notes": str(x.Notes), "servicePrincipalNames": x.ServicePrincipalNames, "alternativeNames": x.AlternativeNames,
			"tags": x.Tags, "replyUrls": x.ReplyURLs, "notificationEmailAddresses": x.NotificationEmailAddresses,
		}
	case application:
		return map[string]any{
			"id": x.ID, "appId": x.AppID, "displayName": x.DisplayName, "signInAudience": x.SignInAudience,
			"publisherDomain": x.PublisherDomain, "description": str(x.Description), "notes": str(x.Notes),
			"identifierUris": x.IdentifierURIs, "tags": x.Tags,
		}
	}
	return view(o)
}

// object is a JSON object that keeps its fields in Graph's order.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

func (o *object) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]json.RawMessage{}
	}
	b, _ := json.Marshal(v)
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = b
}

// MarshalJSON writes the fields in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// project is the object's fields in Graph's order, only the selected ones
// (in the $select order) when sel is set.
func project(o any, sel []string) object {
	b, _ := json.Marshal(o)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	out := object{vals: map[string]json.RawMessage{}}
	_, _ = dec.Token()
	for dec.More() {
		t, _ := dec.Token()
		var v json.RawMessage
		_ = dec.Decode(&v)
		k := t.(string)
		out.vals[k] = v
		if sel == nil {
			out.keys = append(out.keys, k)
		}
	}
	if sel != nil {
		out.keys = sel
	}
	return out
}

// requestIDs sets Graph's request-id and client-request-id headers (the
// client's own id echoed when it sent one) and returns them.
func (s *Service) requestIDs(w http.ResponseWriter, r *http.Request) (string, string) {
	if id := w.Header().Get("request-id"); id != "" {
		return id, w.Header().Get("client-request-id")
	}
	id := directory.NewGUID()
	client := r.Header.Get("client-request-id")
	if client == "" || len(client) > 64 {
		client = id
	}
	w.Header().Set("request-id", id)
	w.Header().Set("client-request-id", client)
	return id, client
}

// writeJSON writes a 200 with Graph's OData headers, as recorded in
// test_service_principal_scenario.yaml.
func (s *Service) writeJSON(q *request, body object) {
	s.requestIDs(q.w, q.r)
	b, _ := body.MarshalJSON()
	h := q.w.Header()
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Vary", "Accept-Encoding")
	h.Set("x-ms-resource-unit", "1")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	q.w.WriteHeader(http.StatusOK)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write(b)
	}
}
