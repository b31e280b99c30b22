//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/slowtest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAzureCLIGraphAsOperator runs, on the emulated VM and signed in as the
// operator service principal, the Azure CLI commands that look principals
// up in Microsoft Graph (issue 20): az keyvault create (the vault's default
// access policy names the signed-in principal: GET /me, refused for an
// app-only token, then servicePrincipals?$filter=servicePrincipalNames/any),
// az ad sp show --id <the VM's principal id> and az ad sp list --filter
// "appId eq '<its client id>'", on all three clouds.
func TestAzureCLIGraphAsOperator(t *testing.T) {
	slowtest.Require(t, "runs the Azure CLI, about 35 s of CPU per cloud")
	requireSandbox(t)
	needTool(t, "az")
	for _, name := range []string{"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"} {
		t.Run(name, func(t *testing.T) {
			// Each cloud has its own emulator, sandbox and az config dir;
			// az spends most of its time waiting, so the clouds overlap.
			t.Parallel()
			e := newEmulator(t, name)
			vm, ok := e.ARM.VirtualMachine(e.World.VMResourceID)
			if !ok || vm.Identity == nil || vm.Identity.PrincipalID == "" {
				t.Fatalf("the seeded VM has no system-assigned identity: %+v", vm.Identity)
			}
			principal, ok := e.Dir.ByObjectID(vm.Identity.PrincipalID)
			if !ok {
				t.Fatalf("the VM's principal %s is not in the directory", vm.Identity.PrincipalID)
			}
			vault := "h20kv" + strings.ReplaceAll(e.SubscriptionID(), "-", "")[:8]
			script := `set -e
az cloud set --name "$CLOUD" >/dev/null
# --password= keeps a secret that starts with "-" (Entra secrets may) from
# being read as an option.
az login --service-principal -u "$SP_ID" --password="$SP_SECRET" --tenant "$TENANT" >/dev/null
echo '--- keyvault'
az keyvault create --name "$VAULT" --resource-group "$RG" --location "$LOC" --query "properties.accessPolicies[0].objectId" -o tsv
echo '--- sp show'
az ad sp show --id "$PRINCIPAL" -o json
echo '--- sp list'
az ad sp list --filter "appId eq '$CLIENT'" -o json
`
			dir := winetest.TempDir(t)
			var out, errb bytes.Buffer
			sb := New(e, "sh", "-c", script)
			sb.Dir = dir
			sb.Env = append(os.Environ(), "AZURE_CONFIG_DIR="+dir+"/.azure", "AZURE_CORE_COLLECT_TELEMETRY=false",
				"CLOUD="+name, "SP_ID="+e.Operator.ClientID, "SP_SECRET="+e.Operator.Secret, "TENANT="+e.TenantID(),
				"VAULT="+vault, "RG="+e.World.ResourceGroup, "LOC="+e.World.Location,
				"PRINCIPAL="+principal.ObjectID, "CLIENT="+principal.ClientID)
			sb.Stdout, sb.Stderr = &out, &errb
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := sb.Run(ctx); err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			parts := strings.Split(out.String(), "--- ")
			if len(parts) != 4 {
				t.Fatalf("want three sections of output, got:\n%s\nstderr:\n%s", out.String(), errb.String())
			}
			if got := strings.TrimSpace(strings.TrimPrefix(parts[1], "keyvault")); got != e.Operator.ObjectID {
				t.Errorf("az keyvault create: the access policy names %q, want the operator's object id %s", got, e.Operator.ObjectID)
			}
			var sp map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(parts[2], "sp show")), &sp); err != nil {
				t.Fatalf("az ad sp show: %v:\n%s", err, parts[2])
			}
			if sp["id"] != principal.ObjectID || sp["appId"] != principal.ClientID || sp["servicePrincipalType"] != "ManagedIdentity" {
				t.Errorf("az ad sp show: id %v appId %v type %v; want %s %s ManagedIdentity", sp["id"], sp["appId"], sp["servicePrincipalType"], principal.ObjectID, principal.ClientID)
			}
			var list []map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(parts[3], "sp list")), &list); err != nil {
				t.Fatalf("az ad sp list: %v:\n%s", err, parts[3])
			}
			if len(list) != 1 || list[0]["id"] != principal.ObjectID {
				t.Errorf("az ad sp list --filter appId eq: got %v, want the VM's principal %s alone", list, principal.ObjectID)
			}
		})
	}
}
