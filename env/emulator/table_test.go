package emulator

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
)

// newInMemory is an emulator that is never started: only the in-process
// transport reaches it.
func newInMemory(t *testing.T, cfg Config) *Emulator {
	t.Helper()
	cfg.SigningKey = entratest.Key()
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// The 421 answer lists the host names of the service table, whatever the
// cloud: every service's, wildcards shown with what they stand for, and
// the path-style URL of the service on the loopback names; not the
// worldwide login host a sovereign cloud answers discovery on.
func TestMisdirectListsTheTable(t *testing.T) {
	t.Parallel()
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := cloud.MustLookup(name)
			e := newInMemory(t, Config{Cloud: c, Seed: "none"})
			resp, err := e.InProcessClient().Get("https://127.0.0.1/subscriptions")
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			msg := string(b)
			assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, msg)
			want := []string{c.ARMHost, c.LoginHost, "{vault}." + c.VaultSuffix, "{account}.blob." + c.StorageSuffix, e.Graph.Host()}
			assert.Contains(t, msg, "("+strings.Join(want, ", ")+")", "the table's names in table order")
			for _, s := range e.services {
				for _, h := range s.hosts {
					if s.foreign {
						assert.NotContains(t, msg, h+",", "another cloud's host")
						continue
					}
					assert.Contains(t, msg, strings.Replace(h, "*", "{"+s.wildcard+"}", 1), "%s's host", s.title)
				}
			}
			assert.Contains(t, msg, "--connect-to "+c.ARMHost+":443:127.0.0.1:443 https://"+c.ARMHost+"/")
			assert.Contains(t, msg, "On 127.0.0.1 and localhost only path-style Blob Storage URLs answer: https://127.0.0.1:443/{account}/{container}/{blob}.")
		})
	}
}

// IMDS and the VM extension's endpoint are entries of the table like any
// service: their VM endpoints, dialing and in-process routes come from it.
func TestIMDSAndExtensionAreTableEntries(t *testing.T) {
	t.Parallel()
	e := newInMemory(t, Config{LegacyExtension: true})
	titles := map[string]*service{}
	for _, s := range e.services {
		titles[s.title] = s
	}
	for _, title := range []string{"IMDS", "the VM extension"} {
		s := titles[title]
		require.NotNil(t, s, title)
		require.Len(t, s.vm, 1, title)
		require.Len(t, s.endpoints, 1, title)
	}
	addrs := map[string]bool{}
	for _, ep := range e.VMEndpoints() {
		addrs[ep.Addr] = true
	}
	assert.True(t, addrs[IMDSHost] && addrs["127.0.0.1:50342"], "%v", addrs)

	// Not started: both answer in process; dials are refused, as nothing listens.
	c := e.InProcessClient()
	for _, u := range []string{"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/",
		"http://localhost:50342/oauth2/token?resource=https://management.azure.com/"} {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Metadata", "true")
		resp, err := c.Do(req)
		require.NoError(t, err, u)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, "%s: %s", u, b)
		assert.Contains(t, string(b), `"access_token":"eyJ`, u)
	}
	for _, addr := range []string{IMDSHost, "localhost:50342"} {
		_, err := e.DialContext(context.Background(), "tcp", addr)
		assert.ErrorContains(t, err, "refused", addr)
	}
	// Uninstalled, the extension's endpoint refuses in process too (the
	// removal is long-running: 202, as Compute answers it).
	code, _ := armCall(t, e, "DELETE", e.World.VMResourceID+"/extensions/"+legacyExtensionName+extAPI, nil)
	require.Equal(t, 202, code)
	_, err := c.Get("http://localhost:50342/oauth2/token")
	assert.ErrorContains(t, err, "refused")
}

// Dialing an emulator that was never started says so, rather than
// dialing an empty address.
func TestDialBeforeStart(t *testing.T) {
	t.Parallel()
	e := newInMemory(t, Config{Seed: "none"})
	_, err := e.DialContext(context.Background(), "tcp", e.Cloud.ARMHost+":443")
	assert.ErrorContains(t, err, "no listeners (Start opens them; InProcessTransport needs none)")
	_, err = e.HTTPClient().Get("https://" + e.Cloud.ARMHost + "/")
	assert.ErrorContains(t, err, "no listeners")
}
