package sql

import (
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
	a.Handle("GET", "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers", "", minAPI,
		func(r *arm.Request) arm.Response { return a.ListTyped(r, typeServer) })
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
// leaves "tags" out when there are none (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/sql/tests/latest/recordings/test_aadonly.yaml,
// GET server, 2021-02-01-preview).
// minimalTlsVersion is shown when it was set and, from 2022-08-01-preview,
// as "None" when it was not; that version also reports
// externalGovernanceStatus (Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/sql/tests/latest/recordings/test_sql_db_free_params.yaml).
func (p *provider) serverBody(res arm.Resource, apiVersion string) map[string]any {
	b := p.arm.TrackedBody(res)
	b["kind"] = "v12.0"
	if len(res.Tags) == 0 {
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
	prefix := map[string]string{opUpsertServer: "server", opCreateDatabase: "database", opCreateAdmin: "serverAdministrator"}[kind]
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
)

// sqlTime is how Microsoft.Sql prints times: UTC, milliseconds, no
// trailing zeros ("2022-12-29T06:41:44.777Z").
func sqlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z") }

// asyncOperation is the Azure-AsyncOperation status resource:
// {"name":id,"status":"InProgress"|"Succeeded","startTime":...}, 200 either
// way, with Retry-After while in progress.
func (p *provider) asyncOperation(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	op, inProgress, found := p.arm.PollOperation(r.Var("operationId"))
	if !found || (op.Kind != opUpsertServer && op.Kind != opCreateDatabase && op.Kind != opCreateAdmin) {
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The requested operation '%s' was not found.", r.Var("operationId")))
	}
	body := map[string]any{"name": op.ID, "status": "Succeeded", "startTime": sqlTime(op.Start)}
	if inProgress {
		body["status"] = "InProgress"
		return arm.OK(body).WithHeader("Retry-After", p.arm.RetryAfter())
	}
	return arm.OK(body)
}

// operationResult is the Location of a create: 202 while it runs, then
// 200 with the resource. [unverified: the recordings poll the
// Azure-AsyncOperation only; this follows the RPC's Location rules.]
func (p *provider) operationResult(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	op, inProgress, found := p.arm.PollOperation(r.Var("operationId"))
	if !found || (op.Kind != opUpsertServer && op.Kind != opCreateDatabase && op.Kind != opCreateAdmin) {
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The requested operation '%s' was not found.", r.Var("operationId")))
	}
	if inProgress {
		loc := "https://" + p.arm.Cloud.ARMHost + r.URL.Path + "?api-version=" + r.APIVersion
		return arm.Accepted(nil, http.Header{"Location": {loc}, "Retry-After": {p.arm.RetryAfter()}})
	}
	res, ok := p.arm.GetResource(op.ResourceID)
	if !ok {
		return arm.Fail(arm.Errorf(404, "ResourceNotFound", "The Resource '%s' was not found.", op.ResourceID))
	}
	switch res.Type {
	case typeDatabase:
		return arm.OK(p.dbBody(res, r.APIVersion))
	case typeAdmin:
		return arm.OK(p.adminBody(res, r.APIVersion))
	}
	return arm.OK(p.serverBody(res, r.APIVersion))
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
		if err := p.sql.clearStaleUsers(name, ""); err != nil {
			return arm.Fail(storeFailure(err))
		}
		if err := p.sql.PutServer(name); err != nil {
			return arm.Fail(storeFailure(err))
		}
	}
	if body.Tags != nil {
		res.Tags = body.Tags
	}
	if !found {
		// The server before its admin, and undone when Resource Manager's
		// state dir refuses it (a full disk): no server answers logins
		// that Resource Manager does not have.
		if _, err := p.arm.TryPutResource(res); err != nil {
			p.sql.DeleteServer(name)
			return arm.Fail(storeFailure(err))
		}
	}
	if a := body.Properties.Administrators; a != nil && a.SID != "" {
		if e := p.setAdmin(r, res, a.Login, a.SID, a.TenantID); e != nil {
			return arm.Fail(e)
		}
	}
	if found {
		p.arm.PutResource(res)
		return arm.OK(p.serverBody(res, r.APIVersion))
	}
	return p.accepted(r, opUpsertServer, res)
}

func (p *provider) deleteServer(r *arm.Request) arm.Response {
	if _, e := p.arm.RequireGroup(r); e != nil {
		return arm.Fail(e)
	}
	if _, ok := p.arm.DeleteResource(p.serverID(r)); !ok {
		return arm.Status(http.StatusNoContent, nil)
	}
	return arm.Status(http.StatusOK, nil)
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
		return arm.Fail(arm.ErrResourceNotFound(typeAdmin, r.Var("serverName")+"/ActiveDirectory", r.Var("resourceGroupName")))
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
	if tenant == "" {
		tenant = p.arm.TenantID
	}
	if !isGUID(sid) {
		return arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter Sid. Specify a valid parameter value.")
	}
	if !strings.EqualFold(tenant, p.arm.TenantID) {
		return arm.Errorf(400, "InvalidParameterValue", "Invalid value given for parameter TenantId. Specify a valid parameter value.")
	}
	// Resource Manager first: the admin is in force only once its
	// resource is on disk (a start restores admins from those).
	if _, err := p.arm.TryPutResource(arm.Resource{ID: srv.ID + "/administrators/ActiveDirectory", Name: "ActiveDirectory", Type: typeAdmin, ResourceGroup: srv.ResourceGroup, Created: time.Now().UTC(),
		Properties: map[string]any{"administratorType": "ActiveDirectory", "login": login, "sid": strings.ToLower(sid), "tenantId": tenant, "azureADOnlyAuthentication": false}}); err != nil {
		return storeFailure(err)
	}
	if err := p.sql.SetAdmin(srv.Name, &Admin{Login: login, SID: sid, TenantID: tenant}); err != nil {
		return arm.Errorf(500, "InternalServerError", "%v", err)
	}
	return nil
}

func (p *provider) deleteAdmin(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	if e := adminName(r); e != nil {
		return arm.Fail(e)
	}
	if _, ok := p.arm.DeleteResource(p.adminID(r)); !ok {
		return arm.Status(http.StatusNoContent, nil)
	}
	_ = p.sql.SetAdmin(srv.Name, nil)
	return arm.Status(http.StatusOK, nil)
}

func (p *provider) dbID(r *arm.Request) string {
	return p.serverID(r) + "/databases/" + r.Var("databaseName")
}

// dbBody renders a database with the properties of apiVersion. Fields and
// their order follow Azure/azure-sdk-for-net
// sdk/sqlmanagement/Azure.ResourceManager.Sql/tests/SessionRecords/SqlDatabaseTests/SqlDatabaseApiTestsWithEnclaves.json
// (GET database, 2022-05-01-preview); preferredEnclaveType is first in
// 2022-05-01-preview, the backup redundancy and ledger fields in
// 2021-02-01-preview (sql.json of those versions).
func (p *provider) dbBody(res arm.Resource, apiVersion string) map[string]any {
	b := p.arm.TrackedBody(res)
	b["kind"] = "v12.0,user"
	if strings.EqualFold(res.Name, "master") {
		b["kind"] = "v12.0,system"
	}
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
	if apiVersion >= "2022-05-01" {
		props["preferredEnclaveType"] = "Default"
	}
	b["properties"] = props
	return b
}

func (p *provider) getDatabase(r *arm.Request) arm.Response {
	if _, e := p.server(r); e != nil {
		return arm.Fail(e)
	}
	res, ok := p.arm.GetResource(p.dbID(r))
	if !ok {
		return arm.Fail(arm.ErrResourceNotFound(typeDatabase, r.Var("serverName")+"/"+r.Var("databaseName"), r.Var("resourceGroupName")))
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
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
	}
	if e := r.Decode(&body); e != nil {
		return arm.Fail(e)
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
			"databaseId": directory.NewGUID(), "creationDate": now.Format(time.RFC3339Nano),
			"currentServiceObjectiveName": "GP_S_Gen5_2", "requestedServiceObjectiveName": "GP_S_Gen5_2",
			"defaultSecondaryLocation": "", "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
			"zoneRedundant": false, "readScale": "Disabled", "currentSku": map[string]any{"name": "GP_S_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2},
		}}
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
	if _, ok := p.arm.DeleteResource(p.dbID(r)); !ok {
		return arm.Status(http.StatusNoContent, nil)
	}
	p.sql.DeleteDatabase(srv.Name, r.Var("databaseName"))
	return arm.Status(http.StatusOK, nil)
}

func (p *provider) listDatabases(r *arm.Request) arm.Response {
	srv, e := p.server(r)
	if e != nil {
		return arm.Fail(e)
	}
	value := []any{}
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

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }
