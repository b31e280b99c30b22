//go:build unix || windows

package emulator

import (
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// sockaddr is addr as the socket calls of reserve (reserve_unix.go,
// reserve_windows.go) take it, with its address family.
func sockaddr(addr string) (syscall.Sockaddr, int, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	if ip4 := ta.IP.To4(); ip4 != nil || ta.IP == nil {
		s := &syscall.SockaddrInet4{Port: ta.Port}
		copy(s.Addr[:], ip4)
		return s, syscall.AF_INET, nil
	}
	s := &syscall.SockaddrInet6{Port: ta.Port}
	copy(s.Addr[:], ta.IP.To16())
	return s, syscall.AF_INET6, nil
}

// hostPort is a bound socket's address as host:port.
func hostPort(sa syscall.Sockaddr) (string, error) {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port)), nil
	case *syscall.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port)), nil
	}
	return "", fmt.Errorf("unexpected socket address %T", sa)
}
