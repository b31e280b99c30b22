package emulator_test

import (
	"github.com/miconform/miconform/env/wine/winetest"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFullDisk: while the disk refuses writes, Blob writes (DELETE too)
// answer Azure's InternalError shape naming the cause, memory serves only
// what is on disk, and once there is space writes succeed again without a
// restart.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	w := h.E.World
	account := h.rg(w.ResourceGroup) + "/providers/Microsoft.Storage/storageAccounts/" + w.StorageAccount
	h.assignRole(h.E.Operator.ObjectID, blobContributorRole, account)
	require.Equal(t, 201, h.do("PUT", h.blobURL("kept.txt"), h.blobHeader(), "kept").code)

	full := true
	h.E.StateLog("blob").InjectWriteFault(func() error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	})
	for _, op := range []struct{ method, name, body string }{
		{"PUT", "new.txt", "new"},
		{"DELETE", "kept.txt", ""},
		{"PUT", "kept.txt", "overwritten"},
	} {
		var body any
		if op.body != "" {
			body = op.body
		}
		r := h.do(op.method, h.blobURL(op.name), h.blobHeader(), body)
		assert.Equal(t, 500, r.code, "%s %s", op.method, op.name)
		assert.Equal(t, "InternalError", r.header.Get("x-ms-error-code"))
		assert.Contains(t, string(r.raw), "<Code>InternalError</Code>")
		assert.Contains(t, string(r.raw), "no space left on device")
		assert.Contains(t, string(r.raw), "retry once the disk has space")
	}
	keys := h.op("POST", account+"/listKeys?api-version=2023-01-01", nil)
	r := h.op("POST", account+"/regenerateKey?api-version=2023-01-01", map[string]any{"keyName": "key1"})
	assert.Equal(t, 500, r.code, "%s", r.raw)
	assert.Contains(t, string(r.raw), "no space left on device")
	assert.Contains(t, string(r.raw), "retry once the disk has space")
	assert.JSONEq(t, string(keys.raw), string(h.op("POST", account+"/listKeys?api-version=2023-01-01", nil).raw), "the refused key is not in use")
	assert.Equal(t, 404, h.do("GET", h.blobURL("new.txt"), h.blobHeader(), nil).code, "a write not on disk is not served")
	r = h.do("GET", h.blobURL("kept.txt"), h.blobHeader(), nil)
	assert.Equal(t, "kept", string(r.raw), "nor a delete or overwrite that did not reach the disk")

	full = false
	require.Equal(t, 201, h.do("PUT", h.blobURL("new.txt"), h.blobHeader(), "new").code)
	require.Equal(t, 202, h.do("DELETE", h.blobURL("kept.txt"), h.blobHeader(), nil).code)
	stop()

	h, _ = startIn(t, dir)
	assert.Equal(t, "new", string(h.do("GET", h.blobURL("new.txt"), h.blobHeader(), nil).raw))
	assert.Equal(t, 404, h.do("GET", h.blobURL("kept.txt"), h.blobHeader(), nil).code)
}

// TestFullDiskKeyVault: the same for secrets: the refused Set Secret is
// answered with Key Vault's error shape naming the cause and is not
// served; once there is space, writes work without a restart.
func TestFullDiskKeyVault(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	h, stop := startIn(t, dir)
	require.Equal(t, 200, h.do("PUT", h.secretURL("s", ""), h.vaultHeader(), `{"value":"v1"}`).code)
	full := true
	h.E.StateLog("keyvault").InjectWriteFault(func() error {
		if full {
			return syscall.ENOSPC
		}
		return nil
	})
	r := h.do("PUT", h.secretURL("s", ""), h.vaultHeader(), `{"value":"v2"}`)
	assert.Equal(t, 500, r.code)
	assert.Equal(t, "InternalServerError", str(r.body, "error", "code"))
	assert.Contains(t, str(r.body, "error", "message"), "no space left on device")
	assert.Contains(t, str(r.body, "error", "message"), "retry once the disk has space")
	assert.Equal(t, 500, h.do("DELETE", h.secretURL("s", ""), h.vaultHeader(), nil).code)
	r = h.do("GET", h.secretURL("s", ""), h.vaultHeader(), nil)
	assert.Equal(t, "v1", str(r.body, "value"), "the refused version is not served")
	r = h.do("GET", h.secretURL("s/versions", ""), h.vaultHeader(), nil)
	assert.Len(t, r.value(), 1)

	full = false
	require.Equal(t, 200, h.do("PUT", h.secretURL("s", ""), h.vaultHeader(), `{"value":"v3"}`).code)
	stop()
	h, _ = startIn(t, dir)
	r = h.do("GET", h.secretURL("s", ""), h.vaultHeader(), nil)
	assert.Equal(t, "v3", str(r.body, "value"))
	assert.Len(t, h.do("GET", h.secretURL("s/versions", ""), h.vaultHeader(), nil).value(), 2)
}
