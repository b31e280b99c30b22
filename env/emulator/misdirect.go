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
// wrong and how to call the listener, and logs it once per host. The names
// it lists are the service table's.
func (e *Emulator) misdirected(w http.ResponseWriter, r *http.Request, host string) {
	port := "PORT"
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			port = p
		}
	}
	names, pathStyle := e.servedNames()
	example := names[0] // Resource Manager's, the table's first
	var b strings.Builder
	fmt.Fprintf(&b, "miconform emulator: no %s service answers for host %q. This HTTPS listener serves the cloud's host names "+
		"(%s) and routes by the name the client asks for, so call it by name and point the name at the listener: "+
		"curl --cacert \"$MICONFORM_CA_FILE\" --connect-to %s:443:127.0.0.1:%s https://%s/... "+
		"(or --resolve %s:%s:127.0.0.1 https://%s:%s/...; `runner sandbox` does this for every name).",
		e.Cloud.Name, host, strings.Join(names, ", "), example, port, example, example, port, example, port)
	for _, s := range pathStyle {
		fmt.Fprintf(&b, " On %s only path-style %s URLs answer: https://127.0.0.1:%s%s.", strings.Join(loopbackNames, " and "), s.title, port, s.pathStyle)
	}
	b.WriteString("\n")
	if _, seen := misdirectLogged.LoadOrStore(fmt.Sprintf("%p %s", e, host), true); !seen {
		log.Printf("emulator: %s %s for host %q answered 421: no %s host name (see the answer for the --connect-to/--resolve fix)", r.Method, r.URL.Path, host, e.Cloud.Name)
	}
	http.Error(w, b.String(), http.StatusMisdirectedRequest)
}

// servedNames are the HTTPS host names of the service table, in table
// order, a wildcard's "*" shown as what it stands for
// ({vault}.vault.azure.net), and the services that answer path style on
// the loopback names. Another cloud's names (the worldwide login host a
// sovereign cloud answers discovery on) are not this cloud's to list.
func (e *Emulator) servedNames() (names []string, pathStyle []*service) {
	for _, s := range e.services {
		if s.foreign {
			continue
		}
		for _, h := range s.hosts {
			if suffix, ok := strings.CutPrefix(h, "*."); ok {
				h = "{" + s.wildcard + "}." + suffix
			}
			names = append(names, h)
		}
		if s.pathStyle != "" {
			pathStyle = append(pathStyle, s)
		}
	}
	return names, pathStyle
}

// pathStyleMisses tells a request on a loopback name whose first path
// segment is none of its service's (no such storage account): a caller
// that meant another service and called the listener by its address.
func pathStyleMisses(r *http.Request, host string, s *service) bool {
	if s.pathKnows == nil || !isLoopbackHost(host) {
		return false
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return !s.pathKnows(seg)
}
