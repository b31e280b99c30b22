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
func (s *Server) ListSubscriptions(r *request) response {
	value := []any{}
	if s.RBAC.HasAnyAt(r.caller.ObjectID, "/subscriptions/"+s.SubscriptionID) {
		value = append(value, s.subscriptionBody())
	}
	return ok(map[string]any{"value": value, "count": map[string]any{"type": "Total", "value": len(value)}})
}

// GetSubscription is Subscriptions - Get.
func (s *Server) GetSubscription(r *request) response {
	id := r.v("subscriptionId")
	if !strings.EqualFold(id, s.SubscriptionID) || !s.RBAC.HasAnyAt(r.caller.ObjectID, "/subscriptions/"+s.SubscriptionID) {
		return fail(errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", id))
	}
	return ok(s.subscriptionBody())
}

// ListTenants is Tenants - List: the caller's home tenant.
func (s *Server) ListTenants(r *request) response {
	return ok(map[string]any{
		"value": []any{map[string]any{
			"id": "/tenants/" + s.TenantID, "tenantId": s.TenantID, "tenantCategory": "Home",
			"countryCode": "US", "displayName": "miconform emulated tenant",
			"domains": []string{"miconform.onmicrosoft.com"}, "defaultDomain": "miconform.onmicrosoft.com", "tenantType": "AAD",
		}},
		"count": map[string]any{"type": "Total", "value": 1},
	})
}

// checkSubscription answers SubscriptionNotFound for any other subscription.
func (s *Server) checkSubscription(r *request) *Error {
	if id := r.v("subscriptionId"); !strings.EqualFold(id, s.SubscriptionID) {
		return errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
	}
	return nil
}

func (s *Server) groupID(name string) string {
	return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + name
}

// groupBody renders a resource group. Live ARM returns "type" for every
// api-version, although the 2016-09-01 schema
// (specification/resources/resource-manager/Microsoft.Resources/stable/2016-09-01/resources.json)
// and the tutorials' sample output predate it.
func (s *Server) groupBody(g ResourceGroup, _ string) map[string]any {
	b := map[string]any{
		"id":         s.groupID(g.Name),
		"name":       g.Name,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   g.Location,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
	if len(g.Tags) > 0 {
		b["tags"] = g.Tags
	}
	return b
}

// GetResourceGroup is Resource Groups - Get.
func (s *Server) GetResourceGroup(r *request) response {
	if e := s.checkSubscription(r); e != nil {
		return fail(e)
	}
	g, found := s.store.group(r.v("resourceGroupName"))
	if !found {
		return fail(errResourceGroupNotFound(r.v("resourceGroupName")))
	}
	return ok(s.groupBody(g, r.apiVersion))
}

// CheckResourceGroupExistence is Resource Groups - Check Existence (HEAD).
func (s *Server) CheckResourceGroupExistence(r *request) response {
	if _, found := s.store.group(r.v("resourceGroupName")); !found {
		return response{status: http.StatusNotFound}
	}
	return response{status: http.StatusNoContent}
}

type groupRequest struct {
	Location  string            `json:"location"`
	Tags      map[string]string `json:"tags"`
	ManagedBy string            `json:"managedBy"`
}

// CreateOrUpdateResourceGroup is Resource Groups - Create Or Update: 201 when
// created, 200 when it existed.
func (s *Server) CreateOrUpdateResourceGroup(r *request) response {
	if e := s.checkSubscription(r); e != nil {
		return fail(e)
	}
	name := r.v("resourceGroupName")
	if e := validateGroupName(name); e != nil {
		return fail(e)
	}
	var body groupRequest
	if e := r.decode(&body); e != nil {
		return fail(e)
	}
	if body.Location == "" {
		return fail(errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	if existing, found := s.store.group(name); found && normalizeLocation(body.Location) != existing.Location {
		return fail(errorf(409, "InvalidResourceGroupLocation", "Invalid resource group location '%s'. The Resource group already exists in location '%s'.", body.Location, existing.Location))
	}
	g, isNew := s.store.putGroup(ResourceGroup{Name: name, Location: normalizeLocation(body.Location), Tags: body.Tags, Created: time.Now().UTC()})
	if isNew {
		return created(s.groupBody(g, r.apiVersion))
	}
	return ok(s.groupBody(g, r.apiVersion))
}

// UpdateResourceGroup is Resource Groups - Update (PATCH: tags only here).
func (s *Server) UpdateResourceGroup(r *request) response {
	g, found := s.store.group(r.v("resourceGroupName"))
	if !found {
		return fail(errResourceGroupNotFound(r.v("resourceGroupName")))
	}
	var body groupRequest
	if e := r.decode(&body); e != nil {
		return fail(e)
	}
	if body.Tags != nil {
		g.Tags = body.Tags
	}
	g, _ = s.store.putGroup(g)
	return ok(s.groupBody(g, r.apiVersion))
}

// DeleteResourceGroup is Resource Groups - Delete. ARM deletes
// asynchronously and answers 202 with a Location to poll; the emulator deletes
// at once, so the first poll reports completion.
func (s *Server) DeleteResourceGroup(r *request) response {
	name := r.v("resourceGroupName")
	gone, found := s.store.deleteGroup(name)
	if !found {
		return fail(errResourceGroupNotFound(name))
	}
	for _, res := range gone {
		s.forgetIdentities(res)
	}
	s.RBAC.DeleteUnder(s.groupID(name))
	loc := "https://" + s.Cloud.ARMHost + "/subscriptions/" + s.SubscriptionID + "/operationresults/" + directory.NewGUID() + "?api-version=" + r.apiVersion
	return response{status: http.StatusAccepted, header: http.Header{"Location": {loc}, "Retry-After": {"0"}}}
}

// GetOperationResult answers a poll of an asynchronous operation: done.
func (s *Server) GetOperationResult(r *request) response {
	return response{status: http.StatusOK}
}

// ListResourceGroups is Resource Groups - List: the groups the caller may read.
func (s *Server) ListResourceGroups(r *request) response {
	if e := s.checkSubscription(r); e != nil {
		return fail(e)
	}
	value := []any{}
	for _, g := range s.store.allGroups() {
		if s.RBAC.Allowed(r.caller.ObjectID, "Microsoft.Resources/subscriptions/resourceGroups/read", s.groupID(g.Name), false) {
			value = append(value, s.groupBody(g, r.apiVersion))
		}
	}
	return ok(map[string]any{"value": value})
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
		return errorf(400, "InvalidResourceGroup", "The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'. See https://aka.ms/resource-group-naming for more details.", name, invalidChars(name))
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

// normalizeLocation turns "West US" or "ChinaNorth" into ARM's canonical
// "westus" / "chinanorth".
func normalizeLocation(l string) string {
	return strings.ToLower(strings.ReplaceAll(l, " ", ""))
}

// resourceBody is how the generic resources list renders a resource.
func (s *Server) resourceBody(res Resource) map[string]any {
	b := map[string]any{"id": res.ID, "name": res.Name, "type": res.Type, "location": res.Location}
	if len(res.Tags) > 0 {
		b["tags"] = res.Tags
	}
	if res.Identity != nil {
		b["identity"] = res.Identity
	}
	return b
}

// ListResources is Resources - List for a subscription.
func (s *Server) ListResources(r *request) response {
	if e := s.checkSubscription(r); e != nil {
		return fail(e)
	}
	return s.listResources(r, "")
}

// ListResourcesByResourceGroup is Resources - List By Resource Group.
func (s *Server) ListResourcesByResourceGroup(r *request) response {
	rg := r.v("resourceGroupName")
	if _, found := s.store.group(rg); !found {
		return fail(errResourceGroupNotFound(rg))
	}
	if e := s.authorize(r.caller, "Microsoft.Resources/subscriptions/resourceGroups/resources/read", s.groupID(rg)); e != nil {
		// Readers of the group pass through */read; others are refused.
		if !s.RBAC.Allowed(r.caller.ObjectID, "Microsoft.Resources/subscriptions/resourceGroups/read", s.groupID(rg), false) {
			return fail(e)
		}
	}
	return s.listResources(r, rg)
}

// listResources returns the resources the caller may read (ARM filters the
// list by permission rather than refusing it), narrowed by $filter.
func (s *Server) listResources(r *request, rg string) response {
	f, e := parseFilter(r.URL.Query().Get("$filter"))
	if e != nil {
		return fail(e)
	}
	value := []any{}
	for _, res := range s.store.list(func(res *Resource) bool { return rg == "" || strings.EqualFold(res.ResourceGroup, rg) }) {
		if !f.keep(res) || !s.RBAC.Allowed(r.caller.ObjectID, res.Type+"/read", res.ID, false) {
			continue
		}
		value = append(value, s.resourceBody(res))
	}
	return ok(map[string]any{"value": value})
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
		return filter{}, errorf(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string.", s)
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
