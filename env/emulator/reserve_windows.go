package emulator

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// reservation is a TCP socket bound to an address without listening, as on
// Unix (reserve_unix.go): the port stays taken, so no other listener of
// this or another process (another emulator's HTTPS port, say) gets it
// while the legacy endpoint is closed, and Windows refuses connections to
// it. Windows cannot turn the socket into a net.Listener, so listen closes
// it and listens on the same port at once.
type reservation struct {
	fd   syscall.Handle
	addr string
}

func reserve(addr string) (*reservation, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	if ip4 := ta.IP.To4(); ip4 != nil || ta.IP == nil {
		s := &syscall.SockaddrInet4{Port: ta.Port}
		copy(s.Addr[:], ip4)
		sa = s
	} else {
		family = syscall.AF_INET6
		s := &syscall.SockaddrInet6{Port: ta.Port}
		copy(s.Addr[:], ta.IP.To16())
		sa = s
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Closesocket(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Closesocket(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	var host string
	var port int
	switch a := got.(type) {
	case *syscall.SockaddrInet4:
		host, port = net.IP(a.Addr[:]).String(), a.Port
	case *syscall.SockaddrInet6:
		host, port = net.IP(a.Addr[:]).String(), a.Port
	default:
		syscall.Closesocket(fd)
		return nil, fmt.Errorf("unexpected socket address %T", got)
	}
	return &reservation{fd: fd, addr: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// listen closes the reserved socket and listens on its port; the
// reservation is used up either way.
func (r *reservation) listen() (net.Listener, error) {
	r.Close()
	return net.Listen("tcp", r.addr)
}

func (r *reservation) Close() error {
	if r.fd == syscall.InvalidHandle {
		return nil
	}
	err := syscall.Closesocket(r.fd)
	r.fd = syscall.InvalidHandle
	return err
}
