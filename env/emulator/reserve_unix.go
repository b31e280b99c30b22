//go:build unix

package emulator

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// reservation is a TCP socket bound to an address without listening: the
// port is taken, and the kernel refuses connections to it.
type reservation struct {
	fd   int
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
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	syscall.CloseOnExec(fd)
	// Rebinding after the listener closed must not wait out TIME_WAIT.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
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
		syscall.Close(fd)
		return nil, fmt.Errorf("unexpected socket address %T", got)
	}
	return &reservation{fd: fd, addr: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// listen turns the reserved socket into a listener; the reservation is
// used up either way.
func (r *reservation) listen() (net.Listener, error) {
	defer r.Close()
	if err := syscall.Listen(r.fd, syscall.SOMAXCONN); err != nil {
		return nil, os.NewSyscallError("listen", err)
	}
	f := os.NewFile(uintptr(r.fd), "legacy-extension")
	r.fd = -1
	defer f.Close()
	return net.FileListener(f)
}

func (r *reservation) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := syscall.Close(r.fd)
	r.fd = -1
	return err
}
