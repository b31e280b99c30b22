package emulator

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what one client can hold of an HTTP listener, so clients
// that never finish (slow headers, slow bodies, idle keep-alives, or just
// many connections) cannot pin the emulator. The README's "Server limits"
// gives the numbers.
type Limits struct {
	// ReadHeader is how long a request's headers may take to arrive.
	ReadHeader time.Duration
	// BodyIdle is how long a request body may go without a byte arriving;
	// Body is how long a whole body may take.
	BodyIdle, Body time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request.
	Idle time.Duration
	// MaxConns caps the open connections of one listener; on an HTTP
	// listener more wait to be accepted until one closes, on the TDS
	// listener more are refused at login with error 10928 (sql.Server.
	// SetMaxConns).
	MaxConns int
}

// DefaultLimits are the limits of every HTTP listener.
var DefaultLimits = Limits{
	ReadHeader: 10 * time.Second,
	BodyIdle:   30 * time.Second,
	Body:       10 * time.Minute,
	Idle:       2 * time.Minute,
	MaxConns:   512,
}

// limits is Config.Limits, or DefaultLimits.
func (e *Emulator) limits() Limits {
	if e.cfg.Limits != nil {
		return *e.cfg.Limits
	}
	return DefaultLimits
}

// capped caps ln's connections and, with useTLS, serves TLS on it (the cap
// counts TCP connections, under TLS, so net/http still sees *tls.Conn).
func (e *Emulator) capped(ln net.Listener, useTLS bool) net.Listener {
	ln = limitListener(ln, e.limits().MaxConns)
	if useTLS {
		ln = tls.NewListener(ln, e.tlsConfig())
	}
	return ln
}

// httpServer is an http.Server for h with the emulator's limits.
func (e *Emulator) httpServer(h http.Handler) *http.Server {
	lim := e.limits()
	return &http.Server{Handler: bodyDeadline(h, lim), ReadHeaderTimeout: lim.ReadHeader, IdleTimeout: lim.Idle}
}

// bodyDeadline cuts a request whose body stalls for BodyIdle or takes
// longer than Body in all: each read of the body moves the connection's
// read deadline, which net/http also applies to what it reads of an
// unread body after the handler returns.
func bodyDeadline(h http.Handler, lim Limits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		end := time.Now().Add(lim.Body)
		next := func() time.Time {
			d := time.Now().Add(lim.BodyIdle)
			if d.After(end) {
				return end
			}
			return d
		}
		if rc.SetReadDeadline(next()) == nil && r.Body != nil && r.Body != http.NoBody {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, next: next}
		}
		h.ServeHTTP(w, r)
	})
}

type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	next func() time.Time
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		_ = b.rc.SetReadDeadline(b.next())
	}
	return n, err
}

// limitListener lets at most n connections of ln be open at once; Accept
// waits for one to close beyond that (as x/net/netutil.LimitListener).
func limitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &capped{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type capped struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *capped) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &cappedConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *capped) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
