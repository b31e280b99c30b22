package emulator

import (
	"github.com/miconform/miconform/env/emulator/state"
	"net"
	"net/http"
)

// ServeBare serves h on a new loopback listener set up exactly as the
// emulator's own: TLS with the HTTPS listener's config when useTLS (the
// IMDS listener's plain HTTP otherwise), the same http.Server settings.
// Benchmarks compare a service with a bare handler on the same stack. The
// listener closes with the emulator.
func (e *Emulator) ServeBare(h http.Handler, useTLS bool) (net.Addr, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr()
	e.serve(e.capped(ln, useTLS), h)
	return addr, nil
}

// StateLog is a service's --state-dir log (tests inject disk faults).
func (e *Emulator) StateLog(name string) *state.Log { return e.logs[name] }
