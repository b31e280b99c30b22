package main

import (
	"bytes"
	"context"
	"github.com/miconform/miconform/env/wine/winetest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/miconform/miconform/env/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sandbox gives az a configuration directory of its own, removed at
// exit, and prints what the tutorials ask for.
func TestCLISandbox(t *testing.T) {
	t.Parallel()
	if err := sandbox.Probe(); err != nil {
		t.Skip(err)
	}
	home := winetest.TempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "sandbox", "--legacy-extension", "--", "sh", "-c",
		`echo "dir=$AZURE_CONFIG_DIR"; touch "$AZURE_CONFIG_DIR/config"; curl -s -o /dev/null -w 'legacy=%{http_code}\n' -H Metadata:true 'http://localhost:50342/oauth2/token?resource=https://management.azure.com/' || echo legacy=unreachable`)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(withoutEnv(withoutEnv(os.Environ(), "HOME"), "AZURE_CONFIG_DIR"), "HOME="+home, "AZURE_CONFIG_DIR="+filepath.Join(home, ".azure"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	m := regexp.MustCompile(`dir=(\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	assert.NotContains(t, m[1], home, "not the host's configuration directory")
	_, err := os.Stat(m[1])
	assert.True(t, os.IsNotExist(err), "the sandbox's az directory is removed at exit")
	_, err = os.Stat(filepath.Join(home, ".azure"))
	assert.True(t, os.IsNotExist(err), "the host's ~/.azure is not touched")
	for _, want := range []string{"Key Vault mi-lab-vault.vault.azure.net, secret mi-test", "storage account mystorageaccount", "container mycontainer", `blob "hello world.txt"`,
		"SQL server miconform-", "database TutorialDB", "operator (Owner of the subscription", "client secret "} {
		assert.Contains(t, errb.String(), want)
	}
	if _, err := exec.LookPath("curl"); err == nil {
		assert.Contains(t, out.String(), "legacy=200", "--legacy-extension installs the 2017 endpoint")
	}
	q := cli(t, "", "sandbox", "--quiet", "--seed", "none", "--", "true")
	assert.Equal(t, 0, q.code, q.stderr)
	assert.Empty(t, q.stderr)
}
