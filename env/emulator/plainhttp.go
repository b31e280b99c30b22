package emulator

import (
	"fmt"
	"net"
)

// startPlainHTTP opens the listener that stands for port 80 of the cloud's
// host names. Only the Blob service answers there: Azure Storage serves
// http:// for accounts whose "Secure transfer required" is off, which the
// SAS tutorial's spr=https refusal needs. Other hosts get no answer, as no
// other emulated Azure service serves plain HTTP.
func (e *Emulator) startPlainHTTP() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: plain HTTP listener: %w", err)
	}
	e.plainLn = ln
	e.serve(e.capped(ln, false), e.Blob)
	return nil
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
