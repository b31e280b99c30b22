package imds

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/recording"
)

// TestTokenAsRecorded holds the token answer, and the 400 for a request
// without the Metadata header, against live IMDS answers recorded by the
// Python SDK: status, header names, field paths and JSON types.
func TestTokenAsRecorded(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, tc := range []struct {
		file   string
		header map[string]string
	}{
		{"testdata/token_recorded.json", md},
		{"testdata/token_no_metadata_recorded.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			want, err := recording.Load(tc.file)
			require.NoError(t, err)
			rec := f.serve("GET", tokenPath(armQuery("resource", "https://management.azure.com")), tc.header)
			assert.Equal(t, want.Status, rec.Code)
			assert.Empty(t, want.HeaderDiffs(rec.Header(), true), want.Source)
			assert.Empty(t, want.JSONDiffs(rec.Body.Bytes()), want.Source)
			assert.Equal(t, rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()))
		})
	}
	t.Run("a cached token counts expires_in down, ext_expires_in stays", func(t *testing.T) {
		f := newFixture(t, "AzureCloud")
		r := f.do(t, "GET", tokenPath(armQuery()), md)
		require.Equal(t, 200, r.code)
		f.now = f.now.Add(89 * time.Second)
		r2 := f.do(t, "GET", tokenPath(armQuery()), md)
		assert.Equal(t, r.body["access_token"], r2.body["access_token"])
		assert.Equal(t, "86311", r2.body["expires_in"])
		assert.Equal(t, "86399", r2.body["ext_expires_in"])
	})
}

// TestTokenOverHTTP checks the headers a real listener adds: Date, and no
// chunking (IMDS sends Content-Length).
func TestTokenOverHTTP(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	req, err := http.NewRequest("GET", ts.URL+tokenPath(armQuery()), nil)
	require.NoError(t, err)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	want, err := recording.Load("testdata/token_recorded.json")
	require.NoError(t, err)
	assert.Empty(t, want.HeaderDiffs(resp.Header, true))
	assert.NotEmpty(t, resp.Header.Get("Date"))
	assert.Positive(t, resp.ContentLength)
}
