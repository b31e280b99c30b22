package keyvault_test

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
	"github.com/miconform/miconform/env/emulator/keyvault"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// The services fault on a vault: Key Vault's error and headers.
func TestWriteFault(t *testing.T) {
	key := emulatortest.SharedKey()
	c := cloud.MustLookup("AzureCloud")
	dir := directory.New(directory.NewGUID())
	iss := entra.NewIssuer(c, dir, key)
	store := rbac.NewStore()
	s := keyvault.New(c, arm.New(c, directory.NewGUID(), dir, iss, store), iss, store)
	for status, want := range map[int]string{500: "InternalServerError", 503: "ServiceUnavailable"} {
		rec := httptest.NewRecorder()
		s.WriteFault(rec, httptest.NewRequest("GET", "https://v.vault.azure.net/secrets/x", nil), status)
		assert.Equal(t, status, rec.Code)
		assert.Equal(t, want, gjson.Get(rec.Body.String(), "error.code").String())
		assert.NotEmpty(t, rec.Header().Get("x-ms-keyvault-service-version"))
	}
}
