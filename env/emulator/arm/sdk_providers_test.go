package arm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
)

// The official SDK clients read the providers' lists, keys and access
// policy answers and drive Microsoft.Sql's long-running deletes through
// their pollers, as a user's program would.

func TestSDKSQLListsAndDeletes(t *testing.T) {
	t.Parallel()
	w, opts, c := sdkWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 0})
	ctx := context.Background()
	servers, err := armsql.NewServersClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	dbs, err := armsql.NewDatabasesClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	name := "sdk-del-" + strings.ToLower(w.e.SubscriptionID()[:8])
	sp, err := servers.BeginCreateOrUpdate(ctx, emulator.SeedResourceGroup, name, armsql.Server{
		Location: ptr("westus"), Properties: &armsql.ServerProperties{AdministratorLogin: ptr("sdkadmin"), AdministratorLoginPassword: ptr("Passw0rd!Passw0rd")},
	}, nil)
	require.NoError(t, err)
	_, err = sp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	dp, err := dbs.BeginCreateOrUpdate(ctx, emulator.SeedResourceGroup, name, "sdkdb", armsql.Database{Location: ptr("westus")}, nil)
	require.NoError(t, err)
	_, err = dp.PollUntilDone(ctx, fast)
	require.NoError(t, err)

	var listed []string
	pager := dbs.NewListByServerPager(emulator.SeedResourceGroup, name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, d := range page.Value {
			listed = append(listed, *d.Name+" "+*d.Kind)
		}
	}
	assert.Equal(t, []string{"master v12.0,system", "sdkdb v12.0,user"}, listed)
	found := false
	spager := servers.NewListByResourceGroupPager(emulator.SeedResourceGroup, nil)
	for spager.More() {
		page, err := spager.NextPage(ctx)
		require.NoError(t, err)
		for _, s := range page.Value {
			if *s.Name == name {
				found = true
				assert.Equal(t, name+".database.windows.net", *s.Properties.FullyQualifiedDomainName)
			}
		}
	}
	assert.True(t, found)

	ddp, err := dbs.BeginDelete(ctx, emulator.SeedResourceGroup, name, "sdkdb", nil)
	require.NoError(t, err)
	assert.False(t, ddp.Done(), "a drop is accepted, not done")
	_, err = ddp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, c.count("GET", "/databaseAzureAsyncOperation/"), 4, "two polls for the create, two for the drop")
	_, err = dbs.Get(ctx, emulator.SeedResourceGroup, name, "sdkdb", nil)
	assert.Error(t, err)

	sdp, err := servers.BeginDelete(ctx, emulator.SeedResourceGroup, name, nil)
	require.NoError(t, err)
	_, err = sdp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	_, err = servers.Get(ctx, emulator.SeedResourceGroup, name, nil)
	assert.Error(t, err)
}

func TestSDKStorageKeysListsAndDelete(t *testing.T) {
	t.Parallel()
	w, opts, _ := sdkWorld(t, &arm.LROTiming{Polls: 0})
	ctx := context.Background()
	client, err := armstorage.NewAccountsClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	p, err := client.BeginCreate(ctx, emulator.SeedResourceGroup, "sdkkeys", armstorage.AccountCreateParameters{
		Kind: ptr(armstorage.KindStorageV2), Location: ptr("eastus"), SKU: &armstorage.SKU{Name: ptr(armstorage.SKUNameStandardRAGRS)},
	}, nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(ctx, fast)
	require.NoError(t, err)

	keys, err := client.ListKeys(ctx, emulator.SeedResourceGroup, "sdkkeys", nil)
	require.NoError(t, err)
	require.Len(t, keys.Keys, 2)
	// "FULL" as recorded (storage_account_keys.json), not the enum's "Full".
	assert.True(t, strings.EqualFold(string(armstorage.KeyPermissionFull), string(*keys.Keys[0].Permissions)))
	assert.WithinDuration(t, time.Now(), *keys.Keys[0].CreationTime, time.Minute, "creation time parses")
	re, err := client.RegenerateKey(ctx, emulator.SeedResourceGroup, "sdkkeys", armstorage.AccountRegenerateKeyParameters{KeyName: ptr("key1")}, nil)
	require.NoError(t, err)
	assert.NotEqual(t, *keys.Keys[0].Value, *re.Keys[0].Value)
	assert.Equal(t, *keys.Keys[1].Value, *re.Keys[1].Value)

	got, err := client.GetProperties(ctx, emulator.SeedResourceGroup, "sdkkeys", nil)
	require.NoError(t, err)
	assert.Equal(t, "westus", *got.Properties.SecondaryLocation)
	assert.Equal(t, armstorage.AccountStatusAvailable, *got.Properties.StatusOfSecondary)
	assert.Equal(t, "https://sdkkeys-secondary.blob.core.windows.net/", *got.Properties.SecondaryEndpoints.Blob)
	up, err := client.Update(ctx, emulator.SeedResourceGroup, "sdkkeys", armstorage.AccountUpdateParameters{Tags: map[string]*string{"env": ptr("test")}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "test", *up.Tags["env"])

	n := 0
	pager := client.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		n += len(page.Value)
	}
	assert.GreaterOrEqual(t, n, 2, "the seeded account and ours")
	_, err = client.RevokeUserDelegationKeys(ctx, emulator.SeedResourceGroup, "sdkkeys", nil)
	require.NoError(t, err)

	containers, err := armstorage.NewBlobContainersClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	_, err = containers.Create(ctx, emulator.SeedResourceGroup, "sdkkeys", "sdkcontainer", armstorage.BlobContainer{}, nil)
	require.NoError(t, err)
	var names []string
	cp := containers.NewListPager(emulator.SeedResourceGroup, "sdkkeys", nil)
	for cp.More() {
		page, err := cp.NextPage(ctx)
		require.NoError(t, err)
		for _, c := range page.Value {
			names = append(names, *c.Name)
			assert.False(t, *c.Properties.ImmutableStorageWithVersioning.Enabled)
		}
	}
	assert.Equal(t, []string{"sdkcontainer"}, names)
	_, err = containers.Delete(ctx, emulator.SeedResourceGroup, "sdkkeys", "sdkcontainer", nil)
	require.NoError(t, err)

	_, err = client.Delete(ctx, emulator.SeedResourceGroup, "sdkkeys", nil)
	require.NoError(t, err)
	_, err = client.GetProperties(ctx, emulator.SeedResourceGroup, "sdkkeys", nil)
	assert.Error(t, err)
}

func TestSDKVaultListsPolicyAndDelete(t *testing.T) {
	t.Parallel()
	w, opts, _ := sdkWorld(t, &arm.LROTiming{Polls: 0})
	ctx := context.Background()
	vaults, err := armkeyvault.NewVaultsClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	name := "sdk-kv-" + strings.ToLower(w.e.SubscriptionID()[:6])
	p, err := vaults.BeginCreateOrUpdate(ctx, emulator.SeedResourceGroup, name, armkeyvault.VaultCreateOrUpdateParameters{
		Location: ptr("westus"), Properties: &armkeyvault.VaultProperties{TenantID: ptr(w.e.TenantID()),
			SKU: &armkeyvault.SKU{Family: ptr(armkeyvault.SKUFamilyA), Name: ptr(armkeyvault.SKUNameStandard)}, AccessPolicies: []*armkeyvault.AccessPolicyEntry{}},
	}, nil)
	require.NoError(t, err)
	_, err = p.PollUntilDone(ctx, fast)
	require.NoError(t, err)

	pol, err := vaults.UpdateAccessPolicy(ctx, emulator.SeedResourceGroup, name, armkeyvault.AccessPolicyUpdateKindAdd, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{{
			TenantID: ptr(w.e.TenantID()), ObjectID: ptr(w.e.Operator.ObjectID),
			Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{ptr(armkeyvault.SecretPermissionsGet)}},
		}}},
	}, nil)
	require.NoError(t, err)
	require.Len(t, pol.Properties.AccessPolicies, 1)
	assert.Equal(t, w.e.Operator.ObjectID, *pol.Properties.AccessPolicies[0].ObjectID)

	inGroup, inSub := false, false
	gp := vaults.NewListByResourceGroupPager(emulator.SeedResourceGroup, nil)
	for gp.More() {
		page, err := gp.NextPage(ctx)
		require.NoError(t, err)
		for _, v := range page.Value {
			inGroup = inGroup || *v.Name == name
		}
	}
	sp := vaults.NewListBySubscriptionPager(nil)
	for sp.More() {
		page, err := sp.NextPage(ctx)
		require.NoError(t, err)
		for _, v := range page.Value {
			inSub = inSub || *v.Name == name
		}
	}
	assert.True(t, inGroup)
	assert.True(t, inSub)

	_, err = vaults.Delete(ctx, emulator.SeedResourceGroup, name, nil)
	require.NoError(t, err)
	_, err = vaults.Get(ctx, emulator.SeedResourceGroup, name, nil)
	assert.Error(t, err)
}
