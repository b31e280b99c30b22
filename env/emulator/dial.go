package emulator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// IMDSHost is the address a VM reaches IMDS at.
const IMDSHost = "169.254.169.254:80"

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

// DialContext dials the tutorials' addresses to the emulator: IMDS's
// 169.254.169.254:80 to the IMDS listener, the cloud's host names on
// port 443 to the HTTPS listener (port 80 to the plain one), a service's
// own addresses (SQL's {server}.{suffix}:1433) to that service, and localhost:50342 to the VM extension
// endpoint (refused unless the extension is installed). Loopback addresses
// are dialed as given; anything else is refused rather than sent to the real
// Azure.
func (e *Emulator) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	for _, s := range e.services {
		if s.dial == nil {
			continue
		}
		if c, ok, err := s.dial(ctx, network, host, port); ok {
			return c, err
		}
	}
	switch {
	case addr == IMDSHost:
		return d.DialContext(ctx, network, e.IMDSAddr())
	case port == "443" && e.Serves(host):
		return d.DialContext(ctx, network, e.HTTPSAddr())
	case port == "80" && e.plainLn != nil && e.Serves(host) && !isLoopbackHost(host):
		return d.DialContext(ctx, network, e.plainLn.Addr().String())
	}
	// The VM extension's localhost:50342 before other loopback addresses.
	if c, ok, err := e.dialLegacy(ctx, network, host, port); ok {
		return c, err
	}
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		return d.DialContext(ctx, network, addr)
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("miconform emulator: %s is not an emulated %s address", addr, e.Cloud.Name)}
}

// Transport is an HTTP transport that reaches the emulator at the real Azure
// URLs and trusts the emulator CA.
func (e *Emulator) Transport() *http.Transport {
	return &http.Transport{
		DialContext:           e.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: e.CA.Pool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

// HTTPClient is a client over Transport.
func (e *Emulator) HTTPClient() *http.Client {
	return &http.Client{Transport: e.Transport(), Timeout: 60 * time.Second}
}
