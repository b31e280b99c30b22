//go:build unix

package emulator

import (
	"net"
	"os"
	"syscall"
)

// reservation is a TCP socket bound to an address without listening: the
// port is taken, and the kernel refuses connections to it.
type reservation struct {
	fd   int
	addr string
}

func reserve(addr string) (*reservation, error) {
	sa, family, err := sockaddr(addr)
	if err != nil {
		return nil, err
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
	bound, err := hostPort(got)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &reservation{fd: fd, addr: bound}, nil
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
