package sandbox

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// query builds a one-question query as a stub resolver sends it.
func query(id uint16, name string, qtype uint16) []byte {
	b := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	b = append(b, 0)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, qtype), dnsClassIN)
}

func servedOnly(name string) bool { return name == "management.azure.com" }

func TestDNSAnswers(t *testing.T) {
	q := query(0xbeef, "management.azure.com", dnsTypeA)
	r, err := dnsAnswer(q, servedOnly)
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != 0xbe || r[1] != 0xef || r[2]&0x80 == 0 || r[3]&0x0f != rcodeOK {
		t.Fatalf("header % x", r[:12])
	}
	if an := binary.BigEndian.Uint16(r[6:]); an != 1 {
		t.Fatalf("%d answers, want 1", an)
	}
	if !bytes.HasSuffix(r, []byte{0, 4, 127, 0, 0, 1}) {
		t.Errorf("answer is not 127.0.0.1: % x", r)
	}
	if !bytes.Equal(r[12:len(q)], q[12:]) {
		t.Errorf("question not echoed")
	}

	r, _ = dnsAnswer(query(1, "management.azure.com", 28), servedOnly) // AAAA
	if r[3]&0x0f != rcodeOK || binary.BigEndian.Uint16(r[6:]) != 0 {
		t.Errorf("AAAA of a served name: want NOERROR with no answer, got % x", r[:12])
	}
	r, _ = dnsAnswer(query(2, "example.com", dnsTypeA), servedOnly)
	if r[3]&0x0f != rcodeNX {
		t.Errorf("unknown name: want NXDOMAIN, got rcode %d", r[3]&0x0f)
	}
	r, _ = dnsAnswer(query(3, "Management.Azure.COM", dnsTypeA), func(n string) bool { return servedOnly(strings.ToLower(n)) })
	if binary.BigEndian.Uint16(r[6:]) != 1 {
		t.Errorf("names are case-insensitive")
	}
}

func TestDNSRefusesMalformed(t *testing.T) {
	for name, q := range map[string][]byte{
		"short":       {1, 2, 3},
		"truncated":   query(1, "management.azure.com", dnsTypeA)[:20],
		"no question": {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"label 64":    append([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64}, make([]byte, 70)...),
	} {
		r, err := dnsAnswer(q, servedOnly)
		if err == nil && r[3]&0x0f != rcodeForm {
			t.Errorf("%s: want FORMERR or no answer, got rcode %d", name, r[3]&0x0f)
		}
	}
	resp := query(1, "management.azure.com", dnsTypeA)
	resp[2] |= 0x80
	if _, err := dnsAnswer(resp, servedOnly); err == nil {
		t.Errorf("a response was answered")
	}
}

func FuzzDNSAnswer(f *testing.F) {
	f.Add(query(1, "management.azure.com", dnsTypeA))
	f.Add(query(2, "x.blob.core.windows.net", 28))
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, q []byte) {
		r, err := dnsAnswer(q, servedOnly)
		if err != nil {
			return
		}
		if len(r) < 12 || r[0] != q[0] || r[1] != q[1] || r[2]&0x80 == 0 {
			t.Fatalf("bad response % x to % x", r, q)
		}
	})
}
