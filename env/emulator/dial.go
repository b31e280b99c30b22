package emulator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/miconform/miconform/env/oserr"
)

// Serves reports whether the HTTPS listener answers for host (no port).
func (e *Emulator) Serves(host string) bool {
	host = strings.ToLower(host)
	for _, hr := range e.hosts {
		if hr.matches(host) {
			// A wildcard service that knows its names (vaults) resolves only
			// those, as DNS does.
			if n, ok := hr.svc.handler.(interface{ Serves(string) bool }); ok && hr.suffix != "" {
				return n.Serves(host)
			}
			return true
		}
	}
	return false
}

// DialContext dials the tutorials' addresses to the emulator: the endpoints
// of the service table (IMDS's 169.254.169.254:80, SQL's
// {server}.{suffix}:1433, the VM extension's localhost:50342, port 80 of a
// storage account) to their listeners, the cloud's host names on port 443
// to the HTTPS listener. Loopback addresses are dialed as given; anything
// else is refused rather than sent to the real Azure.
func (e *Emulator) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	host = strings.ToLower(host)
	if ep, ok := e.endpointAt(host, port); ok {
		to := ep.listener()
		if to == "" {
			// Not listening: refused, as the kernel would.
			return nil, refused(network)
		}
		return d.DialContext(ctx, network, to)
	}
	if port == "443" && e.Serves(host) {
		to := e.HTTPSAddr()
		if to == "" {
			return nil, notStarted(network, addr)
		}
		return d.DialContext(ctx, network, to)
	}
	if isLoopbackHost(host) {
		return d.DialContext(ctx, network, addr)
	}
	return nil, e.notEmulated(network, addr)
}

// refused is a dial's "connection refused".
func refused(network string) error {
	return &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", oserr.ConnRefused)}
}

// notStarted says why a dial of an emulator without listeners fails, and
// what reaches it instead.
func notStarted(network, addr string) error {
	return &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("miconform emulator: %s: the emulator has no listeners (Start opens them; InProcessTransport needs none)", addr)}
}

func (e *Emulator) notEmulated(network, addr string) error {
	return &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("miconform emulator: %s is not an emulated %s address", addr, e.Cloud.Name)}
}

// Transport is an HTTP transport that reaches the emulator at the real Azure
// URLs and trusts the emulator CA. Close closes its idle connections.
func (e *Emulator) Transport() *http.Transport {
	t := &http.Transport{
		DialContext:           e.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: e.CA.Pool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	e.mu.Lock()
	e.transports = append(e.transports, t)
	e.mu.Unlock()
	return t
}

// HTTPClient is a client over Transport.
func (e *Emulator) HTTPClient() *http.Client {
	return &http.Client{Transport: e.Transport(), Timeout: 60 * time.Second}
}
