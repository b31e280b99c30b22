package faults

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
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

// Service answers the request with the services fault when it hits;
// service is which service the host router picked ("arm", "login", "blob",
// "vault" or "" for others, which are never faulted). It reports whether
// it answered.
func (in *Injector) Service(w http.ResponseWriter, r *http.Request, service string) bool {
	if service == "" {
		return false
	}
	in.mu.Lock()
	in.expireLocked(in.now())
	f, win := in.svc, in.svcWin
	hit := f != nil && (f.Service == "" || f.Service == service) && win.hit(in.now())
	var status, retryAfter int
	if hit {
		status, retryAfter = f.Status, f.RetryAfterSeconds
	}
	in.mu.Unlock()
	if !hit {
		return false
	}
	writeServiceFault(w, r, service, status, retryAfter)
	return true
}

// writeServiceFault writes a transient server error in the service's own
// error shape, with Retry-After (seconds) as Azure's front doors send it.
// Storage: ServerBusy (503) and InternalError (500), XML, x-ms-error-code
// (https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes).
// Resource Manager, Key Vault and the login host: {"error":{"code","message"}}
// (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
func writeServiceFault(w http.ResponseWriter, r *http.Request, service string, status, retryAfter int) {
	h := w.Header()
	reqID := directory.NewGUID()
	h.Set("Retry-After", strconv.Itoa(retryAfter))
	h.Set("x-ms-request-id", reqID)
	if service == "blob" {
		code, msg := "InternalError", "The server encountered an internal error. Please retry the request."
		if status == http.StatusServiceUnavailable {
			code, msg = "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
		}
		type errorBody struct {
			XMLName xml.Name `xml:"Error"`
			Code    string   `xml:"Code"`
			Message string   `xml:"Message"`
		}
		b, _ := xml.Marshal(errorBody{Code: code, Message: fmt.Sprintf("%s\nRequestId:%s\nTime:%s", msg, reqID, time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))})
		h.Set("x-ms-error-code", code)
		h.Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(append([]byte(xml.Header[:len(xml.Header)-1]), b...))
		}
		return
	}
	code, msg := "InternalServerError", "The server encountered an internal error. Please retry the request."
	if status == http.StatusServiceUnavailable {
		code, msg = "ServiceUnavailable", "The service is temporarily unavailable. Please retry the request after the time given in Retry-After."
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
}
