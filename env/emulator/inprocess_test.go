package emulator

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveOnce is one request through serveInProcess to h.
func serveOnce(t *testing.T, h http.Handler, method, url string, body io.Reader) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	return serveInProcess(req, h, strings.HasPrefix(url, "https:"), req.URL.Hostname(), "443")
}

// The in-process transport answers as net/http's server would: the
// server's view of the request (canonical header names, Host, TLS, the
// local address, Content-Length), short answers with a Content-Length and
// a sniffed Content-Type, long ones streamed, HEAD and 204 without a body,
// a panic as a dropped connection.
func TestInProcessLikeTheServer(t *testing.T) {
	t.Parallel()
	t.Run("request", func(t *testing.T) {
		var got *http.Request
		var body string
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r
			b, _ := io.ReadAll(r.Body)
			body = string(b)
			w.Header()["x-ms-request-id"] = []string{"abc"} // as the services write it
			_, _ = io.WriteString(w, "<?xml version=\"1.0\"?><a/>")
		})
		req, _ := http.NewRequest("PUT", "https://acct.blob.core.windows.net/c/b?comp=block", strings.NewReader("hello"))
		req.Header["x-ms-version"] = []string{"2021-08-06"}
		resp, err := serveInProcess(req, h, true, "acct.blob.core.windows.net", "443")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "2021-08-06", got.Header.Get("X-Ms-Version"))
		assert.Equal(t, "5", got.Header.Get("Content-Length"))
		assert.Equal(t, int64(5), got.ContentLength)
		assert.Equal(t, "hello", body)
		assert.Equal(t, "acct.blob.core.windows.net", got.Host)
		assert.Equal(t, "/c/b?comp=block", got.RequestURI)
		assert.Equal(t, "", got.URL.Host, "a server's URL is the request target")
		require.NotNil(t, got.TLS)
		assert.Equal(t, "acct.blob.core.windows.net", got.TLS.ServerName)
		assert.NotNil(t, got.Context().Value(http.LocalAddrContextKey))
		assert.Equal(t, "abc", resp.Header.Get("X-Ms-Request-Id"))
		assert.Equal(t, int64(len(b)), resp.ContentLength)
		assert.Equal(t, "text/xml; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.NotEmpty(t, resp.Header.Get("Date"))
	})
	t.Run("long answers stream", func(t *testing.T) {
		release := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
			<-release // the head is out before the handler returns
			_, _ = w.Write([]byte("end"))
		})
		resp, err := serveOnce(t, h, "GET", "https://example.test/", nil)
		require.NoError(t, err)
		assert.Equal(t, int64(-1), resp.ContentLength)
		close(release)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Len(t, b, 5003)
	})
	t.Run("flush", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(202)
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		})
		resp, err := serveOnce(t, h, "POST", "https://example.test/", nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 202, resp.StatusCode)
	})
	t.Run("no body", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "42")
			if r.Method == "DELETE" {
				w.WriteHeader(204)
			}
			_, err := w.Write([]byte("ignored"))
			assert.ErrorIs(t, err, http.ErrBodyNotAllowed)
		})
		resp, err := serveOnce(t, h, "HEAD", "https://example.test/", nil)
		require.NoError(t, err)
		assert.Equal(t, int64(42), resp.ContentLength)
		assert.Equal(t, http.NoBody, resp.Body)
		resp, err = serveOnce(t, h, "DELETE", "https://example.test/", nil)
		require.NoError(t, err)
		assert.Equal(t, 204, resp.StatusCode)
		assert.Equal(t, int64(0), resp.ContentLength)
	})
	t.Run("panic drops the connection", func(t *testing.T) {
		for _, v := range []any{http.ErrAbortHandler, "boom"} {
			h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(v) })
			_, err := serveOnce(t, h, "GET", "https://example.test/", nil)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "%v", v)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
		resp, err := serveOnce(t, h, "GET", "https://example.test/", nil)
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut after the head")
	})
	t.Run("cancel", func(t *testing.T) {
		done := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			close(done)
		})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://example.test/", nil)
		go cancel()
		_, err := serveInProcess(req, h, true, "example.test", "443")
		assert.ErrorIs(t, err, context.Canceled)
		<-done
	})
}

// The transport's routes: the table's HTTPS hosts, the table's endpoints
// (a closed one refused), nothing else but loopback addresses, which go to
// the listeners.
func TestInProcessRoutes(t *testing.T) {
	t.Parallel()
	e := newInMemory(t, Config{})
	c := e.InProcessClient()
	for _, tc := range []struct{ url, err string }{
		{"https://example.com/", "is not an emulated AzureCloud address"},
		{"http://management.azure.com:443/", "serves HTTPS, not plain HTTP"},
		{"https://169.254.169.254:80/metadata/instance", "does not serve HTTPS"},
		{"http://localhost:50342/oauth2/token", "refused"},
		{"http://127.0.0.1:1/", "refused"}, // a loopback address: dialed, nothing listens
	} {
		_, err := c.Get(tc.url)
		assert.ErrorContains(t, err, tc.err, tc.url)
	}
	resp, err := c.Get("http://" + SeedStorageAccount + ".blob.core.windows.net/" + SeedContainer + "?restype=container")
	require.NoError(t, err, "port 80 of a storage account")
	resp.Body.Close()
	assert.NotEmpty(t, resp.Header.Get("X-Ms-Error-Code"), "Blob's own answer over plain HTTP")
	_, err = c.Get("http://management.azure.com/")
	assert.Error(t, err, "port 80 of a host that serves no plain HTTP drops the connection")
	// A started emulator's own address, through the real listener.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "loopback") }))
	defer srv.Close()
	resp, err = c.Get(srv.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "loopback", string(b))
	c.Transport.(interface{ CloseIdleConnections() }).CloseIdleConnections()
}
