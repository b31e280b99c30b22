package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// encodings are the forms a secret's text takes in a report: each turns
// a plain text (holding the secret) into its encoded form.
var encodings = map[string]func(string) string{
	"plain": func(s string) string { return s },
	"json escapes": func(s string) string {
		return strings.NewReplacer("&", `\u0026`, "=", `\u003d`, "<", `\u003c`, ">", `\u003e`, "/", `\/`).Replace(s)
	},
	"percent-encoding": url.QueryEscape,
	"xml entities": func(s string) string {
		return strings.NewReplacer("&", "&amp;", "=", "&#61;", "/", "&#x2F;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
	},
	"base64url in a URL": func(s string) string {
		return "https://app.example/callback?state=" + base64.RawURLEncoding.EncodeToString([]byte(s)) + "&x=1"
	},
}

// TestEveryEncoding masks each kind of secret in each encoding.
func TestEveryEncoding(t *testing.T) {
	var reg registry
	reg.add("vault-secret-value-42")
	reg.add("0p3r4t0r~client.secret")
	for kind, c := range map[string]struct{ text, secret string }{
		"token":         {"Authorization: Bearer " + jwt, jwt},
		"sas signature": {"https://a.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sp=r&sig=AbCdEfGh+ijk/lmnOPQRstuVWxyz0123456789ab=&se=2030", "EfGh+ijk/lmnOPQRstuVWxyz0123456789ab"},
		"account key":   {"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + storageKey + ";EndpointSuffix=core.windows.net", storageKey[8:60]},
		"client secret": {`{"client_id":"x","client_secret":"0p3r4t0r~client.secret"}`, "0p3r4t0r~client.secret"},
		"secret value":  {`{"value":"vault-secret-value-42","id":"https://kv.vault.azure.net/secrets/s/1"}`, "vault-secret-value-42"},
	} {
		for name, enc := range encodings {
			in := "before " + enc(c.text) + " after"
			out := redactWith(in, &reg)
			for ename, e2 := range encodings {
				if e := e2(c.secret); len(e) > 12 && ename != "base64url in a URL" {
					assert.NotContains(t, out, e, "%s, %s: leaked in %s form:\n%s", kind, name, ename, out)
				}
			}
			for _, f := range base64Forms(c.secret) {
				assert.NotContains(t, out, f, "%s, %s: leaked base64-encoded", kind, name)
			}
			assert.Contains(t, out, "before ", "%s, %s", kind, name)
			assert.Equal(t, out, redactWith(out, &reg), "%s, %s: idempotent", kind, name)
		}
	}
}

// TestEncodedDelimiters: the case — the emulator's JSON writes &
// as \u0026, after which "\bsig=" found no word boundary.
func TestEncodedDelimiters(t *testing.T) {
	for in, want := range map[string]string{
		`{"serviceSasToken":"sv=2015-04-05\u0026sr=c\u0026sig=AbCdEfGhIjKl%2BmnOp%3D\u0026se=2030"}`: `{"serviceSasToken":"sv=2015-04-05\u0026sr=c\u0026sig=AbCd…[redacted]\u0026se=2030"}`,
		`sv=1\u0026sig\u003dAbCdEfGhIjKlmnOp`:                                                        `sv=1\u0026sig\u003dAbCd…[redacted]`,
		`<url>a?sv=1&amp;sig=AbCdEfGhIjKl</url>`:                                                     `<url>a?sv=1&amp;sig=AbCd…[redacted]</url>`,
		`a?sv=1&#38;sig&#61;AbCdEfGhIjKl+x`:                                                          `a?sv=1&#38;sig&#61;AbCd…[redacted]`,
		`the plain words amp; and 50% stay`:                                                          `the plain words amp; and 50% stay`,
	} {
		assert.Equal(t, want, String(in), in)
	}
}

// base64Forms are the parts of the secret's base64url encoding that do
// not depend on the bytes around it, at each alignment.
func base64Forms(secret string) []string {
	var out []string
	for shift := range 3 {
		e := base64.RawURLEncoding.EncodeToString(append(make([]byte, shift), secret...))
		out = append(out, e[(shift*4+2)/3:len(e)-3])
	}
	return out
}

// Each byte of a decoded view maps back to the bytes of the source it was
// decoded from, in order, and decoding those bytes alone gives it again.
func FuzzDecodedView(f *testing.F) {
	for _, s := range []string{"", "a%41b", `x\u0041\/y`, "&amp;&#65;&#x42;&lt", "%2541", "&amp;amp;%2526", `%5Cu0041`, "%", "&;", `\u00`, "%zz&#0;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		view, ok := decodeView(src)
		if !ok {
			if view.s != src {
				t.Fatalf("nothing decoded, yet the view differs: %q", view.s)
			}
			return
		}
		prev := 0
		for i := 0; i < len(view.s); i++ {
			lo, hi := view.start(i), view.end(i)
			if lo < prev || hi <= lo || hi > len(src) {
				t.Fatalf("%q: byte %d of %q maps to [%d,%d) after %d", src, i, view.s, lo, hi, prev)
			}
			prev = hi
			piece := src[lo:hi]
			for range view.levels {
				piece, _ = decodeOnce(piece)
			}
			if piece != view.s[i:i+1] {
				t.Fatalf("%q: byte %d (%q) maps to %q, which decodes to %q", src, i, view.s[i], src[lo:hi], piece)
			}
		}
	})
}
