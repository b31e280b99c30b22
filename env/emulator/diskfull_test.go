package emulator_test

import (
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
	dir := t.TempDir()
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
	assert.Equal(t, 404, h.do("GET", h.blobURL("new.txt"), h.blobHeader(), nil).code, "a write not on disk is not served")
	r := h.do("GET", h.blobURL("kept.txt"), h.blobHeader(), nil)
	assert.Equal(t, "kept", string(r.raw), "nor a delete or overwrite that did not reach the disk")

	full = false
	require.Equal(t, 201, h.do("PUT", h.blobURL("new.txt"), h.blobHeader(), "new").code)
	require.Equal(t, 202, h.do("DELETE", h.blobURL("kept.txt"), h.blobHeader(), nil).code)
	stop()

	h, _ = startIn(t, dir)
	assert.Equal(t, "new", string(h.do("GET", h.blobURL("new.txt"), h.blobHeader(), nil).raw))
	assert.Equal(t, 404, h.do("GET", h.blobURL("kept.txt"), h.blobHeader(), nil).code)
}
