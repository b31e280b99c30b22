//go:build linux

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// helperEnv marks the re-executed binary as the sandbox helper and carries
// its configuration; the program never sees it.
const helperEnv = "MICONFORM_SANDBOX_HELPER"

// helperFD is the helper's end of the socket pair (exec.Cmd.ExtraFiles[0]).
const helperFD = 3

// errNotFound travels to the parent as the message "notfound", which Start
// turns into an error wrapping exec.ErrNotFound, as exec.Cmd's would.
var errNotFound = errors.New("not found")

// init turns any binary that links this package (the runner, test
// binaries) into the helper when re-executed by Start: it must run before
// main or TestMain and never return.
func init() {
	v, ok := os.LookupEnv(helperEnv)
	if !ok {
		return
	}
	os.Exit(helper(v))
}

// helper runs inside the new namespaces. It reports setup failures to the
// parent (which turns them into Start's error) and execs the program.
func helper(config string) int {
	var cfg helperConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox helper: bad %s: %v\n", helperEnv, err)
		return 127
	}
	if cfg.Probe {
		if err := setupNetwork(); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox helper:", err)
			return 1
		}
		return 0
	}
	unix.CloseOnExec(helperFD)
	fds, path, err := prepare(cfg)
	if err == errNotFound {
		send("notfound", nil)
		return 127
	}
	if err != nil {
		send("err:"+err.Error(), nil)
		return 127
	}
	if err := send("ok", fds); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox helper:", err)
		return 127
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	unix.Close(helperFD)
	env := os.Environ()
	for i, kv := range env {
		if strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env[:i], env[i+1:]...)
			break
		}
	}
	err = syscall.Exec(path, os.Args[1:], env)
	fmt.Fprintf(os.Stderr, "sandbox: %s: %v\n", os.Args[1], err)
	return 126
}

// prepare sets up the namespace and returns the sockets (TCP listeners,
// then the DNS socket) and the program's path.
func prepare(cfg helperConfig) ([]int, string, error) {
	if len(os.Args) < 2 {
		return nil, "", fmt.Errorf("no command")
	}
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		return nil, "", errNotFound
	}
	if err := setupNetwork(); err != nil {
		return nil, "", err
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return nil, "", fmt.Errorf("hostname: %w", err)
		}
	}
	var fds []int
	fail := func(err error) ([]int, string, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, "", err
	}
	for _, addr := range cfg.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(err)
		}
		f, err := ln.(*net.TCPListener).File()
		ln.Close()
		if err != nil {
			return fail(err)
		}
		fds = append(fds, int(f.Fd()))
	}
	if cfg.DNS != "" {
		pc, err := net.ListenPacket("udp", cfg.DNS)
		if err != nil {
			return fail(err)
		}
		f, err := pc.(*net.UDPConn).File()
		pc.Close()
		if err != nil {
			return fail(err)
		}
		fds = append(fds, int(f.Fd()))
	}
	// Private propagation first, so no bind mount leaks to the parent's
	// mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail(fmt.Errorf("making mounts private: %w", err))
	}
	for _, m := range cfg.Mounts {
		if _, err := os.Stat(m[1]); err != nil {
			continue
		}
		if err := unix.Mount(m[0], m[1], "", unix.MS_BIND, ""); err != nil {
			return fail(fmt.Errorf("bind-mounting %s: %w", m[1], err))
		}
	}
	return fds, path, nil
}

// setupNetwork brings lo up and gives it IMDS's link-local address.
func setupNetwork() error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := linkUp(lo.Index); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	if err := addAddr(lo.Index, net.IPv4(169, 254, 169, 254)); err != nil {
		return fmt.Errorf("adding 169.254.169.254 to lo: %w", err)
	}
	return nil
}

func send(msg string, fds []int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(helperFD, []byte(msg), oob, nil, 0)
}
