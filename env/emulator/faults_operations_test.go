package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pollsInProgress polls an Azure-AsyncOperation as az and the SDK
// pollers do, without waiting out Retry-After, and counts the "in
// progress" answers before the operation is done; it returns them and the
// Retry-After of the first.
func (h *harness) pollsInProgress(async string) (int, string) {
	h.t.Helper()
	require.NotEmpty(h.t, async)
	n, retry := 0, ""
	for i := 0; ; i++ {
		require.Less(h.t, i, 2000, "still in progress")
		r := h.do("GET", async, http.Header{"Authorization": {"Bearer " + h.operatorToken()}}, nil)
		require.Equal(h.t, 200, r.code, "%s", r.raw)
		if str(r.body, "status") != "InProgress" {
			require.Equal(h.t, "Succeeded", str(r.body, "status"))
			return n, retry
		}
		if n == 0 {
			retry = r.header.Get("Retry-After")
		}
		n++
	}
}

// createNIC creates a NIC and returns its create's Azure-AsyncOperation.
func (h *harness) createNIC(name string) string {
	h.t.Helper()
	r := h.op("PUT", h.rg(h.E.World.ResourceGroup)+"/providers/Microsoft.Network/networkInterfaces/"+name+"?api-version=2024-05-01", map[string]any{
		"location": h.E.World.Location, "properties": map[string]any{"ipConfigurations": []any{map[string]any{"name": "ipconfig1", "properties": map[string]any{}}}},
	})
	require.Equal(h.t, 201, r.code, "%s", r.raw)
	return r.header.Get("Azure-AsyncOperation")
}

// The operations fault, through the control API: while it is set, each
// long-running operation begun answers "in progress" as often as asked,
// with the Retry-After asked; cleared or expired, the emulator's own
// pacing (one "in progress" answer, Retry-After 1) is back.
func TestOperationsFault(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials"})
	op := h.operatorToken()

	r := h.control("PUT", "/_emulator/faults/operations", op, `{"polls":3,"retryAfterSeconds":2,"seconds":60}`)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.EqualValues(t, 3, get(r.body, "polls"))
	assert.EqualValues(t, 2, get(r.body, "retryAfterSeconds"))
	assert.Greater(t, get(r.body, "remainingSeconds"), 59.0)
	r = h.control("GET", "/_emulator/faults", op, "")
	assert.EqualValues(t, 3, get(r.body, "operations", "polls"))

	// A VM delete and a NIC create begun under the fault.
	del := h.op("DELETE", h.E.World.VMResourceID+"?api-version=2024-07-01", nil)
	require.Equal(t, 202, del.code, "%s", del.raw)
	assert.Equal(t, "2", del.header.Get("Retry-After"))
	n, retry := h.pollsInProgress(del.header.Get("Azure-AsyncOperation"))
	assert.Equal(t, 3, n)
	assert.Equal(t, "2", retry)
	n, _ = h.pollsInProgress(h.createNIC("underfault"))
	assert.Equal(t, 3, n)

	// Cleared: the default again.
	assert.Equal(t, 204, h.control("DELETE", "/_emulator/faults/operations", op, "").code)
	assert.Equal(t, 404, h.control("GET", "/_emulator/faults/operations", op, "").code)
	n, retry = h.pollsInProgress(h.createNIC("cleared"))
	assert.Equal(t, 1, n)
	assert.Equal(t, "1", retry)

	// Expired: likewise, without anyone clearing it.
	r = h.control("PUT", "/_emulator/faults/operations", op, `{"polls":2,"seconds":0.2}`)
	require.Equal(t, 200, r.code, "%s", r.raw)
	n, _ = h.pollsInProgress(h.createNIC("beforeexpiry"))
	assert.Equal(t, 2, n)
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, 404, h.control("GET", "/_emulator/faults/operations", op, "").code)
	n, _ = h.pollsInProgress(h.createNIC("expired"))
	assert.Equal(t, 1, n)

	// Out of range is refused with a message saying what is allowed.
	for body, says := range map[string]string{
		`{"polls":-1}`:                        "polls must be between 0 and 1000",
		`{"polls":1001}`:                      "polls must be between 0 and 1000",
		`{"polls":1,"seconds":601}`:           "seconds must be between 0 and 600",
		`{"minDurationSeconds":601}`:          "minDurationSeconds must be between 0 and 600",
		`{"polls":1,"retryAfterSeconds":121}`: "retryAfterSeconds must be between 0 and 120",
		`{"polls":1,"seconds":1e308}`:         "seconds must be between 0 and 600",
		`{}`:                                  "give polls or minDurationSeconds",
		`{"polls":"many"}`:                    "operations:",
	} {
		r := h.control("PUT", "/_emulator/faults/operations", op, body)
		assert.Equal(t, 400, r.code, "%s", body)
		assert.Equal(t, "InvalidFault", r.errCode(), "%s", body)
		assert.Contains(t, r.errMessage(), says, "%s", body)
	}
	assert.Equal(t, 404, h.control("GET", "/_emulator/faults/operations", op, "").code, "nothing set by a refused fault")
}
