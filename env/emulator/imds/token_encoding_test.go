package imds

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// FuzzTokenEncoding: the hand-written token answer is byte for byte what
// json.Marshal writes, whatever the strings hold (the resource comes from
// the request's query).
func FuzzTokenEncoding(f *testing.F) {
	f.Add("eyJ0eXAi.eyJhdWQi.sig", "https://management.azure.com/", "00000000-0000-0000-0000-000000000000")
	f.Add("a\"b\\c", "https://x/<&>", "é\u2028\x00\x7f")
	f.Add("", "\xff\xfe", "line\nbreak")
	f.Fuzz(func(t *testing.T, tok, resource, client string) {
		in := tokenResponse{AccessToken: tok, ClientID: client, ExpiresIn: "86399", ExpiresOn: "1700000000",
			ExtExpiresIn: "86399", NotBefore: "1699900000", Resource: resource, TokenType: "Bearer"}
		want, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeToken(w, in)
		if !bytes.Equal(w.Body.Bytes(), want) {
			t.Fatalf("writeToken wrote\n%s\njson.Marshal writes\n%s", w.Body.Bytes(), want)
		}
		if got := w.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Fatalf("Content-Type %q", got)
		}
	})
}
