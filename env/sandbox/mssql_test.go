//go:build linux

package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/emulator"

	// go-mssqldb's Microsoft Entra driver ("azuresql"), as a Go program on
	// a VM uses it: fedauth=ActiveDirectoryManagedIdentity gets its token
	// through azidentity's ManagedIdentityCredential, whose IMDS address
	// is fixed (http://169.254.169.254), so only a program that runs where
	// that address is the emulator's IMDS can show the path works.
	_ "github.com/microsoft/go-mssqldb/azuread"
)

// sqlClientEnv makes this test binary, run inside a sandbox, the SQL
// client program instead of the tests.
const sqlClientEnv = "MICONFORM_TEST_SQL_CLIENT_DSN"

func init() {
	if dsn, ok := os.LookupEnv(sqlClientEnv); ok {
		os.Exit(sqlClient(dsn))
	}
}

// sqlClient connects with dsn and prints the tutorial table's rows.
func sqlClient(dsn string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := sql.Open("azuresql", dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT Name, Quantity FROM dbo.Inventory ORDER BY Id")
	if err != nil {
		fmt.Fprintln(os.Stderr, "query:", err)
		return 1
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var qty int
		if err := rows.Scan(&name, &qty); err != nil {
			fmt.Fprintln(os.Stderr, "scan:", err)
			return 1
		}
		fmt.Printf("%s %d\n", name, qty)
	}
	if err := rows.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "rows:", err)
		return 1
	}
	return 0
}

// A Go program on the VM reads the SQL tutorial's table with go-mssqldb's
// fedauth=ActiveDirectoryManagedIdentity, unchanged: the server's
// FEDAUTHINFO sends the driver to the VM's managed identity (IMDS at
// 169.254.169.254, via azidentity) for a token for the server's SPN, and
// the contained user [myVM] is the VM's identity.
func TestGoMSSQLManagedIdentityOnTheVM(t *testing.T) {
	requireSandbox(t)
	for _, name := range []string{"AzureCloud", "AzureChinaCloud"} {
		t.Run(name, func(t *testing.T) {
			e := newEmulator(t, name)
			host := e.World.SQLServer + "." + e.Cloud.SQLSuffix
			dsn := "sqlserver://" + host + "?database=" + e.World.SQLDatabase + "&fedauth=ActiveDirectoryManagedIdentity&encrypt=true"
			out, errb, err := runSelf(t, e, sqlClientEnv+"="+dsn)
			if err != nil {
				t.Fatalf("the client failed: %v\nstderr: %s", err, errb)
			}
			if want := "banana 150\norange 154\napple 100\n"; out != want {
				t.Errorf("rows = %q, want %q (stderr %s)", out, want, errb)
			}

			// Without the contained user the same program's login fails,
			// as Azure SQL refuses a token whose principal has no user.
			if err := e.SQL.RunAs(e.World.SQLServer, e.World.SQLDatabase, e.Operator.ObjectID, "DROP USER [myVM];"); err != nil {
				t.Fatal(err)
			}
			if out, errb, err = runSelf(t, e, sqlClientEnv+"="+dsn); err == nil {
				t.Fatalf("the client read %q without a contained user", out)
			}
			if !strings.Contains(errb, "Login failed for user '<token-identified principal>'") {
				t.Errorf("stderr = %q, want SQL's login failure", errb)
			}
		})
	}
}

// runSelf runs this test binary as a program on e's VM (in a sandbox),
// with this process's environment minus AZURE_* (a VM has no service
// principal for DefaultAzureCredential's EnvironmentCredential to find)
// plus mode, the KEY=VALUE that makes the binary the program instead of
// the tests (see the init functions).
func runSelf(t *testing.T, e *emulator.Emulator, mode string) (stdout, stderr string, err error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sb := New(e, exe)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURE_") {
			sb.Env = append(sb.Env, kv)
		}
	}
	sb.Env = append(sb.Env, mode)
	var out, errb strings.Builder
	sb.Stdout, sb.Stderr = &out, &errb
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	err = sb.Run(ctx)
	return out.String(), errb.String(), err
}
