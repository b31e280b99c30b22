package target_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/env/target/targettest"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// standIn starts an emulator of c standing in for Azure and an Azure target
// pointed at it.
func standIn(t *testing.T, c string, mode target.Mode, cfg target.Config, faults *targettest.Faults) (*target.Emulator, *target.Azure) {
	t.Helper()
	emu := targettest.Emulator(t, c)
	if faults == nil {
		faults = &targettest.Faults{}
	}
	o, err := targettest.Options(emu.E, faults, mode)
	require.NoError(t, err)
	o.Config = cfg
	az, err := target.NewAzure(context.Background(), o)
	require.NoError(t, err)
	return emu, az
}

// arm is a Resource Manager call as the target's operator.
func arm(t *testing.T, az *target.Azure, method, path string, body any) (int, []byte) {
	t.Helper()
	tok, err := az.Operator().GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(az.Cloud().ARMResource, "/") + "/.default"}})
	require.NoError(t, err)
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "https://"+az.Cloud().ARMHost+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := az.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func groupPath(az *target.Azure, name string) string {
	return "/subscriptions/" + az.Facts().SubscriptionID + "/resourceGroups/" + name + "?api-version=2021-04-01"
}

func TestAzureDiscoversTheVMFromIMDS(t *testing.T) {
	t.Parallel()
	for _, c := range cloud.Names() {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			faults := &targettest.Faults{}
			// IMDS is being upgraded when the run starts: discovery retries.
			faults.Add(&targettest.Fault{Name: "410", Match: targettest.IMDSInstance, Status: 410, Times: 1})
			emu, az := standIn(t, c, target.Provision, target.Config{}, faults)
			assert.Equal(t, 1, faults.Injected("410"))
			assert.Equal(t, c, az.Cloud().Name, "the cloud comes from compute.azEnvironment")
			want := emu.Facts()
			got := az.Facts()
			assert.Equal(t, want.SubscriptionID, got.SubscriptionID)
			assert.Equal(t, want.ResourceGroup, got.ResourceGroup)
			assert.Equal(t, want.VMName, got.VMName)
			assert.Equal(t, want.VMResourceID, got.VMResourceID)
			assert.Equal(t, want.Location, got.Location)
			assert.Equal(t, want.TenantID, got.TenantID, "a provisioning run reads the tenant from the subscription")
			assert.Equal(t, "azure", az.Name())
			assert.Equal(t, target.Provision, az.Policy().Mode)
			assert.Equal(t, 10*time.Minute, az.Policy().RBACPropagation)
			tags := az.Policy().Tags
			assert.Equal(t, "miconform", tags[target.TagCreatedBy])
			assert.Equal(t, az.RunID(), tags[target.TagRun])
			_, err := time.Parse(time.RFC3339, tags[target.TagCreatedAt])
			assert.NoError(t, err)
		})
	}
}

// A verify-only run, whose operator may not read the subscription, learns
// the tenant from Resource Manager's challenge to an unauthenticated
// request, and sends no token to ask it.
func TestAzureVerifyOnlyLearnsTheTenantFromTheChallenge(t *testing.T) {
	t.Parallel()
	for _, c := range cloud.Names() {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			faults := &targettest.Faults{}
			var authed atomic.Int32
			faults.OnRequest = func(r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/subscriptions/") && r.Header.Get("Authorization") != "" {
					authed.Add(1)
				}
			}
			emu, az := standIn(t, c, target.VerifyOnly, target.Config{}, faults)
			assert.Equal(t, emu.Facts().TenantID, az.Facts().TenantID)
			assert.Zero(t, authed.Load(), "no signed-in Resource Manager request to learn the tenant")
		})
	}
}

func TestAzureConfigOverridesDiscovery(t *testing.T) {
	t.Parallel()
	_, az := standIn(t, "AzureCloud", target.VerifyOnly, target.Config{
		Location: "westeurope", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", RBACPropagation: "90s",
		Fixtures: map[string]string{"keyVault": "my-vault", "storageAccount": "mystorage"},
	}, nil)
	f := az.Facts()
	assert.Equal(t, "westeurope", f.Location)
	assert.Equal(t, "myVM", f.VMName, "fields left unset are still discovered")
	assert.Equal(t, "72f988bf-86f1-41af-91ab-2d7cd011db47", f.TenantID)
	assert.Equal(t, 90*time.Second, az.Policy().RBACPropagation)
	assert.Zero(t, az.Policy().RBACRetryBase, "Azure's waits unless the options say otherwise")
	assert.Equal(t, "my-vault", f.Fixtures[target.FixtureKeyVault])
	assert.Equal(t, "mystorage", f.Fixtures[target.FixtureStorageAccount])
	assert.NotContains(t, f.Fixtures, target.FixtureSQLServer, "verify-only generates nothing")
	assert.Contains(t, az.Unnamed, "sqlServer")
	assert.NotContains(t, az.Unnamed, "keyVault")
}

// A test standing the emulator in for Azure gives the run the emulator's
// shorter waits between retries of a 403.
func TestAzureRBACRetryWaitsFromOptions(t *testing.T) {
	t.Parallel()
	emu := targettest.Emulator(t, "AzureCloud")
	o, err := targettest.Options(emu.E, &targettest.Faults{}, target.Provision)
	require.NoError(t, err)
	o.RBACRetryBase, o.RBACRetryMax = 50*time.Millisecond, 200*time.Millisecond
	az, err := target.NewAzure(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 50*time.Millisecond, az.Policy().RBACRetryBase)
	assert.Equal(t, 200*time.Millisecond, az.Policy().RBACRetryMax)
}

func TestAzureWithoutIMDSNeedsTheConfig(t *testing.T) {
	t.Parallel()
	o := target.AzureOptions{IMDSBase: "http://127.0.0.1:1", Client: &http.Client{Timeout: time.Second}}
	_, err := target.NewAzure(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is this an Azure VM?")
}

func TestProvisioningGeneratesUniqueFixtureNames(t *testing.T) {
	t.Parallel()
	_, a := standIn(t, "AzureCloud", target.Provision, target.Config{}, nil)
	_, b := standIn(t, "AzureCloud", target.Provision, target.Config{Fixtures: map[string]string{"container": "mine"}}, nil)
	fa, fb := a.Facts().Fixtures, b.Facts().Fixtures
	assert.Empty(t, a.Unnamed)
	// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
	assert.Regexp(t, regexp.MustCompile(`^[a-z0-9]{3,24}$`), fa[target.FixtureStorageAccount])
	assert.Regexp(t, regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`), fa[target.FixtureKeyVault])
	assert.Regexp(t, regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`), fa[target.FixtureSQLServer])
	assert.NotEqual(t, fa[target.FixtureStorageAccount], fb[target.FixtureStorageAccount])
	assert.NotEqual(t, fa[target.FixtureKeyVault], fb[target.FixtureKeyVault])
	assert.Equal(t, "mine", fb[target.FixtureContainer])
	assert.NotEqual(t, a.RunID(), b.RunID())
}

// Close deletes what the run left, and only that.
func TestCloseDeletesTheRunsLeftovers(t *testing.T) {
	t.Parallel()
	_, az := standIn(t, "AzureUSGovernment", target.Provision, target.Config{}, nil)
	loc := az.Facts().Location
	st, _ := arm(t, az, "PUT", groupPath(az, "left-by-this-run"), map[string]any{"location": loc, "tags": az.Policy().Tags})
	require.Equal(t, 201, st)
	other := map[string]string{target.TagCreatedBy: "miconform", target.TagRun: "another-run", target.TagCreatedAt: time.Now().UTC().Format(time.RFC3339)}
	st, _ = arm(t, az, "PUT", groupPath(az, "another-runs"), map[string]any{"location": loc, "tags": other})
	require.Equal(t, 201, st)
	st, _ = arm(t, az, "PUT", groupPath(az, "not-ours"), map[string]any{"location": loc})
	require.Equal(t, 201, st)

	// A cancelled context (Ctrl-C) does not stop the teardown.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, az.Close(ctx))

	st, _ = arm(t, az, "GET", groupPath(az, "left-by-this-run"), nil)
	assert.Equal(t, 404, st)
	for _, keep := range []string{"another-runs", "not-ours", az.Facts().ResourceGroup} {
		st, _ = arm(t, az, "GET", groupPath(az, keep), nil)
		assert.Equal(t, 200, st, keep)
	}
}

func TestSweepDeletesOldTaggedGroups(t *testing.T) {
	t.Parallel()
	_, az := standIn(t, "AzureCloud", target.Provision, target.Config{}, nil)
	loc := az.Facts().Location
	at := func(d time.Duration) map[string]string {
		return map[string]string{target.TagCreatedBy: "miconform", target.TagCreatedAt: time.Now().Add(-d).UTC().Format(time.RFC3339)}
	}
	groups := map[string]map[string]string{
		"old":      at(7 * time.Hour),
		"older":    at(72 * time.Hour),
		"recent":   at(time.Hour),
		"undated":  {target.TagCreatedBy: "miconform", target.TagCreatedAt: "yesterday"},
		"not-ours": {target.TagCreatedAt: time.Now().Add(-100 * time.Hour).UTC().Format(time.RFC3339)},
	}
	for name, tags := range groups {
		st, b := arm(t, az, "PUT", groupPath(az, name), map[string]any{"location": loc, "tags": tags})
		require.Equal(t, 201, st, string(b))
	}
	names, err := az.Sweep(context.Background(), 6*time.Hour)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"old", "older"}, names)
	for name := range groups {
		st, _ := arm(t, az, "GET", groupPath(az, name), nil)
		if name == "old" || name == "older" {
			assert.Equal(t, 404, st, name)
		} else {
			assert.Equal(t, 200, st, name)
		}
	}
}

func TestConfigFileEnvAndFlags(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	p := filepath.Join(dir, "azure.yaml")
	require.NoError(t, os.WriteFile(p, []byte("cloud: AzureChinaCloud\nlocation: chinanorth3\nfixtures:\n  keyVault: from-file\n  secret: s1\n"), 0o600))
	c, err := target.LoadConfig(p)
	require.NoError(t, err)
	env := map[string]string{"MICONFORM_LOCATION": "chinaeast2", "MICONFORM_KEY_VAULT": "from-env", "AZURE_TENANT_ID": "t-env"}
	require.NoError(t, c.ApplyEnv(func(k string) string { return env[k] }))
	c.Merge(target.Config{Location: "chinanorth2"})
	assert.Equal(t, "AzureChinaCloud", c.Cloud)
	assert.Equal(t, "chinanorth2", c.Location, "flag over env over file")
	assert.Equal(t, "from-env", c.Fixtures["keyVault"], "env over file")
	assert.Equal(t, "s1", c.Fixtures["secret"])
	assert.Equal(t, "t-env", c.TenantID)

	require.NoError(t, os.WriteFile(p, []byte("fixtures:\n  keyvault: typo\n"), 0o600))
	_, err = target.LoadConfig(p)
	assert.ErrorContains(t, err, `unknown fixture "keyvault"`)
	require.NoError(t, os.WriteFile(p, []byte("subscription: x\n"), 0o600))
	_, err = target.LoadConfig(p)
	assert.ErrorContains(t, err, "subscription", "unknown top-level keys are refused")
	require.NoError(t, os.WriteFile(p, []byte("rbacPropagation: soon\n"), 0o600))
	_, err = target.LoadConfig(p)
	assert.ErrorContains(t, err, "rbacPropagation")
	require.NoError(t, os.WriteFile(p, nil, 0o600))
	_, err = target.LoadConfig(p)
	assert.NoError(t, err, "an empty file is an empty config")
}

// env/azure.example.yaml documents every key the config knows, and loads.
func TestExampleConfigDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	p := filepath.Join("..", "azure.example.yaml")
	c, err := target.LoadConfig(p)
	require.NoError(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	text := string(b)
	for _, k := range target.FixtureKeys() {
		assert.Contains(t, c.Fixtures, k, "fixture %s should be in the example", k)
	}
	for _, k := range []string{"cloud", "tenantId", "subscriptionId", "resourceGroup", "vmName", "vmResourceId", "location", "rbacPropagation"} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^#? ?`+k+`:`), text, "key %s should be documented", k)
	}
	for _, e := range target.FixtureEnv() {
		assert.Contains(t, text, e, "the example should name %s", e)
	}
}

// The operator is never the VM's managed identity: off CI and without
// `az login`, signing in fails and says which credentials it tried.
func TestOperatorIsNotTheVMsManagedIdentity(t *testing.T) {
	for _, k := range []string{"AZURE_TOKEN_CREDENTIALS", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH"} {
		t.Setenv(k, "")
	}
	t.Setenv("PATH", winetest.TempDir(t)) // no az, no azd
	emu := targettest.Emulator(t, "AzureCloud")
	o, err := targettest.Options(emu.E, &targettest.Faults{}, target.VerifyOnly)
	require.NoError(t, err)
	o.Operator = nil
	az, err := target.NewAzure(context.Background(), o)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = az.Operator().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AzureCLICredential")
	assert.NotContains(t, err.Error(), "ManagedIdentityCredential")
}

// Steps reach Azure SQL through Target.Dial and trust Target.RootCAs: the
// emulator's dialer and CA, or on Azure those of the client the target was
// given (the network and the system's roots otherwise).
func TestDialAndRootCAs(t *testing.T) {
	t.Parallel()
	emu := targettest.Emulator(t, "AzureCloud")
	sqlAddr := emu.E.World.SQLServer + "." + emu.Cloud().SQLSuffix + ":1433"
	c, err := emu.Dial(context.Background(), "tcp", sqlAddr)
	require.NoError(t, err, "the emulator's TDS listener")
	c.Close()
	assert.True(t, emu.RootCAs().Equal(emu.E.CA.Pool()))

	o, err := targettest.Options(emu.E, &targettest.Faults{}, target.Provision)
	require.NoError(t, err)
	o.Client = &http.Client{Transport: emu.E.Transport()}
	az, err := target.NewAzure(context.Background(), o)
	require.NoError(t, err)
	c, err = az.Dial(context.Background(), "tcp", sqlAddr)
	require.NoError(t, err, "through the given client's dialer")
	c.Close()
	assert.True(t, az.RootCAs().Equal(emu.E.CA.Pool()))

	// A client that is no *http.Transport: the network and the system's roots.
	o.Client = &http.Client{Transport: o.Client.Transport.(*http.Transport)}
	o.Client.Transport = roundTripper{o.Client.Transport}
	az, err = target.NewAzure(context.Background(), o)
	require.NoError(t, err)
	assert.Nil(t, az.RootCAs())
	c, err = az.Dial(context.Background(), "tcp", emu.E.HTTPSAddr())
	require.NoError(t, err, "a loopback address, dialed as given")
	c.Close()
}

type roundTripper struct{ http.RoundTripper }
