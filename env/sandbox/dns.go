package sandbox

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
)

// A resolver inside the namespace, rather than /etc/hosts alone, because
// the data planes' names are wildcards ({account}.blob..., {vault}.vault...)
// and a scenario may create an account after the program started. It
// answers only what a stub resolver (glibc, musl, c-ares, Go) asks: one
// question, class IN; A for a served name is 127.0.0.1, other types get an
// empty answer, unknown names NXDOMAIN (RFC 1035 sections 4.1, 4.1.4).

const (
	dnsTypeA   = 1
	dnsClassIN = 1
	rcodeOK    = 0
	rcodeForm  = 1
	rcodeNX    = 3
	rcodeNotIm = 4
)

var errDNSDrop = errors.New("dns: not a query to answer")

// serveDNS answers queries on pc until it is closed.
func serveDNS(pc net.PacketConn, resolves func(string) bool) {
	buf := make([]byte, 1500)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if resp, err := dnsAnswer(buf[:n], resolves); err == nil {
			pc.WriteTo(resp, addr)
		}
	}
}

// dnsAnswer builds the response to one query message.
func dnsAnswer(q []byte, resolves func(string) bool) ([]byte, error) {
	if len(q) < 12 || q[2]&0x80 != 0 { // too short, or a response
		return nil, errDNSDrop
	}
	id := q[:2]
	opcode := (q[2] >> 3) & 0x0f
	rd := q[2] & 0x01
	reply := func(rcode byte, question []byte, answer []byte) []byte {
		h := make([]byte, 12, 12+len(question)+len(answer))
		copy(h, id)
		h[2] = 0x80 | opcode<<3 | 0x04 | rd // QR, opcode, AA, RD
		h[3] = 0x80 | rcode                 // RA
		if question != nil {
			binary.BigEndian.PutUint16(h[4:], 1)
		}
		if answer != nil {
			binary.BigEndian.PutUint16(h[6:], 1)
		}
		return append(append(h, question...), answer...)
	}
	if opcode != 0 {
		return reply(rcodeNotIm, nil, nil), nil
	}
	if binary.BigEndian.Uint16(q[4:]) != 1 {
		return reply(rcodeForm, nil, nil), nil
	}
	name, end, ok := dnsName(q, 12)
	if !ok || end+4 > len(q) {
		return reply(rcodeForm, nil, nil), nil
	}
	question := q[12 : end+4]
	qtype := binary.BigEndian.Uint16(q[end:])
	qclass := binary.BigEndian.Uint16(q[end+2:])
	if qclass != dnsClassIN || !resolves(name) {
		return reply(rcodeNX, question, nil), nil
	}
	if qtype != dnsTypeA {
		return reply(rcodeOK, question, nil), nil
	}
	// Name: a pointer to the question's (offset 12); type A, class IN,
	// TTL 60, 4 bytes of address.
	answer := []byte{0xc0, 12, 0, dnsTypeA, 0, dnsClassIN, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1}
	return reply(rcodeOK, question, answer), nil
}

// dnsName reads an uncompressed name (a question's is never compressed)
// starting at off; it returns the dotted name and the offset after it.
func dnsName(b []byte, off int) (string, int, bool) {
	var labels []string
	total := 0
	for {
		if off >= len(b) {
			return "", 0, false
		}
		l := int(b[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(b) {
			return "", 0, false
		}
		total += l + 1
		if total > 255 {
			return "", 0, false
		}
		labels = append(labels, string(b[off:off+l]))
		off += l
	}
	return strings.Join(labels, "."), off, true
}
