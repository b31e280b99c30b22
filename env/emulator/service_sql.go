package emulator

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"

	sqlsrv "github.com/miconform/miconform/env/emulator/sql"
	"github.com/miconform/miconform/env/emulator/state"
)

// The SQL tutorial's world: a logical server (its name is global DNS, so it
// carries part of the subscription id), a database and a table with rows.
const (
	SeedSQLDatabase = "TutorialDB"
	SeedSQLTable    = "Inventory"
)

// sqlService is Azure SQL: TDS on its own listener (Config.SQLAddr,
// default a free loopback port) for every logical server, reached at
// {server}.{SQLSuffix}:1433, and Microsoft.Sql in Resource Manager. Not
// HTTPS, so not in the services fault.
func sqlService(e *Emulator) *service {
	e.SQL = sqlsrv.New(e.Cloud, e.Issuer, e.Dir, e.leaf)
	// The same cap as every HTTP listener's, on each TDS listener.
	e.SQL.SetMaxConns(e.limits().MaxConns)
	sqlsrv.RegisterProvider(e.ARM, e.SQL)
	return &service{
		title: "Azure SQL",
		log:   "sql", restore: func(l *state.Log) error { return e.SQL.Persist(filepath.Join(e.cfg.StateDir, "sql"), l, e.ARM) },
		seed: func(string, string) error { return e.seedSQL() },
		// {server}.database.<suffix>:1433; the TDS server picks the logical
		// server from LOGIN7, as the Azure SQL gateway does.
		vm: []VMEndpoint{{Addr: "127.0.0.1:1433", Serve: func(ln net.Listener) { _ = e.SQL.Serve(ln) }}},
		endpoints: []endpoint{{
			match:    func(host, port string) bool { return port == "1433" && e.isSQLHost(host) },
			listener: e.SQLAddr,
		}},
		start: func() error {
			addr := e.cfg.SQLAddr
			if addr == "" {
				addr = "127.0.0.1:0"
			}
			if err := e.SQL.Listen(addr); err != nil {
				return fmt.Errorf("emulator: SQL listener: %w", err)
			}
			return nil
		},
		close: func() { e.SQL.Close() },
	}
}

// SQLAddr is the host:port serving TDS for every logical server; a VM
// reaches it at {server}.{SQLSuffix}:1433.
func (e *Emulator) SQLAddr() string { return e.SQL.Addr() }

// isSQLHost reports whether host is a logical server's name,
// {server}.database.{suffix}.
func (e *Emulator) isSQLHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return strings.HasSuffix(host, "."+e.Cloud.SQLSuffix) && len(host) > len(e.Cloud.SQLSuffix)+1
}

// seedSQL creates the SQL tutorial's server with the operator as its
// Microsoft Entra admin, a database with a table of rows, and the contained
// user for the VM's system-assigned identity with db_datareader, all as
// the tutorial does it: the portal through Resource Manager, the T-SQL as
// the admin.
func (e *Emulator) seedSQL() error {
	server := "miconform-" + e.ids.SubscriptionID[:8]
	srvID := "/subscriptions/" + e.ids.SubscriptionID + "/resourceGroups/" + SeedResourceGroup + "/providers/Microsoft.Sql/servers/" + server
	if _, err := e.operatorCall("PUT", srvID+"?api-version=2023-08-01", map[string]any{
		"location": e.Cloud.DefaultLocation,
		"properties": map[string]any{"administrators": map[string]any{
			"administratorType": "ActiveDirectory", "login": e.Operator.DisplayName, "sid": e.Operator.ObjectID,
			"tenantId": e.ids.TenantID, "azureADOnlyAuthentication": true,
		}},
	}); err != nil {
		return err
	}
	if _, err := e.operatorCall("PUT", srvID+"/databases/"+SeedSQLDatabase+"?api-version=2023-08-01", map[string]any{"location": e.Cloud.DefaultLocation}); err != nil {
		return err
	}
	if err := e.SQL.RunAs(server, SeedSQLDatabase, e.Operator.ObjectID, `
		CREATE TABLE dbo.`+SeedSQLTable+` (Id INT IDENTITY(1,1) PRIMARY KEY, Name NVARCHAR(50) NOT NULL, Quantity INT NOT NULL);
		INSERT INTO dbo.`+SeedSQLTable+` (Name, Quantity) VALUES (N'banana', 150), (N'orange', 154), (N'apple', 100);
		CREATE USER [`+SeedVMName+`] FROM EXTERNAL PROVIDER;
		ALTER ROLE db_datareader ADD MEMBER [`+SeedVMName+`];`); err != nil {
		return err
	}
	e.World.SQLServer, e.World.SQLDatabase, e.World.SQLTable = server, SeedSQLDatabase, SeedSQLTable
	return nil
}
