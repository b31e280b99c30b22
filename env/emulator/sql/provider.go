package sql

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/directory"
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
	return arm.OK(p.serverBody(res))
}

func (p *provider) serverBody(res arm.Resource) map[string]any {
	b := p.arm.TrackedBody(res)
	b["kind"] = "v12.0"
	return b
}

// putServer is Servers - Create Or Update. Azure answers 202 and finishes
// asynchronously; the emulator finishes at once and answers 201/200 with
// the final state, which clients polling for it accept as well.
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
		if tls == "" {
			tls = "1.2"
		}
		res = arm.Resource{ID: id, Name: name, Type: typeServer, ResourceGroup: g.Name, Location: arm.NormalizeLocation(body.Location), Created: time.Now().UTC(),
			Properties: map[string]any{
				"administratorLogin": body.Properties.AdministratorLogin, "version": "12.0", "state": "Ready",
				"fullyQualifiedDomainName": name + "." + p.sql.Cloud.SQLSuffix, "privateEndpointConnections": []any{},
				"minimalTlsVersion": tls, "publicNetworkAccess": "Enabled", "restrictOutboundNetworkAccess": "Disabled",
			}}
		if err := p.sql.PutServer(name); err != nil {
			return arm.Fail(arm.Errorf(500, "InternalServerError", "%v", err))
		}
	}
	if body.Tags != nil {
		res.Tags = body.Tags
	}
	if a := body.Properties.Administrators; a != nil && a.SID != "" {
		if e := p.setAdmin(r, res, a.Login, a.SID, a.TenantID); e != nil {
			return arm.Fail(e)
		}
	}
	p.arm.PutResource(res)
	if found {
		return arm.OK(p.serverBody(res))
	}
	return arm.Created(p.serverBody(res))
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

func (p *provider) adminBody(res arm.Resource) map[string]any {
	return map[string]any{"id": res.ID, "name": "ActiveDirectory", "type": typeAdmin, "properties": res.Properties}
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
	return arm.OK(p.adminBody(res))
}

// putAdmin is Server Azure AD Administrators - Create Or Update: the
// Microsoft Entra admin, whose sid is the principal's object id.
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
		return arm.OK(p.adminBody(res))
	}
	return arm.Created(p.adminBody(res))
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
	if err := p.sql.SetAdmin(srv.Name, &Admin{Login: login, SID: sid, TenantID: tenant}); err != nil {
		return arm.Errorf(500, "InternalServerError", "%v", err)
	}
	p.arm.PutResource(arm.Resource{ID: srv.ID + "/administrators/ActiveDirectory", Name: "ActiveDirectory", Type: typeAdmin, ResourceGroup: srv.ResourceGroup, Created: time.Now().UTC(),
		Properties: map[string]any{"administratorType": "ActiveDirectory", "login": login, "sid": strings.ToLower(sid), "tenantId": tenant, "azureADOnlyAuthentication": false}})
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

func (p *provider) dbBody(res arm.Resource) map[string]any {
	b := p.arm.TrackedBody(res)
	b["kind"] = "v12.0,user"
	if strings.EqualFold(res.Name, "master") {
		b["kind"] = "v12.0,system"
	}
	b["sku"] = map[string]any{"name": "GP_S_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2}
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
	return arm.OK(p.dbBody(res))
}

// putDatabase is Databases - Create Or Update.
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
		return arm.OK(p.dbBody(res))
	}
	if body.Location == "" {
		return arm.Fail(arm.Errorf(400, "LocationRequired", "The location property is required for this definition."))
	}
	if err := p.sql.PutDatabase(srv.Name, name); err != nil {
		return arm.Fail(arm.Errorf(500, "InternalServerError", "%v", err))
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
	p.arm.PutResource(res)
	return arm.Created(p.dbBody(res))
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
			value = append(value, p.dbBody(res))
		}
	}
	return arm.OK(map[string]any{"value": value})
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }
