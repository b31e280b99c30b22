package imds

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/recording"
)

// TestIdentityInfoAsSpecified holds GET /metadata/identity/info against
// the REST specification's example (the only evidence found): status and
// fields. Its errors share the identity endpoints' shape, as the 400 for a
// missing Metadata header does (token_no_metadata_recorded.json).
func TestIdentityInfoAsSpecified(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	want, err := recording.Load("testdata/identity_info_spec_example.json")
	require.NoError(t, err)
	rec := f.serve("GET", "/metadata/identity/info?api-version=2023-07-01", md)
	assert.Equal(t, want.Status, rec.Code, rec.Body.String())
	assert.Empty(t, want.JSONDiffs(rec.Body.Bytes()), want.Source)

	bad, err := recording.Load("testdata/token_no_metadata_recorded.json")
	require.NoError(t, err)
	noMeta := f.serve("GET", "/metadata/identity/info?api-version=2023-07-01", nil)
	assert.Equal(t, bad.Status, noMeta.Code)
	assert.Empty(t, bad.JSONDiffs(noMeta.Body.Bytes()), bad.Source)
}
