package tds

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// login7 builds a LOGIN7 the way go-mssqldb lays it out, with a FEDAUTH
// SECURITYTOKEN feature carrying token.
func login7(server, db, token string) []byte {
	fixed := make([]byte, login7FixedLen)
	var data []byte
	put := func(at int, s string) {
		u := AppendUCS2(nil, s)
		binary.LittleEndian.PutUint16(fixed[at:], uint16(login7FixedLen+len(data)))
		binary.LittleEndian.PutUint16(fixed[at+2:], uint16(len(u)/2))
		data = append(data, u...)
	}
	put(36, "host")
	put(52, server)
	put(68, db)
	// Extension: a DWORD pointing at the FeatureExt block.
	binary.LittleEndian.PutUint16(fixed[56:], uint16(login7FixedLen+len(data)))
	binary.LittleEndian.PutUint16(fixed[58:], 4)
	extAt := len(data)
	data = append(data, 0, 0, 0, 0)
	tok := AppendUCS2(nil, token)
	fe := []byte{FeatureFedAuth}
	fe = binary.LittleEndian.AppendUint32(fe, uint32(5+len(tok)))
	fe = append(fe, FedAuthSecurityToken<<1|1)
	fe = binary.LittleEndian.AppendUint32(fe, uint32(len(tok)))
	fe = append(fe, tok...)
	fe = append(fe, featureTerminator)
	binary.LittleEndian.PutUint32(data[extAt:], uint32(login7FixedLen+len(data)))
	data = append(data, fe...)
	fixed[27] = 0x10
	binary.BigEndian.PutUint32(fixed[4:], 0x74000004)
	binary.LittleEndian.PutUint32(fixed[8:], 4096)
	out := append(fixed, data...)
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	return out
}

func TestLogin7(t *testing.T) {
	l, err := ParseLogin7(login7("srv.database.windows.net", "db1", "eyJ.tok"))
	if err != nil {
		t.Fatal(err)
	}
	if l.ServerName != "srv.database.windows.net" || l.Database != "db1" || l.FedAuth == nil || l.FedAuth.Token != "eyJ.tok" || !l.FedAuth.Echo || l.FedAuth.Library != FedAuthSecurityToken {
		t.Fatalf("parsed %+v %+v", l, l.FedAuth)
	}
	if l.PacketSize != 4096 || l.TDSVersion != 0x74000004 {
		t.Fatalf("sizes %+v", l)
	}
}

func TestPreloginRoundTrip(t *testing.T) {
	p := Prelogin{PreloginVersion: {1, 2, 3, 4, 5, 6}, PreloginEncryption: {EncryptOn}, PreloginFedAuthRequired: {1}}
	q, err := ParsePrelogin(p.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if q.Encryption() != EncryptOn || !bytes.Equal(q[PreloginVersion], p[PreloginVersion]) || len(q) != 3 {
		t.Fatalf("round trip: %v", q)
	}
	if _, err := ParsePrelogin([]byte{0x00, 0x00, 0x10, 0x00, 0x06}); err == nil {
		t.Fatal("option past the end accepted")
	}
}

func TestReadMessageLimits(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMessage(&buf, PacketSQLBatch, 512, bytes.Repeat([]byte{7}, 2000)); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMessage(&buf)
	if err != nil || len(m.Data) != 2000 || m.Type != PacketSQLBatch {
		t.Fatalf("multi-packet message: %v %d", err, len(m.Data))
	}
	// A header claiming fewer bytes than itself.
	if _, err := ReadMessage(bytes.NewReader([]byte{1, 1, 0, 4, 0, 0, 1, 0})); err == nil {
		t.Fatal("short packet length accepted")
	}
	// Endless non-final packets stop at MaxMessage.
	pkt := append([]byte{1, 0, 0xFF, 0xFF, 0, 0, 1, 0}, make([]byte, 0xFFFF-8)...)
	r := bytes.NewReader(bytes.Repeat(pkt, MaxMessage/len(pkt)+2))
	if _, err := ReadMessage(r); err != ErrTooLarge {
		t.Fatalf("oversized message: %v", err)
	}
}

func FuzzPrelogin(f *testing.F) {
	f.Add(Prelogin{PreloginVersion: {1, 2, 3, 4, 5, 6}, PreloginEncryption: {EncryptOn}}.Bytes())
	f.Add([]byte{0xFF})
	f.Add([]byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePrelogin(b)
		if err == nil {
			_ = p.Encryption()
			if _, err := ParsePrelogin(p.Bytes()); err != nil {
				t.Fatalf("re-encoded PRELOGIN does not parse: %v", err)
			}
		}
	})
}

func FuzzLogin7(f *testing.F) {
	f.Add(login7("srv.database.windows.net", "db", "tok"))
	f.Add(login7("", "", ""))
	f.Add(make([]byte, login7FixedLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseLogin7(b)
		_, _ = ParseFedAuthToken(b)
	})
}

func FuzzRequests(f *testing.F) {
	hdr := []byte{22, 0, 0, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}
	f.Add(append(append([]byte{}, hdr...), AppendUCS2(nil, "SELECT 1")...))
	rpc := append(append([]byte{}, hdr...), 0xFF, 0xFF, 10, 0, 0, 0)
	rpc = append(rpc, 0, 0, typeNVarChar, 0x40, 0x1F, 0, 0, 0, 0, 0, 16, 0)
	rpc = append(rpc, AppendUCS2(nil, "SELECT @p1")...)
	rpc = append(rpc, 3)
	rpc = append(rpc, AppendUCS2(nil, "@p1")...)
	rpc = append(rpc, 0, typeIntN, 8, 8, 1, 0, 0, 0, 0, 0, 0, 0)
	f.Add(rpc)
	f.Add(append(append([]byte{}, hdr...), 5, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseBatch(b)
		_, _ = ParseRPC(b)
		_, _ = ParseTransMgr(b)
	})
}
