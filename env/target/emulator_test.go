package target

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
)

// Isolate hands each concurrent scenario an emulator of its own, reuses
// released ones, and Close closes every one it started.
func TestEmulatorIsolate(t *testing.T) {
	root, err := NewEmulatorWith(cloud.MustLookup("AzureUSGovernment"), EmulatorOptions{SigningKey: entratest.Key()})
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = root.Close(context.Background())
		}
	})

	a, releaseA, err := root.Isolate()
	require.NoError(t, err)
	assert.Same(t, root, a, "the first scenario gets the emulator the run reports on")
	b, releaseB, err := root.Isolate()
	require.NoError(t, err)
	require.NotSame(t, a, b)
	fa, fb := a.Facts(), b.Facts()
	assert.NotEqual(t, fa.TenantID, fb.TenantID, "a tenant of its own")
	assert.NotEqual(t, fa.SubscriptionID, fb.SubscriptionID)
	assert.Equal(t, fa.VMName, fb.VMName, "the same tutorials' world")
	assert.Equal(t, fa.Fixtures, fb.Fixtures)
	assert.Equal(t, "AzureUSGovernment", b.Cloud().Name)
	assert.Equal(t, root.Policy().Tags, b.Policy().Tags, "one run")
	assert.True(t, b.(*Emulator).E.IMDS.Throttle, "each emulator's IMDS has the limits of one VM's")
	assert.Same(t, root.E.Issuer.SigningKey(), b.(*Emulator).E.Issuer.SigningKey(), "the pool signs with one key")

	// b answers on its own listeners, to its own operator.
	tok, err := b.Operator().GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(b.Cloud().ARMResource, "/") + "/.default"}})
	require.NoError(t, err)
	assert.NotEmpty(t, tok.Token)

	releaseB()
	releaseB() // a second release is harmless
	c, releaseC, err := root.Isolate()
	require.NoError(t, err)
	assert.Same(t, b, c, "a released emulator is reused, not a new one started")
	assert.Len(t, root.Pooled(), 2)
	releaseA()
	releaseC()

	pooled := root.Pooled()
	require.NoError(t, root.Close(context.Background()))
	closed = true
	for _, m := range pooled {
		_, err := m.client.Get("https://" + m.E.Cloud.ARMHost + "/")
		assert.Error(t, err, "every pooled emulator is closed")
	}
	_, _, err = root.Isolate()
	assert.ErrorContains(t, err, "closed")
}

// An unthrottled emulator's pool is unthrottled too.
func TestEmulatorUnthrottled(t *testing.T) {
	root, err := NewEmulatorWith(cloud.MustLookup("AzureCloud"), EmulatorOptions{SigningKey: entratest.Key(), Unthrottled: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close(context.Background()) })
	_, releaseA, err := root.Isolate()
	require.NoError(t, err)
	defer releaseA()
	b, releaseB, err := root.Isolate()
	require.NoError(t, err)
	defer releaseB()
	assert.False(t, root.E.IMDS.Throttle)
	assert.False(t, b.(*Emulator).E.IMDS.Throttle)
}
