// Package arm is the emulator's Azure Resource Manager: subscriptions,
// tenants, resource groups, virtual machines with their managed identities,
// user-assigned identities, the generic resources list, and
// Microsoft.Authorization role definitions and assignments. Every request is
// authenticated with an Entra token and authorized with RBAC before it reaches
// its handler, as the real front door does.
package arm

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// Server serves Resource Manager for one subscription of one tenant.
type Server struct {
	Cloud          cloud.Profile
	TenantID       string
	SubscriptionID string
	// SubscriptionName is the subscription's display name.
	SubscriptionName string
	Dir              *directory.Directory
	Issuer           *entra.Issuer
	RBAC             *rbac.Store

	// LRO paces long-running operations (lro.go); set it before serving,
	// or through SetLRO.
	LRO LROTiming

	store    *store
	ops      operations
	routes   []route
	onDelete []func(Resource)
	onPut    []func(Resource)
}

// New makes a Resource Manager for the directory's tenant.
func New(c cloud.Profile, subscriptionID string, dir *directory.Directory, iss *entra.Issuer, rb *rbac.Store) *Server {
	s := &Server{
		Cloud: c, TenantID: dir.TenantID, SubscriptionID: subscriptionID, SubscriptionName: "miconform emulated subscription",
		Dir: dir, Issuer: iss, RBAC: rb, store: newStore(), LRO: DefaultLROTiming,
	}
	s.registerRoutes()
	return s
}

// Request is a parsed, authenticated ARM request.
type Request struct {
	*http.Request
	// Caller is who the bearer token says is calling.
	Caller *Caller
	// vars are the {name} segments of the matched route, keyed by name.
	vars map[string]string
	// Scope is the path the route acts on (its RBAC scope).
	Scope string
	// APIVersion is the api-version query parameter.
	APIVersion string
}

// Var is the path segment captured by {name} in the route's pattern.
func (r *Request) Var(name string) string { return r.vars[name] }

// Decode reads a JSON body of at most 4 MiB (ARM's request size limit).
func (r *Request) Decode(v any) *Error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20+1))
	if err != nil {
		return errInvalidRequestContent(err.Error())
	}
	if len(b) > 4<<20 {
		return Errorf(413, "RequestEntityTooLarge", "The request content size exceeds the maximum allowed size of 4 MB.")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return Errorf(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'.")
	}
	if e := jsonMediaType(r.Header.Get("Content-Type")); e != nil {
		return e
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errInvalidRequestContent(err.Error())
	}
	return nil
}

// HandlerFunc is one ARM operation.
type HandlerFunc func(*Request) Response

// route is one ARM operation. Pattern segments are literals (matched without
// regard to case, as ARM matches) or {name} captures; a trailing {scope...}
// never occurs, scoped Microsoft.Authorization operations are split first.
type route struct {
	method  string
	pattern []string
	// action is the RBAC action required at the request's scope, or empty
	// when the handler checks permissions itself (lists filter by them).
	action string
	// minAPI is the oldest api-version accepted.
	minAPI string
	h      HandlerFunc
}

func (s *Server) Handle(method, pattern, action, minAPI string, h HandlerFunc) {
	s.routes = append(s.routes, route{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), action: action, minAPI: minAPI, h: h})
}

// Operations lists every operation this Resource Manager serves as
// "METHOD /pattern", the Microsoft.Authorization ones (served at any scope)
// as "METHOD /{scope}/providers/Microsoft.Authorization/...". Tests hold
// it against the recorded answers that are evidence for each.
func (s *Server) Operations() []string {
	ops := []string{
		"GET /{scope}/providers/Microsoft.Authorization/roleDefinitions",
		"GET /{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
		"GET /{scope}/providers/Microsoft.Authorization/roleAssignments",
		"GET /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
		"PUT /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
		"DELETE /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
	}
	for _, rt := range s.routes {
		ops = append(ops, rt.method+" /"+strings.Join(rt.pattern, "/"))
	}
	return ops
}

func (rt route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.pattern) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range rt.pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			vars[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if !strings.EqualFold(p, segs[i]) {
			return nil, false
		}
	}
	return vars, true
}

// ServeHTTP authenticates, validates the api-version, routes, authorizes and
// runs the operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	defer s.recoverFailure(w, hr)
	c, aerr := s.authenticate(hr)
	if aerr != nil {
		s.write(w, hr, Fail(aerr))
		return
	}
	path := strings.TrimSuffix(hr.URL.Path, "/")
	req := &Request{Request: hr, Caller: c, APIVersion: hr.URL.Query().Get("api-version")}

	rt, vars, scope, rerr := s.route(hr.Method, path)
	if rerr != nil {
		s.write(w, hr, Fail(rerr))
		return
	}
	if req.APIVersion == "" {
		s.write(w, hr, Fail(Errorf(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")))
		return
	}
	if !validAPIVersion(req.APIVersion, rt.minAPI) {
		s.write(w, hr, Fail(Errorf(400, "InvalidApiVersionParameter",
			"The api-version '%s' is invalid. The supported versions are '%s'. Please see https://aka.ms/arm-api-versions for more details.", req.APIVersion, supportedVersions(rt.minAPI))))
		return
	}
	req.vars, req.Scope = vars, scope
	if rt.action != "" {
		if e := s.Authorize(c, rt.action, scope); e != nil {
			s.write(w, hr, Fail(e))
			return
		}
	}
	s.write(w, hr, rt.h(req))
}

var authzSplit = regexp.MustCompile(`(?i)^(.*?)/providers/Microsoft\.Authorization/(roleAssignments|roleDefinitions)(/[^/]+)?$`)

// route finds the operation for a path. Microsoft.Authorization resources live
// under any scope, so they are split off first; the rest go through the table.
func (s *Server) route(method, path string) (route, map[string]string, string, *Error) {
	if m := authzSplit.FindStringSubmatch(path); m != nil {
		return s.authzRoute(method, m[1], m[2], strings.TrimPrefix(m[3], "/"))
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	methodSeen := false
	for _, rt := range s.routes {
		vars, ok := rt.match(segs)
		if !ok {
			continue
		}
		if rt.method != method {
			methodSeen = true
			continue
		}
		return rt, vars, path, nil
	}
	if methodSeen {
		return route{}, nil, "", Errorf(405, "MethodNotAllowed", "The requested resource does not support http method '%s'.", method)
	}
	return route{}, nil, "", s.noRoute(path)
}

// noRoute answers for a path no route matches, as ARM does: an unknown
// resource type is NoRegisteredProviderFound / InvalidResourceType.
func (s *Server) noRoute(path string) *Error {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		if strings.EqualFold(seg, "providers") && i+2 < len(segs) {
			return Errorf(404, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s' for api version.", segs[i+2], segs[i+1])
		}
	}
	return Errorf(404, "InvalidResourceType", "The resource type could not be found for path '%s'.", path)
}

// validAPIVersion accepts a well-formed api-version (yyyy-mm-dd with an
// optional -preview suffix) no older than the operation's first version and
// not from the future.
func validAPIVersion(v, minAPI string) bool {
	if !apiVersionRE.MatchString(v) {
		return false
	}
	date := v[:10]
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return false
	}
	return date >= minAPI && date <= time.Now().UTC().Format("2006-01-02")
}

var apiVersionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$`)

func supportedVersions(minAPI string) string {
	var out []string
	for _, v := range knownVersions {
		if v >= minAPI {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

// knownVersions is what InvalidApiVersionParameter lists; any well-formed
// version in range is accepted.
var knownVersions = []string{"2025-04-01", "2024-11-01", "2024-03-01", "2023-07-01", "2022-12-01", "2022-04-01", "2021-04-01", "2020-06-01", "2019-10-01", "2018-05-01", "2018-02-01", "2017-05-10", "2016-09-01", "2016-06-01", "2016-02-01", "2015-11-01", "2015-01-01", "2014-04-01"}

// armTime formats a time the way ARM's .NET front door prints it in messages.
func armTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }

// jsonMediaType refuses a body that is not declared JSON, as Resource
// Manager does before any provider sees it: 415 UnsupportedMediaType, with
// '<null>' for a missing Content-Type (Azure/azure-cli#10143 and #13056:
// {"error":{"code":"UnsupportedMediaType","message":"The content media type
// '<null>' is not supported. Only 'application/json' is supported."}}). Windows
// PowerShell's Invoke-WebRequest -Method POST -Body without -ContentType
// sends application/x-www-form-urlencoded (Invoke-WebRequest reference,
// -ContentType), which gets the same answer naming that type.
func jsonMediaType(header string) *Error {
	if mt, _, err := mime.ParseMediaType(header); err == nil && strings.EqualFold(mt, "application/json") {
		return nil
	}
	shown := header
	if strings.TrimSpace(header) == "" {
		shown = "<null>"
	}
	return Errorf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The content media type '%s' is not supported. Only 'application/json' is supported.", shown)
}
