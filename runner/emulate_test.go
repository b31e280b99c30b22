package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A non-loopback address without --allow-remote refuses to start.
func TestEmulateRefusesRemoteBind(t *testing.T) {
	assert.Equal(t, 1, emulate([]string{"--seed", "none", "--https-addr", "0.0.0.0:0"}))
	assert.Equal(t, 2, emulate([]string{"--seed", "none", "--faults", `{"imds":{"status":"gone"}}`}))
}

func TestParseFaults(t *testing.T) {
	set, err := parseFaults("")
	require.NoError(t, err)
	assert.Nil(t, set)
	set, err = parseFaults(`{"rbac":{"grantDelaySeconds":30},"imds":{"status":410,"seconds":70}}`)
	require.NoError(t, err)
	assert.Equal(t, 30.0, set.RBAC.GrantDelaySeconds)
	assert.Equal(t, 410, set.IMDS.Status)
	p := filepath.Join(winetest.TempDir(t), "faults.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"tokens":{"lifetimeSeconds":120}}`), 0o600))
	set, err = parseFaults("@" + p)
	require.NoError(t, err)
	assert.Equal(t, 120.0, set.Tokens.LifetimeSeconds)
	_, err = parseFaults(`{"imds":{"statuss":410}}`)
	assert.Error(t, err, "a misspelt field is an error, not a silent no-op")
}
