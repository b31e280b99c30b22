package keyvault

import (
	"bytes"
	"encoding/json"
	"github.com/tidwall/gjson"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// FuzzParseOperation feeds arbitrary methods, paths, queries and bodies to
// the request parsers: they must never panic, and what they accept must be
// well formed.
func FuzzParseOperation(f *testing.F) {
	seeds := []struct{ method, path, query, body string }{
		{"GET", "/secrets/mi-test", "api-version=2016-10-01", ""},
		{"GET", "/secrets/mi-test/", "api-version=7.5", ""},
		{"GET", "/secrets/mi-test/50644e90b13249b584c44b9f712f2e51", "api-version=7.5", ""},
		{"PUT", "/secrets/mi-test", "api-version=7.5", `{"value":"My Secret","contentType":"text/plain","tags":{"a":"b"},"attributes":{"enabled":true,"nbf":1,"exp":2}}`},
		{"PATCH", "/secrets/a/b", "api-version=7.6-preview.2", `{"attributes":{"enabled":false}}`},
		{"GET", "/secrets", "api-version=2026-04-01&maxresults=1&$skiptoken=eyJOZXh0TWFya2VyIjoiYSJ9", ""},
		{"POST", "/secrets/restore", "api-version=7.5", `{"value":"AAAA"}`},
		{"POST", "/deletedsecrets/x/recover", "api-version=7.5", ""},
		{"DELETE", "/deletedsecrets/x", "api-version=7.5", ""},
		{"GET", "/secrets/a%2Fb", "api-version=7.5", "{"},
		{"GET", "//secrets//", "api-version=", "null"},
		{"PUT", "/SECRETS/x", "api-version=7.5&api-version=1.0", `{"value":null}`},
		{"PUT", "/secrets/x", "maxresults=0", `{"value":"\u0000","tags":{"` + strings.Repeat("k", 600) + `":"v"}}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte) {
		q, _ := url.ParseQuery(query)
		op, e := parseOperation(method, path, q)
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
				t.Fatalf("malformed error %+v", e)
			}
			if !json.Valid(mustJSON(t, e)) {
				t.Fatalf("error body is not JSON")
			}
			return
		}
		if op.name != "" && !secretNameRE.MatchString(op.name) {
			t.Fatalf("accepted secret name %q", op.name)
		}
		if op.api.raw == "" {
			t.Fatalf("accepted a request without api-version")
		}
		if op.maxResults < 0 || op.maxResults > maxPage {
			t.Fatalf("maxResults %d", op.maxResults)
		}
		if op.access.perm == "" || op.access.action == "" || op.h == nil {
			t.Fatalf("operation %d has no permission or handler", op.kind)
		}
		if p, e := parseSet(body); e == nil && (p.Value == nil || len(*p.Value) > maxValueBytes) {
			t.Fatalf("parseSet accepted %q", body)
		}
		if p, e := parseUpdate(body); e == nil && p.Tags != nil && len(p.Tags) > maxTags {
			t.Fatalf("parseUpdate accepted %d tags", len(p.Tags))
		}
		_, _ = parseRestore(body)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	fuzzOnce  sync.Once
	fuzzWorld *world
	fuzzToken string
)

// FuzzVaultRequest sends arbitrary authenticated requests through the whole
// data plane: every answer is a status with Key Vault's JSON (or an empty
// 204), and the tutorial's secret is still there afterwards.
func FuzzVaultRequest(f *testing.F) {
	f.Add("GET", "/secrets/mi-test?api-version=2016-10-01", []byte(""))
	f.Add("PUT", "/secrets/mi-test?api-version=7.5", []byte(`{"value":"x"}`))
	f.Add("DELETE", "/secrets/other?api-version=7.5", []byte(""))
	f.Add("POST", "/secrets/restore?api-version=7.5", []byte(`{"value":"!!"}`))
	f.Add("PATCH", "/secrets/mi-test?api-version=7.5", []byte(`{"attributes":{"enabled":"yes"}}`))
	f.Add("GET", "/deletedsecrets?api-version=7.5&maxresults=25&$skiptoken=e30", []byte(""))
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		fuzzOnce.Do(func() {
			fuzzWorld = newWorld(t, "AzureCloud")
			fuzzWorld.newVault("fuzzvault", map[string]any{"accessPolicies": []any{fuzzWorld.policy(fuzzWorld.operator.ObjectID, "get", "list", "set", "backup", "restore")}}).requireStatus(200)
			fuzzWorld.setSecret("fuzzvault", "mi-test", "My Secret").requireStatus(200)
			fuzzToken = fuzzWorld.vaultToken(fuzzWorld.operator)
		})
		w := fuzzWorld
		if !validMethod(method) || !strings.HasPrefix(target, "/") {
			return
		}
		u, err := url.ParseRequestURI("https://fuzzvault." + w.c.VaultSuffix + target)
		if err != nil {
			return
		}
		req := httptest.NewRequest("GET", "https://fuzzvault."+w.c.VaultSuffix+"/", bytes.NewReader(body))
		req.Method, req.URL, req.RequestURI = method, u, target
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
		rec := httptest.NewRecorder()
		w.kv.ServeHTTP(rec, req)
		if rec.Code == 204 {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s answered %d with non-JSON %q", method, target, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 && gjson.GetBytes(rec.Body.Bytes(), "error.code").String() == "" {
			t.Fatalf("%s %s answered %d without error.code", method, target, rec.Code)
		}
		// The fuzzer may disable or overwrite the secret (it has set), but
		// never lose it: some version is always there.
		get := w.kvCall(fuzzToken, "GET", "fuzzvault", "/secrets/mi-test/versions?api-version=7.5", nil)
		if get.code != 200 || get.get("value.#").Int() == 0 {
			t.Fatalf("after %s %s the secret's versions read %d %s", method, target, get.code, get.body)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodHead:
		return true
	}
	return false
}

// FuzzKeyParsers feeds arbitrary bodies to the keys request parsers: they
// never panic, answer bad input with a 400 BadParameter, and what they
// accept is well formed (a known kty, key_ops the type supports, base64url
// decoded values).
func FuzzKeyParsers(f *testing.F) {
	for _, s := range []string{
		`{"kty":"RSA","key_size":2048,"key_ops":["encrypt","decrypt"],"attributes":{"enabled":true,"nbf":1,"exp":2},"tags":{"a":"b"}}`,
		`{"kty":"EC","crv":"P-521","key_ops":["sign","verify","wrapKey"]}`,
		`{"kty":"EC","key_size":384}`,
		`{"kty":"RSA-HSM","public_exponent":3}`,
		`{"kty":"oct"}`,
		`{"alg":"RS256","value":"AAAA"}`,
		`{"alg":"ES256","digest":"AAAA","value":"AAAA=="}`,
		`{"alg":"RSA-OAEP","value":"!!"}`,
		`{"key_ops":null,"tags":null}`,
		`{"kty":1}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		check := func(e *Error) {
			if e != nil && (e.Status != 400 || e.Code != "BadParameter" || e.Message == "") {
				t.Fatalf("malformed error %+v", e)
			}
		}
		p, e := parseKeyCreate(body, which%2 == 0)
		check(e)
		if e == nil {
			if !containsFold([]string{"RSA", "EC", "RSA-HSM", "EC-HSM"}, *p.Kty) {
				t.Fatalf("accepted kty %q", *p.Kty)
			}
			supported := allKeyOps
			if strings.HasPrefix(*p.Kty, "EC") {
				supported = ecKeyOps
			}
			for _, op := range p.KeyOps {
				if !containsFold(supported, op) {
					t.Fatalf("accepted key_ops %q for %s", op, *p.Kty)
				}
			}
		}
		_, e = parseKeyUpdate(body)
		check(e)
		kind := []opKind{opEncrypt, opDecrypt, opWrapKey, opUnwrapKey, opSign, opVerify}[int(which)%6]
		alg, value, digest, e := parseKeyOperation(body, kind)
		check(e)
		if e == nil && (alg == "" || value == nil || kind == opVerify && digest == nil) {
			t.Fatalf("accepted %q as alg=%q value=%v digest=%v", body, alg, value, digest)
		}
	})
}
