package emulator

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
)

// misdirectLogged keeps the log to one line per emulator and host.
var misdirectLogged sync.Map

// misdirected answers a request that reached the HTTPS listener without
// one of the cloud's host names: a client that called the listener by its
// address (https://127.0.0.1:port/, no SNI) or by another name. Azure has
// no such answer (such a request never reaches it), so it says what went
// wrong and how to call the listener, and logs it once per host.
func (e *Emulator) misdirected(w http.ResponseWriter, r *http.Request, host string) {
	port := "PORT"
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			port = p
		}
	}
	c := e.Cloud
	msg := fmt.Sprintf("miconform emulator: no %s service answers for host %q. This HTTPS listener serves the cloud's host names "+
		"(%s, %s, {account}.blob.%s, {vault}.%s) and routes by the name the client asks for, so call it by name and point the name at the listener: "+
		"curl --cacert \"$MICONFORM_CA_FILE\" --connect-to %s:443:127.0.0.1:%s https://%s/... "+
		"(or --resolve %s:%s:127.0.0.1 https://%s:%s/...; `runner sandbox` does this for every name). "+
		"On 127.0.0.1 and localhost only path-style Blob URLs answer: https://127.0.0.1:%s/{account}/{container}/{blob}.\n",
		c.Name, host, c.ARMHost, c.LoginHost, c.StorageSuffix, c.VaultSuffix,
		c.ARMHost, port, c.ARMHost, c.ARMHost, port, c.ARMHost, port, port)
	if _, seen := misdirectLogged.LoadOrStore(fmt.Sprintf("%p %s", e, host), true); !seen {
		log.Printf("emulator: %s %s for host %q answered 421: no %s host name (see the answer for the --connect-to/--resolve fix)", r.Method, r.URL.Path, host, c.Name)
	}
	http.Error(w, msg, http.StatusMisdirectedRequest)
}

// pathStyleMisses tells a loopback request (path-style Blob) whose first
// path segment names no storage account: a caller that meant another
// service and called the listener by its address.
func (e *Emulator) pathStyleMisses(r *http.Request, host string) bool {
	if e.Blob == nil {
		return false
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return false
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	_, ok := e.Blob.Account(seg)
	return !ok
}
