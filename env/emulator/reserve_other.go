//go:build !unix && !windows

package emulator

import (
	"fmt"
	"net"
	"sync"
)

// reservation holds no socket where bind-without-listen is not portable:
// the port is picked once, closed, and may be taken while closed. Within
// this process it is not: held keeps every reserved port from another
// emulator's reserve (the scenarios of a run share one process, and one
// emulator's legacy endpoint, uninstalled, must not hand its port to the
// next emulator's).
type reservation struct {
	addr string
	done bool
}

var held = struct {
	sync.Mutex
	ports map[string]int
}{ports: map[string]int{}}

func reserve(addr string) (*reservation, error) {
	for range 50 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		a := ln.Addr().String()
		ln.Close()
		held.Lock()
		if held.ports[a] == 0 || a == addr {
			held.ports[a]++
			held.Unlock()
			return &reservation{addr: a}, nil
		}
		held.Unlock()
	}
	return nil, fmt.Errorf("emulator: no free port for %s that another emulator of this process does not hold", addr)
}

// listen opens the listener; the reservation is used up either way (the
// listener holds the port from now on).
func (r *reservation) listen() (net.Listener, error) {
	r.Close()
	return net.Listen("tcp", r.addr)
}

func (r *reservation) Close() error {
	held.Lock()
	defer held.Unlock()
	if !r.done {
		r.done = true
		if held.ports[r.addr]--; held.ports[r.addr] <= 0 {
			delete(held.ports, r.addr)
		}
	}
	return nil
}
