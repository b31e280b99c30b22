package blob_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/blob"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// The services fault on Blob: Storage's XML error and common headers, the
// x-ms-version echoed only when it is one Storage knows.
func TestWriteFault(t *testing.T) {
	key := emulatortest.SharedKey()
	c := cloud.MustLookup("AzureCloud")
	s := blob.New(c, entra.NewIssuer(c, directory.New(directory.NewGUID()), key), rbac.NewStore())
	for status, want := range map[int]string{500: "InternalError", 503: "ServerBusy"} {
		for version, echoed := range map[string]string{"2021-08-06": "2021-08-06", "1999-01-01": ""} {
			req := httptest.NewRequest("GET", "https://a.blob.core.windows.net/c/b", nil)
			req.Header.Set("x-ms-version", version)
			rec := httptest.NewRecorder()
			s.WriteFault(rec, req, status)
			assert.Equal(t, status, rec.Code)
			assert.Equal(t, want, rec.Header().Get("x-ms-error-code"))
			assert.True(t, strings.Contains(rec.Body.String(), "<Code>"+want+"</Code>"), rec.Body.String())
			assert.Equal(t, echoed, rec.Header().Get("x-ms-version"))
		}
	}
}
