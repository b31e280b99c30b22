package sql_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/require"
)

type hostDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (d hostDialer) DialContext(ctx context.Context, n, a string) (net.Conn, error) {
	return d(ctx, n, a)
}
func (d hostDialer) HostName() string { return "" }

// TestSeededWorld reads the seeded SQL world the way a user of `emulate`
// would: Resource Manager shows the server with its host name, and the VM's
// identity reads the seeded table through the emulator's dialer.
func TestSeededWorld(t *testing.T) {
	c := cloud.MustLookup("AzureChinaCloud")
	// Listening: the TDS client dials.
	e := emulatortest.Start(t, emulatortest.Options{Config: emulator.Config{Cloud: c, Seed: "tutorials"}, Listen: true})
	w := e.World
	require.NotEmpty(t, w.SQLServer)

	op, err := e.Issuer.AppToken(e.Operator, c.ARMResource)
	require.NoError(t, err)
	get := func(path string) map[string]any {
		req, _ := http.NewRequest("GET", "https://"+c.ARMHost+path, nil)
		req.Header.Set("Authorization", "Bearer "+op.Raw)
		resp, err := e.HTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(b))
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	srv := "/subscriptions/" + e.SubscriptionID() + "/resourceGroups/" + w.ResourceGroup + "/providers/Microsoft.Sql/servers/" + w.SQLServer
	m := get(srv + "?api-version=2023-08-01")
	require.Equal(t, w.SQLServer+".database.chinacloudapi.cn", m["properties"].(map[string]any)["fullyQualifiedDomainName"])
	m = get(srv + "/administrators/ActiveDirectory?api-version=2023-08-01")
	require.Equal(t, e.Operator.ObjectID, m["properties"].(map[string]any)["sid"])
	m = get(srv + "/databases?api-version=2023-08-01")
	require.Len(t, m["value"], 2, "master and the tutorial's database")

	vm, ok := e.Dir.ByResourceID(w.VMResourceID)
	require.True(t, ok)
	tok, err := e.Issuer.ManagedIdentityToken(vm, c.SQLResource, "")
	require.NoError(t, err)
	host := w.SQLServer + "." + c.SQLSuffix
	cfg, err := msdsn.Parse("sqlserver://" + host + "?database=" + w.SQLDatabase + "&encrypt=true")
	require.NoError(t, err)
	cfg.TLSConfig = &tls.Config{RootCAs: e.CA.Pool(), ServerName: host}
	conn, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return tok.Raw, nil })
	require.NoError(t, err)
	conn.Dialer = hostDialer(e.DialContext)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n int
	db := openDB(conn)
	defer db.Close()
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+w.SQLTable).Scan(&n))
	require.Equal(t, 3, n)
	env, err := e.Env()
	require.NoError(t, err)
	got := map[string]string{}
	for _, kv := range env {
		got[kv.Key] = kv.Value
	}
	require.Equal(t, e.SQLAddr(), got["MICONFORM_SQL_ADDR"])
	require.Equal(t, w.SQLServer, got["MICONFORM_SQL_SERVER"])
	require.Equal(t, "TutorialDB", got["MICONFORM_SQL_DATABASE"])
	require.Equal(t, "Inventory", got["MICONFORM_SQL_TABLE"])

	// Deleting the server through Resource Manager drops it from the gateway.
	req, _ := http.NewRequest("DELETE", "https://"+c.ARMHost+srv+"?api-version=2023-08-01", nil)
	req.Header.Set("Authorization", "Bearer "+op.Raw)
	resp, err := e.HTTPClient().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 202, resp.StatusCode, "Azure drops a server in the background")
	db2 := openDB(conn)
	defer db2.Close()
	var me mssql.Error
	require.ErrorAs(t, db2.PingContext(ctx), &me)
	require.EqualValues(t, 40532, me.Number)
}

func openDB(c *mssql.Connector) *sql.DB { return sql.OpenDB(c) }
