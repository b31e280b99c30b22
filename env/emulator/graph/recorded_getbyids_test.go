package graph

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
)

// POST directoryObjects/getByIds, as az role assignment list sends it:
// the envelope and each element's @odata.type and id as the API
// reference's example (getbyids_spec.json) shows them, and each element,
// a service principal here, with the fields of the recorded GET of the
// same object (sp_get.json): the page says getByIds returns full objects.
func TestGetByIDsAsSpecified(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	spec := loadRecording(t, "getbyids_spec.json")
	sp := loadRecording(t, "sp_get.json")
	body := `{"ids":["` + f.system.ObjectID + `","` + f.operator.ObjectID + `","` + directory.NewGUID() + `"],"types":["user","group","servicePrincipal","directoryObjectPartnerReference"]}`
	a := f.do(http.MethodPost, "/v1.0/directoryObjects/getByIds", f.operatorToken(), body)
	require.Equal(t, spec.Status, a.code, a.raw)
	assert.Contains(t, a.header.Get("Content-Type"), spec.Headers["Content-type"])
	assert.Equal(t, spec.Body["@odata.context"], a.body["@odata.context"])
	require.Len(t, a.value(), 2, "the two principals; the unknown id is left out")
	example := spec.Body["value"].([]any)[0].(map[string]any)
	want := shape(sp.Body, "")
	delete(want, "@odata.context")
	for i, el := range a.value() {
		for _, k := range []string{"@odata.type", "id"} {
			assert.IsType(t, example[k], el[k], "value[%d].%s", i, k)
		}
		assert.Equal(t, "#microsoft.graph.servicePrincipal", el["@odata.type"])
		got := shape(el, "")
		delete(got, "@odata.type")
		assert.Equal(t, comparable(want, got), comparable(got, want), "value[%d]'s fields, as the recorded GET of a servicePrincipal (%s)", i, sp.Source)
		for p, wt := range want {
			if gt, ok := got[p]; ok && wt != "null" && gt != "null" {
				assert.Equal(t, wt, gt, "type of value[%d].%s", i, p)
			}
		}
	}
	assert.Equal(t, []any{f.system.ObjectID, f.operator.ObjectID}, []any{a.value()[0]["id"], a.value()[1]["id"]}, "in the order asked")
}
