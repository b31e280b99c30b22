package faults

import (
	"net"
	"net/http"
	"time"

	"github.com/miconform/miconform/env/emulator/imds"
)

// imdsDecision is what the IMDS fault does to one request.
type imdsDecision struct {
	latency time.Duration
	status  int
	reset   bool
}

func (in *Injector) decideIMDS() imdsDecision {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := in.now()
	in.expireLocked(now)
	f, w := in.imds, in.imdsWin
	if f == nil || !w.active(now) {
		return imdsDecision{}
	}
	d := imdsDecision{latency: time.Duration(f.LatencyMS) * time.Millisecond}
	if (f.Status != 0 || f.Reset) && w.hit(now) {
		d.status, d.reset = f.Status, f.Reset
	} else if f.Status == 0 && !f.Reset {
		// A latency-only fault counts every delayed request.
		w.hit(now)
	}
	return d
}

// IMDS wraps the IMDS handler with the IMDS fault, as a middleware so the
// service itself stays fault-free (aws/amazon-ec2-metadata-mock's
// design). The answers are IMDS's own (imds.WriteFault).
func (in *Injector) IMDS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := in.decideIMDS()
		if d.latency > 0 {
			t := time.NewTimer(d.latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case d.reset:
			resetConn(w)
		case d.status != 0:
			imds.WriteFault(w, d.status)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// resetConn drops the client's connection with a TCP RST (SO_LINGER 0), as
// a crashed or restarting IMDS proxy does; where the connection cannot be
// taken over (HTTP/2), the stream is aborted instead.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Service decides whether the services fault fails this request of a
// service (its name in the emulator's service table; "" is never
// faulted), and with what status (500 or 503) and Retry-After seconds.
// The injector only decides: each service writes the answer in its own
// error shape, so a client sees what that Azure service sends.
func (in *Injector) Service(service string) (status, retryAfter int, hit bool) {
	if service == "" {
		return 0, 0, false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.expireLocked(in.now())
	f, win := in.svc, in.svcWin
	if f == nil || (f.Service != "" && f.Service != service) || !win.hit(in.now()) {
		return 0, 0, false
	}
	return f.Status, f.RetryAfterSeconds, true
}
