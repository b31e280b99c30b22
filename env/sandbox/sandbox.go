//go:build linux

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miconform/miconform/env/emulator"
	"golang.org/x/sys/unix"
)

// Supported is nil: Linux has the namespaces (Probe says whether this
// process may make them).
func Supported() error { return nil }

// DNSAddr is where the sandbox's resolver listens (its /etc/resolv.conf
// names it): every host name of the emulated cloud resolves to 127.0.0.1.
const DNSAddr = "127.0.0.1:53"

// Sandbox is one program run on the emulated VM. Set the exported fields
// before Start, as with exec.Cmd.
type Sandbox struct {
	// Args is the program and its arguments; Args[0] is looked up in PATH.
	Args []string
	// Env is the program's environment (nil: this process's). Proxy
	// variables are dropped (the VM reaches the emulator directly) and the
	// CA variables are set.
	Env []string
	// Dir is the working directory (empty: this process's).
	Dir            string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	e              *emulator.Emulator
	cmd            *exec.Cmd
	tmp            string
	mu             sync.Mutex
	closers        []io.Closer
	trackers       []*trackingListener
	waitOnce       sync.Once
	waitErr        error
	bundle, caPM   string
	// filesGoEarly: every generated file is reached through a mount, so
	// the directory is removed once the helper has mounted them.
	filesGoEarly bool
}

// New prepares argv to run on e's VM.
func New(e *emulator.Emulator, argv ...string) *Sandbox {
	return &Sandbox{e: e, Args: argv}
}

// helperConfig is what the parent tells the helper (JSON in helperEnv).
type helperConfig struct {
	// Listen are the TCP addresses to open, in order; their fds come back
	// in this order, followed by the DNS socket's when DNS is set.
	Listen []string `json:"listen"`
	DNS    string   `json:"dns,omitempty"`
	// Mounts are bind mounts, source over target; a target that does not
	// exist is left alone.
	Mounts   [][2]string `json:"mounts"`
	Hostname string      `json:"hostname,omitempty"`
	// Probe sets the namespace up and exits 0 without running anything.
	Probe bool `json:"probe,omitempty"`
}

// CABundleNames are the environment variables the sandbox points at its CA
// bundle (system roots plus the emulator CA); NODE_EXTRA_CA_CERTS gets the
// emulator CA alone, since Node adds it to its own roots.
var CABundleNames = []string{"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"}

// systemBundles are the distributions' CA bundle paths; the first that
// exists is copied into the sandbox bundle and bind-mounted over, so tools
// that ignore the variables (wget, openssl) trust the emulator too.
var systemBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}

// Start sets up the namespace and starts the program. ctx ending kills it.
func (s *Sandbox) Start(ctx context.Context) error {
	if len(s.Args) == 0 {
		return errors.New("sandbox: no command")
	}
	eps := s.activeEndpoints()
	cfg := helperConfig{DNS: DNSAddr, Hostname: s.e.World.VMName}
	for _, ep := range eps {
		cfg.Listen = append(cfg.Listen, ep.Addr)
	}
	if err := s.writeFiles(&cfg); err != nil {
		s.cleanup()
		return err
	}
	fds, err := s.startHelper(ctx, cfg, s.Args)
	if err != nil {
		s.cleanup()
		return err
	}
	if s.filesGoEarly {
		// The mounts keep the files alive inside; nothing is left behind
		// even if this process is killed before the program ends.
		os.RemoveAll(s.tmp)
	}
	for i, ep := range eps {
		f := os.NewFile(uintptr(fds[i]), "sandbox "+ep.Addr)
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			s.kill()
			return fmt.Errorf("sandbox: listener %s: %w", ep.Addr, err)
		}
		tl := &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
		s.mu.Lock()
		s.trackers = append(s.trackers, tl)
		s.mu.Unlock()
		go ep.Serve(tl)
	}
	f := os.NewFile(uintptr(fds[len(eps)]), "sandbox dns")
	pc, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		s.kill()
		return fmt.Errorf("sandbox: DNS socket: %w", err)
	}
	s.mu.Lock()
	s.closers = append(s.closers, pc)
	s.mu.Unlock()
	go serveDNS(pc, s.resolves)
	return nil
}

// Wait waits for the program, then closes the sockets and removes the files
// the sandbox made; the namespace goes with its last process and socket.
func (s *Sandbox) Wait() error {
	s.waitOnce.Do(func() {
		s.waitErr = s.cmd.Wait()
		s.cleanup()
	})
	return s.waitErr
}

// Run is Start and Wait.
func (s *Sandbox) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	return s.Wait()
}

// Signal sends sig to the program (the CLI forwards SIGTERM and SIGHUP).
func (s *Sandbox) Signal(sig os.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return errors.New("sandbox: not started")
	}
	return s.cmd.Process.Signal(sig)
}

// ExitCode is the program's exit code after Wait, as a shell reports it:
// 128+n when signal n ended it; -1 before it ended.
func (s *Sandbox) ExitCode() int {
	if s.cmd == nil || s.cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return s.cmd.ProcessState.ExitCode()
}

// FilesDir is the directory of the generated hosts, resolv.conf and CA
// bundle (removed when the program ends).
func (s *Sandbox) FilesDir() string { return s.tmp }

func (s *Sandbox) activeEndpoints() []emulator.VMEndpoint {
	var eps []emulator.VMEndpoint
	for _, ep := range s.e.VMEndpoints() {
		if ep.Active == nil || ep.Active() {
			eps = append(eps, ep)
		}
	}
	return eps
}

// resolves answers the sandbox's DNS as the emulator's own dialer decides
// (dial.go): the hosts it serves (a wildcard service that knows its names,
// such as Key Vault, only those) and SQL server names resolve to 127.0.0.1,
// the rest do not exist.
func (s *Sandbox) resolves(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if s.e.Serves(name) {
		return true
	}
	suf := "." + s.e.Cloud.SQLSuffix
	return strings.HasSuffix(name, suf) && len(name) > len(suf)
}

// writeFiles makes the hosts file, resolv.conf and CA bundle the helper
// mounts over the real ones.
func (s *Sandbox) writeFiles(cfg *helperConfig) error {
	dir, err := os.MkdirTemp("", "miconform-sandbox-")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	s.tmp = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	host := cfg.Hostname
	hosts := "# miconform sandbox: the emulated VM's /etc/hosts. The cloud's host names\n" +
		"# (" + s.e.Cloud.ARMHost + ", *.blob." + s.e.Cloud.StorageSuffix + ", ...) are answered by the\n" +
		"# resolver at " + DNSAddr + " (see /etc/resolv.conf) with 127.0.0.1.\n" +
		"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if host != "" {
		hosts += "127.0.1.1\t" + host + "\n"
	}
	resolv := "# miconform sandbox: the emulator answers for " + s.e.Cloud.Name + " host names.\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
	caPEM := s.e.CA.PEM
	var system []byte
	var systemPath string
	for _, p := range systemBundles {
		if b, err := os.ReadFile(p); err == nil {
			system, systemPath = b, p
			break
		}
	}
	bundle := append(append(system, "\n# miconform emulator CA\n"...), caPEM...)
	files := map[string][]byte{"hosts": []byte(hosts), "resolv.conf": []byte(resolv), "ca-bundle.pem": bundle, "emulator-ca.pem": caPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	s.bundle, s.caPM = filepath.Join(dir, "ca-bundle.pem"), filepath.Join(dir, "emulator-ca.pem")
	cfg.Mounts = [][2]string{
		{filepath.Join(dir, "hosts"), "/etc/hosts"},
		{filepath.Join(dir, "resolv.conf"), "/etc/resolv.conf"},
	}
	if systemPath != "" {
		cfg.Mounts = append(cfg.Mounts, [2]string{s.bundle, systemPath})
		// Inside, the system bundle is ours: the variables name it, so the
		// files can go as soon as they are mounted (see Start). Node takes
		// the whole bundle as extra roots; the duplicates are harmless.
		s.bundle, s.caPM = systemPath, systemPath
		s.filesGoEarly = true
	}
	return nil
}

// env is the program's environment: the caller's, less proxies and the
// helper's own variable, plus the CA variables.
func (s *Sandbox) env() []string {
	base := s.Env
	if base == nil {
		base = os.Environ()
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", helperEnv, "NODE_EXTRA_CA_CERTS":
			continue
		}
		if containsFold(CABundleNames, k) {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range CABundleNames {
		out = append(out, k+"="+s.bundle)
	}
	return append(out, "NODE_EXTRA_CA_CERTS="+s.caPM)
}

func containsFold(list []string, k string) bool {
	for _, v := range list {
		if strings.EqualFold(v, k) {
			return true
		}
	}
	return false
}

// startHelper starts the helper in new namespaces and returns the fds it
// passed back (cfg.Listen's, then DNS's).
func (s *Sandbox) startHelper(ctx context.Context, cfg helperConfig, argv []string) ([]int, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox: socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(pair[0]), "sandbox parent")
	child := os.NewFile(uintptr(pair[1]), "sandbox child")
	defer parent.Close()
	b, _ := json.Marshal(cfg)
	env := append(s.env(), helperEnv+"="+string(b))

	var lastErr error
	for _, userNS := range attempts() {
		cmd := exec.CommandContext(ctx, "/proc/self/exe", argv...)
		cmd.Path = "/proc/self/exe"
		cmd.Args = append([]string{self}, argv...)
		cmd.Env, cmd.Dir = env, s.Dir
		cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
		cmd.ExtraFiles = []*os.File{child}
		cmd.WaitDelay = 2 * time.Second
		cmd.SysProcAttr = sysProcAttr(userNS)
		if err := cmd.Start(); err != nil {
			lastErr = err
			if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EUSERS) {
				continue
			}
			child.Close()
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		s.cmd = cmd
		break
	}
	child.Close()
	if s.cmd == nil {
		return nil, fmt.Errorf("%w (%v)", ErrUnavailable, lastErr)
	}
	fds, msg, err := recvFDs(int(parent.Fd()), len(cfg.Listen)+1)
	if err != nil || msg != "ok" {
		s.cmd.Wait()
		switch {
		case err == nil && msg == "notfound":
			err = fmt.Errorf("%q: %w", argv[0], exec.ErrNotFound)
		case err == nil:
			err = errors.New(strings.TrimPrefix(msg, "err:"))
		}
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("the helper exited before setting up (%v)", s.cmd.ProcessState)
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return fds, nil
}

// attempts lists the ways to try: root makes the namespaces directly
// (falling back to a user namespace where root lacks CAP_SYS_ADMIN, as in a
// container); anyone else needs a user namespace.
func attempts() []bool {
	if os.Geteuid() == 0 && !forceUserNS {
		return []bool{false, true}
	}
	return []bool{true}
}

// forceUserNS makes root take the unprivileged path (tests).
var forceUserNS bool

func sysProcAttr(userNS bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		// The program must not outlive the emulator serving it.
		Pdeathsig: syscall.SIGKILL,
	}
	if userNS {
		// Root inside maps to the caller outside: the helper needs its
		// capabilities across exec to configure lo and mount.
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	return a
}

// recvFDs reads the helper's one message: "ok" with n fds, or "err:...".
func recvFDs(fd, n int) ([]int, string, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(n*4))
	nr, noob, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, "", err
	}
	if nr == 0 {
		return nil, "", io.EOF
	}
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob[:noob])
	if err != nil {
		return nil, "", err
	}
	for _, m := range msgs {
		rights, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, rights...)
		}
	}
	msg := string(buf[:nr])
	if msg == "ok" && len(fds) != n {
		return fds, "", fmt.Errorf("the helper passed %d sockets, want %d", len(fds), n)
	}
	return fds, msg, nil
}

func (s *Sandbox) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.Wait()
		return
	}
	s.cleanup()
}

// cleanup closes every socket and connection the sandbox served and
// removes its files; safe to call more than once.
func (s *Sandbox) cleanup() {
	s.mu.Lock()
	closers, trackers := s.closers, s.trackers
	s.closers, s.trackers = nil, nil
	s.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	for _, t := range trackers {
		t.closeAll()
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

// trackingListener remembers accepted connections so the sandbox can close
// them when the program ends: an open connection would keep the namespace.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	l.Listener.Close()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// Probe reports whether sandboxes can run here: nil, or an error wrapping
// ErrUnavailable (or saying what else failed) in one line.
func Probe() error {
	b, _ := json.Marshal(helperConfig{Probe: true})
	var lastErr error
	for _, userNS := range attempts() {
		cmd := exec.Command("/proc/self/exe")
		cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
		cmd.SysProcAttr = sysProcAttr(userNS)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		if cmd.ProcessState == nil {
			lastErr = err
			continue
		}
		return fmt.Errorf("sandbox: probe failed: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return fmt.Errorf("%w (%v)", ErrUnavailable, lastErr)
}
