package entra

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/recording"
)

// TestLoginAsRecorded holds the login host's answers against live ones
// recorded by the JS SDK: status, header names, field paths and types.
func TestLoginAsRecorded(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.app.ClientID}, "client_secret": {f.app.Secret}, "scope": {"https://storage.azure.com/.default"}}
	for _, tc := range []struct {
		file, method, path string
		body               string
	}{
		{"testdata/token_v2_recorded.json", "POST", "/" + testTenant + "/oauth2/v2.0/token", form.Encode()},
		{"testdata/instance_discovery_recorded.json", "GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, err := recording.Load(tc.file)
			require.NoError(t, err)
			req := httptest.NewRequest(tc.method, "https://login.microsoftonline.com"+tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			// What msal-node sent in the recording.
			req.Header.Set("x-client-current-telemetry", "2|771,0|,")
			rec := httptest.NewRecorder()
			f.iss.ServeHTTP(rec, req)
			assert.Equal(t, want.Status, rec.Code, rec.Body.String())
			assert.Empty(t, want.HeaderDiffs(rec.Header(), true), want.Source)
			assert.Empty(t, want.JSONDiffs(rec.Body.Bytes()), want.Source)
			assert.Regexp(t, `^[0-9a-f-]{36}$`, rec.Header().Get("x-ms-request-id"))
		})
	}
}

func TestClientRequestIDEchoed(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, path := range []string{"/" + testTenant + "/oauth2/v2.0/token", "/common/discovery/instance"} {
		req := httptest.NewRequest("POST", "https://login.microsoftonline.com"+path, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("client-request-id", "7cf02e95-fd29-40de-8bad-67fbfd515f8f")
		rec := httptest.NewRecorder()
		f.iss.ServeHTTP(rec, req)
		assert.Equal(t, "7cf02e95-fd29-40de-8bad-67fbfd515f8f", rec.Header().Get("client-request-id"))
		assert.NotEmpty(t, rec.Header().Get("x-ms-request-id"))
		assert.Empty(t, rec.Header().Get("x-ms-clitelem"), "no telemetry sent, none answered")
	}
}
