package blob

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// The user delegation parsers of untrusted input: the KeyInfo body, the
// SAS's key fields, and whole requests carrying a user delegation SAS or
// asking for a key. None may panic; refusals are Azure's XML; no answer
// ever carries the key or the secret it comes from.

func TestUserDelegationStringToSignLayouts(t *testing.T) {
	s := &SAS{Permissions: "r", Start: "st", Expiry: "se", IP: "ip", Protocol: "https", Resource: "b",
		KeyOID: "oid", KeyTID: "tid", KeyStart: "skt", KeyExpiry: "ske", KeyService: "b", KeyVersion: "skv",
		AuthorizedOID: "saoid", CorrelationID: "scid", KeyDelegatedUserTID: "skdutid", DelegatedUserOID: "sduoid",
		Snapshot: "snap", Encryption: "ses", CacheControl: "cc", Disposition: "cd", Encoding: "ce", Language: "cl", ContentType: "ct",
		signedHeaderValues: "h:v\n", signedQueryValues: "\nq:w"}
	const key = "r\nst\nse\nCR\noid\ntid\nskt\nske\nb\nskv\n"
	for v, want := range map[string]string{
		"2018-11-09": key + "ip\nhttps\n2018-11-09\nb\nsnap\ncc\ncd\nce\ncl\nct",
		"2020-02-10": key + "saoid\n\nscid\nip\nhttps\n2020-02-10\nb\nsnap\ncc\ncd\nce\ncl\nct",
		"2020-12-06": key + "saoid\n\nscid\nip\nhttps\n2020-12-06\nb\nsnap\nses\ncc\ncd\nce\ncl\nct",
		"2025-07-05": key + "saoid\n\nscid\nskdutid\nsduoid\nip\nhttps\n2025-07-05\nb\nsnap\nses\ncc\ncd\nce\ncl\nct",
		"2026-04-06": key + "saoid\n\nscid\nskdutid\nsduoid\nip\nhttps\n2026-04-06\nb\nsnap\nses\nh:v\n\n\nq:w\ncc\ncd\nce\ncl\nct",
	} {
		s.Version = v
		if got := s.StringToSign("CR"); got != want {
			t.Errorf("%s:\n got %q\nwant %q", v, got, want)
		}
	}
}

func TestParseUserDelegationSAS(t *testing.T) {
	const oid, tid = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"
	base := "sv=2021-08-06&sr=b&sp=r&se=2030-01-01T00:00:00Z&skoid=" + oid + "&sktid=" + tid +
		"&skt=2029-12-31T00:00:00Z&ske=2030-01-02T00:00:00Z&sks=b&skv=2021-08-06&sig=AAAA"
	for q, ok := range map[string]bool{
		base:                                       true,
		base + "&saoid=" + oid:                     true,
		base + "&saoid=" + oid + "&suoid=" + oid:   false, // one or the other
		base + "&sduoid=" + oid:                    false, // not in 2021-08-06's layout
		base + "&srh=x-ms-foo":                     false,
		base + "&sdd=1":                            false,
		base + "&si=policy":                        false, // no stored access policies
		strings.Replace(base, "sks=b", "sks=q", 1): false,
		strings.Replace(base, "skoid="+oid, "skoid=me", 1):                                                false,
		strings.Replace(base, "&sktid="+tid, "", 1):                                                       false,
		strings.Replace(base, "skt=2029-12-31T00:00:00Z", "skt=yesterday", 1):                             false,
		strings.Replace(base, "skv=2021-08-06", "skv=2017-11-09", 1):                                      false,
		strings.Replace(base, "sv=2021-08-06", "sv=2018-03-28", 1):                                        false,
		strings.Replace(base, "sv=2021-08-06", "sv=2025-07-05", 1) + "&sduoid=" + oid + "&skdutid=" + tid: true,
		strings.Replace(base, "sv=2021-08-06", "sv=2026-04-06", 1) + "&srh=x-ms-foo,x-ms-bar":             true,
		strings.Replace(base, "sv=2021-08-06", "sv=2026-04-06", 1) + "&srh=x-ms-foo,":                     false,
	} {
		s, err := ParseSAS(mustQuery(t, q))
		if ok != (err == nil) {
			t.Errorf("%s: parsed %v, error %v", q, s != nil, err)
		}
		if err != nil && err.Error() != notWellFormed {
			t.Errorf("%s: detail %q", q, err)
		}
	}
}

func FuzzParseKeyInfo(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>2024-01-01T00:00:00Z</Start><Expiry>2024-01-02T00:00:00Z</Expiry></KeyInfo>`,
		`<KeyInfo><Expiry>2024-01-02T00:00:00Z</Expiry><DelegatedUserTid>66666666-7777-8888-9999-000000000000</DelegatedUserTid></KeyInfo>`,
		`<KeyInfo><Start>a</Start><Start>b</Start><Expiry>c</Expiry></KeyInfo>`,
		`<KeyInfo><Expiry><x/></Expiry></KeyInfo>`, `<KeyInfo>`, `<Other/>`, ``,
		`<KeyInfo><Expiry>&lt;&amp;</Expiry></KeyInfo><KeyInfo/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		k, err := ParseKeyInfo(body)
		if err != nil {
			return
		}
		if k.Expiry == "" {
			t.Fatal("accepted a KeyInfo without Expiry")
		}
		// What was read writes back to a document that reads the same.
		var b bytes.Buffer
		b.WriteString("<KeyInfo>")
		for _, e := range [][2]string{{"Start", k.Start}, {"Expiry", k.Expiry}, {"DelegatedUserTid", k.DelegatedUserTID}} {
			if e[1] != "" {
				b.WriteString("<" + e[0] + ">")
				if err := xml.EscapeText(&b, []byte(e[1])); err != nil {
					t.Fatal(err)
				}
				b.WriteString("</" + e[0] + ">")
			}
		}
		b.WriteString("</KeyInfo>")
		again, err := ParseKeyInfo(b.Bytes())
		if err != nil || again != k {
			t.Fatalf("%q read as %+v, written back as %q and read as %+v (%v)", body, k, b.String(), again, err)
		}
	})
}

// delegationFixture is newTestService's account with a principal holding
// Storage Blob Data Reader on it, that principal's token, a user
// delegation key it was issued, and a read SAS for cont/keep signed with it.
type delegationFixture struct {
	s     *Service
	token string
	key   string // base64, as Get User Delegation Key answered it
	sas   *SAS
}

func newDelegationFixture(t testing.TB) *delegationFixture {
	s, _ := newTestService(t)
	p := directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), Kind: directory.Application}
	s.Issuer.Dir.Add(p)
	def, _ := s.RBAC.RoleByName("Storage Blob Data Reader")
	acct, _ := s.Account("acct")
	if err := s.RBAC.Create(rbac.Assignment{Name: directory.NewGUID(), Scope: acct.ResourceID,
		RoleDefinitionID: rbac.RoleDefinitionID("x", def.ID), PrincipalID: p.ObjectID, PrincipalType: "ServicePrincipal"}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issuer.AppToken(p, "https://storage.azure.com/")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	req := httptest.NewRequest("POST", "https://acct.blob.core.windows.net/?restype=service&comp=userdelegationkey",
		strings.NewReader("<KeyInfo><Expiry>"+now.Add(time.Hour).Format(keyTimeLayout)+"</Expiry></KeyInfo>"))
	req.Header.Set("Authorization", "Bearer "+tok.Raw)
	req.Header.Set("x-ms-version", "2021-08-06")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var k userDelegationKeyXML
	if rec.Code != 200 || xml.Unmarshal(rec.Body.Bytes(), &k) != nil {
		t.Fatalf("Get User Delegation Key: %d %s", rec.Code, rec.Body)
	}
	sas := &SAS{Version: "2021-08-06", Resource: "b", Permissions: "r", Expiry: now.Add(time.Hour).Format(keyTimeLayout),
		KeyOID: k.SignedOid, KeyTID: k.SignedTid, KeyStart: k.SignedStart, KeyExpiry: k.SignedExpiry, KeyService: k.SignedService, KeyVersion: k.SignedVersion}
	raw, _ := base64.StdEncoding.DecodeString(k.Value)
	sas.Signature = sign(raw, sas.StringToSign(sas.CanonicalResource("acct", "cont", "keep")))
	return &delegationFixture{s: s, token: tok.Raw, key: k.Value, sas: sas}
}

func TestUserDelegationFixture(t *testing.T) {
	d := newDelegationFixture(t)
	req := httptest.NewRequest("GET", "https://acct.blob.core.windows.net/cont/keep?"+d.sas.Encode(), nil)
	rec := httptest.NewRecorder()
	d.s.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "original" {
		t.Fatalf("the fixture's SAS does not read the blob: %d %s", rec.Code, rec.Body)
	}
}

// FuzzUserDelegationRequest sends the service arbitrary requests: a Get
// User Delegation Key with any body (with or without the token), or any
// operation with the fixture's user delegation SAS plus extra query
// parameters (which override the SAS's own).
func FuzzUserDelegationRequest(f *testing.F) {
	for _, seed := range []struct {
		method, path, extra string
		body                []byte
		withToken           bool
	}{
		{"POST", "/", "restype=service&comp=userdelegationkey", []byte("<KeyInfo><Expiry>2099-01-01T00:00:00Z</Expiry></KeyInfo>"), true},
		{"POST", "/", "restype=service&comp=userdelegationkey", []byte("<KeyInfo><Start>2000-01-01</Start><Expiry>2000-01-02</Expiry></KeyInfo>"), true},
		{"POST", "/", "restype=service&comp=userdelegationkey", []byte("<KeyInfo>"), false},
		{"GET", "/cont/keep", "", nil, false},
		{"GET", "/cont/keep", "sp=rw", nil, false},
		{"PUT", "/cont/keep", "", []byte("changed"), true},
		{"DELETE", "/cont/keep", "", nil, false},
		{"GET", "/cont/keep", "skoid=00000000-0000-0000-0000-000000000000", nil, false},
		{"GET", "/cont/keep", "ske=2000-01-01T00:00:00Z", nil, false},
		{"GET", "/cont/keep", "sv=2026-04-06&srh=x-ms-version", nil, false},
		{"GET", "/cont", "restype=container&comp=list", nil, false},
	} {
		f.Add(seed.method, seed.path, seed.extra, seed.body, seed.withToken)
	}
	d := newDelegationFixture(f)
	acct, _ := d.s.Account("acct")
	secret := base64.StdEncoding.EncodeToString(acct.DelegationSecret)
	f.Fuzz(func(t *testing.T, method, path, extra string, body []byte, withToken bool) {
		if len(body) > 1<<16 || !validMethod(method) {
			return
		}
		u, err := url.Parse("https://acct.blob.core.windows.net/" + strings.TrimPrefix(path, "/"))
		if err != nil {
			return
		}
		extraQ, err := url.ParseQuery(extra)
		if err != nil {
			return
		}
		q := mustQuery(t, d.sas.Encode())
		if extraQ.Get("comp") == "userdelegationkey" {
			q = url.Values{}
		}
		for k, v := range extraQ {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		req := httptest.NewRequest(method, "https://acct.blob.core.windows.net/", bytes.NewReader(body))
		req.URL = u
		req.Header.Set("x-ms-version", "2021-08-06")
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		if withToken {
			req.Header.Set("Authorization", "Bearer "+d.token)
		}
		before, _ := d.s.Store.GetBlob("acct", "cont", "keep")
		rec := httptest.NewRecorder()
		d.s.ServeHTTP(rec, req)
		out := rec.Body.String() + strings.Join(headerValues(rec.Header()), "\n")
		if strings.Contains(out, d.key) || strings.Contains(out, secret) {
			t.Fatalf("%s %s answered with the key or its secret", method, u)
		}
		// The principal only reads: nothing the fixture holds may change.
		after, err := d.s.Store.GetBlob("acct", "cont", "keep")
		if err != nil || !bytes.Equal(before.Data, after.Data) || before.ETag != after.ETag {
			t.Fatalf("%s %s answered %d and changed the blob", method, u, rec.Code)
		}
		if rec.Code >= 400 {
			code := rec.Header().Get("x-ms-error-code")
			var e struct {
				XMLName xml.Name `xml:"Error"`
				Code    string   `xml:"Code"`
			}
			if code == "" || (method != "HEAD" && (xml.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code != code)) {
				t.Fatalf("%d is not Azure's error shape: %q %q", rec.Code, code, rec.Body.String())
			}
			return
		}
		if extraQ.Get("comp") == "userdelegationkey" && rec.Code == 200 {
			// A key answered is one the documented limits allow.
			var k userDelegationKeyXML
			if err := xml.Unmarshal(rec.Body.Bytes(), &k); err != nil {
				t.Fatalf("key answer is not XML: %v", err)
			}
			start, ok1 := parseSASTime(k.SignedStart)
			expiry, ok2 := parseSASTime(k.SignedExpiry)
			now := time.Now().UTC()
			if !ok1 || !ok2 || !expiry.After(start) || expiry.After(now.Add(maxKeyLifetime+time.Second)) {
				t.Fatalf("key for %s..%s answered", k.SignedStart, k.SignedExpiry)
			}
		}
	})
}

func headerValues(h map[string][]string) []string {
	var out []string
	for _, v := range h {
		out = append(out, v...)
	}
	return out
}
