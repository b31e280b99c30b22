package imds

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/recording"
)

// TestVersionsAsCaptured holds GET /metadata/versions against the answer
// SUSE's saptune captured on an Azure VM: a 200 whose body is only
// apiVersions, an array of strings, oldest first, beginning with the five
// the capture lists. Every version listed is one this IMDS accepts.
func TestVersionsAsCaptured(t *testing.T) {
	want, err := recording.Load("testdata/versions_captured.json")
	require.NoError(t, err)
	f := newFixture(t, "AzureCloud")
	rec := f.serve("GET", "/metadata/versions", md)
	assert.Equal(t, want.Status, rec.Code)
	assert.Empty(t, want.JSONDiffs(rec.Body.Bytes()), want.Source)

	var got, captured struct {
		APIVersions []string `json:"apiVersions"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.NoError(t, json.Unmarshal(want.Body, &captured))
	require.GreaterOrEqual(t, len(got.APIVersions), 5)
	assert.Equal(t, captured.APIVersions[:5], got.APIVersions[:5], "oldest first, as captured")
	assert.True(t, slices.IsSorted(got.APIVersions), "the newest last: clients take the last element")
	for _, v := range got.APIVersions {
		assert.True(t, supported(v, ""), "listed but refused: %s", v)
	}
	r := f.do(t, "GET", "/metadata/instance?api-version="+got.APIVersions[len(got.APIVersions)-1], md)
	assert.Equal(t, 200, r.code, "the newest version listed serves the instance document")
}
