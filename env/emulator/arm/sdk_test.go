package arm_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
)

// The official Azure SDK for Go drives each long-running create through
// its poller, unchanged, as a user's program would: the poller must find
// the polling URLs, statuses and final GET it finds in Azure.

// operatorCred is the operator's Resource Manager token, as a
// client-secret credential would get it.
type operatorCred struct{ e *emulator.Emulator }

func (c operatorCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.e.Issuer.AppToken(c.e.Operator, c.e.Cloud.ARMResource)
	return azcore.AccessToken{Token: tok.Raw, ExpiresOn: tok.ExpiresOn}, err
}

// counter counts requests by method and path, to show the pollers polled.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (c *counter) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen = append(c.seen, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *counter) count(method, sub string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		if strings.HasPrefix(s, method+" ") && strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			n++
		}
	}
	return n
}

func sdkWorld(t *testing.T, lro *arm.LROTiming) (*world, *azarm.ClientOptions, *counter) {
	w := startWorld(t, lro)
	c := &counter{next: w.client.Transport}
	return w, &azarm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: c, Retry: policy.RetryOptions{MaxRetries: -1}}}, c
}

// fast polls without waiting; Retry-After (0 here) would otherwise set the
// pace, as it does for users.
var fast = &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

func ptr[T any](v T) *T { return &v }

func TestSDKStorageAccountCreate(t *testing.T) {
	t.Parallel()
	// The default pacing: Retry-After 1, which the poller honours.
	w, opts, c := sdkWorld(t, nil)
	ctx := context.Background()
	client, err := armstorage.NewAccountsClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	start := time.Now()
	poller, err := client.BeginCreate(ctx, emulator.SeedResourceGroup, "sdkaccount", armstorage.AccountCreateParameters{
		Kind: ptr(armstorage.KindStorageV2), Location: ptr("westus"), SKU: &armstorage.SKU{Name: ptr(armstorage.SKUNameStandardLRS)},
	}, nil)
	require.NoError(t, err)
	assert.False(t, poller.Done(), "a create is accepted, not done")
	res, err := poller.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After: 1 was waited out")
	assert.Equal(t, armstorage.ProvisioningStateSucceeded, *res.Properties.ProvisioningState)
	assert.Equal(t, "https://sdkaccount.blob.core.windows.net/", *res.Properties.PrimaryEndpoints.Blob)
	assert.Equal(t, 2, c.count("GET", "/asyncoperations/"), "202, then 200 with the account")
	got, err := client.GetProperties(ctx, emulator.SeedResourceGroup, "sdkaccount", nil)
	require.NoError(t, err)
	assert.Equal(t, armstorage.ProvisioningStateSucceeded, *got.Properties.ProvisioningState)
}

func TestSDKSQLServerAndDatabaseCreate(t *testing.T) {
	t.Parallel()
	w, opts, c := sdkWorld(t, &arm.LROTiming{Polls: 1})
	ctx := context.Background()
	servers, err := armsql.NewServersClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	name := "sdk-sql-" + strings.ToLower(w.e.SubscriptionID()[:8])
	sp, err := servers.BeginCreateOrUpdate(ctx, emulator.SeedResourceGroup, name, armsql.Server{
		Location: ptr("westus"), Properties: &armsql.ServerProperties{AdministratorLogin: ptr("sdkadmin"), AdministratorLoginPassword: ptr("Passw0rd!Passw0rd")},
	}, nil)
	require.NoError(t, err)
	srv, err := sp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, name+".database.windows.net", *srv.Properties.FullyQualifiedDomainName)
	assert.GreaterOrEqual(t, c.count("GET", "/serverAzureAsyncOperation/"), 2, "InProgress, then Succeeded")

	dbs, err := armsql.NewDatabasesClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	dp, err := dbs.BeginCreateOrUpdate(ctx, emulator.SeedResourceGroup, name, "sdkdb", armsql.Database{Location: ptr("westus")}, nil)
	require.NoError(t, err)
	db, err := dp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, armsql.DatabaseStatusOnline, *db.Properties.Status)
	assert.GreaterOrEqual(t, c.count("GET", "/databaseAzureAsyncOperation/"), 2)
}

func TestSDKVaultCreate(t *testing.T) {
	t.Parallel()
	w, opts, c := sdkWorld(t, &arm.LROTiming{Polls: 1})
	ctx := context.Background()
	vaults, err := armkeyvault.NewVaultsClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	p, err := vaults.BeginCreateOrUpdate(ctx, emulator.SeedResourceGroup, "sdk-vault", armkeyvault.VaultCreateOrUpdateParameters{
		Location: ptr("westus"), Properties: &armkeyvault.VaultProperties{
			TenantID: ptr(w.e.TenantID()), SKU: &armkeyvault.SKU{Family: ptr(armkeyvault.SKUFamilyA), Name: ptr(armkeyvault.SKUNameStandard)},
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{},
		},
	}, nil)
	require.NoError(t, err)
	assert.False(t, p.Done(), "RegisteringDns is not terminal")
	v, err := p.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, armkeyvault.VaultProvisioningStateSucceeded, *v.Properties.ProvisioningState)
	assert.Equal(t, "https://sdk-vault.vault.azure.net/", *v.Properties.VaultURI)
	assert.Equal(t, w.e.Operator.ClientID, *v.SystemData.CreatedBy)
	assert.GreaterOrEqual(t, c.count("GET", "/vaults/sdk-vault"), 2, "the poller read the vault until Succeeded")
}

func TestSDKComputeIdentityAndRoles(t *testing.T) {
	t.Parallel()
	w, opts, _ := sdkWorld(t, nil)
	ctx := context.Background()
	world := w.e.World

	vms, err := armcompute.NewVirtualMachinesClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	vm, err := vms.Get(ctx, world.ResourceGroup, world.VMName, nil)
	require.NoError(t, err)
	require.NotNil(t, vm.Properties.StorageProfile)
	assert.Equal(t, world.OSDiskResourceID, *vm.Properties.StorageProfile.OSDisk.ManagedDisk.ID)
	assert.Equal(t, armcompute.OperatingSystemTypesLinux, *vm.Properties.StorageProfile.OSDisk.OSType)
	assert.Equal(t, world.VMName, *vm.Properties.OSProfile.ComputerName)
	require.Len(t, vm.Properties.NetworkProfile.NetworkInterfaces, 1)
	assert.Equal(t, world.NICResourceID, *vm.Properties.NetworkProfile.NetworkInterfaces[0].ID)

	disks, err := armcompute.NewDisksClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	d, err := disks.Get(ctx, world.ResourceGroup, world.OSDiskName, nil)
	require.NoError(t, err)
	assert.Equal(t, world.VMResourceID, *d.ManagedBy)
	assert.Equal(t, armcompute.DiskStateAttached, *d.Properties.DiskState)
	assert.Equal(t, armcompute.DiskStorageAccountTypesPremiumLRS, *d.SKU.Name)

	ids, err := armmsi.NewUserAssignedIdentitiesClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	id, err := ids.CreateOrUpdate(ctx, world.ResourceGroup, "sdk-identity", armmsi.Identity{Location: ptr("westus")}, nil)
	require.NoError(t, err)
	require.NotNil(t, id.Properties.PrincipalID)
	assert.Equal(t, map[string]*string{}, id.Tags, "an identity without tags has tags {}")

	ras, err := armauthorization.NewRoleAssignmentsClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	scope := "/subscriptions/" + w.e.SubscriptionID() + "/resourceGroups/" + world.ResourceGroup
	reader := "/subscriptions/" + w.e.SubscriptionID() + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ra, err := ras.Create(ctx, scope, "3f2a9c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b", armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: id.Properties.PrincipalID, RoleDefinitionID: ptr(reader), PrincipalType: ptr(armauthorization.PrincipalTypeServicePrincipal)},
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, *id.Properties.PrincipalID, *ra.Properties.PrincipalID)
}
