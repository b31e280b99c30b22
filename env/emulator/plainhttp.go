package emulator

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// startPlainHTTP opens the listener that stands for port 80 of the cloud's
// host names (Blob Storage's entry in the service table opens it). Only
// services with plainHTTP answer there: Azure Storage serves http:// for
// accounts whose "Secure transfer required" is off, which the SAS
// tutorial's spr=https refusal needs. Other hosts get no answer, as no
// other emulated Azure service serves plain HTTP.
func (e *Emulator) startPlainHTTP() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: plain HTTP listener: %w", err)
	}
	e.mu.Lock()
	e.plainLn = ln
	e.mu.Unlock()
	e.serve(e.capped(ln, false), e.plainHandler())
	return nil
}

// plainEndpoint is port 80 of the cloud's host names (not of the loopback
// names, which stay the loopback's own).
func (e *Emulator) plainEndpoint() endpoint {
	return endpoint{
		match: func(host, port string) bool { return port == "80" && !isLoopbackHost(host) && e.Serves(host) },
		listener: func() string {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.plainLn == nil {
				return ""
			}
			return e.plainLn.Addr().String()
		},
		handler: e.plainHandler(),
	}
}

// plainHandler routes port 80 to the services that serve plain HTTP (the
// table's plainHTTP); a host of another service gets no answer.
func (e *Emulator) plainHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if s := e.route(host); s != nil && s.plainHTTP {
			s.handler.ServeHTTP(w, r)
			return
		}
		panic(http.ErrAbortHandler)
	})
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
