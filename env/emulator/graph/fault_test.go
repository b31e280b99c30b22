package graph_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/graph"
)

// The services fault on Graph: Graph's error with innerError.
func TestWriteFault(t *testing.T) {
	key := emulatortest.SharedKey()
	c := cloud.MustLookup("AzureCloud")
	s := graph.New(c, entra.NewIssuer(c, directory.New(directory.NewGUID()), key))
	for status, want := range map[int]string{500: "generalException", 503: "serviceNotAvailable"} {
		rec := httptest.NewRecorder()
		s.WriteFault(rec, httptest.NewRequest("GET", "https://graph.microsoft.com/v1.0/me", nil), status)
		assert.Equal(t, status, rec.Code)
		assert.Equal(t, want, gjson.Get(rec.Body.String(), "error.code").String())
		assert.Equal(t, rec.Header().Get("request-id"), gjson.Get(rec.Body.String(), "error.innerError.request-id").String())
	}
}
