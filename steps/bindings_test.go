package steps

import (
	"os"
	"path/filepath"
	"testing"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"
	"github.com/miconform/miconform/features/tutorials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBindingTags checks every scenario's binding tags against the
// embedded articles: each names a block or claim that exists, and a
// scenario is tagged @doc-discrepancy exactly when it shows Azure differing
// from some claim (@claim:<id>:doc-discrepancy).
func TestBindingTags(t *testing.T) {
	set, err := tutorials.Embedded()
	require.NoError(t, err)
	paths, err := filepath.Glob(filepath.Join("..", "features", "*.feature"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	bound := 0
	for _, p := range paths {
		f, err := os.Open(p)
		require.NoError(t, err)
		doc, err := gherkin.ParseGherkinDocument(f, (&messages.Incrementing{}).NewId)
		f.Close()
		require.NoError(t, err, p)
		for _, child := range doc.Feature.Children {
			sc := child.Scenario
			if sc == nil {
				continue
			}
			where := p + ": " + sc.Name
			docDiscrepancy, flagged := false, false
			for _, tg := range sc.Tags {
				if tg.Name == "@doc-discrepancy" {
					docDiscrepancy = true
				}
				b, ok, err := tutorials.ParseTag(tg.Name)
				if !ok {
					continue
				}
				if !assert.NoError(t, err, where) {
					continue
				}
				bound++
				if b.IsBlock() {
					_, err = set.Block(b.Ref)
				} else {
					_, err = set.Claim(b.Ref)
				}
				assert.NoError(t, err, "%s: %s", where, tg.Name)
				if b.How == tutorials.DocDiscrepancy {
					flagged = true
				}
			}
			assert.Equal(t, docDiscrepancy, flagged, "%s: @doc-discrepancy and @claim:<id>:doc-discrepancy go together", where)
		}
	}
	assert.Greater(t, bound, 0)
}
