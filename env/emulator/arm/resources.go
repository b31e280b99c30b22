package arm

import (
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/miconform/miconform/env/emulator/directory"
)

func (s *Server) subscriptionBody() map[string]any {
	return map[string]any{
		"id":                  "/subscriptions/" + s.SubscriptionID,
		"authorizationSource": "RoleBased",
		"managedByTenants":    []any{},
		"subscriptionId":      s.SubscriptionID,
		"tenantId":            s.TenantID,
		"displayName":         s.SubscriptionName,
		"state":               "Enabled",
		"subscriptionPolicies": map[string]any{
			"locationPlacementId": "Public_2014-09-01",
			"quotaId":             "PayAsYouGo_2014-09-01",
			"spendingLimit":       "Off",
		},
	}
}

// ListSubscriptions is Subscriptions - List: the subscriptions in which the
// caller holds some role assignment.
func (s *Server) ListSubscriptions(r *Request) Response {
	value := []any{}
	if s.RBAC.HasAnyAt(r.Caller.ObjectID, "/subscriptions/"+s.SubscriptionID) {
		value = append(value, s.subscriptionBody())
	}
	return OK(map[string]any{"value": value, "count": map[string]any{"type": "Total", "value": len(value)}})
}

// GetSubscription is Subscriptions - Get.
func (s *Server) GetSubscription(r *Request) Response {
	id := r.Var("subscriptionId")
	if !strings.EqualFold(id, s.SubscriptionID) || !s.RBAC.HasAnyAt(r.Caller.ObjectID, "/subscriptions/"+s.SubscriptionID) {
		return Fail(Errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", id))
	}
	return OK(s.subscriptionBody())
}

// ListTenants is Tenants - List: the caller's home tenant.
func (s *Server) ListTenants(r *Request) Response {
	return OK(map[string]any{
		"value": []any{map[string]any{
			"id": "/tenants/" + s.TenantID, "tenantId": s.TenantID, "tenantCategory": "Home",
			"countryCode": "US", "displayName": "miconform emulated tenant",
			"domains": []string{"miconform.onmicrosoft.com"}, "defaultDomain": "miconform.onmicrosoft.com", "tenantType": "AAD",
		}},
		"count": map[string]any{"type": "Total", "value": 1},
	})
}

// checkSubscription answers SubscriptionNotFound for any other subscription.
func (s *Server) checkSubscription(r *Request) *Error {
	if id := r.Var("subscriptionId"); !strings.EqualFold(id, s.SubscriptionID) {
		return Errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
	}
	return nil
}

// GroupID is a resource group's id.
func (s *Server) GroupID(name string) string {
	return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + name
}

// groupBody renders a resource group. Live ARM returns "type" for every
// api-version, although the 2016-09-01 schema
// (specification/resources/resource-manager/Microsoft.Resources/stable/2016-09-01/resources.json)
// and the tutorials' sample output predate it.
func (s *Server) groupBody(g ResourceGroup, _ string) map[string]any {
	b := map[string]any{
		"id":         s.GroupID(g.Name),
		"name":       g.Name,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   g.Location,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
	// A group created with "tags": {} shows {}; one created without
	// shows none (Azure/azure-sdk-for-net
	// sdk/keyvault/Azure.ResourceManager.KeyVault/tests/SessionRecords/VaultOperationsTests/KeyVaultManagementVaultCreateWithoutAccessPolicies.json
	// and sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTestsWithEnclaves.json).
	if g.Tags != nil {
		b["tags"] = g.Tags
	}
	return b
}

// GetResourceGroup is Resource Groups - Get.
func (s *Server) GetResourceGroup(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	g, found := s.store.group(r.Var("resourceGroupName"))
	if !found {
		return Fail(ErrResourceGroupNotFound(r.Var("resourceGroupName")))
	}
	return OK(s.groupBody(g, r.APIVersion))
}

// CheckResourceGroupExistence is Resource Groups - Check Existence (HEAD).
func (s *Server) CheckResourceGroupExistence(r *Request) Response {
	if _, found := s.store.group(r.Var("resourceGroupName")); !found {
		return Response{status: http.StatusNotFound}
	}
	return Response{status: http.StatusNoContent}
}

type groupRequest struct {
	Location  string            `json:"location"`
	Tags      map[string]string `json:"tags"`
	ManagedBy string            `json:"managedBy"`
}

// CreateOrUpdateResourceGroup is Resource Groups - Create Or Update: 201 when
// created, 200 when it existed.
func (s *Server) CreateOrUpdateResourceGroup(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	name := r.Var("resourceGroupName")
	if e := validateGroupName(name); e != nil {
		return Fail(e)
	}
	var body groupRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	if body.Location == "" {
		return Fail(Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	if existing, found := s.store.group(name); found && NormalizeLocation(body.Location) != existing.Location {
		return Fail(Errorf(409, "InvalidResourceGroupLocation", "Invalid resource group location '%s'. The Resource group already exists in location '%s'.", body.Location, existing.Location))
	}
	if _, found := s.store.group(name); !found {
		// A new group starts without role assignments, even when the
		// delete of an earlier group of that name could not record
		// their removal (a full disk, see DeleteResourceGroup).
		if err := s.RBAC.TryDeleteUnder(s.GroupID(name)); err != nil {
			return Fail(StoreFailure(err))
		}
	}
	g, isNew := s.store.putGroup(ResourceGroup{Name: name, Location: NormalizeLocation(body.Location), Tags: body.Tags, Created: time.Now().UTC()})
	if isNew {
		return Created(s.groupBody(g, r.APIVersion))
	}
	return OK(s.groupBody(g, r.APIVersion))
}

// UpdateResourceGroup is Resource Groups - Update (PATCH: tags only here).
func (s *Server) UpdateResourceGroup(r *Request) Response {
	g, found := s.store.group(r.Var("resourceGroupName"))
	if !found {
		return Fail(ErrResourceGroupNotFound(r.Var("resourceGroupName")))
	}
	var body groupRequest
	if e := r.Decode(&body); e != nil {
		return Fail(e)
	}
	if body.Tags != nil {
		g.Tags = body.Tags
	}
	g, _ = s.store.putGroup(g)
	return OK(s.groupBody(g, r.APIVersion))
}

// DeleteResourceGroup is Resource Groups - Delete. ARM deletes
// asynchronously and answers 202 with a Location to poll; the emulator deletes
// at once, so the first poll reports completion.
func (s *Server) DeleteResourceGroup(r *Request) Response {
	name := r.Var("resourceGroupName")
	gone, found := s.store.deleteGroup(name)
	if !found {
		return Fail(ErrResourceGroupNotFound(name))
	}
	for _, res := range gone {
		s.deleted(res)
	}
	// The group is gone (recorded above). Should the role assignments'
	// log refuse their removal (a full disk), they stay, at a scope that
	// no longer exists, until a group of that name is created again,
	// which clears them first: the delete itself succeeded.
	_ = s.RBAC.TryDeleteUnder(s.GroupID(name))
	loc := "https://" + s.Cloud.ARMHost + "/subscriptions/" + s.SubscriptionID + "/operationresults/" + directory.NewGUID() + "?api-version=" + r.APIVersion
	return Response{status: http.StatusAccepted, header: http.Header{"Location": {loc}, "Retry-After": {"0"}}}
}

// GetOperationResult answers a poll of an asynchronous operation: done.
func (s *Server) GetOperationResult(r *Request) Response {
	return Response{status: http.StatusOK}
}

// ListResourceGroups is Resource Groups - List: the groups the caller may read.
func (s *Server) ListResourceGroups(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	value := []any{}
	for _, g := range s.store.allGroups() {
		if s.RBAC.Allowed(r.Caller.ObjectID, "Microsoft.Resources/subscriptions/resourceGroups/read", s.GroupID(g.Name), false) {
			value = append(value, s.groupBody(g, r.APIVersion))
		}
	}
	return OK(map[string]any{"value": value})
}

// validateGroupName applies ARM's resource group naming rules: 1-90
// characters of letters, digits, underscores, hyphens, periods and
// parentheses, not ending in a period.
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources
func validateGroupName(name string) *Error {
	okChars := len(name) >= 1 && len(name) <= 90 && !strings.HasSuffix(name, ".")
	for _, c := range name {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("_-.()", c)) {
			okChars = false
		}
	}
	if !okChars {
		return Errorf(400, "InvalidResourceGroup", "The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'. See https://aka.ms/resource-group-naming for more details.", name, invalidChars(name))
	}
	return nil
}

func invalidChars(name string) string {
	var b strings.Builder
	for _, c := range name {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("_-.()", c)) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// NormalizeLocation turns "West US" or "ChinaNorth" into ARM's canonical
// "westus" / "chinanorth".
func NormalizeLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(l, " ", ""))
}

// resourceBody is how the generic resources list renders a resource:
// "tags" is {} when there are none (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/keyvault/tests/latest/recordings/test_keyvault_rbac.yaml,
// GET /subscriptions/{id}/resources, 2015-11-01).
func (s *Server) resourceBody(res Resource) map[string]any {
	b := map[string]any{"id": res.ID, "name": res.Name, "type": res.Type, "location": res.Location, "tags": map[string]string{}}
	if len(res.Tags) > 0 {
		b["tags"] = res.Tags
	}
	if res.Identity != nil {
		b["identity"] = res.Identity
	}
	return b
}

// ListResources is Resources - List for a subscription.
func (s *Server) ListResources(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	return s.listResources(r, "")
}

// ListResourcesByResourceGroup is Resources - List By Resource Group.
func (s *Server) ListResourcesByResourceGroup(r *Request) Response {
	rg := r.Var("resourceGroupName")
	if _, found := s.store.group(rg); !found {
		return Fail(ErrResourceGroupNotFound(rg))
	}
	if e := s.Authorize(r.Caller, "Microsoft.Resources/subscriptions/resourceGroups/resources/read", s.GroupID(rg)); e != nil {
		// Readers of the group pass through */read; others are refused.
		if !s.RBAC.Allowed(r.Caller.ObjectID, "Microsoft.Resources/subscriptions/resourceGroups/read", s.GroupID(rg), false) {
			return Fail(e)
		}
	}
	return s.listResources(r, rg)
}

// listResources returns the resources the caller may read (ARM filters the
// list by permission rather than refusing it), narrowed by $filter.
func (s *Server) listResources(r *Request, rg string) Response {
	f, e := parseFilter(r.URL.Query().Get("$filter"))
	if e != nil {
		return Fail(e)
	}
	value := []any{}
	for _, res := range s.store.list(func(res *Resource) bool { return rg == "" || strings.EqualFold(res.ResourceGroup, rg) }) {
		if !f.keep(res) || !s.RBAC.Allowed(r.Caller.ObjectID, res.Type+"/read", res.ID, false) {
			continue
		}
		value = append(value, s.resourceBody(res))
	}
	return OK(map[string]any{"value": value})
}

// filter is the subset of the resources list $filter grammar ARM supports:
// clauses joined by "and", each one of name eq, resourceType eq,
// resourceGroup eq, tagName eq / tagValue eq, substringof('x', name).
// https://learn.microsoft.com/rest/api/resources/resources/list
type filter struct{ clauses []func(Resource) bool }

func (f filter) keep(r Resource) bool {
	for _, c := range f.clauses {
		if !c(r) {
			return false
		}
	}
	return true
}

var (
	eqClause        = regexp.MustCompile(`^(?i)(name|resourceType|resourceGroup|tagName|tagValue|location)\s+eq\s+'((?:[^']|'')*)'$`)
	substringClause = regexp.MustCompile(`^(?i)substringof\(\s*'((?:[^']|'')*)'\s*,\s*(name|resourceGroup)\s*\)$`)
	andSplit        = regexp.MustCompile(`(?i)\s+and\s+`)
)

func parseFilter(s string) (filter, *Error) {
	var f filter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	var tagName string
	for _, part := range andSplit.Split(strings.TrimSpace(s), -1) {
		part = strings.TrimSpace(part)
		if m := eqClause.FindStringSubmatch(part); m != nil {
			field, val := strings.ToLower(m[1]), strings.ReplaceAll(m[2], "''", "'")
			switch field {
			case "name":
				f.clauses = append(f.clauses, func(r Resource) bool { return strings.EqualFold(r.Name, val) })
			case "resourcetype":
				f.clauses = append(f.clauses, func(r Resource) bool { return strings.EqualFold(r.Type, val) })
			case "resourcegroup":
				f.clauses = append(f.clauses, func(r Resource) bool { return strings.EqualFold(r.ResourceGroup, val) })
			case "location":
				f.clauses = append(f.clauses, func(r Resource) bool { return strings.EqualFold(r.Location, val) })
			case "tagname":
				tagName = val
				f.clauses = append(f.clauses, func(r Resource) bool { _, ok := tagLookup(r.Tags, val); return ok })
			case "tagvalue":
				tn := tagName
				f.clauses = append(f.clauses, func(r Resource) bool { v, ok := tagLookup(r.Tags, tn); return ok && v == val })
			}
			continue
		}
		if m := substringClause.FindStringSubmatch(part); m != nil {
			val, field := strings.ToLower(strings.ReplaceAll(m[1], "''", "'")), strings.ToLower(m[2])
			f.clauses = append(f.clauses, func(r Resource) bool {
				if field == "name" {
					return strings.Contains(strings.ToLower(r.Name), val)
				}
				return strings.Contains(strings.ToLower(r.ResourceGroup), val)
			})
			continue
		}
		return filter{}, Errorf(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string.", s)
	}
	return f, nil
}

func tagLookup(tags map[string]string, name string) (string, bool) {
	for k, v := range tags {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
