package report

import (
	"strings"
	"testing"

	"github.com/miconform/miconform/features/tutorials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSentences(t *testing.T) {
	// A first line that says it all stays alone.
	assert.Equal(t, "expected 200, got 403", sentences("expected 200, got 403\nAuthorization: Bearer x\n"))
	// A line ending in ":" and the indented or parenthesised lines that
	// continue it are one message.
	drift := (&tutorials.DriftError{Ref: "a:b", Where: "a:b, f.md:3", Expected: "2016-09-01", Now: "curl x?api-version=2016-09-0l\n-H y"}).Error()
	assert.Equal(t, `the article now says: curl x?api-version=2016-09-0l -H y (a:b, f.md:3); the scenario expected "2016-09-01"`, sentences(drift))
	// A long message ends after a whole sentence, never inside one.
	long := strings.Repeat("The article's sample shows a field the answer lacks. ", 10)
	got := sentences(long)
	assert.True(t, strings.HasSuffix(got, "lacks. [...]"), got)
	assert.LessOrEqual(t, len(got), messageMax+len(" [...]"))
	// One sentence longer than the limit is kept whole.
	one := strings.Repeat("word ", 100) + "end."
	assert.Equal(t, strings.TrimSpace(one), sentences(one))
}

func TestFailureShowsTheArticle(t *testing.T) {
	set, err := tutorials.Embedded()
	require.NoError(t, err)
	r := &Result{Articles: set, Features: []*Feature{{Name: "f", URI: "features/f.feature", Scenarios: []*Scenario{{
		Name: "s", Line: 3, Status: Failed,
		Tags: []string{"@tutorial:x", "@verbatim:windows-vm-access:get-an-access-token/bash#2", "@claim:001-RMS-07:doc-discrepancy"},
		Steps: []*Step{{Keyword: "Then ", Text: "it fails", Status: Failed, Error: "boom"}},
	}}}}}
	b, _ := set.Block("001-RMS-CB3")
	for name, text := range map[string]string{"summary": r.Summary(), "table": r.Table()} {
		assert.Contains(t, text, "verbatim block "+b.Where(), name)
		assert.Contains(t, text, "api-version=2016-09-01", name)
		assert.Contains(t, text, `claim (Azure differs, doc-discrepancy) 001-RMS-07, features/tutorials/windows-vm-access.md:`, name)
	}
	x, err := r.JUnit()
	require.NoError(t, err)
	assert.Contains(t, string(x), "What the article says:\nverbatim block "+b.Where())
}
