package tagexpr

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// godogMatch is godog v0.15.1's matcher (internal/tags/tag_filter.go),
// restated: "&&" joins groups, "," alternatives, "~" negates; "@" is
// ignored on both sides.
func godogMatch(filter string, tags []string) bool {
	has := func(t string) bool {
		for _, x := range tags {
			if strings.ReplaceAll(x, "@", "") == t {
				return true
			}
		}
		return false
	}
	ok := true
	for _, group := range strings.Split(filter, "&&") {
		any := false
		for _, lit := range strings.Split(group, ",") {
			lit = strings.ReplaceAll(strings.TrimSpace(lit), "@", "")
			any = has(lit) || any
			if lit[0] == '~' {
				any = !has(lit[1:]) || any
			}
		}
		ok = ok && any
	}
	return ok
}

func TestParseAndEval(t *testing.T) {
	for _, tc := range []struct {
		expr string
		tags []string
		want bool
	}{
		{"@a", []string{"@a"}, true},
		{"@a", []string{"@b"}, false},
		{"@a and not @b", []string{"@a"}, true},
		{"@a and not @b", []string{"@a", "@b"}, false},
		{"@a or @b and @c", []string{"@a"}, true}, // and binds tighter
		{"(@a or @b) and @c", []string{"@a"}, false},
		{"not (@a or @b)", []string{"@c"}, true},
		{"not not @a", []string{"@a"}, true},
		{`@with\ space`, []string{"@with space"}, true},
		{"@tutorial:rm-system-identity and not @emulator-only", []string{"@tutorial:rm-system-identity"}, true},
		{"@a && ~@b", []string{"@a", "@b"}, false}, // godog's syntax
		{"@a,@b && @c", []string{"@b", "@c"}, true},
		{"~@a", []string{}, true},
	} {
		e, err := Parse(tc.expr)
		require.NoError(t, err, tc.expr)
		assert.Equal(t, tc.want, e.Eval(tc.tags), "%s on %v", tc.expr, tc.tags)
		g, err := Godog(e)
		require.NoError(t, err)
		assert.Equal(t, tc.want, godogMatch(g, tc.tags), "%s as godog's %q on %v", tc.expr, g, tc.tags)
	}
	e, err := Parse("  ")
	assert.NoError(t, err)
	assert.Nil(t, e)
}

func TestSyntaxErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"@a and":            "expected a tag",
		"@a or or @b":       "expected a tag",
		"(@a or @b":         `expected ")"`,
		"@a @b":             `unexpected "@b"`,
		"@a)":               `unexpected ")"`,
		"tutorial:x":        "not a tag",
		"@a and not":        "expected a tag",
		"@":                 "needs a name",
		"@a,,@b":            "empty tag",
		"@a && ":            "empty tag",
		"@a && (@b or @c)":  "cannot be mixed",
		"@a && x":           "not a tag",
		`@a\`:               "backslash",
		"not @a and @b or)": `expected a tag, "not" or "(", found ")"`,
	} {
		_, err := Parse(expr)
		if assert.Error(t, err, expr) {
			assert.Contains(t, err.Error(), want, expr)
			assert.Contains(t, err.Error(), "tag expression "+`"`, expr)
		}
	}
	_, err := Parse("@a and")
	assert.Equal(t, "tag expression \"@a and\": expected a tag, \"not\" or \"(\", found the end of the expression at position 7\n  @a and\n        ^", err.Error())
}

// Whatever the expression, godog's matcher applied to the translation
// agrees with Eval on every combination of tags.
func TestGodogTranslationAgrees(t *testing.T) {
	names := []string{"@a", "@b", "@c", "@d"}
	r := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth == 0 || r.IntN(4) == 0 {
			return names[r.IntN(len(names))]
		}
		switch r.IntN(3) {
		case 0:
			return "not " + gen(depth-1)
		case 1:
			return "(" + gen(depth-1) + " and " + gen(depth-1) + ")"
		}
		return "(" + gen(depth-1) + " or " + gen(depth-1) + ")"
	}
	for i := 0; i < 500; i++ {
		expr := gen(4)
		e, err := Parse(expr)
		require.NoError(t, err, expr)
		g, err := Godog(e)
		require.NoError(t, err, expr)
		for mask := 0; mask < 1<<len(names); mask++ {
			var tags []string
			for j, n := range names {
				if mask&(1<<j) != 0 {
					tags = append(tags, n)
				}
			}
			require.Equal(t, e.Eval(tags), godogMatch(g, tags), "%s → %q on %v", expr, g, tags)
		}
	}
}

func TestTooComplex(t *testing.T) {
	var parts []string
	for i := 0; i < 10; i++ {
		parts = append(parts, "(@a"+string(rune('a'+i))+" and @b"+string(rune('a'+i))+")")
	}
	e, err := Parse(strings.Join(parts, " or "))
	require.NoError(t, err)
	_, err = Godog(e)
	assert.ErrorContains(t, err, "too complex")
}

func TestTags(t *testing.T) {
	e, err := Parse("@a and not (@b or @a)")
	require.NoError(t, err)
	assert.Equal(t, []string{"@a", "@b"}, Tags(e))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"@a and not (@b or @c)", "@a && ~@b,@c", `@x\ y`, "((", "@a,,", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil || e == nil {
			return
		}
		g, err := Godog(e)
		if err != nil {
			return
		}
		if g == "" {
			t.Fatalf("%q: empty translation", s)
		}
		godogMatch(g, []string{"@a"}) // must not panic (godog indexes lit[0])
	})
}
