//go:build !unix && !windows

package emulator

import "net"

// reservation holds no socket where bind-without-listen is not portable:
// the port is picked once and may, in principle, be taken while closed.
type reservation struct{ addr string }

func reserve(addr string) (*reservation, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := ln.Addr().String()
	ln.Close()
	return &reservation{addr: a}, nil
}

func (r *reservation) listen() (net.Listener, error) { return net.Listen("tcp", r.addr) }

func (r *reservation) Close() error { return nil }
