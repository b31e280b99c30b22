package redact

import (
	"reflect"
	"strings"
	"testing"
)

var finderSeeds = []string{
	"", "Bearer abc.def", "xBearer abcdefgh12", "bearer\n\tAbC123==", "BEARER x Bearer y1",
	"Authorization: SharedKey acct:abcd+/==", "sharedkeylite a-b:Zz==", "api-key: k1; x-functions-key:v",
	"Ocp-Apim-Subscription-Key : abc", "sig=abcd&sig=efgh", "xsig=abcd", "_sig=1 sig=2", "?sv=1&sig=%2Bab%3D",
	`{"access_token":"a\"b","Secret" : "c"}`, `{"password":""}`, `\"client_secret\":\"x\"`, `"secret"  :  "multi
line"`, "client_secret=a&assertion=b&client_assertion=c", "id_token=x;code_verifier=y",
	"AccountKey=abc;SharedAccessKey=def;Password=g;pwd=h", "SharedAccessSignature=sv=1&sig=2",
	strings.Repeat("A", 86) + "==", "x" + strings.Repeat("b", 86) + "==", "+" + strings.Repeat("c", 86) + "===",
	strings.Repeat("d", 86) + "==" + strings.Repeat("e", 86) + "==", "!" + strings.Repeat("f", 87) + "==",
	"/" + strings.Repeat("g", 16), "=" + strings.Repeat("h", 15), "/ab/" + strings.Repeat("i", 20) + "===x",
	"==" + strings.Repeat("-_", 10) + "=", "//" + strings.Repeat("j", 16),
	`{"keyName":"key1","value":"v"}`, `{"a":{"keyName":"k","value":"v"}}`, `{"keyName" "keyName"}`,
	`}"keyName"{`, `{x"keyName"y}{z"keyName"}`, `{"keyName"`, `"keyName"}`,
}

// Each finder gives exactly the matches of the regexp it stands for, on any
// text the fast path takes (one without the non-ASCII case folds).
func FuzzFinders(f *testing.F) {
	for _, s := range finderSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFinders(t, s)
	})
}

func TestFinders(t *testing.T) {
	for _, s := range finderSeeds {
		checkFinders(t, s)
	}
}

func checkFinders(t *testing.T, s string) {
	t.Helper()
	if strings.ContainsAny(s, foldsToASCII) {
		return
	}
	lower := strings.ToLower(s) // s holds no non-ASCII fold of an ASCII letter
	hits := needles.find(s, leadNeedles)
	found := hits.found
	for i, r := range rules {
		want := len(r.needles) == 0
		for _, n := range r.needles {
			want = want || strings.Contains(lower, n)
		}
		if r.mayMatch(found) != want {
			t.Fatalf("rule %d's needles %q in %q: the needle set says %v", i, r.needles, s, !want)
		}
	}
	fast := 0
	for i, r := range rules {
		if r.anchored == nil && r.find == nil {
			continue
		}
		fast++
		want := r.re.FindAllStringSubmatchIndex(s, -1)
		if got := r.matches(s, hits); !reflect.DeepEqual(got, want) {
			t.Fatalf("rule %d (%s) on %q:\n finder %v\n regexp %v", i, r.re, s, got, want)
		}
	}
	if fast < 10 {
		t.Fatalf("only %d rules have a finder", fast)
	}
	if got, want := findBase64Values(s), base64Value.FindAllStringSubmatchIndex(s, -1); !reflect.DeepEqual(got, want) {
		t.Fatalf("base64 values in %q:\n finder %v\n regexp %v", s, got, want)
	}
	if got, want := findKeyObjects(s), keyObject.FindAllStringIndex(s, -1); !reflect.DeepEqual(got, want) {
		t.Fatalf("key objects in %q:\n finder %v\n regexp %v", s, got, want)
	}
}
