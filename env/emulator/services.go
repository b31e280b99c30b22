package emulator

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/miconform/miconform/env/emulator/state"
)

// service is one emulated Azure service as the emulator wires it: the
// table (services) is the only place a service is connected to the host
// router, the services fault, dialing, persistence, seeding and the VM's
// addresses. Each service's entry is in service_{name}.go (Resource Manager's in
// service_resourcemanager.go: a _arm.go suffix is a GOARCH constraint); adding a
// service is its package plus one entry.
type service struct {
	// name is the service's name for the services fault (emulate
	// --faults, the control API); "" for services never faulted.
	name string
	// hosts are the HTTPS listener's host names the service answers: exact
	// names, or "*.suffix" wildcards that match any name under suffix.
	hosts []string
	// handler serves the service's HTTPS requests.
	handler http.Handler
	// plainHTTP: the service also answers on port 80 (plainhttp.go).
	plainHTTP bool
	// fault writes a request the services fault failed (status 500 or
	// 503, Retry-After already set) in the service's own error shape.
	fault func(w http.ResponseWriter, r *http.Request, status int)
	// log is the service's record log in the state dir ("" for none);
	// restore loads it. Logs are loaded in table order, after the
	// directory's and the role assignments': Resource Manager's first, as
	// the other services reconcile their records with it.
	log     string
	restore func(l *state.Log) error
	// seed creates the service's part of the tutorials' world, in table
	// order, after the resource group, the VM and its identities.
	seed func(rg, vmPrincipalID string) error
	// vm is where a program on the VM reaches the service other than
	// HTTPS on 127.0.0.1:443 (vmendpoints.go).
	vm []VMEndpoint
	// dial connects to the service at an address that is not HTTPS (ok
	// false when addr is not the service's).
	dial func(ctx context.Context, network, host, port string) (c net.Conn, ok bool, err error)
	// start opens the service's own listeners (Start); close stops them.
	start func() error
	close func()
}

// services is the table, in the order services are built, restored and
// seeded.
var services = []func(e *Emulator) *service{
	armService,
	loginService,
	keyVaultService,
	blobService,
	sqlService,
	graphService,
	worldwideService,
}

// hostRoute is one host pattern of a service.
type hostRoute struct {
	// suffix matches "*.suffix" hosts; exact matches one host.
	exact, suffix string
	svc           *service
}

func (hr hostRoute) matches(host string) bool {
	return (hr.exact != "" && host == hr.exact) || (hr.suffix != "" && strings.HasSuffix(host, hr.suffix) && len(host) > len(hr.suffix))
}

// buildServices builds every service of the table and its host routes.
func (e *Emulator) buildServices() {
	for _, mk := range services {
		s := mk(e)
		e.services = append(e.services, s)
		for _, h := range s.hosts {
			h = strings.ToLower(h)
			if suffix, ok := strings.CutPrefix(h, "*."); ok {
				e.hosts = append(e.hosts, hostRoute{suffix: "." + suffix, svc: s})
			} else {
				e.hosts = append(e.hosts, hostRoute{exact: h, svc: s})
			}
		}
	}
}

// route is the service the HTTPS listener's host router sends host (lower
// case, no port) to, nil for none.
func (e *Emulator) route(host string) *service {
	for _, hr := range e.hosts {
		if hr.matches(host) {
			return hr.svc
		}
	}
	return nil
}

// faultNames are the services' names for the services fault.
func faultNames(svcs []*service) []string {
	var names []string
	for _, s := range svcs {
		if s.name != "" {
			names = append(names, s.name)
		}
	}
	return names
}

// stateLogs are the logs in the order they are loaded: the tenant's
// directory and role assignments (loaded before the operator is added to
// them), then the services' in table order.
func (e *Emulator) stateLogs() []string {
	logs := []string{"directory", "rbac"}
	for _, s := range e.services {
		if s.log != "" {
			logs = append(logs, s.log)
		}
	}
	return logs
}
