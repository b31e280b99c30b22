package emulator

import (
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/miconform/miconform/env/emulator/imds"
)

// IMDSHost is the address a VM reaches IMDS at.
const IMDSHost = "169.254.169.254:80"

// imdsService is the Instance Metadata Service: plain HTTP on a listener
// of its own (Config.IMDSAddr), which a VM reaches at 169.254.169.254:80,
// behind the IMDS faults (not the services fault: IMDS fails its own way).
func imdsService(e *Emulator) *service {
	e.IMDS = imds.New(e.Cloud, e.Issuer, e.currentVM, e.cfg.IMDSThrottle)
	e.IMDS.Identity = e.currentIdentity
	// The fault injector is made after the table (it takes the services'
	// names from it).
	faulted := sync.OnceValue(func() http.Handler { return e.Faults.IMDS(e.IMDS) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { faulted().ServeHTTP(w, r) })
	return &service{
		title: "IMDS",
		endpoints: []endpoint{{
			match:    func(host, port string) bool { return net.JoinHostPort(host, port) == IMDSHost },
			listener: e.IMDSAddr,
			handler:  h,
		}},
		vm: []VMEndpoint{{Addr: IMDSHost, Serve: func(ln net.Listener) { _ = e.vmServer(h).Serve(e.capped(ln, false)) }}},
		start: func() error {
			ln, err := net.Listen("tcp", e.cfg.IMDSAddr)
			if err != nil {
				return fmt.Errorf("emulator: IMDS listener: %w", err)
			}
			e.mu.Lock()
			e.imdsLn = ln
			e.mu.Unlock()
			e.serve(e.capped(ln, false), h)
			return nil
		},
	}
}

// IMDSAddr is the host:port serving IMDS ("" before Start).
func (e *Emulator) IMDSAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.imdsLn == nil {
		return ""
	}
	return e.imdsLn.Addr().String()
}
