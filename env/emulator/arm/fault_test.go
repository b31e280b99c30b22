package arm_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// The services fault on Resource Manager: ARM's error and headers.
func TestWriteFault(t *testing.T) {
	t.Parallel()
	key := emulatortest.SharedKey()
	c := cloud.MustLookup("AzureCloud")
	dir := directory.New(directory.NewGUID())
	s := arm.New(c, directory.NewGUID(), dir, entra.NewIssuer(c, dir, key), rbac.NewStore())
	for status, want := range map[int]string{500: "InternalServerError", 503: "ServiceUnavailable"} {
		rec := httptest.NewRecorder()
		s.WriteFault(rec, httptest.NewRequest("GET", "https://management.azure.com/subscriptions", nil), status)
		assert.Equal(t, status, rec.Code)
		assert.Equal(t, want, gjson.Get(rec.Body.String(), "error.code").String())
		assert.Equal(t, "service", rec.Header().Get("x-ms-failure-cause"))
	}
}
