package arm

import (
	"regexp"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// authzRoute routes Microsoft.Authorization operations, which exist at any
// scope: /, a subscription, a resource group or a resource.
// https://learn.microsoft.com/rest/api/authorization/role-assignments
func (s *Server) authzRoute(method, scope, kind, name string) (route, map[string]string, string, *Error) {
	if scope == "" {
		scope = "/"
	}
	vars := map[string]string{"scope": scope, "name": name}
	rt := route{method: method, minAPI: "2014-07-01"}
	isDef := strings.EqualFold(kind, "roleDefinitions")
	switch {
	case isDef && method == "GET" && name == "":
		rt.action, rt.h = "Microsoft.Authorization/roleDefinitions/read", s.ListRoleDefinitions
	case isDef && method == "GET":
		rt.action, rt.h = "Microsoft.Authorization/roleDefinitions/read", s.GetRoleDefinition
	case !isDef && method == "GET" && name == "":
		rt.action, rt.h = "Microsoft.Authorization/roleAssignments/read", s.ListRoleAssignments
	case !isDef && method == "GET":
		rt.action, rt.h = "Microsoft.Authorization/roleAssignments/read", s.GetRoleAssignment
	case !isDef && method == "PUT" && name != "":
		rt.action, rt.h = "Microsoft.Authorization/roleAssignments/write", s.CreateRoleAssignment
	case !isDef && method == "DELETE" && name != "":
		rt.action, rt.h = "Microsoft.Authorization/roleAssignments/delete", s.DeleteRoleAssignment
	default:
		return route{}, nil, "", Errorf(405, "MethodNotAllowed", "The requested resource does not support http method '%s'.", method)
	}
	return rt, vars, scope, nil
}

// checkScope verifies that the scope names this subscription and, when it
// names a resource group, that the group exists.
func (s *Server) checkScope(scope string) *Error {
	if scope == "/" {
		return nil
	}
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return Errorf(400, "InvalidScope", "The scope '%s' is not valid.", scope)
	}
	if !strings.EqualFold(segs[1], s.SubscriptionID) {
		return Errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", segs[1])
	}
	if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
		if _, found := s.store.group(segs[3]); !found {
			return ErrResourceGroupNotFound(segs[3])
		}
	}
	return nil
}

func (s *Server) roleDefinitionBody(d rbac.RoleDefinition) map[string]any {
	return map[string]any{
		"id":   rbac.RoleDefinitionID(s.SubscriptionID, d.ID),
		"type": "Microsoft.Authorization/roleDefinitions",
		"name": d.ID,
		"properties": map[string]any{
			"roleName": d.RoleName, "type": "BuiltInRole", "description": d.Description,
			"assignableScopes": []string{"/"}, "permissions": d.Permissions,
			"createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2021-11-11T20:13:47.8628684Z",
			"createdBy": nil, "updatedBy": nil,
		},
	}
}

var roleNameFilter = regexp.MustCompile(`^(?i)roleName\s+eq\s+'((?:[^']|'')*)'$`)

// ListRoleDefinitions is Role Definitions - List, with $filter=roleName eq '...'.
func (s *Server) ListRoleDefinitions(r *Request) Response {
	if e := s.checkScope(r.Var("scope")); e != nil {
		return Fail(e)
	}
	want := ""
	if f := strings.TrimSpace(r.URL.Query().Get("$filter")); f != "" {
		m := roleNameFilter.FindStringSubmatch(f)
		if m == nil && !strings.EqualFold(f, "type eq 'BuiltInRole'") {
			return Fail(Errorf(400, "UnsupportedQuery", "The filter '%s' is not supported.", f))
		}
		if m != nil {
			want = strings.ReplaceAll(m[1], "''", "'")
		}
	}
	value := []any{}
	for _, d := range s.RBAC.Roles() {
		if want == "" || strings.EqualFold(d.RoleName, want) {
			value = append(value, s.roleDefinitionBody(d))
		}
	}
	return OK(map[string]any{"value": value})
}

// GetRoleDefinition is Role Definitions - Get.
func (s *Server) GetRoleDefinition(r *Request) Response {
	d, found := s.RBAC.Role(r.Var("name"))
	if !found {
		return Fail(Errorf(404, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", r.Var("name")))
	}
	return OK(s.roleDefinitionBody(d))
}

func (s *Server) assignmentBody(a rbac.Assignment) map[string]any {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
	return map[string]any{
		"id":   a.ID(),
		"type": "Microsoft.Authorization/roleAssignments",
		"name": a.Name,
		"properties": map[string]any{
			"roleDefinitionId": a.RoleDefinitionID, "principalId": a.PrincipalID, "principalType": a.PrincipalType,
			"scope": a.Scope, "condition": nil, "conditionVersion": nil, "description": nilIfEmpty(a.Description),
			"createdOn": ts(a.CreatedOn), "updatedOn": ts(a.UpdatedOn), "createdBy": a.CreatedBy, "updatedBy": a.UpdatedBy,
			"delegatedManagedIdentityResourceId": nil,
		},
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type assignmentRequest struct {
	Properties *struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Description      string `json:"description"`
	} `json:"properties"`
}

// CreateRoleAssignment is Role Assignments - Create: 201 with the assignment,
// 409 RoleAssignmentExists when the principal already has that role there.
func (s *Server) CreateRoleAssignment(r *Request) Response {
	scope, name := r.Var("scope"), r.Var("name")
	if e := s.checkScope(scope); e != nil {
		return Fail(e)
	}
	if !directory.IsGUID(name) {
		return Fail(Errorf(400, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name))
	}
	var body assignmentRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	if body.Properties == nil || body.Properties.RoleDefinitionID == "" || body.Properties.PrincipalID == "" {
		return Fail(Errorf(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'Required property 'roleDefinitionId' and 'principalId' not found in JSON.'."))
	}
	p := body.Properties
	guid := p.RoleDefinitionID[strings.LastIndex(p.RoleDefinitionID, "/")+1:]
	if _, found := s.RBAC.Role(guid); !found {
		return Fail(Errorf(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", guid))
	}
	principal, found := s.Dir.ByObjectID(p.PrincipalID)
	if !found {
		return Fail(Errorf(400, "PrincipalNotFound", "Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype", strings.ReplaceAll(p.PrincipalID, "-", ""), s.TenantID))
	}
	ptype := p.PrincipalType
	if ptype == "" {
		ptype = "ServicePrincipal"
	}
	if !strings.EqualFold(ptype, "ServicePrincipal") {
		return Fail(Errorf(400, "PrincipalTypeNotSupported", "Principal %s is of type 'ServicePrincipal', but the role assignment specifies principal type '%s'.", principal.ObjectID, ptype))
	}
	now := time.Now().UTC()
	a := rbac.Assignment{
		Name: strings.ToLower(name), Scope: scope, RoleDefinitionID: rbac.RoleDefinitionID(s.SubscriptionID, strings.ToLower(guid)),
		PrincipalID: principal.ObjectID, PrincipalType: "ServicePrincipal", Description: p.Description,
		CreatedOn: now, UpdatedOn: now, CreatedBy: r.Caller.ObjectID, UpdatedBy: r.Caller.ObjectID,
	}
	if old, found := s.RBAC.Get(scope, name); found {
		if !strings.EqualFold(old.RoleGUID(), a.RoleGUID()) || !strings.EqualFold(old.PrincipalID, a.PrincipalID) {
			return Fail(Errorf(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."))
		}
		return OK(s.assignmentBody(old))
	}
	if err := s.RBAC.Create(a); err != nil {
		if ex, isExists := err.(rbac.ErrExists); isExists {
			return Fail(Errorf(409, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is %s.", strings.ReplaceAll(ex.ExistingName, "-", "")))
		}
		if _, taken := err.(rbac.ErrNameTaken); taken {
			return Fail(Errorf(400, "RoleAssignmentUpdateNotPermitted", "%s", err.Error()))
		}
		return Fail(StoreFailure(err))
	}
	// The 201 shows createdBy null (updatedBy is the caller); reads later
	// show who created it (Azure/azure-cli
	// src/azure-cli/azure/cli/command_modules/role/tests/latest/recordings/test_role_assignment_create_update.yaml,
	// 2022-04-01).
	b := s.assignmentBody(a)
	b["properties"].(map[string]any)["createdBy"] = nil
	return Created(b)
}

// GetRoleAssignment is Role Assignments - Get.
func (s *Server) GetRoleAssignment(r *Request) Response {
	a, found := s.RBAC.Get(r.Var("scope"), r.Var("name"))
	if !found {
		return Fail(Errorf(404, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", r.Var("name")))
	}
	return OK(s.assignmentBody(a))
}

// DeleteRoleAssignment is Role Assignments - Delete: 200 with the deleted
// assignment, 204 when there was none.
func (s *Server) DeleteRoleAssignment(r *Request) Response {
	a, found := s.RBAC.Delete(r.Var("scope"), r.Var("name"))
	if !found {
		return Response{status: 204}
	}
	return OK(s.assignmentBody(a))
}

var principalFilter = regexp.MustCompile(`^(?i)(?:atScope\(\)\s+and\s+)?(?:principalId\s+eq\s+'([^']*)')?$|^(?i)atScope\(\)(?:\s+and\s+principalId\s+eq\s+'([^']*)')?$`)

// ListRoleAssignments is Role Assignments - List For Scope: assignments at,
// above and below the scope, or with $filter=atScope() only at and above it;
// principalId eq '...' narrows to one principal.
func (s *Server) ListRoleAssignments(r *Request) Response {
	scope := r.Var("scope")
	if e := s.checkScope(scope); e != nil {
		return Fail(e)
	}
	f := strings.TrimSpace(r.URL.Query().Get("$filter"))
	atScope := strings.Contains(strings.ToLower(f), "atscope()")
	principal := ""
	if f != "" {
		m := principalFilter.FindStringSubmatch(f)
		if m == nil {
			return Fail(Errorf(400, "UnsupportedQuery", "The filter '%s' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'.", f))
		}
		principal = m[1] + m[2]
	}
	value := []any{}
	for _, a := range s.RBAC.List(scope, !atScope) {
		if principal == "" || strings.EqualFold(a.PrincipalID, principal) {
			value = append(value, s.assignmentBody(a))
		}
	}
	return OK(map[string]any{"value": value})
}

// NewAssignmentName is a fresh role assignment name (a GUID).
func NewAssignmentName() string { return directory.NewGUID() }
