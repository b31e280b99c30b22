package redact

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	jwt        = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
	storageKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

func TestString(t *testing.T) {
	require.Len(t, storageKey, 88)
	tests := []struct {
		name, in, want string
	}{
		{"plain text untouched", "the VM has a system-assigned identity", "the VM has a system-assigned identity"},
		{"prose bearer untouched", "expects a Bearer token here", "expects a Bearer token here"},
		{"www-authenticate challenge untouched", `WWW-Authenticate: Bearer authorization_uri="https://login.microsoftonline.com/t", error="invalid_token"`, `WWW-Authenticate: Bearer authorization_uri="https://login.microsoftonline.com/t", error="invalid_token"`},
		{"json authorization header", `{"Authorization":"Bearer abc123opaque="}`, `{"Authorization":"Bearer [redacted]"}`},
		{"jwt", "token " + jwt + " end", "token eyJhbGci…[redacted] end"},
		{"jwt with empty signature", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjMifQ.", "eyJhbGci…[redacted]"},
		{"bearer jwt", "Authorization: Bearer " + jwt, "Authorization: Bearer eyJhbGci…[redacted]"},
		{"bearer opaque", "Authorization: Bearer abc123opaque", "Authorization: Bearer [redacted]"},
		{"bearer lower case", "authorization: bearer 0123456789abcdefXYZ", "authorization: bearer [redacted]"},
		{"basic", "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"},
		{"shared key", "Authorization: SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=", "Authorization: SharedKey myaccount:[redacted]"},
		{"sas sig", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=AbCdEfGh%2Bijkl%3D&se=2030", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=AbCd…[redacted]&se=2030"},
		{"sas sig raw base64", "?sig=AbCdEfGh+ijk/l=", "?sig=AbCd…[redacted]"},
		{"sas sig url-encoded url", "u=https%3A%2F%2Fa%2Fb%3Fsv%3D1%26sig%3DAbCdEfGh%252Bijkl%253D%26se%3D2", "u=https%3A%2F%2Fa%2Fb%3Fsv%3D1%26sig%3DAbCd…[redacted]%26se%3D2"},
		{"json access token", `{"token_type":"Bearer","access_token":"opaque-token-value","expires_in":"3599"}`, `{"token_type":"Bearer","access_token":"[redacted]","expires_in":"3599"}`},
		{"json access token jwt", `{"access_token":"` + jwt + `"}`, `{"access_token":"eyJhbGci…[redacted]"}`},
		{"json client secret", `{"clientSecret": "s3cr3t~value", "client_secret":"x\"y", "password":"p@ss"}`, `{"clientSecret": "[redacted]", "client_secret":"[redacted]", "password":"[redacted]"}`},
		{"json empty value kept", `{"password":""}`, `{"password":""}`},
		{"escaped json", `"body":"{\"refresh_token\":\"rt-value-123\"}"`, `"body":"{\"refresh_token\":\"[redacted]\"}"`},
		{"json value without keyName kept", `{"name":"x","value":"public"}`, `{"name":"x","value":"public"}`},
		{"storage listKeys", `{"keys":[{"creationTime":"2024","keyName":"key1","value":"short-key-value","permissions":"FULL"}]}`, `{"keys":[{"creationTime":"2024","keyName":"key1","value":"[redacted]","permissions":"FULL"}]}`},
		{"form fields", "grant_type=client_credentials&client_id=abc&client_secret=s3cr3t~x.y&scope=x", "grant_type=client_credentials&client_id=abc&client_secret=[redacted]&scope=x"},
		{"client assertion", "client_assertion_type=urn%3Ajwt&client_assertion=" + jwt + "&x=1", "client_assertion_type=urn%3Ajwt&client_assertion=eyJhbGci…[redacted]&x=1"},
		{"storage key", "key: " + storageKey + "\n", "key: Eby8…[redacted]\n"},
		{"connection string", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + storageKey + ";EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8…[redacted];EndpointSuffix=core.windows.net"},
		{"connection string short key", "AccountName=a;AccountKey=abc123==;", "AccountName=a;AccountKey=[redacted];"},
		{"sql password", "Server=tcp:x;User ID=u;Password=P@ssw0rd!;Encrypt=True", "Server=tcp:x;User ID=u;Password=[redacted];Encrypt=True"},
		{"shared access signature", "Endpoint=sb://x/;SharedAccessSignature=SharedAccessSignature sr=x&se=1;EntityPath=q", "Endpoint=sb://x/;SharedAccessSignature=[redacted] sr=x&se=1;EntityPath=q"},
		{"pem private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----"},
		{"api key header", "Ocp-Apim-Subscription-Key: 0123abcd", "Ocp-Apim-Subscription-Key: [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, String(got), "idempotent")
		})
	}
}

func TestRegister(t *testing.T) {
	secret := "op-Client~Secret.42"
	Register(secret)
	Register("short") // ignored: < 6 chars
	Register("redacted")

	assert.Equal(t, "secret is [redacted] ok", String("secret is "+secret+" ok"))
	assert.Equal(t, "q=[redacted]", String("q=op-Client~Secret.42"))
	assert.Equal(t, "a short word", String("a short word"))
	assert.Equal(t, "redacted", String("redacted"))

	kv := `a"b<c>&d\e`
	Register(kv)
	out := String(`{"value":"a\"b\u003cc\u003e\u0026d\\e"} raw a"b<c>&d\e`)
	assert.NotContains(t, out, kv)
	assert.Equal(t, `{"value":"[redacted]"} raw [redacted]`, out)
}

func TestRegisterConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := fmt.Sprintf("concurrent-secret-%02d", i)
			Register(s)
			assert.NotContains(t, String("x "+s+" y"), s)
		}()
	}
	wg.Wait()
}

func TestRegistryLongestFirst(t *testing.T) {
	var r registry
	r.add("abcdef")
	r.add("abcdefghij")
	assert.Equal(t, "[[redacted]]", redactWith("[abcdefghij]", &r))
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := Writer(&buf)
	line := "Authorization: Bearer " + jwt + "\n"
	// split the token across writes: nothing may leak before the newline.
	n, err := w.Write([]byte(line[:30]))
	require.NoError(t, err)
	assert.Equal(t, 30, n)
	assert.Empty(t, buf.String())
	_, err = w.Write([]byte(line[30:] + "second line sig=AbCdEfGhIjKl"))
	require.NoError(t, err)
	assert.Equal(t, "Authorization: Bearer eyJhbGci…[redacted]\n", buf.String())
	require.NoError(t, w.Close())
	assert.Equal(t, "Authorization: Bearer eyJhbGci…[redacted]\nsecond line sig=AbCd…[redacted]", buf.String())
	assert.NotContains(t, buf.String(), jwt)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("boom") }

func TestWriterError(t *testing.T) {
	w := Writer(failWriter{})
	_, err := w.Write([]byte("a\n"))
	assert.Error(t, err)
	assert.Error(t, w.Close())
}

func TestWriterLongLine(t *testing.T) {
	var buf bytes.Buffer
	w := Writer(&buf)
	long := strings.Repeat("x", maxLine+10)
	_, err := w.Write([]byte(long))
	require.NoError(t, err)
	assert.Equal(t, maxLine, buf.Len())
	require.NoError(t, w.Close())
	assert.Equal(t, long, buf.String())
}

var fuzzSecrets = []string{"fuzz-registered-secret", "]]x[[y", "…[reda]", "d][redact", "ed][re", "sig=abcd"}

func FuzzString(f *testing.F) {
	seeds := []string{
		"", jwt, "Bearer " + jwt, "sig=abcdef", storageKey, "AccountKey=" + storageKey + ";",
		`{"keyName":"k","value":"v1234567"}`, "client_secret=xyz&a=b", "[redacted]",
		"eyJhbGci…[redacted]", "sig=AbCd…[redacted]x", "fuzz-registered-secret",
		"fuzz-registered-fuzz-registered-secretsecret", "]]x[[]]x[[y",
		// case folds the prefilter must not miss: Kelvin sign, long s
		"\u212aey=abcdefgh", "\u017fig=abcdefgh", "Ocp-Apim-Subscription-\u212aey: abcdefgh",
		"SIG%3Dabcd%2Bef", `{"Access_Token":"abcdefgh"}`, `\"PASSWORD\":\"abcdefgh\"`,
	}
	for _, s := range seeds {
		for _, sec := range fuzzSecrets {
			f.Add(s, sec)
		}
	}
	for _, s := range fuzzSecrets {
		Register(s)
	}
	f.Fuzz(func(t *testing.T, s, secret string) {
		// the global registry
		out := String(s)
		if out != String(out) {
			t.Fatalf("not idempotent:\n in: %q\nout: %q\nout2: %q", s, out, String(out))
		}
		for _, sec := range fuzzSecrets {
			if strings.Contains(out, sec) {
				t.Fatalf("registered secret %q in output %q (input %q)", sec, out, s)
			}
		}
		// The needle prefilter only skips rules that cannot match.
		if all := fixpoint(s, &global, false); out != all {
			t.Fatalf("prefilter changed the result:\n in: %q\n with: %q\n without: %q", s, out, all)
		}
		// a private registry holding a fuzzed secret
		var reg registry
		reg.add(secret)
		out = redactWith(s, &reg)
		if out != redactWith(out, &reg) {
			t.Fatalf("not idempotent with secret %q:\n in: %q\nout: %q", secret, s, out)
		}
		if len(reg.secrets) > 0 && strings.Contains(out, secret) {
			t.Fatalf("registered secret %q in output %q (input %q)", secret, out, s)
		}
	})
}

// BenchmarkStringExchange redacts a logged Resource Manager exchange (a
// bearer token in the request, a JSON body in the answer), the text every
// HTTP step logs.
func BenchmarkStringExchange(b *testing.B) {
	s := "> GET https://management.azure.com/subscriptions/0b5e7a4c-1111-2222-3333-444455556666/resourceGroups/myResourceGroup?api-version=2021-04-01\n" +
		"> Authorization: Bearer " + jwt + "\n> User-Agent: miconform\n< 200 OK\n< Content-Type: application/json; charset=utf-8\n" +
		"< x-ms-request-id: 6b2c1a2e-aaaa-bbbb-cccc-ddddeeeeffff\n<\n" +
		`{"id":"/subscriptions/0b5e7a4c-1111-2222-3333-444455556666/resourceGroups/myResourceGroup","name":"myResourceGroup",` +
		`"type":"Microsoft.Resources/resourceGroups","location":"westus","properties":{"provisioningState":"Succeeded"}}`
	b.ReportAllocs()
	for b.Loop() {
		String(s)
	}
}

// BenchmarkStringReport redacts a report-sized text (half a megabyte of
// pretty-printed JSON, as cucumber.json is: step names, a SAS URL, a
// secret's name, and one token), which the reports redact whole.
func BenchmarkStringReport(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[\n")
	for i := 0; sb.Len() < 512<<10; i++ {
		fmt.Fprintf(&sb, "  {\n    \"keyword\": \"Then \",\n    \"name\": \"the secret \\\"password-%d\\\" is read with api-version=7.4\",\n", i)
		fmt.Fprintf(&sb, "    \"line\": %d,\n    \"match\": {\"location\": \"steps/keyvault.go:%d\"},\n", i, i%400)
		sb.WriteString("    \"result\": {\"status\": \"passed\", \"duration\": 1234567}\n  },\n")
		if i%200 == 0 {
			fmt.Fprintf(&sb, "  {\"doc_string\": \"curl https://acct.blob.core.windows.net/c/b?sv=2022-11-02\\u0026sig=abcd%%2Bef%d%%3D\\u0026se=x -H \\\"Authorization: Bearer %s\\\"\"},\n", i, jwt)
		}
	}
	sb.WriteString("]\n")
	s := sb.String()
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		String(s)
	}
}

// A registered secret that reaches a text only in an escaped form the
// registry does not list (JSON's "\/" for a slash) is found in the decoded
// text and masked whole; texts without it are left alone.
func TestRegisteredSecretEscaped(t *testing.T) {
	var reg registry
	reg.add("sig/Abc123def456ghi789")
	out := redactWith(`{"sas":"https:\/\/a.blob\/c?sig\/Abc123def456ghi789&x=1"}`, &reg)
	assert.NotContains(t, out, "Abc123def456ghi789")
	assert.Contains(t, out, Marker)
	assert.Equal(t, `{"a":"b\/c"}`, redactWith(`{"a":"b\/c"}`, &reg), "no secret, nothing masked")
}
