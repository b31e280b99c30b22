package emulator_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Calling the HTTPS listener by its address (no SNI, Host 127.0.0.1)
// used to get an empty reply (HTTP/1.1) or INTERNAL_ERROR (HTTP/2): the
// path-style Blob route dropped the connection for an unknown account.
// Now it is a 421 that says how to call the listener.
func TestListenerCalledByAddress(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials", listen: true})
	addr := h.E.HTTPSAddr()
	_, port, _ := net.SplitHostPort(addr)
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.E.CA.Pool()}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		c := &http.Client{Transport: tr}
		for _, u := range []string{"https://" + addr + "/", "https://" + addr + "/subscriptions?api-version=2022-12-01", "https://localhost:" + port + "/metadata"} {
			resp, err := c.Get(u)
			require.NoError(t, err, "%s (h2 %v): an answer, not a dropped connection", u, h2)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, u)
			assert.Contains(t, string(b), "--connect-to management.azure.com:443:127.0.0.1:"+port+" https://management.azure.com/", u)
			assert.Contains(t, string(b), "--resolve management.azure.com:"+port+":127.0.0.1", u)
			if h2 {
				assert.Equal(t, 2, resp.ProtoMajor)
			}
		}
		// Path-style Blob on loopback still reaches the service.
		resp, err := c.Get("https://" + addr + "/" + h.E.World.StorageAccount + "/" + h.E.World.Container + "?restype=container")
		require.NoError(t, err)
		resp.Body.Close()
		assert.NotEqual(t, http.StatusMisdirectedRequest, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("x-ms-error-code"), "the Blob service's own answer")
		tr.CloseIdleConnections()
	}
	// What a person types: curl sends no SNI for an address.
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("curl", "-sS", "--cacert", mustCAFile(t, h), "https://"+addr+"/").CombinedOutput()
		require.NoError(t, err, string(out))
		assert.True(t, strings.HasPrefix(string(out), "miconform emulator: no AzureCloud service answers for host \"127.0.0.1\""), string(out))
	}
}

func mustCAFile(t *testing.T, h *harness) string {
	p, err := h.E.CAFile()
	require.NoError(t, err)
	return p
}
