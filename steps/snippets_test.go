package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/wine/winetest"
)

// TestCompareSample pins the rules the snippet feature compares output
// with a tutorial's sample by.
func TestCompareSample(t *testing.T) {
	sample := `{"access_token":"eyJ0eXAiOi...","expires_in":"3599","resource":"https://management.azure.com","token_type":"Bearer","properties":{"n":1}}`
	good := `{"access_token":"eyJ0eXAiOiJKV1Qi.x.y","expires_in":"86399","resource":"https://management.azure.com/","token_type":"Bearer","properties":{"n":1},"client_id":"extra"}`
	byRun := map[string]string{"expires_in": "a string of digits", "resource": "the requested resource"}
	s := &scenario{vars: map[string]string{}, requested: "https://management.azure.com/"}
	cases := []struct {
		name, got string
		byRun     map[string]string
		want      []string // substrings of the differences; none = equal
	}{
		{"matches, extra fields allowed", good, byRun, nil},
		{"elided value must be a prefix", strings.Replace(good, "eyJ0eXAiOiJKV1Qi", "eyJhbGciOi", 1), byRun, []string{"access_token: the tutorial shows \"eyJ0eXAiOi...\""}},
		{"values compared", strings.Replace(good, `"Bearer"`, `"bearer"`, 1), byRun, []string{`token_type: the tutorial shows "Bearer", the output has "bearer"`}},
		{"run-specific kind checked", strings.Replace(good, `"86399"`, `"soon"`, 1), byRun, []string{`expires_in: is "soon", not a string of digits`}},
		{"without the table the sample's value is required", good, nil, []string{`expires_in: the tutorial shows "3599"`, `resource: the tutorial shows`}},
		{"types compared", strings.Replace(good, `{"n":1}`, `{"n":"1"}`, 1), byRun, []string{"properties.n: the tutorial shows 1"}},
		{"missing field", strings.Replace(good, `"token_type":"Bearer",`, ``, 1), byRun, []string{"token_type: missing"}},
		{"a field Azure lacks may be missing", strings.Replace(good, `"token_type":"Bearer",`, ``, 1), map[string]string{"expires_in": "a string of digits", "resource": "the requested resource", "token_type": "absent"}, nil},
		{"a field Azure lacks must be missing", good, map[string]string{"expires_in": "a string of digits", "resource": "the requested resource", "token_type": "absent"}, []string{`token_type: expected absent from the output, has "Bearer"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var diffs []string
			compareSample(s, decode(t, sample), decode(t, c.got), "", c.byRun, map[string]bool{}, &diffs)
			if len(c.want) == 0 && len(diffs) > 0 {
				t.Fatalf("unexpected differences: %v", diffs)
			}
			joined := strings.Join(diffs, "\n")
			for _, w := range c.want {
				if !strings.Contains(joined, w) {
					t.Errorf("differences %q lack %q", joined, w)
				}
			}
		})
	}
}

func TestRewriteHostsToRunCloud(t *testing.T) {
	china, public := cloud.MustLookup("AzureChinaCloud"), cloud.MustLookup("AzureCloud")
	cmd := `curl https://management.chinacloudapi.cn/x -H a; curl https://v.vault.azure.cn/secrets/s; https://a.blob.core.chinacloudapi.cn/c`
	want := `curl https://management.azure.com/x -H a; curl https://v.vault.azure.net/secrets/s; https://a.blob.core.windows.net/c`
	if got := rewriteHosts(&china, public, cmd); got != want {
		t.Errorf("rewrite:\n got %s\nwant %s", got, want)
	}
	if got := rewriteHosts(&china, china, cmd); got != cmd {
		t.Errorf("on the written-for cloud the command must stay as printed, got %s", got)
	}
}

// The Azure CLI's command index outlives a scenario's configuration
// directory (in the user's cache), and nothing else of it does.
func TestAzCommandIndexCache(t *testing.T) {
	t.Setenv("MICONFORM_CACHE_DIR", winetest.TempDir(t))
	first := filepath.Join(winetest.TempDir(t), ".azure")
	restoreAzCommandIndex(first) // nothing cached yet: nothing written
	_, err := os.Stat(filepath.Join(first, "commandIndex.json"))
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.MkdirAll(first, 0o700))
	index := []byte(`{"version": "2.45.0", "cloudProfile": "latest", "commandIndex": {"login": ["azure.cli.command_modules.profile"]}}`)
	require.NoError(t, os.WriteFile(filepath.Join(first, "commandIndex.json"), index, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(first, "azureProfile.json"), []byte(`{"subscriptions":[]}`), 0o600))
	keepAzCommandIndex(first)

	second := filepath.Join(winetest.TempDir(t), ".azure")
	restoreAzCommandIndex(second)
	got, err := os.ReadFile(filepath.Join(second, "commandIndex.json"))
	require.NoError(t, err)
	assert.Equal(t, index, got)
	_, err = os.Stat(filepath.Join(second, "azureProfile.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the sign-in state must not travel between scenarios")

	cached, _ := azCommandIndex()
	entries, err := os.ReadDir(filepath.Dir(cached))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left beside the cached index")
}

// Test binaries (the suite's own tests run the snippet scenarios) never
// write into the user's cache directory.
func TestAzCommandIndexNotUserCacheInTests(t *testing.T) {
	t.Setenv("MICONFORM_CACHE_DIR", "")
	p, ok := azCommandIndex()
	require.True(t, ok)
	if user, err := os.UserCacheDir(); err == nil {
		assert.False(t, strings.HasPrefix(p, user+string(filepath.Separator)), "%s is in the user's cache %s", p, user)
	}
	assert.True(t, strings.HasPrefix(p, os.TempDir()), p)
}
