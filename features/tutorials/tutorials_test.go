package tutorials

import (
	"bufio"
	"context"
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustEmbedded(t *testing.T) *Set {
	t.Helper()
	s, err := Embedded()
	require.NoError(t, err)
	return s
}

func TestEmbeddedArticlesParse(t *testing.T) {
	s := mustEmbedded(t)
	require.Len(t, s.Articles(), len(Names))
	for _, a := range s.Articles() {
		assert.NotEmpty(t, a.Title, a.Name)
		assert.True(t, strings.HasPrefix(a.Source, "https://learn.microsoft.com/") || strings.HasPrefix(a.Source, "https://docs.azure.cn/"), "%s: source %q", a.Name, a.Source)
		assert.Contains(t, a.License, "CC BY 4.0", a.Name)
		assert.Contains(t, a.Meta["attribution"], "CC BY 4.0", a.Name)
	}
	// 5 + 43 + 5 + 2 + 1: the articles' fenced blocks (the inventory's
	// inline-code "blocks" are claims, see the claims files).
	assert.Len(t, s.Blocks(), 56)
}

func TestBlockIDs(t *testing.T) {
	s := mustEmbedded(t)
	b, err := s.Block("windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/bash#1")
	require.NoError(t, err)
	assert.Equal(t, "bash", b.Lang)
	assert.Equal(t, "curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.chinacloudapi.cn/' -H Metadata:true", b.Text)
	assert.Equal(t, "features/tutorials/windows-vm-access.md", b.File)
	assert.Equal(t, "curl 'http", lineOf(t, b.File, b.Line)[:10])

	// The trailing part of an id and the inventory's id find the same block.
	for _, ref := range []string{"windows-vm-access:get-an-access-token/bash#1", "001-RMS-CB1"} {
		got, err := s.Block(ref)
		require.NoError(t, err, ref)
		assert.Equal(t, b, got, ref)
	}
	// Fences indented in a list item lose that indentation, not the
	// article's own extra spaces.
	b, err = s.Block("rm-msi-2017-source:powershell#1")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(b.Text, "   $response = Invoke-WebRequest"), b.Text)

	_, err = s.Block("windows-vm-access:access-data/powershell#1")
	assert.ErrorContains(t, err, "ends 2 block ids")
	_, err = s.Block("windows-vm-access:get-an-access-token/bash#9")
	assert.ErrorContains(t, err, "has no block")
	assert.ErrorContains(t, err, "get-an-access-token/bash#1")
	_, err = s.Block("nosuch:bash#1")
	assert.ErrorContains(t, err, "want \"article:block-id\"")
}

func lineOf(t *testing.T, file string, n int) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", file))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == n {
			return strings.TrimSpace(sc.Text())
		}
	}
	t.Fatalf("%s has no line %d", file, n)
	return ""
}

func TestClaimsAreInTheirArticles(t *testing.T) {
	s := mustEmbedded(t)
	assert.Empty(t, s.Stale())
	for _, c := range s.Claims() {
		assert.NotZero(t, c.Line, "%s: quote %q is not in %s", c.ID, c.Quote, c.File)
		assert.Contains(t, []string{Checkable, NotCheckable}, c.Kind, c.ID)
	}
	c, err := s.Claim("001-SAS-12")
	require.NoError(t, err)
	assert.Equal(t, "windows-vm-access", c.Article)
	assert.Contains(t, lineOf(t, c.File, c.Line), "Order is important.")
	assert.NoError(t, s.Quote("001-SAS-12", "Order is important"))
	// A claim whose quote sits in a link's target is found in the raw line.
	c, err = s.Claim("002-16")
	require.NoError(t, err)
	assert.NotZero(t, c.Line)
}

// TestEveryInventoryIDIsListed checks the claims files against the ids of
// the claims inventory the articles were built from (testdata), and
// against the inventory itself where it is at hand (MICONFORM_INVENTORY).
func TestEveryInventoryIDIsListed(t *testing.T) {
	s := mustEmbedded(t)
	known := map[string]bool{}
	for _, b := range s.Blocks() {
		for _, id := range s.Info(b.Ref()).Inventory {
			known[id] = true
		}
	}
	for _, c := range s.Claims() {
		known[c.ID] = true
	}
	check := func(src []byte, from string) {
		idRE := regexp.MustCompile(`\b00[0-4]-(?:(?:GEN|STO|SAS|SQL|KV|RMS|RMU)-)?(?:CB)?[0-9]+[ab]?\b`)
		var missing []string
		seen := map[string]bool{}
		for _, id := range idRE.FindAllString(string(src), -1) {
			if !known[id] && !seen[id] {
				missing = append(missing, id)
			}
			seen[id] = true
		}
		assert.Empty(t, missing, "ids of %s in no claims file", from)
		assert.Greater(t, len(seen), 200, from)
	}
	ids, err := os.ReadFile("testdata/inventory-ids.txt")
	require.NoError(t, err)
	check(ids, "testdata/inventory-ids.txt")
	if path := os.Getenv("MICONFORM_INVENTORY"); path != "" {
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		check(src, path)
	}
}

func TestLoadDir(t *testing.T) {
	dir := copyArticles(t)
	s, err := Load(dir)
	require.NoError(t, err)
	b, err := s.Block("001-RMS-CB1")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "windows-vm-access.md"), b.File)

	require.NoError(t, os.Remove(filepath.Join(dir, "signin-vm-identity.md")))
	_, err = Load(dir)
	assert.ErrorContains(t, err, filepath.Join(dir, "signin-vm-identity.md")+" does not exist")

	dir = copyArticles(t)
	edit(t, filepath.Join(dir, "rm-msi-2017.md"), "```json\n", "```json\n{")
	edit(t, filepath.Join(dir, "rm-msi-2017.md"), "    ```\n\nUse the following", "\nUse the following")
	_, err = Load(dir)
	assert.ErrorContains(t, err, "rm-msi-2017.md:")
	assert.ErrorContains(t, err, "never closed")

	dir = copyArticles(t)
	edit(t, filepath.Join(dir, "how-managed-identities-work-vm.md"), "license: CC BY 4.0", "licence: CC BY 4.0")
	_, err = Load(dir)
	assert.ErrorContains(t, err, "how-managed-identities-work-vm.md: front matter lacks \"license\"")
}

// TestDriftIsReported is the drift test on the package alone: one
// character of a block changed in a copy of an article is what a block
// quote and the block's text show.
func TestDriftIsReported(t *testing.T) {
	dir := copyArticles(t)
	edit(t, filepath.Join(dir, "windows-vm-access.md"), "api-version=2016-09-01", "api-version=2016-09-02")
	edit(t, filepath.Join(dir, "windows-vm-access.md"), "Order is important.", "Order is not important.")
	s, err := Load(dir)
	require.NoError(t, err)

	b, err := s.Block("001-RMS-CB3")
	require.NoError(t, err)
	assert.Contains(t, b.Text, "api-version=2016-09-02")
	err = s.Quote(b.Ref(), "api-version=2016-09-01")
	var drift *DriftError
	require.ErrorAs(t, err, &drift)
	assert.Contains(t, err.Error(), "the article now says")
	assert.Contains(t, err.Error(), "api-version=2016-09-02")
	assert.Contains(t, err.Error(), b.ID)
	assert.Contains(t, err.Error(), filepath.Join(dir, "windows-vm-access.md")+":")

	err = s.Quote("001-SAS-12", "Order is important")
	require.ErrorAs(t, err, &drift)
	assert.Contains(t, err.Error(), "no longer says \"Order is important.\"")
	assert.Contains(t, err.Error(), "001-SAS-12")

	// The embedded copy is untouched.
	assert.NoError(t, mustEmbedded(t).Quote(b.Ref(), "api-version=2016-09-01"))
}

func TestContext(t *testing.T) {
	s, err := FromContext(context.Background())
	require.NoError(t, err)
	assert.Same(t, mustEmbedded(t), s)
	other, err := Load(copyArticles(t))
	require.NoError(t, err)
	got, err := FromContext(NewContext(context.Background(), other))
	require.NoError(t, err)
	assert.Same(t, other, got)
}

func TestParseTag(t *testing.T) {
	for tag, want := range map[string]Binding{
		"@verbatim:windows-vm-access:get-an-access-token/bash#1": {Verbatim, "windows-vm-access:get-an-access-token/bash#1"},
		"@restated:rm-msi-2017:powershell#4":                     {Restated, "rm-msi-2017:powershell#4"},
		"@claim:001-SAS-12":                                      {Holds, "001-SAS-12"},
		"@claim:001-RMS-07:doc-discrepancy":                      {DocDiscrepancy, "001-RMS-07"},
	} {
		got, ok, err := ParseTag(tag)
		require.NoError(t, err, tag)
		assert.True(t, ok, tag)
		assert.Equal(t, want, got, tag)
		assert.Equal(t, tag, got.Tag())
	}
	for _, tag := range []string{"@tutorial:rm-system-identity", "@doc-discrepancy", "@failure"} {
		_, ok, err := ParseTag(tag)
		assert.False(t, ok, tag)
		assert.NoError(t, err, tag)
	}
	for _, tag := range []string{"@verbatim:windows-vm-access", "@restated::x", "@claim:", "@claim:001-SAS-12:holds"} {
		_, ok, err := ParseTag(tag)
		assert.True(t, ok, tag)
		assert.Error(t, err, tag)
	}
}

// TestGherkinKeepsBindingTags checks that gherkin v26 (godog's parser)
// keeps "/" and "#" in a tag: a "#" starts a comment only after white
// space.
func TestGherkinKeepsBindingTags(t *testing.T) {
	src := `@tutorial:x
Feature: f

  @verbatim:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/bash#1 @claim:001-RMS-07:doc-discrepancy # a comment
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/json#1
  Scenario: s
    Given nothing
`
	doc, err := gherkin.ParseGherkinDocument(strings.NewReader(src), (&messages.Incrementing{}).NewId)
	require.NoError(t, err)
	var tags []string
	for _, tg := range doc.Feature.Children[0].Scenario.Tags {
		tags = append(tags, tg.Name)
	}
	assert.Equal(t, []string{
		"@verbatim:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/bash#1",
		"@claim:001-RMS-07:doc-discrepancy",
		"@restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/json#1",
	}, tags)
	s := mustEmbedded(t)
	for _, tag := range tags {
		b, ok, err := ParseTag(tag)
		require.NoError(t, err)
		require.True(t, ok)
		if b.IsBlock() {
			_, err = s.Block(b.Ref)
		} else {
			_, err = s.Claim(b.Ref)
		}
		assert.NoError(t, err, tag)
	}
}

func copyArticles(t *testing.T) string {
	t.Helper()
	dir := winetest.TempDir(t)
	for _, n := range Names {
		src, err := embedded.ReadFile(n + ".md")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n+".md"), src, 0o644))
	}
	return dir
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}
