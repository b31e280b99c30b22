package emulator_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/state"
	"github.com/miconform/miconform/env/wine/winetest"
)

// Two emulators never share a state directory: the second is refused,
// naming the process that holds it, and the directory is free again once
// the first is closed (its world intact).
func TestStateDirTakenOnce(t *testing.T) {
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	tenant := h.E.TenantID()

	_, err := emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir})
	var le *state.LockedError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), "in use by process "+strconv.Itoa(os.Getpid()))

	stop()
	h2, _ := startIn(t, dir)
	assert.Equal(t, tenant, h2.E.TenantID(), "the refused start changed nothing")
}
