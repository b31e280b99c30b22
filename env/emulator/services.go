package emulator

import (
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
	// title names the service in messages ("Blob Storage").
	title string
	// hosts are the HTTPS listener's host names the service answers: exact
	// names, or "*.suffix" wildcards that match any name under suffix.
	hosts []string
	// wildcard is what a wildcard host's "*" stands for, as the 421
	// answer names it ("vault": {vault}.vault.azure.net).
	wildcard string
	// pathStyle, when set, is the URL path the service answers on the
	// loopback names 127.0.0.1 and localhost ("/{account}/{container}/{blob}"),
	// and pathKnows whether a first path segment is one of its own (a
	// storage account); other loopback requests are misdirected.
	pathStyle string
	pathKnows func(segment string) bool
	// foreign: the hosts stand for another cloud's, not this cloud's
	// names; the 421 answer does not list them.
	foreign bool
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
	// endpoints are the addresses, other than HTTPS on 443, at which
	// DialContext and the in-process transport reach the service (IMDS's
	// 169.254.169.254:80, SQL's {server}.database...:1433, ...).
	endpoints []endpoint
	// start opens the service's own listeners (Start); close stops them.
	start func() error
	close func()
	// ready runs once the world exists (seeded or restored), in table
	// order: the VM extension is installed then (emulate --legacy-extension).
	ready func() error
	// vmChanged is told that the emulator now plays another VM (SetVM).
	vmChanged func()
}

// endpoint is an address of a service other than HTTPS on port 443.
type endpoint struct {
	// match reports whether a client's host (lower case) and port are
	// this endpoint.
	match func(host, port string) bool
	// listener is the address of the emulator's listener for it; ""
	// while there is none, and dials are refused.
	listener func() string
	// handler serves its HTTP requests (nil for another protocol: TDS);
	// the in-process transport calls it directly.
	handler http.Handler
	// open reports whether the endpoint answers now (nil: always); the
	// in-process transport refuses requests while it does not, as its
	// listener's reserved port refuses dials.
	open func() bool
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
	imdsService,
	legacyService,
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
		hosts := s.hosts
		if s.pathStyle != "" {
			hosts = append(hosts[:len(hosts):len(hosts)], loopbackNames...)
		}
		for _, h := range hosts {
			h = strings.ToLower(h)
			if suffix, ok := strings.CutPrefix(h, "*."); ok {
				e.hosts = append(e.hosts, hostRoute{suffix: "." + suffix, svc: s})
			} else {
				e.hosts = append(e.hosts, hostRoute{exact: h, svc: s})
			}
		}
	}
}

// loopbackNames are the names path-style services answer on.
var loopbackNames = []string{"127.0.0.1", "localhost"}

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

// endpointAt is the endpoint of the table at host (lower case) and port.
func (e *Emulator) endpointAt(host, port string) (endpoint, bool) {
	for _, s := range e.services {
		for _, ep := range s.endpoints {
			if ep.match(host, port) {
				return ep, true
			}
		}
	}
	return endpoint{}, false
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
