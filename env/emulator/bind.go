package emulator

import (
	"fmt"
	"net"
	"strings"
)

// The emulator hands out tokens for the whole emulated tenant to anyone who
// asks IMDS, and its operator is Owner of everything: it listens on
// loopback unless told otherwise. 169.254.169.254 counts as local too: it
// is the VM's own IMDS address, which a sandbox or container network
// namespace puts on its loopback interface. (env/sandbox opens its
// listeners inside its namespace and does not go through these addresses.)

// RemoteAddrs lists the configured listen addresses that are reachable
// from other machines: anything but loopback (127.0.0.0/8, ::1,
// "localhost") and 169.254.169.254. An empty host ("":8443) is every
// interface.
func RemoteAddrs(cfg Config) []string {
	var out []string
	for _, a := range []string{cfg.HTTPSAddr, cfg.IMDSAddr, cfg.SQLAddr, cfg.LegacyAddr} {
		if a != "" && !localAddr(a) {
			out = append(out, a)
		}
	}
	return out
}

func localAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.Equal(net.IPv4(169, 254, 169, 254)))
}

// checkBind refuses non-local listen addresses unless AllowRemote is set.
func checkBind(cfg Config) error {
	if remote := RemoteAddrs(cfg); len(remote) > 0 && !cfg.AllowRemote {
		return fmt.Errorf("emulator: %s would be reachable from other machines, which could then take tokens for the whole emulated tenant; listen on loopback, or allow it explicitly (AllowRemote, emulate --allow-remote)", strings.Join(remote, ", "))
	}
	return nil
}
