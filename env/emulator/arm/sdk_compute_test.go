package arm_test

import (
	"context"
	"net/http"
	"testing"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
)

// nicPoller sends a Network Interfaces request through the generic
// Resource Manager pipeline and wraps the answer in azcore's poller, as
// armnetwork's InterfacesClient does (final state via the
// Azure-AsyncOperation for a create, via Location for a delete): armnetwork
// itself is codegen over exactly these two calls, and the project does not
// depend on it.
func nicPoller(t *testing.T, ctx context.Context, w *world, opts *azarm.ClientOptions, method, id string, body any) *runtime.Poller[map[string]any] {
	t.Helper()
	client, err := azarm.NewClient("armnetwork", "v6.2.0", operatorCred{w.e}, opts)
	require.NoError(t, err)
	req, err := runtime.NewRequest(ctx, method, "https://"+w.e.Cloud.ARMHost+id+"?api-version=2024-05-01")
	require.NoError(t, err)
	if body != nil {
		require.NoError(t, runtime.MarshalAsJSON(req, body))
	}
	resp, err := client.Pipeline().Do(req)
	require.NoError(t, err)
	require.True(t, runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent), "%s %s: %d", method, id, resp.StatusCode)
	final := runtime.FinalStateViaAzureAsyncOp
	if method == http.MethodDelete {
		final = runtime.FinalStateViaLocation
	}
	p, err := runtime.NewPoller(resp, client.Pipeline(), &runtime.NewPollerOptions[map[string]any]{FinalStateVia: final})
	require.NoError(t, err)
	return p
}

func TestSDKVMLifecycle(t *testing.T) {
	t.Parallel()
	w, opts, c := sdkWorld(t, &arm.LROTiming{Polls: 2})
	ctx := context.Background()
	rg := w.e.World.ResourceGroup
	nicID := w.rg() + "/providers/Microsoft.Network/networkInterfaces/sdkNic"

	// Network's 201 already says Succeeded (recorded), which azcore takes
	// as a create finished at once: it reads the NIC without polling.
	np := nicPoller(t, ctx, w, opts, http.MethodPut, nicID, nicRequest(w))
	assert.True(t, np.Done(), "Succeeded in the 201")
	nic, err := np.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, "Succeeded", str(nic, "properties", "provisioningState"))
	assert.Equal(t, 0, c.count("GET", "/Microsoft.Network/locations/eastus/operations/"))

	vms, err := armcompute.NewVirtualMachinesClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	cp, err := vms.BeginCreateOrUpdate(ctx, rg, "sdkVM", armcompute.VirtualMachine{
		Location: ptr("eastus"),
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: ptr(armcompute.VirtualMachineSizeTypesStandardF2)},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: &armcompute.ImageReference{Publisher: ptr("Canonical"), Offer: ptr("UbuntuServer"), SKU: ptr("16.04-LTS"), Version: ptr("latest")},
				OSDisk: &armcompute.OSDisk{CreateOption: ptr(armcompute.DiskCreateOptionTypesFromImage),
					ManagedDisk: &armcompute.ManagedDiskParameters{StorageAccountType: ptr(armcompute.StorageAccountTypesStandardLRS)}},
			},
			OSProfile: &armcompute.OSProfile{ComputerName: ptr("sdkVM"), AdminUsername: ptr("adminuser"),
				LinuxConfiguration: &armcompute.LinuxConfiguration{DisablePasswordAuthentication: ptr(true)}},
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{ID: ptr(nicID)}}},
		},
	}, nil)
	require.NoError(t, err)
	assert.False(t, cp.Done(), "a create is accepted, not done")
	vm, err := cp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, "Succeeded", *vm.Properties.ProvisioningState)
	require.NotNil(t, vm.Properties.StorageProfile.OSDisk.ManagedDisk.ID, "the final GET names the OS disk")
	osDisk := *vm.Properties.StorageProfile.OSDisk.Name
	assert.Equal(t, 3, c.count("GET", "/Microsoft.Compute/locations/eastus/operations/"), "InProgress twice, then Succeeded")

	up, err := vms.BeginUpdate(ctx, rg, "sdkVM", armcompute.VirtualMachineUpdate{Properties: &armcompute.VirtualMachineProperties{
		HardwareProfile: &armcompute.HardwareProfile{VMSize: ptr(armcompute.VirtualMachineSizeTypesStandardF1)}}}, nil)
	require.NoError(t, err)
	assert.False(t, up.Done())
	u, err := up.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, armcompute.VirtualMachineSizeTypesStandardF1, *u.Properties.HardwareProfile.VMSize)
	assert.Equal(t, "Succeeded", *u.Properties.ProvisioningState)

	pager := vms.NewListPager(rg, nil)
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	assert.ElementsMatch(t, []string{emulator.SeedVMName, "sdkVM"}, names)

	dp, err := vms.BeginDelete(ctx, rg, "sdkVM", nil)
	require.NoError(t, err)
	assert.False(t, dp.Done())
	_, err = dp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	_, err = vms.Get(ctx, rg, "sdkVM", nil)
	assert.Error(t, err, "gone")

	// Its OS disk (deleteOption Detach) is left, unattached: Disks deletes it.
	disks, err := armcompute.NewDisksClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)
	d, err := disks.Get(ctx, rg, osDisk, nil)
	require.NoError(t, err)
	assert.Equal(t, armcompute.DiskStateUnattached, *d.Properties.DiskState)
	ddp, err := disks.BeginDelete(ctx, rg, osDisk, nil)
	require.NoError(t, err)
	assert.False(t, ddp.Done())
	_, err = ddp.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, c.count("GET", "/DiskOperations/"), 3)
	_, err = disks.Get(ctx, rg, osDisk, nil)
	assert.Error(t, err)

	// The NIC was detached with its VM; Network deletes it.
	del := nicPoller(t, ctx, w, opts, http.MethodDelete, nicID, nil)
	assert.False(t, del.Done())
	_, err = del.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, 404, w.call("GET", nicID+"?api-version=2024-05-01", nil).status)
}
