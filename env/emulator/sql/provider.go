package sql

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/state"
)

// Microsoft.Sql resource types.
const (
	typeServer   = "Microsoft.Sql/servers"
	typeDatabase = "Microsoft.Sql/servers/databases"
	typeAdmin    = "Microsoft.Sql/servers/administrators"
)

const (
	serverPath = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers/{serverName}"
	// minAPI is the first GA api-version of servers and databases in the
	// 2014 "v12" surface.
	minAPI = "2014-04-01"
)

// serverNameRE: lowercase letters, digits and hyphens, 1-63 characters,
// not starting or ending with a hyphen.
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftsql
var serverNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// RegisterProvider adds Microsoft.Sql's servers, administrators and
// databases to Resource Manager, backed by s.
// REST: Azure/azure-rest-api-specs specification/sql/resource-manager/Microsoft.Sql (servers, ServerAzureADAdministrators, databases).
func RegisterProvider(a *arm.Server, s *Server) {
	p := &provider{arm: a, sql: s}
	a.Handle("GET", serverPath, typeServer+"/read", minAPI, p.getServer)
	a.Handle("PUT", serverPath, typeServer+"/write", minAPI, p.putServer)
	a.Handle("DELETE", serverPath, typeServer+"/delete", minAPI, p.deleteServer)
	a.Handle("GET", "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers", "", minAPI, p.listServers)
	adminPath := serverPath + "/administrators/{administratorName}"
	a.Handle("GET", adminPath, typeAdmin+"/read", minAPI, p.getAdmin)
	a.Handle("PUT", adminPath, typeAdmin+"/write", minAPI, p.putAdmin)
	a.Handle("DELETE", adminPath, typeAdmin+"/delete", minAPI, p.deleteAdmin)
	dbPath := serverPath + "/databases/{databaseName}"
	a.Handle("GET", dbPath, typeDatabase+"/read", minAPI, p.getDatabase)
	a.Handle("PUT", dbPath, typeDatabase+"/write", minAPI, p.putDatabase)
	a.Handle("DELETE", dbPath, typeDatabase+"/delete", minAPI, p.deleteDatabase)
	a.Handle("GET", serverPath+"/databases", typeDatabase+"/read", minAPI, p.listDatabases)
	// Where a create's progress is read (the Azure-AsyncOperation and
	// Location of its 202).
	locs := "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/locations/{location}/"
	a.Handle("GET", locs+"serverAzureAsyncOperation/{operationId}", "", minAPI, p.asyncOperation)
	a.Handle("GET", locs+"serverOperationResults/{operationId}", "", minAPI, p.operationResult)
	a.Handle("GET", locs+"databaseAzureAsyncOperation/{operationId}", "", minAPI, p.asyncOperation)
	a.Handle("GET", locs+"databaseOperationResults/{operationId}", "", minAPI, p.operationResult)
	a.Handle("GET", locs+"serverAdministratorAzureAsyncOperation/{operationId}", "", minAPI, p.asyncOperation)
	a.Handle("GET", locs+"serverAdministratorOperationResults/{operationId}", "", minAPI, p.operationResult)
	a.OnDelete(func(res arm.Resource) {
		if strings.EqualFold(res.Type, typeServer) {
			for _, child := range a.Resources("") {
				if strings.HasPrefix(strings.ToLower(child.ID), strings.ToLower(res.ID)+"/") {
					a.DeleteResource(child.ID)
				}
			}
			s.DeleteServer(res.Name)
		}
	})
}

type provider struct {
	arm *arm.Server
	sql *Server
}

func (p *provider) serverID(r *arm.Request) string {
	return p.arm.ResourceID(r, "Microsoft.Sql", "servers", r.Var("serverName"))
}

func (p *provider) server(r *arm.Request) (arm.Resource, *arm.Error) {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Resource{}, e
	}
	res, ok := p.arm.GetResource(p.serverID(r))
	if !ok {
		return arm.Resource{}, arm.ErrResourceNotFound(typeServer, r.Var("serverName"), r.Var("resourceGroupName"))
	}
	return res, nil
}

func (p *provider) getServer(r *arm.Request) arm.Response {
	res, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	return arm.OK(p.serverBody(res, r.APIVersion))
}

// serverBody renders a logical server. Unlike most providers, Microsoft.Sql
// leaves "tags" out when none were given (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/sql/tests/latest/recordings/test_aadonly.yaml,
// GET server, 2021-02-01-preview) and shows {} when {} was given
// (Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTests.json,
// the servers list after a PUT with "tags":{}).
// minimalTlsVersion is shown when it was set and, from 2022-08-01-preview,
// as "None" when it was not; that version also reports
// externalGovernanceStatus (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/sql/tests/latest/recordings/test_sql_db_free_params.yaml).
func (p *provider) serverBody(res arm.Resource, apiVersion string) map[string]any {
	b := p.arm.TrackedBody(res)
	b["kind"] = "v12.0"
	if res.Tags == nil {
		delete(b, "tags")
	}
	props := map[string]any{}
	for k, v := range res.Properties {
		props[k] = v
	}
	newer := apiVersion >= "2022-08-01"
	if tls, _ := props["minimalTlsVersion"].(string); tls == "" {
		delete(props, "minimalTlsVersion")
		if newer {
			props["minimalTlsVersion"] = "None"
		}
	}
	if newer {
		props["externalGovernanceStatus"] = "Disabled"
	}
	b["properties"] = props
	return b
}

// accepted is Microsoft.Sql's answer to a create it runs in the
// background: 202, {"operation":...,"startTime":...}, an
// Azure-AsyncOperation to poll for the status, a Location for the result
// and Retry-After. Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTestsWithEnclaves.json
// (servers: UpsertLogicalServer, serverAzureAsyncOperation; databases:
// CreateLogicalDatabase, databaseAzureAsyncOperation).
func (p *provider) accepted(r *arm.Request, kind string, res arm.Resource) arm.Response {
	op := p.arm.BeginOperation(res.ID, kind)
	prefix := opFamily[kind]
	loc := res.Location
	if loc == "" { // the admin has no location of its own: its server's
		if srv, ok := p.arm.GetResource(strings.TrimSuffix(res.ID, "/administrators/ActiveDirectory")); ok {
			loc = srv.Location
		}
	}
	base := p.arm.GroupID(res.ResourceGroup) + "/providers/Microsoft.Sql/locations/" + loc + "/"
	return arm.Accepted(map[string]any{"operation": kind, "startTime": sqlTime(op.Start)}, http.Header{
		"Azure-AsyncOperation": {p.arm.OperationURL(base+prefix+"AzureAsyncOperation/"+op.ID, r.APIVersion)},
		"Location":             {p.arm.OperationURL(base+prefix+"OperationResults/"+op.ID, r.APIVersion)},
		"Retry-After":          {p.arm.RetryAfter()},
	})
}

// Operation names Microsoft.Sql reports in a 202's body.
const (
	opUpsertServer   = "UpsertLogicalServer"
	opCreateDatabase = "CreateLogicalDatabase"
	opCreateAdmin    = "CreateActiveDirectoryAdministrator"
	// Deletes are long-running too: Azure/azure-sdk-for-net
	// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTests.json
	// (DELETE server 2021-02-01-preview, DELETE database 2022-05-01-preview:
	// 202 with these names, Azure-AsyncOperation, Location, Retry-After 15).
	opDropServer   = "DropLogicalServer"
	opDropDatabase = "DropLogicalDatabase"
	// Removing the Azure AD admin too: 202 DropActiveDirectoryAdministrator
	// with Azure-AsyncOperation, Location and Retry-After, the Location
	// answering 200 without a body once done. Azure/azure-sdk-for-net
	// sdk/sqlmanagement/Microsoft.Azure.Management.Sql/tests/SessionRecords/ActiveDirectoryAdministratorTest/TestSetServerActiveDirectoryAdministrator.json
	// (live, 2019-06-01-preview).
	opDropAdmin = "DropActiveDirectoryAdministrator"
)

// opFamily is the first part of the polling URLs' last-but-one segment
// ({family}AzureAsyncOperation, {family}OperationResults) for each
// operation: an operation is found only under its own family's URLs.
var opFamily = map[string]string{
	opUpsertServer: "server", opDropServer: "server",
	opCreateDatabase: "database", opDropDatabase: "database",
	opCreateAdmin: "serverAdministrator", opDropAdmin: "serverAdministrator",
}

// pollFamily is the family of the polling URL r was sent to.
func pollFamily(r *arm.Request) string {
	segs := strings.Split(strings.TrimSuffix(r.URL.Path, "/"), "/")
	if len(segs) < 2 {
		return ""
	}
	kind := segs[len(segs)-2]
	for _, suffix := range []string{"AzureAsyncOperation", "OperationResults"} {
		if len(kind) > len(suffix) && strings.EqualFold(kind[len(kind)-len(suffix):], suffix) {
			return strings.ToLower(kind[:len(kind)-len(suffix)])
		}
	}
	return ""
}

// pollOperation finds the operation a polling URL names, counting the
// poll, or answers Microsoft.Sql's 404.
func (p *provider) pollOperation(r *arm.Request) (arm.Operation, bool, *arm.Error) {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Operation{}, false, e
	}
	op, inProgress, found := p.arm.PollOperation(r.Var("operationId"))
	if !found || !strings.EqualFold(opFamily[op.Kind], pollFamily(r)) {
		return arm.Operation{}, false, arm.Errorf(404, "ResourceNotFound", "The requested operation '%s' was not found.", r.Var("operationId"))
	}
	return op, inProgress, nil
}

// sqlTime is how Microsoft.Sql prints times: UTC, milliseconds, no
// trailing zeros ("2022-12-29T06:41:44.777Z").
func sqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z") }

// asyncOperation is the Azure-AsyncOperation status resource:
// {"name":id,"status":"InProgress"|"Succeeded","startTime":...}, 200 either
// way, with Retry-After while in progress.
func (p *provider) asyncOperation(r *arm.Request) arm.Response {
	op, inProgress, e := p.pollOperation(r)
	if e != nil {
		return arm.Fail(e)
	}
	body := map[string]any{"name": op.ID, "status": "Succeeded", "startTime": sqlTime(op.Start)}
	if inProgress {
		body["status"] = "InProgress"
		return arm.OK(body).WithHeader("Retry-After", p.arm.RetryAfter())
	}
	return arm.OK(body)
}

// operationResult is the Location of an operation: 202 (Location and
// Retry-After again) while it runs [unverified: every recording polls the
// Azure-AsyncOperation until it is done and reads the Location only then];
// then 200 with the resource in the shape Microsoft.Sql's operation
// results have (resultServerBody, resultDBBody); for the admin's drop 200
// without a body (recorded, see opDropAdmin), for a server's or a
// database's drop 204 [unverified: no recording reads those drops' Location].
// URL shape (locations/{location}/{family}OperationResults/{id}, the
// request's api-version): Azure/azure-sdk-for-js
// sdk/sql/arm-sql/recordings/node/sql_test/recording_servers_update_test.json,
// recording_databases_update_test.json; Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/sql/tests/latest/recordings/test_aad_admin.yaml.
func (p *provider) operationResult(r *arm.Request) arm.Response {
	op, inProgress, e := p.pollOperation(r)
	if e != nil {
		return arm.Fail(e)
	}
	if inProgress {
		loc := "https://" + p.arm.Cloud.ARMHost + r.URL.Path + "?api-version=" + r.APIVersion
		return arm.Accepted(nil, http.Header{"Location": {loc}, "Retry-After": {p.arm.RetryAfter()}})
	}
	if op.Kind == opDropAdmin {
		// Recorded: 200, Content-Length 0, no Content-Type (see opDropAdmin).
		return arm.Status(http.StatusOK, http.Header{"Content-Length": {"0"}})
	}
	if op.Kind == opDropServer || op.Kind == opDropDatabase {
		return arm.Status(http.StatusNoContent, nil)
	}
	res, ok := p.arm.GetResource(op.ResourceID)
	if !ok {
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The Resource '%s' was not found.", op.ResourceID))
	}
	switch res.Type {
	case typeDatabase:
		return arm.OK(p.resultDBBody(res, r.APIVersion))
	case typeAdmin:
		return arm.OK(p.adminBody(res, r.APIVersion))
	}
	return arm.OK(resultServerBody(p.serverBody(res, r.APIVersion)))
}

// resultServerBody is a server as its operation result shows it: kind,
// id, name, type, tags and the first five properties, without location.
// Azure/azure-sdk-for-js sdk/sql/arm-sql/recordings/node/sql_test/recording_servers_update_test.json
// (2021-02-01-preview, 2022) and its 2021 recording_servers_update_test.js
// show the same shape.
func resultServerBody(b map[string]any) map[string]any {
	delete(b, "location")
	props := map[string]any{}
	for _, k := range []string{"administratorLogin", "version", "state", "fullyQualifiedDomainName", "privateEndpointConnections"} {
		if v, ok := b["properties"].(map[string]any)[k]; ok {
			props[k] = v
		}
	}
	b["properties"] = props
	return b
}

// resultDBBody is a database as its operation result shows it: the
// properties of the older DTU-era shape (storageAccountType instead of the
// backup redundancy pair, no zoneRedundant, readScale or ledger flags) and
// no tags. Azure/azure-sdk-for-js
// sdk/sql/arm-sql/recordings/node/sql_test/recording_databases_update_test.json
// (databaseOperationResults, 2021-05-01-preview; the GET of the same
// database at that version has the full shape).
func (p *provider) resultDBBody(res arm.Resource, apiVersion string) map[string]any {
	b := p.dbBody(res, apiVersion)
	delete(b, "tags")
	full := b["properties"].(map[string]any)
	props := map[string]any{}
	for _, k := range []string{"collation", "maxSizeBytes", "status", "databaseId", "creationDate", "currentServiceObjectiveName",
		"requestedServiceObjectiveName", "defaultSecondaryLocation", "catalogCollation", "currentSku"} {
		if v, ok := full[k]; ok {
			props[k] = v
		}
	}
	props["storageAccountType"] = "GRS"
	props["maintenanceConfigurationId"] = "/subscriptions/" + p.arm.SubscriptionID + "/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default"
	b["properties"] = props
	return b
}

// putServer is Servers - Create Or Update. A new server is accepted (202,
// see accepted) and its admin and DNS name exist at once; an existing one
// is updated in place (200).
func (p *provider) putServer(r *arm.Request) arm.Response {
	g, e := p.arm.RequireGroup(r)
	if e != nil {
		return arm.Fail(e)
	}
	name := r.Var("serverName")
	if !serverNameRE.MatchString(name) {
		return arm.Fail(arm.Errorf(400, "InvalidServerName", "Invalid server name '%s'. Server names must be lowercase letters, numbers and hyphens, cannot start or end with a hyphen, and must be at most 63 characters.", name))
	}
	var body struct {
		Location   string            `json:"location"`
		Tags       map[string]string `json:"tags"`
		Properties struct {
			AdministratorLogin string `json:"administratorLogin"`
			Version            string `json:"version"`
			MinimalTLSVersion  string `json:"minimalTlsVersion"`
			Administrators     *struct {
				Login                     string `json:"login"`
				SID                       string `json:"sid"`
				TenantID                  string `json:"tenantId"`
				AzureADOnlyAuthentication *bool  `json:"azureADOnlyAuthentication"`
			} `json:"administrators"`
		} `json:"properties"`
	}
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	id := p.serverID(r)
	existing, found := p.arm.GetResource(id)
	if !found && body.Location == "" {
		return arm.Fail(arm.Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	if !found && body.Properties.AdministratorLogin == "" && body.Properties.Administrators == nil {
		return arm.Fail(arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter Login. Specify a valid parameter value."))
	}
	res := existing
	if !found {
		tls := body.Properties.MinimalTLSVersion
		res = arm.Resource{ID: id, Name: name, Type: typeServer, ResourceGroup: g.Name, Location: arm.NormalizeLocation(body.Location), Created: time.Now().UTC(),
			Properties: map[string]any{
				"administratorLogin": body.Properties.AdministratorLogin, "version": "12.0", "state": "Ready",
				"fullyQualifiedDomainName": name + "." + p.sql.Cloud.SQLSuffix, "privateEndpointConnections": []any{},
				"minimalTlsVersion": tls, "publicNetworkAccess": "Enabled", "restrictOutboundNetworkAccess": "Disabled",
			}}
	}
	if body.Tags != nil {
		res.Tags = body.Tags
	}
	// The whole request is checked before anything changes: a 400 leaves
	// no server behind.
	write := []arm.Resource{res}
	var admin *Admin
	if a := body.Properties.Administrators; a != nil && a.SID != "" {
		adminRes, ad, e := p.adminResource(res, a.Login, a.SID, a.TenantID)
		if e != nil {
			return arm.Fail(e)
		}
		write, admin = append(write, adminRes), ad
	}
	if !found {
		if err := p.sql.clearStaleUsers(name, ""); err != nil {
			return arm.Fail(storeFailure(err))
		}
		if err := p.sql.PutServer(name); err != nil {
			return arm.Fail(storeFailure(err))
		}
	}
	// The server and its admin are one write to Resource Manager's state:
	// refused (a full disk), neither is stored and a new server is dropped
	// from the TDS endpoint again, so no login reaches a server Resource
	// Manager does not have, and "nothing was changed" holds.
	if _, err := p.arm.TryPutResources(write...); err != nil {
		if !found {
			p.sql.DeleteServer(name)
		}
		return arm.Fail(storeFailure(err))
	}
	if admin != nil {
		if err := p.sql.SetAdmin(name, admin); err != nil {
			return arm.Fail(arm.Errorf(500, "InternalServerError", "%v", err))
		}
	}
	if found {
		return arm.OK(p.serverBody(res, r.APIVersion))
	}
	return p.accepted(r, opUpsertServer, res)
}

// deleteServer is Servers - Delete: the server goes at once, and the
// answer is Azure's 202 for a drop it runs in the background (see
// opDropServer); 204 when there was no server.
func (p *provider) deleteServer(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	res, ok := p.arm.DeleteResource(p.serverID(r))
	if !ok {
		return arm.Status(http.StatusNoContent, nil)
	}
	return p.accepted(r, opDropServer, res)
}

// listServers is Servers - List By Resource Group: each server as its GET
// shows it (Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTests.json).
func (p *provider) listServers(r *arm.Request) arm.Response {
	return p.arm.ListInGroup(r, typeServer, func(res arm.Resource) any { return p.serverBody(res, r.APIVersion) })
}

func (p *provider) adminID(r *arm.Request) string {
	return p.serverID(r) + "/administrators/ActiveDirectory"
}

func adminName(r *arm.Request) *arm.Error {
	if !strings.EqualFold(r.Var("administratorName"), "ActiveDirectory") {
		return arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter AdministratorName. Specify a valid parameter value.")
	}
	return nil
}

// adminBody renders the Microsoft Entra admin as recorded at
// 2020-11-01-preview: "type" is "Microsoft.Sql/servers" (sic) and the
// properties are administratorType, login, sid and tenantId (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/sql/tests/latest/recordings/test_aad_admin.yaml);
// later versions add azureADOnlyAuthentication (sql.json ServerAzureADAdministrator).
func (p *provider) adminBody(res arm.Resource, apiVersion string) map[string]any {
	props := map[string]any{}
	for k, v := range res.Properties {
		props[k] = v
	}
	if apiVersion < "2021-02-01" {
		delete(props, "azureADOnlyAuthentication")
	}
	return map[string]any{"id": res.ID, "name": "ActiveDirectory", "type": typeServer, "properties": props}
}

func (p *provider) getAdmin(r *arm.Request) arm.Response {
	if _, e := p.server(r); e != nil {
		return arm.Fail(e)
	}
	if e := adminName(r); e != nil {
		return arm.Fail(e)
	}
	res, ok := p.arm.GetResource(p.adminID(r))
	if !ok {
		return arm.Fail(childNotFound(r, "administrators", "ActiveDirectory"))
	}
	return arm.OK(p.adminBody(res, r.APIVersion))
}

// putAdmin is Server Azure AD Administrators - Create Or Update: the
// Microsoft Entra admin, whose sid is the principal's object id. A new
// admin is accepted (202, see accepted) and in force at once; a change
// answers 200.
func (p *provider) putAdmin(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	if e := adminName(r); e != nil {
		return arm.Fail(e)
	}
	var body struct {
		Properties struct {
			AdministratorType string `json:"administratorType"`
			Login             string `json:"login"`
			SID               string `json:"sid"`
			TenantID          string `json:"tenantId"`
		} `json:"properties"`
	}
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	if body.Properties.AdministratorType != "" && body.Properties.AdministratorType != "ActiveDirectory" {
		return arm.Fail(arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter AdministratorType. Specify a valid parameter value."))
	}
	if body.Properties.Login == "" || body.Properties.SID == "" {
		return arm.Fail(arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter Login. Specify a valid parameter value."))
	}
	_, existed := p.arm.GetResource(p.adminID(r))
	if e := p.setAdmin(r, srv, body.Properties.Login, body.Properties.SID, body.Properties.TenantID); e != nil {
		return arm.Fail(e)
	}
	res, _ := p.arm.GetResource(p.adminID(r))
	if existed {
		return arm.OK(p.adminBody(res, r.APIVersion))
	}
	return p.accepted(r, opCreateAdmin, res)
}

func (p *provider) setAdmin(r *arm.Request, srv arm.Resource, login, sid, tenant string) *arm.Error {
	res, a, e := p.adminResource(srv, login, sid, tenant)
	if e != nil {
		return e
	}
	// Resource Manager first: the admin is in force only once its
	// resource is on disk (a start restores admins from those).
	if _, err := p.arm.TryPutResource(res); err != nil {
		return storeFailure(err)
	}
	if err := p.sql.SetAdmin(srv.Name, a); err != nil {
		return arm.Errorf(500, "InternalServerError", "%v", err)
	}
	return nil
}

// adminResource checks an Entra admin for srv and returns its resource and
// the admin the TDS endpoint takes, changing nothing.
func (p *provider) adminResource(srv arm.Resource, login, sid, tenant string) (arm.Resource, *Admin, *arm.Error) {
	if tenant == "" {
		tenant = p.arm.TenantID
	}
	if !directory.IsGUID(sid) {
		return arm.Resource{}, nil, arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter Sid. Specify a valid parameter value.")
	}
	if !strings.EqualFold(tenant, p.arm.TenantID) {
		return arm.Resource{}, nil, arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter TenantId. Specify a valid parameter value.")
	}
	res := arm.Resource{ID: srv.ID + "/administrators/ActiveDirectory", Name: "ActiveDirectory", Type: typeAdmin, ResourceGroup: srv.ResourceGroup, Created: time.Now().UTC(),
		Properties: map[string]any{"administratorType": "ActiveDirectory", "login": login, "sid": strings.ToLower(sid), "tenantId": tenant, "azureADOnlyAuthentication": false}}
	return res, &Admin{Login: login, SID: sid, TenantID: tenant}, nil
}

// deleteAdmin is Server Azure AD Administrators - Delete: the admin goes
// at once and the answer is the recorded 202 of a drop run in the
// background (opDropAdmin); 204, without a body, when there was none (the
// REST spec's example allows 200, 202 and 204: Azure/azure-rest-api-specs
// specification/sql/resource-manager/Microsoft.Sql/stable/2023-08-01/examples/AdministratorDelete.json).
func (p *provider) deleteAdmin(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	if e := adminName(r); e != nil {
		return arm.Fail(e)
	}
	res, ok := p.arm.DeleteResource(p.adminID(r))
	if !ok {
		return arm.Status(http.StatusNoContent, nil)
	}
	_ = p.sql.SetAdmin(srv.Name, nil)
	return p.accepted(r, opDropAdmin, res)
}

// childNotFound is Resource Manager's 404 for a server's child, which
// names it by its path: "The Resource 'Microsoft.Sql/servers/{server}/databases/{db}'
// under resource group …" (Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTestsWithEnclaves.json).
func childNotFound(r *arm.Request, kind, name string) *arm.Error {
	return arm.ErrResourceNotFound(typeServer, r.Var("serverName")+"/"+kind+"/"+name, r.Var("resourceGroupName"))
}

func (p *provider) dbID(r *arm.Request) string {
	return p.serverID(r) + "/databases/" + r.Var("databaseName")
}

// dbBody renders a database with the properties of apiVersion. Fields and
// their order follow Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTestsWithEnclaves.json
// (GET database, 2022-05-01-preview); preferredEnclaveType is first in
// 2022-05-01-preview, the backup redundancy and ledger fields in
// 2021-02-01-preview (sql.json of those versions). preferredEnclaveType is
// shown only for a database created with one (the same test's recording
// without enclaves, SqlDatabaseApiTests.json, has none at
// 2022-05-01-preview), and "tags" only when some were given, {} included
// (Azure/azure-sdk-for-js sdk/sql/arm-sql/recordings/node/sql_test/recording_databases_create_test.json
// creates a database without tags, and its GET has none).
func (p *provider) dbBody(res arm.Resource, apiVersion string) map[string]any {
	b := p.arm.TrackedBody(res)
	if res.Tags == nil {
		delete(b, "tags")
	}
	b["kind"] = "v12.0,user"
	b["sku"] = map[string]any{"name": "GP_S_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2}
	props := map[string]any{}
	for k, v := range res.Properties {
		props[k] = v
	}
	sub := "/subscriptions/" + p.arm.SubscriptionID
	if apiVersion >= "2021-02-01" {
		props["currentBackupStorageRedundancy"] = "Geo"
		props["requestedBackupStorageRedundancy"] = "Geo"
		props["maintenanceConfigurationId"] = sub + "/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default"
		props["isLedgerOn"] = false
		props["isInfraEncryptionEnabled"] = false
		// Serverless (GP_S) databases report their pause settings
		// (sql.json Database examples: autoPauseDelay 60, minCapacity 0.5).
		props["autoPauseDelay"] = 60
		props["minCapacity"] = 0.5
	}
	if apiVersion < "2022-05-01" {
		delete(props, "preferredEnclaveType")
	}
	b["properties"] = props
	return b
}

// masterBody is the master database every logical server has, as the
// databases list shows it: a System database managed by the server, with
// local backup redundancy and no tags. Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTests.json
// (2022-05-01-preview); Azure/azure-sdk-for-js
// sdk/sql/arm-sql/recordings/node/sql_test/recording_databases_delete_test.json
// (2021-05-01-preview, the same shape).
func (p *provider) masterBody(srv arm.Resource, apiVersion string) map[string]any {
	system := map[string]any{"name": "System", "tier": "System", "capacity": 0}
	props := map[string]any{
		"collation": "SQL_Latin1_General_CP1_CI_AS", "maxSizeBytes": 53687091200, "status": "Online",
		"databaseId": masterID(srv.ID), "creationDate": srv.Created.UTC().Format("2006-01-02T15:04:05.999Z"),
		"currentServiceObjectiveName": "System2", "requestedServiceObjectiveName": "System2",
		"defaultSecondaryLocation": "", "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
		"zoneRedundant": false, "readScale": "Disabled", "currentSku": system,
	}
	if apiVersion >= "2021-02-01" {
		props["currentBackupStorageRedundancy"] = "Local"
		props["requestedBackupStorageRedundancy"] = "Local"
		props["maintenanceConfigurationId"] = "/subscriptions/" + p.arm.SubscriptionID + "/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default"
		props["isLedgerOn"] = false
		props["isInfraEncryptionEnabled"] = false
	}
	return map[string]any{
		"sku": system, "kind": "v12.0,system", "managedBy": srv.ID, "properties": props,
		"location": srv.Location, "id": srv.ID + "/databases/master", "name": "master", "type": typeDatabase,
	}
}

// masterID is a stable databaseId for a server's master database (a name
// based GUID of the server's id, so that it does not change between GETs).
func masterID(serverID string) string {
	h := sha1.Sum([]byte(strings.ToLower(serverID)))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func (p *provider) getDatabase(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	if strings.EqualFold(r.Var("databaseName"), "master") {
		return arm.OK(p.masterBody(srv, r.APIVersion))
	}
	res, ok := p.arm.GetResource(p.dbID(r))
	if !ok {
		return arm.Fail(childNotFound(r, "databases", r.Var("databaseName")))
	}
	return arm.OK(p.dbBody(res, r.APIVersion))
}

// putDatabase is Databases - Create Or Update: a new database is accepted
// (202, see accepted), an existing one updated in place (200).
func (p *provider) putDatabase(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	name := r.Var("databaseName")
	if strings.EqualFold(name, "master") || len(name) > 128 || strings.ContainsAny(name, `<>*%&:\/?`) {
		return arm.Fail(arm.Errorf(400, "InvalidDatabaseName", "The database name '%s' is invalid.", name))
	}
	var body struct {
		Location   string            `json:"location"`
		Tags       map[string]string `json:"tags"`
		Properties struct {
			PreferredEnclaveType string `json:"preferredEnclaveType"`
		} `json:"properties"`
	}
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
	}
	enclave := body.Properties.PreferredEnclaveType
	if enclave != "" && enclave != "Default" && enclave != "VBS" {
		return arm.Fail(arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter PreferredEnclaveType. Specify a valid parameter value."))
	}
	id := p.dbID(r)
	if res, found := p.arm.GetResource(id); found {
		if body.Tags != nil {
			res.Tags = body.Tags
			p.arm.PutResource(res)
		}
		return arm.OK(p.dbBody(res, r.APIVersion))
	}
	if body.Location == "" {
		return arm.Fail(arm.Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	if err := p.sql.clearStaleUsers(srv.Name, name); err != nil {
		return arm.Fail(storeFailure(err))
	}
	if err := p.sql.PutDatabase(srv.Name, name); err != nil {
		return arm.Fail(storeFailure(err))
	}
	now := time.Now().UTC()
	res := arm.Resource{ID: id, Name: name, Type: typeDatabase, ResourceGroup: srv.ResourceGroup, Location: arm.NormalizeLocation(body.Location), Tags: body.Tags, Created: now,
		Properties: map[string]any{
			"collation": "SQL_Latin1_General_CP1_CI_AS", "maxSizeBytes": 34359738368, "status": "Online",
			"databaseId": directory.NewGUID(), "creationDate": sqlTime(now),
			"currentServiceObjectiveName": "GP_S_Gen5_2", "requestedServiceObjectiveName": "GP_S_Gen5_2",
			"defaultSecondaryLocation": "", "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
			"zoneRedundant": false, "readScale": "Disabled", "currentSku": map[string]any{"name": "GP_S_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2},
		}}
	if enclave != "" {
		res.Properties["preferredEnclaveType"] = enclave
	}
	if _, err := p.arm.TryPutResource(res); err != nil {
		// Refused (a full disk): the database goes again, so no login
		// reaches a database Resource Manager does not have.
		p.sql.DeleteDatabase(srv.Name, name)
		return arm.Fail(storeFailure(err))
	}
	return p.accepted(r, opCreateDatabase, res)
}

func (p *provider) deleteDatabase(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	res, ok := p.arm.DeleteResource(p.dbID(r))
	if !ok {
		return arm.Status(http.StatusNoContent, nil)
	}
	p.sql.DeleteDatabase(srv.Name, r.Var("databaseName"))
	// Azure's 202 for a drop (see opDropDatabase).
	return p.accepted(r, opDropDatabase, res)
}

func (p *provider) listDatabases(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	// master first, as recorded (see masterBody).
	value := []any{p.masterBody(srv, r.APIVersion)}
	prefix := strings.ToLower(srv.ID) + "/databases/"
	for _, res := range p.arm.Resources(typeDatabase) {
		if strings.HasPrefix(strings.ToLower(res.ID), prefix) {
			value = append(value, p.dbBody(res, r.APIVersion))
		}
	}
	return arm.OK(map[string]any{"value": value})
}

// storeFailure answers a create the state dir refused, naming the cause:
// Resource Manager's log or a database file on a full disk.
func storeFailure(err error) *arm.Error {
	var we *state.WriteError
	if isFull(err) && !(errors.As(err, &we) && we.Sticky) {
		return arm.Errorf(http.StatusInternalServerError, "InternalServerError", "The change could not be saved: the emulator's state directory is full (%v). Nothing was changed; retry once the disk has space.", err)
	}
	if errors.As(err, &we) {
		return arm.StoreFailure(err)
	}
	return arm.Errorf(http.StatusInternalServerError, "InternalServerError", "%v", err)
}
