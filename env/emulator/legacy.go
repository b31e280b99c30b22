package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miconform/miconform/env/emulator/imds"
)

// The VM extension endpoint (IMDS's predecessor) lives at localhost:50342 on
// a VM while the managed identity VM extension is installed, and nowhere
// once it is removed: clients then get "connection refused", as every real
// VM has given since the extension's retirement in January 2019. The
// emulator follows the extension resource on the emulated VM: Resource
// Manager's put and delete hooks open and close the listener (its entry in
// the service table: service_legacy.go). While closed,
// the port stays reserved by a socket that is bound but not listening, so a
// dial is refused by the kernel (a genuine ECONNREFUSED) and no other
// program takes the port meanwhile.
type legacy struct {
	e    *Emulator
	addr string // configured listen address

	mu      sync.Mutex
	started bool
	closed  bool
	bound   string // host:port reserved at start
	res     *reservation
	srv     *http.Server
	// ext is the installed extension's endpoint, made again when its type
	// or version changes.
	ext atomic.Pointer[imds.Extension]
}

// legacyExtensionName is the extension the portal's "Enable MSI" installed on
// a Windows VM (the 2017 tutorial's ManagedIdentityExtensionforWindows).
const (
	legacyExtensionName    = imds.ExtensionWindows
	legacyExtensionVersion = "1.0"
)

// installedExtension reports the managed identity extension on the VM the
// emulator plays, if one is installed, and the port its settings name.
func (e *Emulator) installedExtension() (typ, version string, port int, ok bool) {
	e.vmMu.RLock()
	vmID := e.vmID
	e.vmMu.RUnlock()
	if vmID == "" {
		return "", "", 0, false
	}
	for _, x := range e.ARM.VMExtensions(vmID) {
		p := x.Properties
		pub, _ := p["publisher"].(string)
		t, _ := p["type"].(string)
		if !strings.EqualFold(pub, imds.ExtensionPublisher) || !(strings.EqualFold(t, imds.ExtensionWindows) || strings.EqualFold(t, imds.ExtensionLinux)) {
			continue
		}
		if st, _ := p["provisioningState"].(string); st != "Succeeded" {
			continue
		}
		port = imds.ExtensionPort
		if s, ok := p["settings"].(map[string]any); ok {
			if n, ok := s["port"].(float64); ok && n > 0 && n < 65536 && n == float64(int(n)) {
				port = int(n)
			}
		}
		version, _ = p["typeHandlerVersion"].(string)
		if strings.EqualFold(t, imds.ExtensionLinux) {
			return imds.ExtensionLinux, version, port, true
		}
		return imds.ExtensionWindows, version, port, true
	}
	return "", "", 0, false
}

// start reserves the listen address and opens the listener if the extension
// is already installed.
func (l *legacy) start() error {
	l.mu.Lock()
	r, err := reserve(l.addr)
	if err != nil {
		l.mu.Unlock()
		return fmt.Errorf("emulator: legacy extension address %s: %w", l.addr, err)
	}
	l.res, l.bound, l.started = r, r.addr, true
	l.mu.Unlock()
	l.sync()
	return nil
}

// sync opens or closes the listener to match the VM's extensions.
func (l *legacy) sync() {
	_, _, _, installed := l.e.installedExtension()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started || l.closed {
		return
	}
	if installed {
		if l.srv == nil {
			l.open()
		}
		return
	}
	if l.srv != nil {
		l.shut()
	}
}

// handler serves with the installed extension's endpoint; installedExtension
// is asked again so a sandbox listener opened earlier follows a later type
// change too.
func (l *legacy) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		typ, version, _, ok := l.e.installedExtension()
		if !ok {
			// Uninstalled while a listener opened earlier still runs: the
			// extension's process is gone, so drop the connection.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			http.Error(w, "", http.StatusServiceUnavailable)
			return
		}
		x := l.ext.Load()
		if x == nil || x.Type != typ || x.Version != version {
			x = imds.NewExtension(l.e.Issuer, l.e.currentVM, typ, version)
			l.ext.Store(x)
		}
		x.ServeHTTP(w, r)
	})
}

// open turns the reserved socket into the listener.
func (l *legacy) open() {
	if l.res == nil {
		var err error
		if l.res, err = reserve(l.bound); err != nil {
			return
		}
	}
	ln, err := l.res.listen()
	l.res = nil
	if err != nil {
		return
	}
	l.srv = l.e.httpServer(l.handler())
	go func(srv *http.Server) { _ = srv.Serve(l.e.capped(ln, false)) }(l.srv)
}

// shut closes the listener and every connection at once (the extension's
// process is gone), then reserves the port again so dials are refused.
func (l *legacy) shut() {
	_ = l.srv.Close()
	l.srv = nil
	if !l.closed {
		l.res, _ = reserve(l.bound)
	}
}

func (l *legacy) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.srv != nil {
		l.shut()
	}
	if l.res != nil {
		l.res.Close()
		l.res = nil
	}
}

// LegacyAddr is the host:port where the VM extension endpoint listens while
// the extension is installed (a VM reaches it at localhost:50342); while it
// is not, connections there are refused.
func (e *Emulator) LegacyAddr() string {
	e.legacy.mu.Lock()
	defer e.legacy.mu.Unlock()
	return e.legacy.bound
}

// LegacyListening reports whether the VM extension endpoint is open.
func (e *Emulator) LegacyListening() bool {
	e.legacy.mu.Lock()
	defer e.legacy.mu.Unlock()
	return e.legacy.srv != nil
}
