package steps

import (
	"context"
	"encoding/json"
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"strings"
	"testing"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/features/tutorials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubstituteWholeWords(t *testing.T) {
	s := &scenario{vars: map[string]string{"VM-NAME": "myVM", "VM-PRINCIPAL-ID": "0000-1"}}
	got, err := substitute(s, "CREATE USER [VMName] FROM EXTERNAL PROVIDER WITH OBJECT_ID='xxx'", "here", "VMName", "<VM-NAME>", "xxx", "<VM-PRINCIPAL-ID>")
	require.NoError(t, err)
	assert.Equal(t, "CREATE USER [myVM] FROM EXTERNAL PROVIDER WITH OBJECT_ID='0000-1'", got)

	got, err = substitute(s, `$SqlCmd.CommandText = "SELECT * from <TABLE>;"`, "here", "<TABLE>", "Inventory")
	require.NoError(t, err)
	assert.Equal(t, `$SqlCmd.CommandText = "SELECT * from Inventory;"`, got)

	// An edited article without the stand-in is named, not run half-filled.
	_, err = substitute(s, "CREATE USER [MyVMName] FROM EXTERNAL PROVIDER", "sql#1, f.md:3", "VMName", "<VM-NAME>")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the article now says "CREATE USER [MyVMName] FROM EXTERNAL PROVIDER" (sql#1, f.md:3)`)
}

func TestCompareSampleAbsentAndByRun(t *testing.T) {
	s := &scenario{vars: map[string]string{"LOCATION": "westus"}}
	var want, got any
	require.NoError(t, json.Unmarshal([]byte(`{"refresh_token":"","token_type":"Bearer","location":"chinanorth"}`), &want))
	byRun := map[string]string{"refresh_token": "absent", "location": "<LOCATION>"}

	require.NoError(t, json.Unmarshal([]byte(`{"token_type":"Bearer","location":"westus"}`), &got))
	var diffs []string
	compareSample(s, want, got, "", byRun, map[string]bool{}, &diffs)
	assert.Empty(t, diffs)

	require.NoError(t, json.Unmarshal([]byte(`{"refresh_token":"","token_type":"Bearer"}`), &got))
	diffs = nil
	compareSample(s, want, got, "", byRun, map[string]bool{}, &diffs)
	assert.Equal(t, []string{"location: missing", `refresh_token: expected absent from the output, has ""`}, diffs, "in key order")
}

// TestArticleQuoteDrift: a quote step fails with the article's current
// text once a docs writer's copy no longer says what the scenario quotes.
func TestArticleQuoteDrift(t *testing.T) {
	dir := winetest.TempDir(t)
	require.NoError(t, tutorials.CopyTo(dir))
	const ref = "windows-vm-access:get-an-access-token/json#1"
	quote := &godog.DocString{Content: "\"refresh_token\":\"\",\n\"expires_in\":\"3599\","}
	set, err := tutorials.Load(dir)
	require.NoError(t, err)
	require.NoError(t, articleSaysDoc(tutorials.NewContext(context.Background(), set), ref, quote))

	b, err := set.Block(ref)
	require.NoError(t, err)
	text, err := os.ReadFile(b.File)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(b.File, []byte(strings.Replace(string(text), `"expires_in":"3599"`, `"expires_in":"86399"`, 1)), 0o600))
	if set, err = tutorials.Load(dir); err != nil {
		t.Fatal(err)
	}
	err = articleSaysDoc(tutorials.NewContext(context.Background(), set), ref, quote)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "the article now says"), err.Error())
	assert.Contains(t, err.Error(), `"expires_in":"86399"`)
	assert.Contains(t, err.Error(), "windows-vm-access.md:")
}
