package emulator

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InProcessTransport is an http.RoundTripper that reaches the emulator at
// the real Azure URLs, as Transport does, but hands each request to the
// handler the service table routes it to, in this process: no listener,
// no TLS, no connection. A request to https://{a cloud host name} sees
// r.TLS set (with the name as SNI), as behind the HTTPS listener; an
// endpoint that is closed (the VM extension's, uninstalled) refuses as its
// port does. Loopback addresses (a listener's own address) go through
// Transport to the real listeners, which need Start. Tests use it unless
// what they test is a listener, TLS or the wire; the emulator need not be
// started. Server limits (limits.go) and HTTP/2 are the listeners', not
// this transport's.
func (e *Emulator) InProcessTransport() http.RoundTripper {
	return &inProcess{e: e}
}

// InProcessClient is a client over InProcessTransport.
func (e *Emulator) InProcessClient() *http.Client {
	return &http.Client{Transport: e.InProcessTransport(), Timeout: 60 * time.Second}
}

type inProcess struct {
	e       *Emulator
	netOnce sync.Once
	net     *http.Transport
}

// CloseIdleConnections closes the loopback transport's idle connections.
func (t *inProcess) CloseIdleConnections() {
	if t.net != nil {
		t.net.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	host, port := strings.ToLower(req.URL.Hostname()), req.URL.Port()
	secure := req.URL.Scheme == "https"
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	h, err := t.handler(host, port, secure)
	if err != nil {
		closeBody(req)
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: err}
	}
	if h == nil {
		t.netOnce.Do(func() { t.net = t.e.Transport() })
		return t.net.RoundTrip(req)
	}
	return serveInProcess(req, h, secure, host, port)
}

// handler is what serves host:port: the HTTPS router, an endpoint of the
// table, or nil for a loopback address to dial.
func (t *inProcess) handler(host, port string, secure bool) (http.Handler, error) {
	e := t.e
	if ep, ok := e.endpointAt(host, port); ok {
		switch {
		case ep.open != nil && !ep.open():
			return nil, refused("tcp")
		case ep.handler == nil || secure:
			return nil, fmt.Errorf("miconform emulator: %s does not serve %s", net.JoinHostPort(host, port), map[bool]string{true: "HTTPS", false: "HTTP"}[secure])
		}
		return ep.handler, nil
	}
	if port == "443" && e.Serves(host) {
		if !secure {
			return nil, fmt.Errorf("miconform emulator: %s serves HTTPS, not plain HTTP", net.JoinHostPort(host, port))
		}
		return e, nil
	}
	if isLoopbackHost(host) {
		return nil, nil
	}
	return nil, e.notEmulated("tcp", net.JoinHostPort(host, port))
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// serveInProcess runs h on the server's view of req and returns the
// answer once its head is written (the body streams).
func serveInProcess(req *http.Request, h http.Handler, secure bool, host, port string) (*http.Response, error) {
	ctx := req.Context()
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: atoiOr(port, 443)}
	sreq := req.Clone(context.WithValue(ctx, http.LocalAddrContextKey, net.Addr(local)))
	sreq.RequestURI = req.URL.RequestURI()
	u, err := url.ParseRequestURI(sreq.RequestURI)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	sreq.URL = u
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.RemoteAddr = "127.0.0.1:49152"
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	if secure {
		// The listener offers HTTP/2 and Transport takes it.
		sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/2.0", 2, 0
		sreq.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true, ServerName: host, NegotiatedProtocol: "h2"}
	}
	if req.Body == nil || req.Body == http.NoBody {
		sreq.Body = http.NoBody
		sreq.ContentLength = 0
	} else if sreq.ContentLength == 0 {
		sreq.ContentLength = -1 // a body of unknown length, sent chunked
	}
	// The wire canonicalizes the names (x-ms-version arrives as
	// X-Ms-Version).
	sreq.Header = make(http.Header, len(req.Header)+2)
	for k, v := range req.Header {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		sreq.Header[ck] = append(sreq.Header[ck], v...)
	}
	// What the client's transport adds on the wire.
	if sendsContentLength(sreq.Method, sreq.ContentLength) {
		sreq.Header.Set("Content-Length", strconv.FormatInt(sreq.ContentLength, 10))
	}
	if _, ok := sreq.Header["User-Agent"]; !ok {
		sreq.Header.Set("User-Agent", "Go-http-client/1.1")
	}
	sreq.Header.Del("Host")

	w := &inProcessWriter{header: http.Header{}, req: req, head: make(chan struct{})}
	go func() {
		defer func() {
			if req.Body != nil {
				req.Body.Close()
			}
		}()
		defer func() {
			if v := recover(); v != nil {
				// As net/http's server: the connection is dropped, and a
				// panic other than ErrAbortHandler is logged.
				if v != http.ErrAbortHandler {
					log.Printf("emulator (in process): panic serving %s %s: %v\n%s", req.Method, req.URL, v, debug.Stack())
				}
				w.abort()
				return
			}
			w.finish()
		}()
		h.ServeHTTP(w, sreq)
	}()
	select {
	case <-w.head:
	case <-ctx.Done():
		go func() {
			// Nobody will read the answer: let the handler finish.
			<-w.head
			if w.resp != nil {
				w.resp.Body.Close()
			}
		}()
		return nil, ctx.Err()
	}
	// Under the lock: a handler that panics after its head went out sets
	// aborted while the answer is being read.
	w.mu.Lock()
	aborted, resp := w.aborted, w.resp
	w.mu.Unlock()
	if aborted && resp == nil {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: io.ErrUnexpectedEOF}
	}
	return resp, nil
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// sendsContentLength is net/http's rule for a request's Content-Length
// header (transferWriter.shouldSendContentLength).
func sendsContentLength(method string, n int64) bool {
	switch {
	case n > 0:
		return true
	case n < 0:
		return false
	case method == "POST" || method == "PUT" || method == "PATCH":
		return true
	}
	return method != "GET" && method != "HEAD"
}

// inProcessWriter is the handler's http.ResponseWriter. As net/http's
// server, it holds the head and up to bufSize bytes of body until the
// handler writes more, flushes or returns, so a short answer gets a
// Content-Length and a sniffed Content-Type.
type inProcessWriter struct {
	header http.Header
	req    *http.Request

	mu      sync.Mutex
	status  int
	sent    http.Header // the header as of WriteHeader
	buf     bytes.Buffer
	head    chan struct{} // closed once resp is set, or on abort
	resp    *http.Response
	pw      *io.PipeWriter // nil when the answer has no body
	aborted bool
}

const bufSize = 4096

func (w *inProcessWriter) Header() http.Header { return w.header }

func (w *inProcessWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeHeader(code)
}

func (w *inProcessWriter) writeHeader(code int) {
	if w.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not the answer
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *inProcessWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.status == 0 {
		w.writeHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) || w.req.Method == http.MethodHead {
		w.mu.Unlock()
		if len(p) == 0 {
			return 0, nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.resp == nil {
		w.buf.Write(p)
		if w.buf.Len() <= bufSize {
			w.mu.Unlock()
			return len(p), nil
		}
		w.sendHead(-1, nil)
		pending := bytes.Clone(w.buf.Bytes())
		w.buf.Reset()
		pw := w.pw
		w.mu.Unlock()
		if _, err := pw.Write(pending); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	pw := w.pw
	w.mu.Unlock()
	return pw.Write(p)
}

// Flush sends the head and what is buffered (http.Flusher).
func (w *inProcessWriter) Flush() {
	w.mu.Lock()
	if w.status == 0 {
		w.writeHeader(http.StatusOK)
	}
	if w.resp != nil {
		w.mu.Unlock()
		return
	}
	w.sendHead(-1, nil)
	pending := bytes.Clone(w.buf.Bytes())
	w.buf.Reset()
	pw := w.pw
	w.mu.Unlock()
	if len(pending) > 0 && pw != nil {
		_, _ = pw.Write(pending)
	}
}

// sendHead makes the response; body is all of it when the handler is
// done (nil: it streams through a pipe, n is -1). Called with mu held.
func (w *inProcessWriter) sendHead(n int64, body []byte) {
	// The client reads the names canonical, whatever the handler wrote
	// (Azure-AsyncOperation arrives as Azure-Asyncoperation).
	h := make(http.Header, len(w.sent)+2)
	for k, v := range w.sent {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		h[ck] = append(h[ck], v...)
	}
	noBody := !bodyAllowed(w.status) || w.req.Method == http.MethodHead
	if _, ok := h["Content-Type"]; !ok && w.buf.Len() > 0 && !noBody {
		h.Set("Content-Type", http.DetectContentType(w.buf.Bytes()))
	}
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil {
			n = v
		}
	} else if n >= 0 && !noBody {
		h.Set("Content-Length", strconv.FormatInt(n, 10))
	}
	resp := &http.Response{
		Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, ContentLength: n, Request: w.req,
	}
	switch {
	case noBody:
		resp.Body = http.NoBody
		if !bodyAllowed(w.status) {
			resp.ContentLength = 0
		}
	case body != nil:
		resp.Body = io.NopCloser(bytes.NewReader(body))
	default:
		pr, pw := io.Pipe()
		resp.Body, w.pw = pr, pw
	}
	w.resp = resp
	close(w.head)
}

// finish ends the answer when the handler returns.
func (w *inProcessWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.writeHeader(http.StatusOK)
	}
	if w.resp == nil {
		w.sendHead(int64(w.buf.Len()), bytes.Clone(w.buf.Bytes()))
	}
	if w.pw != nil {
		_ = w.pw.Close()
	}
}

// abort drops the answer as a dropped connection would.
func (w *inProcessWriter) abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.aborted = true
	if w.resp == nil {
		close(w.head)
		return
	}
	if w.pw != nil {
		_ = w.pw.CloseWithError(io.ErrUnexpectedEOF)
	}
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199) && status != http.StatusNoContent && status != http.StatusNotModified
}
