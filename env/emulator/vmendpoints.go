package emulator

import (
	"crypto/tls"
	"net"
	"net/http"
	"sort"
)

// VMEndpoint is an address a program on the VM reaches the emulator at
// (169.254.169.254:80, 127.0.0.1:443, ...) and how to serve a listener
// opened there. The sandbox (env/sandbox) opens these listeners inside its
// network namespace and hands them to Serve; the emulator's own loopback
// listeners are not involved.
type VMEndpoint struct {
	// Addr is the IP:port inside the VM. 127.0.0.1 addresses are what the
	// sandbox's /etc/hosts and DNS answer for the cloud's host names.
	Addr string
	// Serve serves ln until it is closed; it owns no other resources, so
	// closing ln (and the connections it accepted) stops it.
	Serve func(ln net.Listener)
	// Active, when set, is asked when a sandbox starts: false leaves the
	// port closed, as on a VM without the feature (e.g. the retired VM
	// extension's localhost:50342 before the extension is installed).
	Active func() bool
}

// VMEndpoints lists the addresses a VM program reaches: every HTTPS host
// name on 127.0.0.1:443, the services' own (the service table's: IMDS on
// 169.254.169.254:80, Blob's plain HTTP on 127.0.0.1:80, Azure SQL on
// 127.0.0.1:1433, the VM extension's 127.0.0.1:50342), plus any registered
// with AddVMEndpoint, sorted by address.
func (e *Emulator) VMEndpoints() []VMEndpoint {
	eps := []VMEndpoint{
		{Addr: "127.0.0.1:443", Serve: func(ln net.Listener) { _ = e.vmServer(e).Serve(e.capped(ln, true)) }},
	}
	for _, s := range e.services {
		eps = append(eps, s.vm...)
	}
	e.mu.Lock()
	eps = append(eps, e.vmEndpoints...)
	e.mu.Unlock()
	sort.SliceStable(eps, func(i, j int) bool { return eps[i].Addr < eps[j].Addr })
	return eps
}

// AddVMEndpoint adds an address the VM reaches, beside the service
// table's (a test's stand-in for a service not emulated). Host names route
// to 127.0.0.1 inside the sandbox, so use that address.
func (e *Emulator) AddVMEndpoint(ep VMEndpoint) {
	e.mu.Lock()
	e.vmEndpoints = append(e.vmEndpoints, ep)
	e.mu.Unlock()
}

// tlsConfig is the HTTPS listeners' TLS: the leaf covering every cloud's
// host names, HTTP/2 offered as Azure does.
func (e *Emulator) tlsConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{e.leaf}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
}

// vmServer is an http.Server for a sandbox listener; unlike serve it is not
// tracked by Close, since the sandbox closes its listeners itself.
func (e *Emulator) vmServer(h http.Handler) *http.Server {
	return e.httpServer(h)
}
