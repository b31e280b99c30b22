package arm

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/state"
)

const (
	typeVM  = "Microsoft.Compute/virtualMachines"
	typeUAI = "Microsoft.ManagedIdentity/userAssignedIdentities"
	// assignAction is what the caller needs on a user-assigned identity to
	// attach it to a resource (granted by Managed Identity Operator).
	assignAction = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
)

// identityRequest is the identity block of a PUT or PATCH body. A null
// entry in userAssignedIdentities removes that identity on PATCH.
type identityRequest struct {
	Type         *string                     `json:"type"`
	UserAssigned map[string]*json.RawMessage `json:"userAssignedIdentities"`
}

// parseIdentityType normalizes the identity type ARM accepts in any case and
// spacing ("SystemAssigned,UserAssigned").
func parseIdentityType(t string) (system, user bool, e *Error) {
	norm := strings.ToLower(strings.ReplaceAll(t, " ", ""))
	switch norm {
	case "systemassigned":
		return true, false, nil
	case "userassigned":
		return false, true, nil
	case "systemassigned,userassigned":
		return true, true, nil
	case "none":
		return false, false, nil
	}
	return false, false, Errorf(400, "InvalidIdentityType", "The identity type '%s' is invalid. Allowed values are 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.", t)
}

func identityType(system, user bool) string {
	switch {
	case system && user:
		return "SystemAssigned, UserAssigned"
	case system:
		return "SystemAssigned"
	case user:
		return "UserAssigned"
	}
	return "None"
}

// applyIdentity turns the requested identity block into the resource's new
// identity: enabling a system-assigned identity creates its service principal
// in the tenant, disabling deletes it, and every user-assigned identity
// attached must exist and the caller must hold its assign action.
//
// The directory changes with the resource, not before it: a principal made
// for a newly enabled system identity is returned in fx.added (settle
// removes it again when the resource's write is refused), and the
// principal of a disabled one in fx.removed (settle removes it once the
// write is stored).
func (s *Server) applyIdentity(c *Caller, res *Resource, req *identityRequest, patch bool) (fx identityEffects, _ *Error) {
	if req == nil {
		return fx, nil
	}
	old := res.Identity
	oldSystem := old.HasSystem()
	oldUsers := map[string]UserAssignedRef{}
	if old != nil {
		for k, v := range old.UserAssigned {
			oldUsers[k] = v
		}
	}
	system, user := oldSystem, len(oldUsers) > 0
	if req.Type != nil {
		var e *Error
		if system, user, e = parseIdentityType(*req.Type); e != nil {
			return fx, e
		}
	}
	users := map[string]UserAssignedRef{}
	if patch && user {
		users = oldUsers
	}
	var linked []string
	for id, v := range req.UserAssigned {
		if v == nil || string(*v) == "null" {
			deleteFold(users, id)
			continue
		}
		uai, found := s.store.get(id)
		if !found || !strings.EqualFold(uai.Type, typeUAI) {
			return fx, Errorf(400, "FailedIdentityOperation", "Identity operation for resource '%s' failed with error 'The user-assigned identity '%s' was not found.'.", res.ID, id)
		}
		if _, had := lookupFold(oldUsers, id); !had {
			linked = append(linked, uai.ID)
		}
		deleteFold(users, id)
		users[uai.ID] = UserAssignedRef{PrincipalID: prop(uai, "principalId"), ClientID: prop(uai, "clientId")}
	}
	if user && len(users) == 0 {
		return fx, Errorf(400, "InvalidIdentityValues", "Invalid value for the identities '%s'. The 'userAssignedIdentities' property should not be empty when the identity type is '%s'.", res.ID, identityType(system, user))
	}
	if !user && len(req.UserAssigned) > 0 {
		return fx, Errorf(400, "InvalidIdentityValues", "Invalid value for the identities '%s'. The 'userAssignedIdentities' property is only allowed when the identity type includes 'UserAssigned'.", res.ID)
	}
	if !user {
		users = nil
	}
	// Linked access check: attaching an identity needs its assign action.
	sort.Strings(linked)
	var denied []string
	for _, id := range linked {
		if !s.RBAC.Allowed(c.ObjectID, assignAction, id, false) {
			denied = append(denied, id)
		}
	}
	if len(denied) > 0 {
		return fx, Errorf(403, "LinkedAuthorizationFailed", "The client '%s' with object id '%s' has permission to perform action '%s/write' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
			c.clientName(), c.ObjectID, res.Type, res.ID, assignAction, strings.Join(denied, ","))
	}

	next := &Identity{Type: identityType(system, user), UserAssigned: users}
	switch {
	case system && oldSystem:
		next.PrincipalID, next.TenantID = old.PrincipalID, old.TenantID
	case system:
		p := directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: res.Name, Kind: directory.SystemAssigned, ResourceID: res.ID}
		s.Dir.Add(p)
		next.PrincipalID, next.TenantID = p.ObjectID, s.TenantID
		fx.added = p.ObjectID
	case oldSystem:
		fx.removed = old.PrincipalID
	}
	if !system && !user {
		next = &Identity{Type: "None"}
	}
	res.Identity = next
	return fx, nil
}

// identityEffects are the directory changes of an identity change that
// wait on the resource's write (applyIdentity).
type identityEffects struct{ added, removed string }

// settle finishes an identity change once its resource's write is known:
// refused (a full disk), the principal made for it goes again; stored, the
// principal of the identity it disabled goes. Either removal the
// directory's own log refuses is left to the next start, which drops
// principals no resource has (dropOrphanIdentities).
func (s *Server) settle(fx identityEffects, refused error) {
	switch {
	case refused != nil && fx.added != "":
		s.forgetPrincipal(fx.added)
	case refused == nil && fx.removed != "":
		s.forgetPrincipal(fx.removed)
		s.Issuer.Forget(fx.removed)
	}
}

// forgetPrincipal removes a principal whose resource was not stored,
// as far as the directory's log lets it.
func (s *Server) forgetPrincipal(oid string) {
	_ = state.Catch(func() { s.Dir.Remove(oid) })
}

// forgetIdentities removes the service principals a deleted resource owned.
func (s *Server) forgetIdentities(res Resource) {
	if res.Identity.HasSystem() {
		s.Dir.Remove(res.Identity.PrincipalID)
		s.Issuer.Forget(res.Identity.PrincipalID)
	}
	if strings.EqualFold(res.Type, typeUAI) {
		oid := prop(res, "principalId")
		s.Dir.Remove(oid)
		s.Issuer.Forget(oid)
	}
}

func prop(r Resource, name string) string {
	v, _ := r.Properties[name].(string)
	return v
}

func lookupFold[V any](m map[string]V, key string) (V, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func deleteFold[V any](m map[string]V, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}

// TrackedBody renders a tracked resource as its RP's GET answers.
func (s *Server) TrackedBody(res Resource) map[string]any {
	b := map[string]any{"id": res.ID, "name": res.Name, "type": res.Type, "location": res.Location, "tags": res.Tags}
	if res.Tags == nil {
		b["tags"] = map[string]string{}
	}
	if res.Identity != nil {
		b["identity"] = res.Identity
	}
	if res.SystemData != nil {
		b["systemData"] = res.SystemData
	}
	b["properties"] = res.Properties
	return b
}

// ResourceID is the id of a resource of the request's resource group, with
// the group's canonical casing.
func (s *Server) ResourceID(r *Request, provider, typ, name string) string {
	g, _ := s.store.group(r.Var("resourceGroupName"))
	return s.GroupID(g.Name) + "/providers/" + provider + "/" + typ + "/" + name
}

// RequireGroup checks the subscription and resource group of a resource path.
func (s *Server) RequireGroup(r *Request) (ResourceGroup, *Error) {
	if e := s.checkSubscription(r); e != nil {
		return ResourceGroup{}, e
	}
	g, found := s.store.group(r.Var("resourceGroupName"))
	if !found {
		return ResourceGroup{}, ErrResourceGroupNotFound(r.Var("resourceGroupName"))
	}
	return g, nil
}

// uaiNameRE is the naming rule for user-assigned identities: 3-128
// characters, starting with a letter or digit, then letters, digits, hyphens
// and underscores.
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftmanagedidentity
var uaiNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$`)

type trackedRequest struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Identity   *identityRequest  `json:"identity"`
	Properties map[string]any    `json:"properties"`
}

// GetUserAssignedIdentity is User Assigned Identities - Get.
func (s *Server) GetUserAssignedIdentity(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	res, found := s.store.get(s.ResourceID(r, "Microsoft.ManagedIdentity", "userAssignedIdentities", r.Var("resourceName")))
	if !found {
		return Fail(ErrResourceNotFound(typeUAI, r.Var("resourceName"), r.Var("resourceGroupName")))
	}
	return OK(s.TrackedBody(res))
}

// CreateOrUpdateUserAssignedIdentity is User Assigned Identities - Create Or
// Update. Creating one creates its service principal (principalId, clientId).
func (s *Server) CreateOrUpdateUserAssignedIdentity(r *Request) Response {
	g, e := s.RequireGroup(r)
	if e != nil {
		return Fail(e)
	}
	name := r.Var("resourceName")
	if !uaiNameRE.MatchString(name) {
		return Fail(Errorf(400, "InvalidResourceName", "Resource name %s is invalid. The name can be between 3 and 128 characters long, must start with a letter or number and may contain only letters, numbers, hyphens and underscores.", name))
	}
	var body trackedRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	if body.Location == "" {
		return Fail(Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	id := s.ResourceID(r, "Microsoft.ManagedIdentity", "userAssignedIdentities", name)
	if existing, found := s.store.get(id); found {
		existing.Tags = body.Tags
		s.store.put(existing)
		return OK(s.TrackedBody(existing))
	}
	p := directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: name, Kind: directory.UserAssigned, ResourceID: id}
	res := Resource{
		ID: id, Name: name, Type: typeUAI, ResourceGroup: g.Name, Location: NormalizeLocation(body.Location), Tags: body.Tags, Created: time.Now().UTC(),
		Properties: map[string]any{"tenantId": s.TenantID, "principalId": p.ObjectID, "clientId": p.ClientID},
	}
	s.Dir.Add(p)
	if _, err := s.TryPutResource(res); err != nil {
		// Resource Manager's state dir refused the identity (a full
		// disk): its principal goes too, if the directory can record
		// that; if not, the next start drops it (dropOrphanIdentities).
		s.forgetPrincipal(p.ObjectID)
		return Fail(StoreFailure(err))
	}
	// The 201 names the new identity in Location (a path, not a URL):
	// Azure/azure-sdk-for-net
	// sdk/managedserviceidentity/Azure.ResourceManager.ManagedServiceIdentities/tests/SessionRecords/UserAssignedIdentityCollectionTests/CreateOrUpdate.json.
	return Created(s.TrackedBody(res)).WithHeader("Location", res.ID)
}

// DeleteUserAssignedIdentity is User Assigned Identities - Delete: 200, or
// 204 when there was nothing to delete.
func (s *Server) DeleteUserAssignedIdentity(r *Request) Response {
	if _, e := s.RequireGroup(r); e != nil {
		return Fail(e)
	}
	_, found := s.DeleteResource(s.ResourceID(r, "Microsoft.ManagedIdentity", "userAssignedIdentities", r.Var("resourceName")))
	if !found {
		return Response{status: 204}
	}
	return Response{status: 200}
}

// ListUserAssignedIdentitiesByResourceGroup is User Assigned Identities - List By Resource Group.
func (s *Server) ListUserAssignedIdentitiesByResourceGroup(r *Request) Response {
	return s.ListInGroup(r, typeUAI, func(res Resource) any { return s.TrackedBody(res) })
}

// ListInGroup is a provider's List By Resource Group: the request's group
// must exist and the caller may read typ in it; the answer is
// {"value":[...]}, each resource of typ in the group as body renders it
// (as its GET shows it, in the recordings of every provider served).
func (s *Server) ListInGroup(r *Request, typ string, body func(Resource) any) Response {
	g, e := s.RequireGroup(r)
	if e != nil {
		return Fail(e)
	}
	if e := s.Authorize(r.Caller, typ+"/read", s.GroupID(g.Name)); e != nil {
		return Fail(e)
	}
	value := []any{}
	for _, res := range s.store.list(func(x *Resource) bool {
		return strings.EqualFold(x.ResourceGroup, g.Name) && strings.EqualFold(x.Type, typ)
	}) {
		value = append(value, body(res))
	}
	return OK(map[string]any{"value": value})
}
