package blob

import (
	"bytes"
	"encoding/xml"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// Parsers of untrusted bytes: the SAS query, the SAS string-to-sign and
// signature, the Put Block List XML, and the headers, query and body of
// every blob operation. None may panic; every refusal is Azure's shape;
// nothing stored changes unless a write succeeds.

func FuzzParseSAS(f *testing.F) {
	for _, s := range []string{
		"sv=2015-04-05&sr=c&spr=https&se=2017-09-23T00%3A00%3A00Z&sp=rcw&sig=JVhIWG48nmxqhTIuN0uiFBppdzhwHdehdYan1W%2F4O0E%3D",
		"sv=2021-08-06&sr=b&st=2024-01-01&se=2024-01-02T00:00Z&sp=racwd&sip=10.0.0.1-10.0.0.9&spr=https,http&rsct=text/plain&sig=AAAA",
		"sv=2013-08-15&sr=c&sp=r&se=2030-01-01&sig=AAAA",
		"sv=x&sig=%zz", "sig=&sig=", "sv=2015-04-05&sr=c&sp=wr&se=2030-01-01&sig=AAAA",
		// User delegation SASes.
		"sv=2021-08-06&sr=b&sp=r&se=2030-01-01T00:00:00Z&skoid=11111111-2222-3333-4444-555555555555&sktid=66666666-7777-8888-9999-000000000000&skt=2029-12-31T00:00:00Z&ske=2030-01-02T00:00:00Z&sks=b&skv=2021-08-06&saoid=11111111-2222-3333-4444-555555555555&scid=x&sig=AAAA",
		"sv=2026-04-06&sr=c&sp=rl&se=2030-01-01&skoid=11111111-2222-3333-4444-555555555555&sktid=66666666-7777-8888-9999-000000000000&skt=2029-12-31&ske=2030-01-02&sks=b&skv=2026-04-06&skdutid=66666666-7777-8888-9999-000000000000&sduoid=11111111-2222-3333-4444-555555555555&srh=x-ms-a,x-ms-b&srq=comp&ses=scope&sig=AAAA",
		"sv=2018-11-09&sr=b&sp=r&se=2030-01-01&skoid=x&sig=AAAA",
	} {
		f.Add(s)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, err := ParseSAS(q)
		if err != nil {
			if _, ok := err.(*sasError); !ok || err.Error() == "" {
				t.Fatalf("ParseSAS error %T %q is not a described refusal", err, err)
			}
			return
		}
		// A parsed SAS re-encodes to one that parses to the same fields.
		again, err := ParseSAS(mustQuery(t, s.Encode()))
		if err != nil || *again != *s {
			t.Fatalf("re-encoding changed the SAS: %+v -> %+v (%v)", s, again, err)
		}
		e := verifySAS(s, [][]byte{key}, s.CanonicalResource("acct", "c", "b"), time.Now(), true, []byte{127, 0, 0, 1})
		if e != nil && (e.Status != 403 || e.Code == "") {
			t.Fatalf("verify answered %d %q", e.Status, e.Code)
		}
	})
}

func mustQuery(t *testing.T, s string) url.Values {
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatalf("Encode wrote an unparseable query %q: %v", s, err)
	}
	return q
}

// FuzzServiceSASRoundTrip: whatever List Service SAS accepts, the data
// plane verifies with the same key (and refuses with the other).
func FuzzServiceSASRoundTrip(f *testing.F) {
	f.Add("/blob/acct/cont", "c", "rcw", "https", "", "", "key1", "")
	f.Add("/blob/acct/cont/dir/a b.txt", "b", "r", "https,http", "2020-01-01T00:00:00Z", "127.0.0.1", "key2", "text/plain")
	f.Add("/blob/acct/cont", "c", "wr", "", "", "10.0.0.1-10.0.0.2", "", "")
	f.Add("/blob/acct/cont", "c", "r", "", "2026-01-01T00:00:00Z", "", "", "")
	f.Fuzz(func(t *testing.T, resource, sr, sp, spr, st, sip, keyName, rsct string) {
		now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
		keys := [2][]byte{[]byte("key-one-key-one-key-one"), []byte("key-two-key-two-key-two")}
		in := ServiceSASParameters{CanonicalizedResource: resource, SignedResource: sr, SignedPermission: sp, SignedProtocol: spr,
			SignedStart: st, SignedIP: sip, KeyToSign: keyName, ContentType: rsct, SignedExpiry: "2025-01-02T00:00:00Z"}
		s, bad := BuildServiceSAS("acct", keys, in, now)
		if s == nil {
			if bad == "" {
				t.Fatal("refused without naming the parameter")
			}
			return
		}
		parsed, err := ParseSAS(mustQuery(t, s.Encode()))
		if err != nil {
			// Only the permission order is passed through unchecked.
			if !permissionsInOrder(sp) {
				return
			}
			t.Fatalf("Resource Manager built a SAS the data plane cannot parse: %q: %v", s.Encode(), err)
		}
		parts := strings.SplitN(strings.TrimPrefix(resource, "/blob/acct/"), "/", 2)
		blob := ""
		if len(parts) == 2 {
			blob = parts[1]
		}
		cr := parsed.CanonicalResource("acct", parts[0], blob)
		i := 0
		if strings.EqualFold(keyName, "key2") {
			i = 1
		}
		start, _ := parseSASTime(parsed.Start)
		expiry, _ := parseSASTime(parsed.Expiry)
		if !expiry.After(start.Add(time.Minute)) {
			return // an empty window; refused whatever the key
		}
		at := start.Add(time.Minute)
		if e := verifySAS(parsed, [][]byte{keys[i]}, cr, at, true, []byte{127, 0, 0, 1}); e != nil && e.Code == "AuthenticationFailed" {
			t.Fatalf("the signing key does not verify its own SAS: %s", e.Details)
		}
		if e := verifySAS(parsed, [][]byte{keys[1-i]}, cr, at, true, []byte{127, 0, 0, 1}); e == nil || e.Code != "AuthenticationFailed" {
			t.Fatalf("the other key verified the SAS")
		}
	})
}

func FuzzParseBlockList(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AAAA</Latest><Committed>AAAB</Committed><Uncommitted>AAAC</Uncommitted></BlockList>`))
	f.Add([]byte(`<BlockList><Latest>nope`))
	f.Add([]byte(`<BlockList><Other/></BlockList>`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		refs, err := ParseBlockList(body)
		if err != nil {
			return
		}
		for _, r := range refs {
			if !validBlockID(r.ID) {
				t.Fatalf("accepted invalid block id %q", r.ID)
			}
			if r.From != "Latest" && r.From != "Committed" && r.From != "Uncommitted" {
				t.Fatalf("accepted list kind %q", r.From)
			}
		}
	})
}

// newTestService is a Blob service with one account "acct", container
// "cont" and blob "keep" holding "original", and a SAS for the container
// with every permission.
func newTestService(t testing.TB) (*Service, string) {
	c := cloud.MustLookup("AzureCloud")
	iss := entra.NewIssuer(c, directory.New(directory.NewGUID()), entratest.Key())
	s := New(c, iss, rbac.NewStore())
	a := s.AddAccount("acct", "/subscriptions/x/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct")
	if _, err := s.Store.CreateContainer("acct", "cont", Container{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.PutBlob("acct", "cont", "keep", Blob{Data: []byte("original"), ContentType: "text/plain"}, nil); err != nil {
		t.Fatal(err)
	}
	sas, bad := BuildServiceSAS("acct", a.Keys, ServiceSASParameters{
		CanonicalizedResource: "/blob/acct/cont", SignedResource: "c", SignedPermission: "racwdl", SignedExpiry: time.Now().Add(time.Hour).Format(time.RFC3339),
	}, time.Now().Add(-time.Minute))
	if bad != "" {
		t.Fatal(bad)
	}
	return s, sas.Encode()
}

func FuzzBlobRequest(f *testing.F) {
	for _, seed := range []struct {
		method, path, query, hname, hvalue string
		body                               []byte
	}{
		{"PUT", "/cont/keep", "", "x-ms-blob-type", "BlockBlob", []byte("new")},
		{"PUT", "/cont/keep", "", "x-ms-blob-type", "Blockblob", []byte("new")},
		{"PUT", "/cont/keep", "", "Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==", []byte("new")},
		{"PUT", "/cont/b", "comp=block&blockid=AAAA", "x-ms-version", "2021-08-06", []byte("blk")},
		{"PUT", "/cont/keep", "comp=blocklist", "x-ms-version", "2021-08-06", []byte("<BlockList><Latest>AAAA</Latest></BlockList>")},
		{"PUT", "/cont/keep", "comp=blocklist", "If-Match", `"0x1"`, []byte("<BlockList></BlockList>")},
		{"GET", "/cont/keep", "", "x-ms-range", "bytes=3-", nil},
		{"GET", "/cont/keep", "", "Range", "bytes=99-1", nil},
		{"GET", "/cont", "restype=container&comp=list&maxresults=0", "x-ms-version", "2021-08-06", nil},
		{"GET", "/cont", "restype=container&comp=list&delimiter=/&prefix=k", "x-ms-version", "2021-08-06", nil},
		{"DELETE", "/cont/keep", "", "If-Match", "*", nil},
		{"HEAD", "/cont/%zz", "", "x-ms-version", "9999-99-99", nil},
		{"PATCH", "/cont", "restype=container", "", "", nil},
		// Leases, snapshots and append blobs.
		{"PUT", "/cont/keep", "comp=lease", "x-ms-lease-action", "acquire", nil},
		{"PUT", "/cont/keep", "comp=lease", "x-ms-lease-id", "{6F9C1B1E-1111-4222-8333-944445555666}", nil},
		{"PUT", "/cont/keep", "comp=lease", "x-ms-lease-break-period", "61", nil},
		{"PUT", "/cont", "restype=container&comp=lease", "x-ms-lease-duration", "-1", nil},
		{"PUT", "/cont/keep", "", "x-ms-lease-id", "not-a-guid", []byte("new")},
		{"PUT", "/cont/keep", "comp=snapshot", "x-ms-meta-a", "b", nil},
		{"GET", "/cont/keep", "snapshot=2024-01-01T00:00:00.0000000Z", "x-ms-version", "2021-08-06", nil},
		{"DELETE", "/cont/keep", "snapshot=2024-13-01", "x-ms-delete-snapshots", "only", nil},
		{"DELETE", "/cont/keep", "", "x-ms-delete-snapshots", "include", nil},
		{"GET", "/cont", "restype=container&comp=list&include=snapshots,metadata&marker=2!a2VlcA!", "", "", nil},
		{"PUT", "/cont/log", "", "x-ms-blob-type", "AppendBlob", nil},
		{"PUT", "/cont/keep", "comp=appendblock", "x-ms-blob-condition-appendpos", "8", []byte("x")},
		{"PUT", "/cont/keep", "comp=appendblock", "x-ms-blob-condition-maxsize", "-3", []byte("x")},
	} {
		f.Add(seed.method, seed.path, seed.query, seed.hname, seed.hvalue, seed.body)
	}
	s, sas := newTestService(f)
	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue string, body []byte) {
		if len(body) > 1<<16 || !validMethod(method) {
			return
		}
		u, err := url.Parse("https://acct.blob.core.windows.net/" + strings.TrimPrefix(path, "/"))
		if err != nil {
			return
		}
		u.RawQuery = query + "&" + sas
		req := httptest.NewRequest(method, "https://acct.blob.core.windows.net/", bytes.NewReader(body))
		req.URL = u
		// The HTTPS listener's requests carry TLS state; httptest sets it
		// for https URLs.
		if hname != "" {
			if !validHeader(hname, hvalue) {
				return
			}
			req.Header.Set(hname, hvalue)
		}
		before, _ := s.Store.GetBlob("acct", "cont", "keep")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		after, err := s.Store.GetBlob("acct", "cont", "keep")
		wroteKeep := rec.Code/100 == 2 && (method == "PUT" || method == "DELETE") && strings.HasPrefix(req.URL.Path, "/cont/keep")
		if !wroteKeep && (err != nil || !bytes.Equal(before.Data, after.Data) || before.ETag != after.ETag) {
			t.Fatalf("%s %s answered %d but changed the stored blob", method, req.URL, rec.Code)
		}
		if wroteKeep {
			// Put the blob back for the next input.
			_, _ = s.Store.PutBlob("acct", "cont", "keep", before, nil)
		}
		if rec.Code >= 400 {
			code := rec.Header().Get("x-ms-error-code")
			if code == "" {
				t.Fatalf("%d without x-ms-error-code", rec.Code)
			}
			if method != "HEAD" {
				var e struct {
					XMLName xml.Name `xml:"Error"`
					Code    string   `xml:"Code"`
				}
				if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != code {
					t.Fatalf("%d error body is not Azure's XML with code %q: %q", rec.Code, code, rec.Body.String())
				}
			}
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "PUT", "HEAD", "DELETE", "POST", "PATCH", "OPTIONS":
		return true
	}
	return false
}

// validHeader keeps inputs net/http itself would refuse to send.
func validHeader(name, value string) bool {
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	for _, c := range value {
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

func TestSASStringToSignLayouts(t *testing.T) {
	s := &SAS{Permissions: "rcw", Start: "st", Expiry: "se", Identifier: "si", IP: "ip", Protocol: "https", Resource: "c",
		CacheControl: "cc", Disposition: "cd", Encoding: "ce", Language: "cl", ContentType: "ct", Snapshot: "snap", Encryption: "ses"}
	for v, want := range map[string]string{
		"2013-08-15": "rcw\nst\nse\nCR\nsi\n2013-08-15\ncc\ncd\nce\ncl\nct",
		"2015-04-05": "rcw\nst\nse\nCR\nsi\nip\nhttps\n2015-04-05\ncc\ncd\nce\ncl\nct",
		"2018-11-09": "rcw\nst\nse\nCR\nsi\nip\nhttps\n2018-11-09\nc\nsnap\ncc\ncd\nce\ncl\nct",
		"2020-12-06": "rcw\nst\nse\nCR\nsi\nip\nhttps\n2020-12-06\nc\nsnap\nses\ncc\ncd\nce\ncl\nct",
	} {
		s.Version = v
		if got := s.StringToSign("CR"); got != want {
			t.Errorf("%s:\n got %q\nwant %q", v, got, want)
		}
	}
	s.Version = "2015-02-21"
	if got := s.CanonicalResource("a", "c", "b"); got != "/blob/a/c" {
		t.Errorf("canonical resource %q", got)
	}
	s.Version, s.Resource = "2014-02-14", "b"
	if got := s.CanonicalResource("a", "c", "d/e"); got != "/a/c/d/e" {
		t.Errorf("pre-2015-02-21 canonical resource %q", got)
	}
}

// A token from another tenant, even one signed with the right key, fails
// the issuer check.
func TestBearerOtherTenant(t *testing.T) {
	s, _ := newTestService(t)
	// Same key material as the service's issuer: only tid/iss differ.
	other := entra.NewIssuer(s.Cloud, directory.New(directory.NewGUID()), entratest.Key())
	s.Issuer = entra.NewIssuer(s.Cloud, s.Issuer.Dir, entratest.Key())
	p := directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID()}
	s.Issuer.Dir.Add(p) // a principal of the tenant; tokens of deleted ones are refused
	for issuer, want := range map[*entra.Issuer]string{other: "Issuer validation failed. Issuer did not match.", s.Issuer: ""} {
		tok, err := issuer.AppToken(p, "https://storage.azure.com/")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "https://acct.blob.core.windows.net/cont/keep", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Raw)
		req.Header.Set("x-ms-version", "2020-04-08")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if want == "" {
			// Right tenant, no role: authenticated, then refused by RBAC.
			if rec.Header().Get("x-ms-error-code") != "AuthorizationPermissionMismatch" {
				t.Errorf("same tenant: %d %s", rec.Code, rec.Body)
			}
			continue
		}
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), "<AuthenticationErrorDetail>"+want+"</AuthenticationErrorDetail>") {
			t.Errorf("other tenant: %d %s", rec.Code, rec.Body)
		}
	}
}

// FuzzParseLeaseID: an accepted lease id is canonical (lower case,
// hyphenated) and parses to itself, so ids compare by their GUID value.
func FuzzParseLeaseID(f *testing.F) {
	for _, s := range []string{"6f9c1b1e-1111-4222-8333-944445555666", "{6F9C1B1E-1111-4222-8333-944445555666}", "6f9c1b1e111142228333944445555666", "(6f9c1b1e-1111-4222-8333-94444555566)", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseLeaseID(v)
		if !ok {
			return
		}
		again, ok := parseLeaseID(id)
		if !ok || again != id || len(id) != 36 || strings.ToLower(id) != id {
			t.Fatalf("%q parsed to %q, which is not canonical (%q, %v)", v, id, again, ok)
		}
	})
}
