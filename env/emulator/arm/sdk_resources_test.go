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

	"github.com/miconform/miconform/env/emulator/arm"
)

// The official SDK's pollers drive the VM extension's long-running
// install, update and removal, and azcore's generic poller a resource
// group's deletion (no armresources module in go.mod: any ARM client's
// pipeline polls the same way).

func TestSDKVMExtensionLifecycle(t *testing.T) {
	t.Parallel()
	w, opts, c := sdkWorld(t, &arm.LROTiming{Polls: 1})
	ctx := context.Background()
	world := w.e.World
	exts, err := armcompute.NewVirtualMachineExtensionsClient(w.e.SubscriptionID(), operatorCred{w.e}, opts)
	require.NoError(t, err)

	p, err := exts.BeginCreateOrUpdate(ctx, world.ResourceGroup, world.VMName, "sdk-ext", armcompute.VirtualMachineExtension{
		Location: ptr("westus"),
		Properties: &armcompute.VirtualMachineExtensionProperties{
			Publisher: ptr("Microsoft.OSTCExtensions"), Type: ptr("VMAccessForLinux"), TypeHandlerVersion: ptr("1.2"),
			AutoUpgradeMinorVersion: ptr(true),
		},
	}, nil)
	require.NoError(t, err)
	assert.False(t, p.Done(), "Creating is not terminal")
	x, err := p.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, "Succeeded", *x.Properties.ProvisioningState)
	assert.GreaterOrEqual(t, c.count("GET", "/providers/Microsoft.Compute/locations/"), 2, "InProgress, then Succeeded")

	u, err := exts.BeginUpdate(ctx, world.ResourceGroup, world.VMName, "sdk-ext", armcompute.VirtualMachineExtensionUpdate{
		Properties: &armcompute.VirtualMachineExtensionUpdateProperties{TypeHandlerVersion: ptr("1.3")},
	}, nil)
	require.NoError(t, err)
	ux, err := u.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, "1.3", *ux.Properties.TypeHandlerVersion)
	assert.Equal(t, "Succeeded", *ux.Properties.ProvisioningState)

	l, err := exts.List(ctx, world.ResourceGroup, world.VMName, nil)
	require.NoError(t, err)
	names := []string{}
	for _, e := range l.Value {
		names = append(names, *e.Name)
	}
	assert.Contains(t, names, "sdk-ext")

	d, err := exts.BeginDelete(ctx, world.ResourceGroup, world.VMName, "sdk-ext", nil)
	require.NoError(t, err)
	_, err = d.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	_, err = exts.Get(ctx, world.ResourceGroup, world.VMName, "sdk-ext", nil)
	assert.Error(t, err, "gone")
}

func TestSDKResourceGroupDelete(t *testing.T) {
	t.Parallel()
	w, opts, c := sdkWorld(t, &arm.LROTiming{Polls: 2})
	ctx := context.Background()
	client, err := azarm.NewClient("miconform.test", "v0.1.0", operatorCred{w.e}, opts)
	require.NoError(t, err)
	path := "/subscriptions/" + w.e.SubscriptionID() + "/resourcegroups/sdk-deleted?api-version=2022-09-01"
	require.Equal(t, 201, w.call("PUT", path, map[string]any{"location": "westus"}).status)

	req, err := runtime.NewRequest(ctx, http.MethodDelete, client.Endpoint()+path)
	require.NoError(t, err)
	resp, err := client.Pipeline().Do(req)
	require.NoError(t, err)
	require.Equal(t, 202, resp.StatusCode)
	poller, err := runtime.NewPoller[struct{}](resp, client.Pipeline(), nil)
	require.NoError(t, err)
	assert.False(t, poller.Done())
	_, err = poller.PollUntilDone(ctx, fast)
	require.NoError(t, err)
	assert.Equal(t, 3, c.count("GET", "/operationresults/"), "202, 202, then 200")
	assert.Equal(t, 404, w.call("GET", path, nil).status)
}
