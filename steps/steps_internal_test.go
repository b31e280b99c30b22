package steps

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

func TestSubsetAcceptsAddedFields(t *testing.T) {
	want := decode(t, `{"id":"/x","properties":{"provisioningState":"Succeeded"}}`)
	got := decode(t, `{"id":"/x","type":"t","tags":{},"properties":{"provisioningState":"Succeeded","extra":1}}`)
	assert.Empty(t, subset(want, got, "$"))
}

func TestSubsetReportsEveryDifferenceWithItsPath(t *testing.T) {
	want := decode(t, `{"id":"/x","name":"n","properties":{"provisioningState":"Succeeded"},"list":[1,2]}`)
	got := decode(t, `{"id":"/y","properties":{"provisioningState":"Failed"},"list":[1]}`)
	diffs := subset(want, got, "$")
	joined := strings.Join(diffs, "\n")
	assert.Len(t, diffs, 4, joined)
	assert.Contains(t, joined, `$.id: want "/x", got "/y"`)
	assert.Contains(t, joined, `$.name: missing`)
	assert.Contains(t, joined, `$.properties.provisioningState: want "Succeeded", got "Failed"`)
	assert.Contains(t, joined, `$.list: want 2-element array`)
}

func TestSubsetDistinguishesJSONTypes(t *testing.T) {
	// "3599" (string, as IMDS sends) is not 3599 (number).
	assert.NotEmpty(t, subset(decode(t, `{"expires_in":"3599"}`), decode(t, `{"expires_in":3599}`), "$"))
	assert.NotEmpty(t, subset(decode(t, `{"a":{}}`), decode(t, `{"a":[]}`), "$"))
	assert.NotEmpty(t, subset(decode(t, `{"a":null}`), decode(t, `{"a":"null"}`), "$"))
	assert.Empty(t, subset(decode(t, `{"a":null,"b":true}`), decode(t, `{"a":null,"b":true}`), "$"))
}

func TestExpandFillsPlaceholdersAndRefusesUnknownOnes(t *testing.T) {
	s := &scenario{vars: map[string]string{}}
	s.set("SUBSCRIPTION-ID", "sub")
	s.set("RESOURCE-GROUP", "DevTest-ab12")
	got, err := s.expand("/subscriptions/<SUBSCRIPTION-ID>/resourcegroups/<RESOURCE-GROUP-LOWER>")
	require.NoError(t, err)
	assert.Equal(t, "/subscriptions/sub/resourcegroups/devtest-ab12", got)

	_, err = s.expand("<SUBSCRIPTION-ID>/<CLIENT-ID>/<VM-NAME>")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "<CLIENT-ID>, <VM-NAME>")

	// Angle brackets that are not placeholders (lower case, XML) pass through.
	got, err = s.expand("<xml>a</xml> <SUBSCRIPTION-ID>")
	require.NoError(t, err)
	assert.Equal(t, "<xml>a</xml> sub", got)
}

func TestCheckCollectsFailuresWithoutTraceAndRedacted(t *testing.T) {
	c := &check{}
	assert.Nil(t, c.err())
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
	assert.Equal(c, "Bearer", token, "token_type")
	err := c.err()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "Error Trace")
	assert.NotContains(t, err.Error(), token)
	assert.Contains(t, err.Error(), "token_type")
}

func TestJWTPartsRejectsNonJWTs(t *testing.T) {
	for _, tok := range []string{"", "a.b", "a.b.c.d", "!!!.e30.e30", "e30.bm90IGpzb24.c2ln"} {
		_, _, _, _, err := jwtParts(tok)
		assert.Error(t, err, tok)
	}
	_, c, _, _, err := jwtParts("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln")
	require.NoError(t, err)
	assert.Equal(t, "123", c.Get("sub").String())
}
