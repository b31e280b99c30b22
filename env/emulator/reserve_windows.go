package emulator

import (
	"net"
	"os"
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
	sa, family, err := sockaddr(addr)
	if err != nil {
		return nil, err
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
	bound, err := hostPort(got)
	if err != nil {
		syscall.Closesocket(fd)
		return nil, err
	}
	return &reservation{fd: fd, addr: bound}, nil
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
