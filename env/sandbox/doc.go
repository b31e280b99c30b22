// Package sandbox runs a program as if it ran on the emulated Azure VM: in a
// new Linux network namespace where 169.254.169.254:80 is the emulator's
// IMDS, the cloud's host names resolve to 127.0.0.1 and 127.0.0.1:443 is
// the emulator's HTTPS listener, and the emulator's CA is trusted. The
// tutorials' own commands (curl, az) then run unchanged.
//
// How: the program is started through a re-exec of this binary (see
// helper.go) in new network, mount and UTS namespaces (and a user namespace
// when not root). The helper, already inside the namespaces, brings up lo,
// adds 169.254.169.254 to it, opens the listening sockets, passes them to
// the parent over a unix socket, bind-mounts the generated /etc/hosts,
// /etc/resolv.conf and CA bundle over the real ones (in its private mount
// namespace only) and execs the program. The parent serves the sockets with
// the emulator it already runs: sockets stay in the namespace they were
// made in, so nothing is routed, bridged or changed outside.
//
// Why a re-exec rather than setns on a locked thread: a multi-threaded
// process cannot enter a new user namespace, so the unprivileged case needs
// a fresh process anyway, and exec.Cmd has no hook between clone and exec
// for the bind mounts. One mechanism serves root and non-root alike.
//
// The sandbox needs Linux: elsewhere (Windows, macOS) New and Probe exist so
// callers compile, and every entry point returns ErrNeedsLinux.
package sandbox
