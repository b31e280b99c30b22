package emulator_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/wine/winetest"
)

// Two emulators sharing a signing key (the harness's pool) are still two
// tenants: each answers its own operator, and refuses the other's token
// as Resource Manager refuses a token from another tenant.
func TestSharedSigningKeyKeepsTenantsApart(t *testing.T) {
	t.Parallel()
	a := start(t, opts{})
	b, err := emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), SigningKey: a.E.Issuer.SigningKey()})
	require.NoError(t, err)
	require.NoError(t, b.Start())
	hb := &harness{t: t, E: b, client: b.HTTPClient()}
	t.Cleanup(func() {
		hb.client.CloseIdleConnections()
		_ = b.Close()
	})
	require.NotEqual(t, a.E.TenantID(), b.TenantID())
	assert.Equal(t, 200, hb.op("GET", hb.sub()+"/resourcegroups?api-version=2021-04-01", nil).code)

	r := hb.arm("GET", hb.sub()+"/resourcegroups?api-version=2021-04-01", a.operatorToken(), nil)
	assert.Equal(t, 401, r.code)
	assert.Equal(t, "InvalidAuthenticationTokenTenant", r.errCode())
}

// A state dir keeps its own key; a given one would be silently replaced.
func TestSigningKeyWithStateDirRefused(t *testing.T) {
	t.Parallel()
	a := start(t, opts{})
	_, err := emulator.New(emulator.Config{StateDir: winetest.TempDir(t), SigningKey: a.E.Issuer.SigningKey()})
	assert.ErrorContains(t, err, "SigningKey cannot be given with a StateDir")
}
