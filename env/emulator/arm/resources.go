package arm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
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

// ListTenants is Tenants - List: the caller's home tenant. Unlike the
// subscriptions list it has no "count" (Azure/azure-sdk-for-python
// sdk/resources/azure-mgmt-resource/tests/recordings/test_mgmt_resource_subscriptions_test.pyTestMgmtResourceSubscriptionstest_tenants.json,
// 2022-12-01).
func (s *Server) ListTenants(r *Request) Response {
	return OK(map[string]any{
		"value": []any{map[string]any{
			"id": "/tenants/" + s.TenantID, "tenantId": s.TenantID, "tenantCategory": "Home",
			"countryCode": "US", "displayName": "miconform emulated tenant",
			"domains": []string{"miconform.onmicrosoft.com"}, "defaultDomain": "miconform.onmicrosoft.com", "tenantType": "AAD",
		}},
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
	// managedBy is echoed as given (Azure/azure-cli
	// src/azure-cli/azure/cli/command_modules/resource/tests/latest/recordings/test_resource_group.yaml).
	if g.ManagedBy != "" {
		b["managedBy"] = g.ManagedBy
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

// CheckResourceGroupExistence is Resource Groups - Check Existence (HEAD):
// 204, or the 404 of a missing group with its error headers (JSON content
// type, x-ms-failure-cause) and no body, as a HEAD answer has none
// (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/resource/tests/latest/recordings/test_resource_group.yaml).
func (s *Server) CheckResourceGroupExistence(r *Request) Response {
	if _, found := s.store.group(r.Var("resourceGroupName")); !found {
		return Fail(ErrResourceGroupNotFound(r.Var("resourceGroupName")))
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
	if e := validateTags(body.Tags); e != nil {
		return Fail(e)
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
	g, isNew := s.store.putGroup(ResourceGroup{Name: name, Location: NormalizeLocation(body.Location), Tags: body.Tags, ManagedBy: body.ManagedBy, Created: time.Now().UTC()})
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
	if e := validateTags(body.Tags); e != nil {
		return Fail(e)
	}
	if body.Tags != nil {
		g.Tags = body.Tags
	}
	if body.ManagedBy != "" {
		g.ManagedBy = body.ManagedBy
	}
	g, _ = s.store.putGroup(g)
	return OK(s.groupBody(g, r.APIVersion))
}

// validateTags refuses a tag whose name is empty or blank, as Resource
// Manager does (Azure/azure-sdk-for-net
// sdk/resourcemanager/Azure.ResourceManager/tests/SessionRecords/ResourceGroupOperationsTests/AddTag(False)[2022-09-01].json:
// 400 InvalidTagName for the tag " ").
func validateTags(tags map[string]string) *Error {
	for k := range tags {
		if strings.TrimSpace(k) == "" {
			return Errorf(400, "InvalidTagName", "The tag name must be non-null, non-empty and non-whitespace only. Please provide an actual value.")
		}
	}
	return nil
}

// DeleteResourceGroup is Resource Groups - Delete, long-running as in
// Azure: 202 with a Location under /operationresults and a Retry-After;
// the Location answers 202 (again with Location and Retry-After) while the
// deletion runs and then 200 with no body (Azure/azure-sdk-for-net
// sdk/resourcemanager/Azure.ResourceManager/tests/SessionRecords/ResourceGroupOperationsTests/DeleteRg[2022-09-01].json).
// The emulator deletes at once; only the polls are paced (lro.go).
func (s *Server) DeleteResourceGroup(r *Request) Response {
	name := r.Var("resourceGroupName")
	g, found := s.store.group(name)
	if !found {
		return Fail(ErrResourceGroupNotFound(name))
	}
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
	op := s.BeginOperation(s.GroupID(g.Name), opDeleteGroup)
	loc := s.OperationURL("/subscriptions/"+s.SubscriptionID+"/operationresults/"+deletionJob(g, op.ID), r.APIVersion)
	return Accepted(nil, http.Header{"Location": {loc}, "Retry-After": {s.RetryAfter()}})
}

// opDeleteGroup is the kind of a resource group deletion's operation.
const opDeleteGroup = "ResourceGroupDeletion"

// deletionJob is the operationresults id Resource Manager gives a group
// deletion: unpadded base64url of {"jobId":"RESOURCEGROUPDELETIONJOB-<NAME>-<LOCATION>","jobLocation":"<location>"},
// the name upper-cased with other characters as ":XX" and a "|<hex>"
// suffix (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/resource/tests/latest/recordings/test_resource_group.yaml
// decodes to "RESOURCEGROUPDELETIONJOB-CLI:5FTEST:5FRG:5FSCENARIO...|8599E96EDC200B56-WESTUS").
// The emulator's suffix is its operation id, which is how a poll finds it.
func deletionJob(g ResourceGroup, opID string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(g.Name) {
		if c < 128 && (unicode.IsUpper(c) || unicode.IsDigit(c)) {
			b.WriteRune(c)
			continue
		}
		for _, x := range []byte(string(c)) {
			fmt.Fprintf(&b, ":%02X", x)
		}
	}
	job, _ := json.Marshal(map[string]string{
		"jobId":       "RESOURCEGROUPDELETIONJOB-" + b.String() + "|" + strings.ToUpper(strings.ReplaceAll(opID, "-", "")) + "-" + strings.ToUpper(g.Location),
		"jobLocation": g.Location,
	})
	return base64.RawURLEncoding.EncodeToString(job)
}

// deletionOperation is the operation id a deletionJob names ("" if none).
func deletionOperation(job string) string {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(job, "="))
	if err != nil {
		return ""
	}
	var j struct {
		JobID string `json:"jobId"`
	}
	if json.Unmarshal(raw, &j) != nil || !strings.HasPrefix(j.JobID, "RESOURCEGROUPDELETIONJOB-") {
		return ""
	}
	i := strings.LastIndex(j.JobID, "|")
	if i < 0 || len(j.JobID) < i+33 {
		return ""
	}
	h := strings.ToLower(j.JobID[i+1 : i+33])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// GetOperationResult answers a poll of a resource group deletion's
// Location: 202 (Location, Retry-After) while it runs, then 200 with no
// body. An id that is no deletion job is a 404 in Resource Manager's error
// shape (the code is the emulator's: no recording shows one).
func (s *Server) GetOperationResult(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	id := deletionOperation(r.Var("operationId"))
	if id == "" {
		return Fail(Errorf(404, "OperationResultNotFound", "The operation result '%s' could not be found.", r.Var("operationId")))
	}
	// A deletion job the emulator no longer tracks (forgotten, or begun
	// before a restart) has finished: its group is gone.
	op, inProgress, found := s.PollOperation(id)
	if found && op.Kind == opDeleteGroup && inProgress {
		return Accepted(nil, http.Header{"Location": {s.OperationURL(r.URL.Path, r.APIVersion)}, "Retry-After": {s.RetryAfter()}})
	}
	return Response{status: http.StatusOK}
}

// ListResourceGroups is Resource Groups - List: the groups the caller may read.
func (s *Server) ListResourceGroups(r *Request) Response {
	if e := s.checkSubscription(r); e != nil {
		return Fail(e)
	}
	keep, e := groupFilter(r.URL.Query().Get("$filter"))
	if e != nil {
		return Fail(e)
	}
	value := []any{}
	for _, g := range s.store.allGroups() {
		if keep(g) && s.RBAC.Allowed(r.Caller.ObjectID, "Microsoft.Resources/subscriptions/resourceGroups/read", s.GroupID(g.Name), false) {
			value = append(value, s.groupBody(g, r.APIVersion))
		}
	}
	return OK(map[string]any{"value": value})
}

// groupFilter is the $filter of Resource Groups - List: tagName eq '...',
// optionally "and tagValue eq '...'" (`az group list --tag a=b` sends
// "tagname eq 'a' and tagvalue eq 'b'", Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/resource/tests/latest/recordings/test_resource_group.yaml).
func groupFilter(f string) (func(ResourceGroup) bool, *Error) {
	if strings.TrimSpace(f) == "" {
		return func(ResourceGroup) bool { return true }, nil
	}
	parts := andSplit.Split(strings.TrimSpace(f), -1)
	var name, value *string
	for _, part := range parts {
		m := eqClause.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, Errorf(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string.", f)
		}
		v := strings.ReplaceAll(m[2], "''", "'")
		switch strings.ToLower(m[1]) {
		case "tagname":
			name = &v
		case "tagvalue":
			value = &v
		default:
			return nil, Errorf(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string.", f)
		}
	}
	if name == nil {
		return nil, Errorf(400, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string.", f)
	}
	return func(g ResourceGroup) bool {
		v, ok := tagLookup(g.Tags, *name)
		return ok && (value == nil || v == *value)
	}, nil
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
// with the tags its provider shows. A resource created without tags lists
// without them (Azure/azure-sdk-for-net
// sdk/resourcemanager/Azure.ResourceManager/tests/SessionRecords/GenericResourceCollectionTests/ListByResourceGroup().json,
// 2019-10-01), but for the providers that answer "tags": {} then, and the
// list shows {} for them too (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/keyvault/tests/latest/recordings/test_keyvault_rbac.yaml,
// GET /subscriptions/{id}/resources, 2015-11-01).
func (s *Server) resourceBody(res Resource) map[string]any {
	b := map[string]any{"id": res.ID, "name": res.Name, "type": res.Type, "location": res.Location}
	switch {
	case res.Tags != nil:
		b["tags"] = res.Tags
	case emptyTagsShown[strings.ToLower(res.Type)]:
		b["tags"] = map[string]string{}
	}
	if res.Identity != nil {
		b["identity"] = res.Identity
	}
	return b
}

// emptyTagsShown are the resource types whose providers answer "tags": {}
// for a resource created without tags: user-assigned identities
// (testdata/uai_list_delete.json), vaults (testdata/keyvault_create.json),
// storage accounts (testdata/storage_account_done.json) and SQL databases
// (testdata/sql_create.json).
var emptyTagsShown = map[string]bool{
	"microsoft.managedidentity/userassignedidentities": true,
	"microsoft.keyvault/vaults":                        true,
	"microsoft.storage/storageaccounts":                true,
	"microsoft.sql/servers/databases":                  true,
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
