package entra_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/emulator/entra"
)

// The services fault on the login host: ESTS's headers and AADSTS body.
func TestWriteFault(t *testing.T) {
	key := emulatortest.SharedKey()
	iss := entra.NewIssuer(cloud.MustLookup("AzureCloud"), directory.New(directory.NewGUID()), key)
	for status, want := range map[int]string{500: "server_error", 503: "temporarily_unavailable"} {
		rec := httptest.NewRecorder()
		iss.WriteFault(rec, httptest.NewRequest("POST", "https://login.microsoftonline.com/x/oauth2/v2.0/token", nil), status)
		assert.Equal(t, status, rec.Code)
		assert.Equal(t, want, gjson.Get(rec.Body.String(), "error").String())
		assert.NotEmpty(t, rec.Header().Get("x-ms-ests-server"))
	}
}
