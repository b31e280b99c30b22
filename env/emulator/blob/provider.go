package blob

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/arm"
)

// The Microsoft.Storage resource provider: storage accounts, their keys and
// service SASes, and blob containers, registered into Resource Manager.
// REST spec: specification/storage/resource-manager/Microsoft.Storage/stable/
// (storage.json, blob.json); reference https://learn.microsoft.com/rest/api/storagerp/

// TypeStorageAccount is the storage account resource type.
const TypeStorageAccount = "Microsoft.Storage/storageAccounts"

const typeContainer = "Microsoft.Storage/storageAccounts/blobServices/containers"

// provider serves the Resource Manager side of the Blob service.
type provider struct {
	s   *Service
	arm *arm.Server
}

// RegisterProvider adds Microsoft.Storage's routes to Resource Manager and
// drops an account's data when Resource Manager deletes the account
// (directly or with its resource group).
func RegisterProvider(a *arm.Server, s *Service) {
	p := &provider{s: s, arm: a}
	const (
		sub  = "/subscriptions/{subscriptionId}"
		rg   = sub + "/resourceGroups/{resourceGroupName}"
		acct = rg + "/providers/Microsoft.Storage/storageAccounts/{accountName}"
		cont = acct + "/blobServices/default/containers"
		act  = "Microsoft.Storage/storageAccounts"
	)
	// https://learn.microsoft.com/rest/api/storagerp/storage-accounts
	a.Handle("PUT", acct, act+"/write", "2015-06-15", p.CreateStorageAccount)
	a.Handle("PATCH", acct, act+"/write", "2015-06-15", p.UpdateStorageAccount)
	a.Handle("GET", acct, act+"/read", "2015-06-15", p.GetStorageAccountProperties)
	a.Handle("DELETE", acct, act+"/delete", "2015-06-15", p.DeleteStorageAccount)
	a.Handle("GET", rg+"/providers/Microsoft.Storage/storageAccounts", "", "2015-06-15", p.ListStorageAccountsByResourceGroup)
	a.Handle("GET", sub+"/providers/Microsoft.Storage/storageAccounts", "", "2015-06-15", p.ListStorageAccounts)
	a.Handle("POST", acct+"/listKeys", act+"/listkeys/action", "2015-06-15", p.ListKeys)
	a.Handle("POST", acct+"/regenerateKey", act+"/regeneratekey/action", "2015-06-15", p.RegenerateKey)
	a.Handle("POST", acct+"/listServiceSas", act+"/listServiceSas/action", "2017-06-01", p.ListServiceSAS)
	// The Location a 202 from Storage Accounts - Create points at.
	a.Handle("GET", sub+"/providers/Microsoft.Storage/locations/{location}/asyncoperations/{operationId}", "", "2015-06-15", p.GetCreateOperation)
	// https://learn.microsoft.com/rest/api/storagerp/storage-accounts/revoke-user-delegation-keys
	// (first in API version 2019-04-01 [unverified]; action name as in
	// Azure's Microsoft.Storage operations list [unverified]).
	a.Handle("POST", acct+"/revokeUserDelegationKeys", act+"/revokeUserDelegationKeys/action", "2019-04-01", p.RevokeUserDelegationKeys)
	// https://learn.microsoft.com/rest/api/storagerp/blob-containers
	a.Handle("PUT", cont+"/{containerName}", typeContainer+"/write", "2018-02-01", p.CreateBlobContainer)
	a.Handle("GET", cont+"/{containerName}", typeContainer+"/read", "2018-02-01", p.GetBlobContainer)
	a.Handle("DELETE", cont+"/{containerName}", typeContainer+"/delete", "2018-02-01", p.DeleteBlobContainer)
	a.Handle("GET", cont, typeContainer+"/read", "2018-02-01", p.ListBlobContainers)
	a.OnDelete(func(r arm.Resource) {
		if strings.EqualFold(r.Type, TypeStorageAccount) {
			s.RemoveAccount(r.Name)
		}
	})
}

// rpTime is how Microsoft.Storage prints times: UTC with seven fractional
// digits ("2021-09-14T07:50:40.7782400Z" in Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/StorageAccountRegenerateKey.json).
func rpTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// textPlain is the Content-Type Microsoft.Storage sends with its empty
// answers (202s, deletes).
var textPlain = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}

// accountNameRE: 3-24 lower-case letters and digits.
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftstorage
var accountNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

func invalidValues(field string) *arm.Error {
	return arm.Errorf(400, "InvalidValuesForRequestParameters", "Values for request parameters are invalid: %s.", field)
}

var (
	kinds = map[string]bool{"Storage": true, "StorageV2": true, "BlobStorage": true, "BlockBlobStorage": true, "FileStorage": true}
	skus  = map[string]string{
		"Standard_LRS": "Standard", "Standard_GRS": "Standard", "Standard_RAGRS": "Standard", "Standard_ZRS": "Standard",
		"Standard_GZRS": "Standard", "Standard_RAGZRS": "Standard", "Premium_LRS": "Premium", "Premium_ZRS": "Premium",
	}
)

type accountRequest struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	Kind     string            `json:"kind"`
	Sku      *struct {
		Name string `json:"name"`
	} `json:"sku"`
	Properties struct {
		SupportsHTTPSTrafficOnly *bool  `json:"supportsHttpsTrafficOnly"`
		AccessTier               string `json:"accessTier"`
		AllowBlobPublicAccess    *bool  `json:"allowBlobPublicAccess"`
		MinimumTLSVersion        string `json:"minimumTlsVersion"`
	} `json:"properties"`
}

func (p *provider) accountID(r *arm.Request) string {
	return p.arm.ResourceID(r, "Microsoft.Storage", "storageAccounts", r.Var("accountName"))
}

// accountBody renders a storage account as Storage Accounts - Get Properties
// does for apiVersion; kind and sku live beside properties, "tags" is {}
// when there are none. pending shows the account as Azure lists one whose
// create is still running (provisioningState "Creating").
// Shape: Azure/azure-cli src/azure-cli/azure/cli/command_modules/storage/tests/latest/recordings/test_storage_account_sftp.yaml
// (2025-06-01, asyncoperations answer and the subscription list, which shows
// another account "Creating"); Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/ListServiceSAS.json (2022-09-01).
func (p *provider) accountBody(res arm.Resource, apiVersion string, pending bool) map[string]any {
	b := p.arm.TrackedBody(res)
	props := map[string]any{}
	for k, v := range res.Properties {
		props[k] = v
	}
	if _, ok := props["privateEndpointConnections"]; !ok {
		// Accounts stored before these were kept get Azure's defaults.
		props["privateEndpointConnections"] = []any{}
		props["minimumTlsVersion"] = "TLS1_0"
		props["allowBlobPublicAccess"] = false
		props["allowCrossTenantReplication"] = false
	}
	if apiVersion >= "2025-01-01" {
		// Properties the recorded 2025-06-01 answers carry and older
		// api-versions' schemas lack.
		props["allowCrossTenantDelegationSas"] = false
		if acls, ok := props["networkAcls"].(map[string]any); ok {
			acls["ipv6Rules"] = []any{}
		}
	} else if apiVersion < "2021-04-01" {
		// allowCrossTenantReplication is first in the 2021-04-01 schema.
		delete(props, "allowCrossTenantReplication")
	}
	if pending {
		props["provisioningState"] = "Creating"
	}
	if a, ok := p.s.Account(res.Name); ok {
		b["kind"], b["sku"] = a.Kind, map[string]any{"name": a.Sku, "tier": skus[a.Sku]}
		p.secondary(props, res, a)
		props["supportsHttpsTrafficOnly"] = a.HTTPSOnly
		props["keyCreationTime"] = map[string]any{"key1": rpTime(a.KeyCreated[0]), "key2": rpTime(a.KeyCreated[1])}
	}
	b["properties"] = props
	return b
}

// CreateStorageAccount is Storage Accounts - Create. A new account is
// accepted as Azure accepts it: 202, an empty body, Location (an
// asyncoperations URL) and Retry-After; polling the Location answers 202
// until the create is done, then 200 with the account. An existing
// account is updated at once (200 with the account).
// Azure/azure-sdk-for-net sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/CreateStandardAccount.json
// (202, Content-Length 0, text/plain, Retry-After 17, 202s, then 200).
func (p *provider) CreateStorageAccount(r *arm.Request) arm.Response {
	g, e := p.arm.RequireGroup(r)
	if e != nil {
		return arm.Fail(e)
	}
	name := r.Var("accountName")
	if !accountNameRE.MatchString(name) {
		return arm.Fail(arm.Errorf(400, "AccountNameInvalid", "%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name))
	}
	var body accountRequest
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	switch {
	case body.Location == "":
		return arm.Fail(arm.Errorf(400, "LocationRequired", "The location property is required for this definition."))
	case body.Sku == nil || skus[body.Sku.Name] == "":
		return arm.Fail(invalidValues("sku"))
	case !kinds[body.Kind]:
		return arm.Fail(invalidValues("kind"))
	}
	id := p.accountID(r)
	if existing, taken := p.s.Account(name); taken && !strings.EqualFold(existing.ResourceID, id) {
		return arm.Fail(arm.Errorf(409, "StorageAccountAlreadyTaken", "The storage account named %s is already taken.", name))
	}
	if res, found := p.arm.GetResource(id); found {
		// A second PUT updates tags and the mutable properties.
		if arm.NormalizeLocation(body.Location) != res.Location {
			return arm.Fail(arm.Errorf(409, "InvalidResourceLocation", "The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.", name, res.Location, g.Name, arm.NormalizeLocation(body.Location)))
		}
		return p.update(id, body, r.APIVersion)
	}
	loc := arm.NormalizeLocation(body.Location)
	now := time.Now().UTC()
	ep := map[string]any{
		"blob":  p.s.Endpoint(name),
		"queue": "https://" + name + ".queue." + p.s.Cloud.StorageSuffix + "/",
		"table": "https://" + name + ".table." + p.s.Cloud.StorageSuffix + "/",
		"file":  "https://" + name + ".file." + p.s.Cloud.StorageSuffix + "/",
	}
	if body.Kind == "StorageV2" || body.Kind == "BlockBlobStorage" {
		ep["dfs"] = "https://" + name + ".dfs." + p.s.Cloud.StorageSuffix + "/"
		ep["web"] = "https://" + name + ".z13.web." + p.s.Cloud.StorageSuffix + "/"
	}
	svc := map[string]any{"enabled": true, "keyType": "Account", "lastEnabledTime": rpTime(now)}
	tls := body.Properties.MinimumTLSVersion
	if tls == "" {
		tls = "TLS1_0"
	}
	// Anonymous access and cross-tenant replication are off for new
	// accounts (recorded 2025-06-01 answers; Azure's default since 2023).
	publicAccess := false
	if body.Properties.AllowBlobPublicAccess != nil {
		publicAccess = *body.Properties.AllowBlobPublicAccess
	}
	props := map[string]any{
		"provisioningState":           "Succeeded",
		"creationTime":                rpTime(now),
		"primaryEndpoints":            ep,
		"primaryLocation":             loc,
		"statusOfPrimary":             "available",
		"privateEndpointConnections":  []any{},
		"minimumTlsVersion":           tls,
		"allowBlobPublicAccess":       publicAccess,
		"allowCrossTenantReplication": false,
		"encryption": map[string]any{
			"services":  map[string]any{"blob": svc, "file": svc},
			"keySource": "Microsoft.Storage",
		},
		"networkAcls": map[string]any{"bypass": "AzureServices", "virtualNetworkRules": []any{}, "ipRules": []any{}, "defaultAction": "Allow"},
	}
	if body.Kind != "Storage" {
		tier := body.Properties.AccessTier
		if tier == "" {
			tier = "Hot"
		}
		props["accessTier"] = tier
	}
	res := arm.Resource{ID: id, Name: name, Type: TypeStorageAccount, ResourceGroup: g.Name, Location: loc, Tags: body.Tags, Properties: props, Created: now}
	// Secure transfer is on by default from api-version 2019-04-01.
	httpsOnly := r.APIVersion >= "2019-04-01"
	if body.Properties.SupportsHTTPSTrafficOnly != nil {
		httpsOnly = *body.Properties.SupportsHTTPSTrafficOnly
	}
	// The account's data plane first, then Resource Manager: a refusal of
	// either (a full disk) leaves no account in either. Blob's refusal
	// answers through recoverFailure; Resource Manager's is caught here,
	// and the data plane's account dropped again (RemoveAccount keeps
	// nothing reachable even if the state dir refuses that too).
	p.s.addAccount(name, id, func(a *Account) { a.HTTPSOnly, a.Kind, a.Sku = httpsOnly, body.Kind, body.Sku.Name })
	if _, err := p.arm.TryPutResource(res); err != nil {
		p.s.RemoveAccount(name)
		return arm.Fail(arm.StoreFailure(err))
	}
	op := p.arm.BeginOperation(id, opCreateAccount)
	return arm.Accepted(nil, http.Header{
		"Location":     {p.operationURL(r, loc, op.ID)},
		"Retry-After":  {p.arm.RetryAfter()},
		"Content-Type": {"text/plain; charset=utf-8"},
	})
}

// opCreateAccount names a storage account create among the operations.
const opCreateAccount = "CreateStorageAccount"

// operationURL is where a create's progress is read:
// /subscriptions/{sub}/providers/Microsoft.Storage/locations/{location}/asyncoperations/{id}?monitor=true&api-version=...
func (p *provider) operationURL(r *arm.Request, location, id string) string {
	return "https://" + p.arm.Cloud.ARMHost + "/subscriptions/" + p.arm.SubscriptionID + "/providers/Microsoft.Storage/locations/" + location +
		"/asyncoperations/" + id + "?monitor=true&api-version=" + r.APIVersion
}

// GetCreateOperation answers a poll of a create's Location: 202 (with the
// Location and Retry-After again) while it runs, then 200 with the account.
func (p *provider) GetCreateOperation(r *arm.Request) arm.Response {
	if !strings.EqualFold(r.Var("subscriptionId"), p.arm.SubscriptionID) {
		return arm.Fail(arm.Errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", r.Var("subscriptionId")))
	}
	op, inProgress, found := p.arm.PollOperation(r.Var("operationId"))
	if !found || op.Kind != opCreateAccount {
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The operation '%s' was not found.", r.Var("operationId")))
	}
	res, ok := p.arm.GetResource(op.ResourceID)
	if !ok || !strings.EqualFold(res.Type, TypeStorageAccount) {
		// Deleted while it was being created.
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The Resource '%s' was not found.", op.ResourceID))
	}
	if inProgress {
		return arm.Accepted(nil, http.Header{
			"Location":     {p.operationURL(r, r.Var("location"), op.ID)},
			"Retry-After":  {p.arm.RetryAfter()},
			"Content-Type": {"text/plain; charset=utf-8"},
		})
	}
	return arm.OK(p.accountBody(res, r.APIVersion, false))
}

// regionPairs are Azure's paired regions, where geo-redundant accounts
// keep their secondary copy. https://learn.microsoft.com/azure/reliability/cross-region-replication-azure
// (only regions a scenario or recording uses; an account elsewhere shows
// no secondary).
var regionPairs = map[string]string{
	"eastus": "westus", "westus": "eastus", "eastus2": "centralus", "centralus": "eastus2",
	"southcentralus": "northcentralus", "northcentralus": "southcentralus", "westus2": "westcentralus",
	"westcentralus": "westus2", "westus3": "eastus", "northeurope": "westeurope", "westeurope": "northeurope",
	"canadacentral": "canadaeast", "chinanorth": "chinaeast", "chinaeast": "chinanorth",
	"usgovvirginia": "usgovtexas", "usgovtexas": "usgovvirginia",
}

// secondary adds what a geo-redundant account shows of its secondary
// region: secondaryLocation and statusOfSecondary, and for read access
// (RA-) the secondary endpoints, which have no file endpoint.
// Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/StorageAccountRegenerateKey.json
// (Standard_GRS); Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/storage/tests/latest/recordings/test_storage_account_sftp.yaml
// (Standard_RAGRS StorageV2 accounts in the subscription list).
func (p *provider) secondary(props map[string]any, res arm.Resource, a Account) {
	if !strings.Contains(a.Sku, "GRS") && !strings.Contains(a.Sku, "GZRS") {
		return
	}
	pair, ok := regionPairs[res.Location]
	if !ok {
		return
	}
	props["secondaryLocation"], props["statusOfSecondary"] = pair, "available"
	if !strings.Contains(a.Sku, "_RA") {
		return
	}
	host := func(svc string) string {
		return "https://" + res.Name + "-secondary." + svc + "." + p.s.Cloud.StorageSuffix + "/"
	}
	ep := map[string]any{"blob": host("blob"), "queue": host("queue"), "table": host("table")}
	if a.Kind == "StorageV2" || a.Kind == "BlockBlobStorage" {
		ep["dfs"], ep["web"] = host("dfs"), "https://"+res.Name+"-secondary.z13.web."+p.s.Cloud.StorageSuffix+"/"
	}
	props["secondaryEndpoints"] = ep
}

func (p *provider) update(id string, body accountRequest, apiVersion string) arm.Response {
	res, aerr, found := p.arm.UpdateResource(id, func(res *arm.Resource) *arm.Error {
		if body.Tags != nil {
			res.Tags = body.Tags
		}
		if body.Properties.AccessTier != "" {
			res.Properties["accessTier"] = body.Properties.AccessTier
		}
		return nil
	})
	if aerr != nil {
		return arm.Fail(aerr)
	}
	if !found {
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The Resource '%s' was not found.", id))
	}
	if v := body.Properties.SupportsHTTPSTrafficOnly; v != nil {
		p.s.updateAccount(res.Name, func(a *Account) { a.HTTPSOnly = *v })
	}
	return arm.OK(p.accountBody(res, apiVersion, p.arm.ResourcePending(id)))
}

// UpdateStorageAccount is Storage Accounts - Update (PATCH).
func (p *provider) UpdateStorageAccount(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	var body accountRequest
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	id := p.accountID(r)
	if _, found := p.arm.GetResource(id); !found {
		return arm.Fail(arm.ErrResourceNotFound(TypeStorageAccount, r.Var("accountName"), r.Var("resourceGroupName")))
	}
	return p.update(id, body, r.APIVersion)
}

// account finds the request's account or answers Resource Manager's 404.
func (p *provider) account(r *arm.Request) (arm.Resource, *arm.Error) {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Resource{}, e
	}
	res, found := p.arm.GetResource(p.accountID(r))
	if !found {
		return arm.Resource{}, arm.ErrResourceNotFound(TypeStorageAccount, r.Var("accountName"), r.Var("resourceGroupName"))
	}
	return res, nil
}

// GetStorageAccountProperties is Storage Accounts - Get Properties.
func (p *provider) GetStorageAccountProperties(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	return arm.OK(p.accountBody(res, r.APIVersion, p.arm.ObserveResource(res.ID)))
}

// DeleteStorageAccount is Storage Accounts - Delete: 200 with an empty
// text/plain body (Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/CreateDeleteStorageAccount.json),
// or 204 when there was nothing to delete.
func (p *provider) DeleteStorageAccount(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	if _, found := p.arm.DeleteResource(p.accountID(r)); !found {
		return arm.Status(http.StatusNoContent, nil)
	}
	return arm.Status(http.StatusOK, textPlain.Clone())
}

// ListStorageAccountsByResourceGroup is Storage Accounts - List By Resource Group.
func (p *provider) ListStorageAccountsByResourceGroup(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	return p.list(r, r.Var("resourceGroupName"))
}

// ListStorageAccounts is Storage Accounts - List (subscription): the
// accounts the caller may read.
func (p *provider) ListStorageAccounts(r *arm.Request) arm.Response {
	if !strings.EqualFold(r.Var("subscriptionId"), p.arm.SubscriptionID) {
		return arm.Fail(arm.Errorf(404, "SubscriptionNotFound", "The subscription '%s' could not be found.", r.Var("subscriptionId")))
	}
	return p.list(r, "")
}

func (p *provider) list(r *arm.Request, group string) arm.Response {
	value := []any{}
	for _, res := range p.arm.Resources(TypeStorageAccount) {
		if group != "" && !strings.EqualFold(res.ResourceGroup, group) {
			continue
		}
		if p.arm.RBAC.Allowed(r.Caller.ObjectID, TypeStorageAccount+"/read", res.ID, false) {
			value = append(value, p.accountBody(res, r.APIVersion, p.arm.ResourcePending(res.ID)))
		}
	}
	if group != "" && len(value) == 0 {
		if e := p.arm.Authorize(r.Caller, TypeStorageAccount+"/read", p.arm.GroupID(group)); e != nil {
			return arm.Fail(e)
		}
	}
	return arm.OK(map[string]any{"value": value})
}

func keysBody(a Account) map[string]any {
	keys := make([]any, 2)
	for i := range a.Keys {
		keys[i] = map[string]any{
			"creationTime": rpTime(a.KeyCreated[i]),
			"keyName":      []string{"key1", "key2"}[i],
			"value":        base64.StdEncoding.EncodeToString(a.Keys[i]),
			// The API's enum says "Full"; the service sends it upper-case.
			"permissions": "FULL",
		}
	}
	return map[string]any{"keys": keys}
}

// ListKeys is Storage Accounts - List Keys.
func (p *provider) ListKeys(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	a, _ := p.s.Account(res.Name)
	return arm.OK(keysBody(a))
}

// RegenerateKey is Storage Accounts - Regenerate Key: {"keyName":"key1"}.
func (p *provider) RegenerateKey(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	var body struct {
		KeyName string `json:"keyName"`
	}
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	i := map[string]int{"key1": 1, "key2": 2}[strings.ToLower(body.KeyName)] - 1
	if i < 0 {
		return arm.Fail(invalidValues("keyName"))
	}
	a, _ := p.s.RegenerateKey(res.Name, i)
	return arm.OK(keysBody(a))
}

// RevokeUserDelegationKeys is Storage Accounts - Revoke User Delegation Keys:
// 200 with no body, and every user delegation SAS of the account stops
// working.
func (p *provider) RevokeUserDelegationKeys(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	p.s.RevokeUserDelegationKeys(res.Name)
	return arm.Status(http.StatusOK, nil)
}

// ServiceSASParameters is the body of List Service SAS (2017-06-01).
type ServiceSASParameters struct {
	CanonicalizedResource string `json:"canonicalizedResource"`
	SignedResource        string `json:"signedResource"`
	SignedPermission      string `json:"signedPermission"`
	SignedIP              string `json:"signedIp"`
	SignedProtocol        string `json:"signedProtocol"`
	SignedStart           string `json:"signedStart"`
	SignedExpiry          string `json:"signedExpiry"`
	SignedIdentifier      string `json:"signedIdentifier"`
	KeyToSign             string `json:"keyToSign"`
	CacheControl          string `json:"rscc"`
	ContentDisposition    string `json:"rscd"`
	ContentEncoding       string `json:"rsce"`
	ContentLanguage       string `json:"rscl"`
	ContentType           string `json:"rsct"`
	// APIVersion is the request's api-version (a query parameter, not
	// part of the body): how st and se are written differs by it, see
	// serviceSASTimes. Empty means the newest behaviour.
	APIVersion string `json:"-"`
}

// serviceSASTimes says how List Service SAS writes the times it signs at
// an api-version, as recorded:
//   - 2017-06-01: a time with fractional seconds is cut to whole seconds
//     (signedExpiry "2017-05-24T11:32:48.8457197Z" signed as
//     se=2017-05-24T11:32:48Z: Azure/azure-rest-api-specs
//     specification/storage/resource-manager/Microsoft.Storage/stable/2017-06-01/examples/StorageAccountListServiceSAS.json,
//     a live 2017 answer, x-ms-routing-request-id WESTUS2:20170615T095442420Z);
//   - 2021-09-01: times are signed as sent, fractional seconds and all
//     (Azure/azure-sdk-for-net sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/ListServiceSASWithDefaultProperties.json);
//   - 2022-09-01: likewise, st and se (…/StorageAccountTests/ListServiceSAS.json).
//
// None of them adds an st that was not asked for. An api-version without
// a recording answers as the newest recorded one before it: 2019-06-01
// as 2017-06-01, 2024-01-01 (armstorage v1.8's) as 2022-09-01.
func serviceSASTimes(apiVersion string) (wholeSeconds bool) {
	return apiVersion != "" && apiVersion < "2021-09-01"
}

// servicePermissionLetters are the permissions List Service SAS signs.
const servicePermissionLetters = "rdwlacup"

// sasVersion is the service version Resource Manager signs service SASes with.
const sasVersion = "2015-04-05"

// BuildServiceSAS validates List Service SAS parameters for an account and
// returns the SAS, or the name of the first invalid parameter.
func BuildServiceSAS(account string, keys [2][]byte, in ServiceSASParameters, now time.Time) (*SAS, string) {
	parts := strings.Split(strings.TrimPrefix(in.CanonicalizedResource, "/"), "/")
	if len(parts) < 3 || parts[0] != "blob" || parts[1] != account || !ValidContainerName(parts[2]) {
		return nil, "canonicalizedResource"
	}
	blob := strings.Join(parts[3:], "/")
	switch {
	case in.SignedResource == "c" && blob == "", in.SignedResource == "b" && blob != "":
	default:
		return nil, "signedResource"
	}
	// Letters are checked here; their order is left as given (Azure signs
	// "rdwlacup" as sent), which is why the tutorial warns that "Order is
	// important". The letters are the Permissions enum of
	// ServiceSasParameters.signedPermission (storage.json: r, d, w, l, a,
	// c, u, p); Azure/azure-sdk-for-net
	// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/StorageAccountTests/ListServiceSAS.json
	// signs "rdwlacup" for a container.
	if in.SignedPermission == "" && in.SignedIdentifier == "" {
		return nil, "signedPermission"
	}
	for _, c := range in.SignedPermission {
		if !strings.ContainsRune(servicePermissionLetters, c) {
			return nil, "signedPermission"
		}
	}
	switch in.SignedProtocol {
	case "", "https", "https,http":
	default:
		return nil, "signedProtocol"
	}
	if in.SignedIP != "" {
		if _, _, ok := parseIPRange(in.SignedIP); !ok {
			return nil, "signedIp"
		}
	}
	key := map[string]int{"": 1, "key1": 1, "key2": 2}[strings.ToLower(in.KeyToSign)] - 1
	if key < 0 {
		return nil, "keyToSign"
	}
	// No signedStart, no st: Azure signs only what it was given (every
	// recorded answer to a request without signedStart, see
	// serviceSASTimes, has none).
	start := ""
	// A UTC time is signed as given, or cut to whole seconds where the
	// api-version's recording shows that (serviceSASTimes); others are
	// converted to UTC.
	whole := serviceSASTimes(in.APIVersion)
	sasTime := func(v string) (string, bool) {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", false
		}
		if _, ok := parseSASTime(v); ok && strings.HasSuffix(v, "Z") && !whole {
			return v, true
		}
		return t.UTC().Format("2006-01-02T15:04:05Z"), true
	}
	if in.SignedStart != "" {
		var ok bool
		if start, ok = sasTime(in.SignedStart); !ok {
			return nil, "signedStart"
		}
	}
	expiry := ""
	if in.SignedExpiry != "" {
		var ok bool
		if expiry, ok = sasTime(in.SignedExpiry); !ok {
			return nil, "signedExpiry"
		}
	} else if in.SignedIdentifier == "" {
		return nil, "signedExpiry"
	}
	s := &SAS{
		Version: sasVersion, Resource: in.SignedResource, Permissions: in.SignedPermission, Start: start, Expiry: expiry,
		Identifier: in.SignedIdentifier, IP: in.SignedIP, Protocol: in.SignedProtocol,
		CacheControl: in.CacheControl, Disposition: in.ContentDisposition, Encoding: in.ContentEncoding,
		Language: in.ContentLanguage, ContentType: in.ContentType,
	}
	s.Signature = sign(keys[key], s.StringToSign(s.CanonicalResource(account, parts[2], blob)))
	return s, ""
}

// ListServiceSAS is Storage Accounts - List Service SAS.
// https://learn.microsoft.com/rest/api/storagerp/storage-accounts/list-service-sas
func (p *provider) ListServiceSAS(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	var in ServiceSASParameters
	if e := r.Decode(&in); e != nil {
		return arm.Fail(e)
	}
	in.APIVersion = r.APIVersion
	a, _ := p.s.Account(res.Name)
	sas, bad := BuildServiceSAS(res.Name, a.Keys, in, p.arm.Issuer.Now())
	if bad != "" {
		return arm.Fail(invalidValues(bad))
	}
	return arm.OK(map[string]any{"serviceSasToken": sas.Encode()})
}

// containerBody renders a container as Blob Containers - Get does: the
// etag beside properties, a legalHold block, metadata only when there is
// some, times with seven fractional digits. Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/BlobContainerTests/CreateDeleteBlobContainer.json (2021-09-01).
func (p *provider) containerBody(accountID string, c Container) map[string]any {
	access := "None"
	switch c.PublicAccess {
	case "blob":
		access = "Blob"
	case "container":
		access = "Container"
	}
	props := map[string]any{
		"deleted": false, "remainingRetentionDays": 0, "defaultEncryptionScope": "$account-encryption-key",
		"denyEncryptionScopeOverride": false, "publicAccess": access, "leaseStatus": "Unlocked", "leaseState": "Available",
		"lastModifiedTime":      c.LastModified.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"legalHold":             map[string]any{"hasLegalHold": false, "tags": []any{}},
		"hasImmutabilityPolicy": false, "hasLegalHold": false,
	}
	if len(c.Metadata) > 0 {
		props["metadata"] = c.Metadata
	}
	return map[string]any{
		"id":   accountID + "/blobServices/default/containers/" + c.Name,
		"name": c.Name, "type": typeContainer, "etag": c.ETag, "properties": props,
	}
}

// createdBody is the 201 of Blob Containers - Create: what was asked for
// and the immutability flags, no etag (it is in the ETag header); same
// recording as containerBody.
func (p *provider) createdBody(accountID string, c Container, access string, metadata map[string]string) map[string]any {
	props := map[string]any{"deleted": false, "remainingRetentionDays": 0, "hasImmutabilityPolicy": false, "hasLegalHold": false}
	if access != "" {
		props["publicAccess"] = access
	}
	if len(metadata) > 0 {
		props["metadata"] = metadata
	}
	return map[string]any{"id": accountID + "/blobServices/default/containers/" + c.Name, "name": c.Name, "type": typeContainer, "properties": props}
}

// containerFailure wraps a data-plane error as Resource Manager reports it;
// a missing container is ContainerNotFound (Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/BlobContainerTests/CreateDeleteBlobContainer.json,
// GET after the delete).
func containerFailure(e *Error) *arm.Error {
	if e.Code == "ContainerNotFound" {
		return arm.Errorf(e.Status, e.Code, "%s", e.Message)
	}
	return arm.Errorf(e.Status, "ContainerOperationFailure", "%s", e.Message)
}

// CreateBlobContainer is Blob Containers - Create: 201 when created, 200
// (with the public access level updated) when it existed.
func (p *provider) CreateBlobContainer(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	name := r.Var("containerName")
	if !ValidContainerName(name) || name == "$root" {
		return arm.Fail(containerFailure(errInvalidResourceName()))
	}
	var body struct {
		Properties struct {
			PublicAccess string            `json:"publicAccess"`
			Metadata     map[string]string `json:"metadata"`
		} `json:"properties"`
	}
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	access := map[string]string{"": "", "none": "", "blob": "blob", "container": "container"}
	pa, ok := access[strings.ToLower(body.Properties.PublicAccess)]
	if !ok {
		return arm.Fail(invalidValues("publicAccess"))
	}
	c, err := p.s.Store.CreateContainer(res.Name, name, Container{PublicAccess: pa, Metadata: body.Properties.Metadata})
	if err == ErrContainerExists {
		existing, _ := p.s.Store.GetContainer(res.Name, name)
		return arm.OK(p.containerBody(res.ID, existing))
	}
	if err != nil {
		return arm.Fail(containerFailure(storeError(err)))
	}
	return arm.Created(p.createdBody(res.ID, c, body.Properties.PublicAccess, body.Properties.Metadata)).WithHeader("ETag", c.ETag)
}

// GetBlobContainer is Blob Containers - Get.
func (p *provider) GetBlobContainer(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	c, err := p.s.Store.GetContainer(res.Name, r.Var("containerName"))
	if err != nil {
		return arm.Fail(containerFailure(storeError(err)))
	}
	return arm.OK(p.containerBody(res.ID, c)).WithHeader("ETag", c.ETag)
}

// DeleteBlobContainer is Blob Containers - Delete: 200 with an empty
// text/plain body (Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/BlobContainerTests/CreateDeleteBlobContainer.json),
// 204 when absent.
func (p *provider) DeleteBlobContainer(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	if err := p.s.Store.DeleteContainer(res.Name, r.Var("containerName"), nil); err != nil {
		return arm.Status(http.StatusNoContent, nil)
	}
	return arm.Status(http.StatusOK, textPlain.Clone())
}

// ListBlobContainers is Blob Containers - List: each container as
// ListContainerItem shows it, which is the GET's shape without legalHold
// and, from 2021-06-01 (the first blob.json with it), with
// immutableStorageWithVersioning. Azure/azure-sdk-for-net
// sdk/storage/Azure.ResourceManager.Storage/tests/SessionRecords/BlobContainerTests/GetAllBlobContainers.json
// (2022-09-01).
func (p *provider) ListBlobContainers(r *arm.Request) arm.Response {
	res, e := p.account(r)
	if e != nil {
		return arm.Fail(e)
	}
	cs, _ := p.s.Store.ListContainers(res.Name, "", "", int(^uint(0)>>1))
	value := []any{}
	for _, c := range cs {
		b := p.containerBody(res.ID, c)
		props := b["properties"].(map[string]any)
		delete(props, "legalHold")
		if r.APIVersion >= "2021-06-01" {
			props["immutableStorageWithVersioning"] = map[string]any{"enabled": false}
		}
		value = append(value, b)
	}
	return arm.OK(map[string]any{"value": value})
}
