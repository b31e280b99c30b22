package steps

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cucumber/godog"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/tidwall/gjson"

	"github.com/miconform/miconform/internal/azhttp"
	"github.com/miconform/miconform/internal/redact"
)

// registerSQL is the tutorial "Use a Windows VM system-assigned managed
// identity to access Azure SQL Database": the portal part (logical server,
// database, Microsoft Entra admin) through Resource Manager as the operator,
// the SSMS part as T-SQL from the admin, and the VM's part with go-mssqldb
// and a token from IMDS, as the tutorial's PowerShell sample does with
// SqlConnection.AccessToken.
func registerSQL(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		s := from(ctx)
		c := s.t.Cloud()
		s.set("SQL-RESOURCE", c.SQLResource)
		s.set("SQL-RESOURCE-ENCODED", url.QueryEscape(c.SQLResource))
		return ctx, nil
	})
	sc.Step(re(`^the operator creates a logical SQL server named like "([^"]*)" in the resource group$`), createSQLServer)
	sc.Step(re(`^the operator creates the database "([^"]*)" on the server$`), createSQLDatabase)
	sc.Step(re(`^the operator sets itself as the server's Microsoft Entra admin$`), setSQLAdmin)
	sc.Step(re(`^the operator creates a user-assigned identity named "([^"]*)" in the resource group$`), createNamedUAI)
	sc.Step(re(`^the admin runs on the database:$`), adminRunsDoc)
	sc.Step(re(`^the admin runs "([^"]*)" on the database$`), adminRuns)
	sc.Step(re(`^the admin tries "([^"]*)" on the database$`), adminTries)
	sc.Step(re(`^the admin's statement fails with error (\d+) "([^"]*)"$`), adminFails)
	sc.Step(re(`^the VM opens a connection to the database with the access token and "([^"]*)"$`), vmOpensWithToken)
	sc.Step(re(`^the VM opens a connection to the database with "Authentication=Active Directory Managed Identity; ([^"]*)"$`), vmOpensManagedIdentity)
	sc.Step(re(`^the VM runs "([^"]*)"$`), vmRuns)
	sc.Step(re(`^the result has these rows:$`), resultRows)
	sc.Step(re(`^the (?:connection|query) fails with error (\d+) "([^"]*)"$`), sqlFails)
}

// sqlAPI is the Microsoft.Sql api-version the Given steps use.
const sqlAPI = "2023-08-01"

// sqlState is the SQL part of a scenario.
type sqlState struct {
	admin *sql.DB
	vm    *sql.DB
	// err is the last failed connection, query or admin statement.
	err  error
	cols []string
	rows [][]string
}

// sqlStates keeps each scenario's SQL state beside it, so the shared
// scenario type needs no SQL field.
var sqlStates sync.Map // *scenario -> *sqlState

func (s *scenario) sqlState() *sqlState {
	if v, ok := sqlStates.Load(s); ok {
		return v.(*sqlState)
	}
	st := &sqlState{}
	sqlStates.Store(s, st)
	s.onCleanup("close SQL connections", func(context.Context) error {
		sqlStates.Delete(s)
		for _, db := range []*sql.DB{st.admin, st.vm} {
			if db != nil {
				db.Close()
			}
		}
		return nil
	})
	return st
}

func (s *scenario) serverPath() (string, error) {
	return s.expand("/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Sql/servers/<AZURE-SQL-SERVERNAME>")
}

// createSQLServer is the Azure SQL quickstart's "Create SQL Database >
// Server > Create new" with SQL authentication: the server has no Microsoft
// Entra admin until the tutorial's "Set admin" step (setSQLAdmin), so
// that step is what lets the admin's Entra sign-in work. The SQL login's
// password is random, never used and redacted. The server goes with the
// resource group.
func createSQLServer(ctx context.Context, like string) error {
	s := from(ctx)
	name := like + "-" + randomSuffix()
	s.set("AZURE-SQL-SERVERNAME", name)
	path, err := s.serverPath()
	if err != nil {
		return err
	}
	password := "Mc1!" + newGUID()
	redact.Register(password)
	x, err := s.operator(ctx, http.MethodPut, path+"?api-version="+sqlAPI, map[string]any{
		"location": s.vars["LOCATION"], "tags": s.t.Policy().Tags,
		"properties": map[string]any{"administratorLogin": "miconformsql", "administratorLoginPassword": password},
	})
	if err != nil {
		return err
	}
	// Azure accepts the create (202, Azure-AsyncOperation) and finishes it
	// in the background; the server is read once it is done.
	if x, err = s.awaitOperation(ctx, x, path+"?api-version="+sqlAPI); err != nil {
		return err
	}
	fqdn := gjson.GetBytes(x.Body, "properties.fullyQualifiedDomainName").String()
	if want := name + "." + s.t.Cloud().SQLSuffix; fqdn != want {
		return fmt.Errorf("server's fullyQualifiedDomainName is %q, want %q", fqdn, want)
	}
	s.set("AZURE-SQL-SERVER-FQDN", name+"."+s.t.Cloud().SQLSuffix)
	return nil
}

func createSQLDatabase(ctx context.Context, name string) error {
	s := from(ctx)
	path, err := s.serverPath()
	if err != nil {
		return err
	}
	db := path + "/databases/" + name + "?api-version=" + sqlAPI
	x, err := s.operator(ctx, http.MethodPut, db, map[string]any{"location": s.vars["LOCATION"]})
	if err != nil {
		return err
	}
	if x, err = s.awaitOperation(ctx, x, db); err != nil {
		return err
	}
	if st := gjson.GetBytes(x.Body, "properties.status").String(); st != "Online" {
		return fmt.Errorf("database status is %q, want Online", st)
	}
	s.set("DATABASE", name)
	return nil
}

// setSQLAdmin is "Active Directory admin > Set admin > Save".
func setSQLAdmin(ctx context.Context) error {
	s := from(ctx)
	oid, err := s.operatorOID(ctx)
	if err != nil {
		return err
	}
	path, err := s.serverPath()
	if err != nil {
		return err
	}
	admin := path + "/administrators/ActiveDirectory?api-version=" + sqlAPI
	x, err := s.operator(ctx, http.MethodPut, admin, map[string]any{
		"properties": map[string]any{"administratorType": "ActiveDirectory", "login": "miconform-operator", "sid": oid, "tenantId": s.vars["TENANT-ID"]},
	})
	if err != nil {
		return err
	}
	// A new admin is accepted (202, Azure-AsyncOperation) and read once set.
	if x, err = s.awaitOperation(ctx, x, admin); err != nil {
		return err
	}
	if got := gjson.GetBytes(x.Body, "properties.sid").String(); !strings.EqualFold(got, oid) {
		return fmt.Errorf("admin sid is %q, want the operator's object id", got)
	}
	return nil
}

// createNamedUAI makes a second principal with a display name of the
// reader's choosing, to meet the duplicate display name the tutorial warns of.
func createNamedUAI(ctx context.Context, name string) error {
	s := from(ctx)
	name, err := s.expand(name)
	if err != nil {
		return err
	}
	path, _ := s.rgPath()
	_, err = s.operator(ctx, http.MethodPut, path+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"+name+"?api-version=2023-01-31", map[string]any{"location": s.vars["LOCATION"]})
	return err
}

// sqlDialer dials SQL host names the way the target reaches Azure: the
// target's transport dialer (the emulator maps {server}.database.*:1433),
// unresolved, so it is a go-mssqldb HostDialer.
type sqlDialer struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (d sqlDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dial(ctx, network, addr)
}

func (d sqlDialer) HostName() string { return "" }

// sqlConfig parses the tutorial's connection string keywords (Encrypt)
// into go-mssqldb's configuration for the scenario's server and database,
// trusting what the target's HTTPS client trusts.
func (s *scenario) sqlConfig(options string) (msdsn.Config, sqlDialer, error) {
	host := s.vars["AZURE-SQL-SERVER-FQDN"]
	if host == "" {
		return msdsn.Config{}, sqlDialer{}, errors.New("no SQL server in this scenario yet")
	}
	q := url.Values{"database": {s.vars["DATABASE"]}, "dial timeout": {"15"}, "connection timeout": {"30"}}
	for _, kv := range strings.Split(options, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			continue
		}
		q.Set(strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(v)))
	}
	cfg, err := msdsn.Parse("sqlserver://" + host + "?" + q.Encode())
	if err != nil {
		return cfg, sqlDialer{}, err
	}
	if cas := s.t.RootCAs(); cfg.TLSConfig != nil && cas != nil {
		cfg.TLSConfig.RootCAs = cas
	}
	return cfg, sqlDialer{dial: s.t.Dial}, nil
}

func (s *scenario) connect(ctx context.Context, c *mssql.Connector, d sqlDialer) (*sql.DB, error) {
	c.Dialer = d
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(2)
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// adminDB signs the operator in as the server's Microsoft Entra admin, as
// SSMS does with "Active Directory - Universal with MFA support".
func (s *scenario) adminDB(ctx context.Context) (*sql.DB, error) {
	st := s.sqlState()
	if st.admin != nil {
		return st.admin, nil
	}
	cfg, d, err := s.sqlConfig("Encrypt=True")
	if err != nil {
		return nil, err
	}
	scope := strings.TrimSuffix(s.t.Cloud().SQLResource, "/") + "/.default"
	c, err := mssql.NewSecurityTokenConnector(cfg, func(ctx context.Context) (string, error) {
		tok, err := s.t.Operator().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", err
		}
		redact.Register(tok.Token)
		return tok.Token, nil
	})
	if err != nil {
		return nil, err
	}
	if st.admin, err = s.connect(ctx, c, d); err != nil {
		return nil, fmt.Errorf("admin connection: %w", err)
	}
	return st.admin, nil
}

func (s *scenario) adminExec(ctx context.Context, text string) error {
	text, err := s.expand(text)
	if err != nil {
		return err
	}
	db, err := s.adminDB(ctx)
	if err != nil {
		return err
	}
	s.log.Printf("admin T-SQL on %s/%s:\n%s", s.vars["AZURE-SQL-SERVERNAME"], s.vars["DATABASE"], text)
	_, err = db.ExecContext(ctx, text)
	s.sqlState().err = err
	return err
}

func adminRunsDoc(ctx context.Context, doc *godog.DocString) error {
	return from(ctx).adminExec(ctx, doc.Content)
}

func adminRuns(ctx context.Context, text string) error { return from(ctx).adminExec(ctx, text) }

// adminTries runs a statement the scenario expects may fail; the next step
// checks the outcome.
func adminTries(ctx context.Context, text string) error {
	s := from(ctx)
	if err := s.adminExec(ctx, text); err != nil {
		var me mssql.Error
		if !errors.As(err, &me) {
			return err
		}
	}
	return nil
}

// adminFails checks the error of the statement "the admin tries".
func adminFails(ctx context.Context, number int, message string) error {
	return from(ctx).sqlErrorIs(number, message)
}

func vmOpensWithToken(ctx context.Context, options string) error {
	s := from(ctx)
	if s.token == "" {
		return errors.New("the VM has no access token; extract one from IMDS first")
	}
	cfg, d, err := s.sqlConfig(options)
	if err != nil {
		return err
	}
	tok := s.token
	c, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return tok, nil })
	if err != nil {
		return err
	}
	return s.vmConnect(ctx, c, d)
}

// vmOpensManagedIdentity is the tutorial's .NET connection string
// "Authentication=Active Directory Managed Identity": the server answers
// LOGIN7 with FEDAUTHINFO (STS URL and SPN) and the driver asks the VM's
// managed identity endpoint for a token for that SPN, which is what
// go-mssqldb's fedauth=ActiveDirectoryManagedIdentity does through
// azidentity's ManagedIdentityCredential; here the request goes through the
// VM's HTTP client so it reaches the target's IMDS.
func vmOpensManagedIdentity(ctx context.Context, options string) error {
	s := from(ctx)
	cfg, d, err := s.sqlConfig(options)
	if err != nil {
		return err
	}
	c, err := mssql.NewActiveDirectoryTokenConnector(cfg, mssql.FedAuthADALWorkflowMSI, func(ctx context.Context, spn, _ string) (string, error) {
		u := "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + url.QueryEscape(spn)
		x := azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, u, http.Header{"Metadata": {"true"}}, nil)
		if x.Err != nil {
			return "", x.Err
		}
		if x.Status != http.StatusOK {
			return "", fmt.Errorf("IMDS answered %d", x.Status)
		}
		tok := gjson.GetBytes(x.Body, "access_token").String()
		redact.Register(tok)
		return tok, nil
	})
	if err != nil {
		return err
	}
	return s.vmConnect(ctx, c, d)
}

func (s *scenario) vmConnect(ctx context.Context, c *mssql.Connector, d sqlDialer) error {
	st := s.sqlState()
	if st.vm != nil {
		st.vm.Close()
		st.vm = nil
	}
	db, err := s.connect(ctx, c, d)
	st.err = err
	if err != nil {
		s.log.Printf("VM connection failed: %s", redact.String(err.Error()))
		return nil
	}
	st.vm = db
	return nil
}

// vmRuns is $SqlCmd.CommandText = "..."; $SqlAdapter.Fill($DataSet).
func vmRuns(ctx context.Context, text string) error {
	s := from(ctx)
	st := s.sqlState()
	if st.vm == nil {
		return fmt.Errorf("the VM has no open connection: %v", redact.String(fmt.Sprint(st.err)))
	}
	text, err := s.expand(text)
	if err != nil {
		return err
	}
	st.cols, st.rows, st.err = nil, nil, nil
	rows, err := st.vm.QueryContext(ctx, text)
	if err != nil {
		st.err = err
		s.log.Printf("query failed: %s", redact.String(err.Error()))
		return nil
	}
	defer rows.Close()
	if st.cols, err = rows.Columns(); err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]any, len(st.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				row[i] = "NULL"
			case []byte:
				row[i] = string(x)
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		st.rows = append(st.rows, row)
	}
	st.err = rows.Err()
	return st.err
}

// resultRows compares $DataSet.Tables[0] with the table: header = column
// names, then the rows in order.
func resultRows(ctx context.Context, table *godog.Table) error {
	s := from(ctx)
	st := s.sqlState()
	if st.err != nil {
		return fmt.Errorf("the query failed: %s", redact.String(st.err.Error()))
	}
	c := &check{}
	var want [][]string
	for _, r := range table.Rows {
		var cells []string
		for _, cell := range r.Cells {
			v, err := s.expand(cell.Value)
			if err != nil {
				return err
			}
			cells = append(cells, v)
		}
		want = append(want, cells)
	}
	if len(want) == 0 {
		return errors.New("the table needs a header row")
	}
	if !equalStrings(want[0], st.cols) {
		c.Errorf("columns: got %v, want %v", st.cols, want[0])
	}
	got := st.rows
	if len(got) != len(want)-1 {
		c.Errorf("got %d rows, want %d: %v", len(got), len(want)-1, got)
	} else {
		for i := range got {
			if !equalStrings(want[i+1], got[i]) {
				c.Errorf("row %d: got %v, want %v", i+1, got[i], want[i+1])
			}
		}
	}
	return c.err()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sqlFails(ctx context.Context, number int, message string) error {
	return from(ctx).sqlErrorIs(number, message)
}

// sqlErrorIs checks the last SQL error's number and message, as the server
// sent them in its ERROR token.
func (s *scenario) sqlErrorIs(number int, message string) error {
	message, err := s.expand(message)
	if err != nil {
		return err
	}
	got := s.sqlState().err
	if got == nil {
		return fmt.Errorf("expected error %d, but it succeeded", number)
	}
	var me mssql.Error
	if !errors.As(got, &me) {
		return fmt.Errorf("expected SQL error %d, got: %s", number, redact.String(got.Error()))
	}
	// go-mssqldb prefixes the server's text of a refused login with
	// "login error: "; the ERROR token carries the text without it.
	msg := strings.TrimPrefix(me.Message, "login error: ")
	c := &check{}
	if int(me.Number) != number {
		c.Errorf("error number: got %d, want %d (%s)", me.Number, number, me.Message)
	}
	if msg != message {
		c.Errorf("error message:\n got  %q\n want %q", msg, message)
	}
	return c.err()
}
