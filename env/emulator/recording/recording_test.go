package recording

import (
	"net/http"
	"strings"
	"testing"
)

func TestDiffs(t *testing.T) {
	a := Answer{
		Source:  "test",
		Headers: map[string]string{"Content-Type": "x", "Server": "y", "Date": "z"},
		Body:    []byte(`{"a":"1","b":{"c":2,"d":[{"e":true}]}}`),
		XML:     `<?xml version="1.0"?><R x="1"><A><B/></A><A><B/></A></R>`,
	}
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"same shape", a.JSONDiffs([]byte(`{"a":"9","b":{"c":7,"d":[{"e":false},{"e":true}]}}`)), nil},
		{"type", a.JSONDiffs([]byte(`{"a":1,"b":{"c":2,"d":[{"e":true}]}}`)), []string{"a: recorded string, sent number"}},
		{"missing and extra", a.JSONDiffs([]byte(`{"b":{"c":2,"d":[{"e":true}]},"f":null}`)), []string{"a: recorded (string), missing", "f: sent (null), not recorded"}},
		{"ignored", a.JSONDiffs([]byte(`{"a":"1","b":{"c":2}}`), "b.d"), nil},
		{"xml same", a.XMLDiffs([]byte(`<R x="2"><A><B/></A></R>`)), nil},
		{"xml missing", a.XMLDiffs([]byte(`<R><A/></R>`)), []string{"R/@x: recorded (attribute), missing", "R/A/B: recorded (element), missing"}},
		{"headers", a.HeaderDiffs(http.Header{"Content-Type": {"x"}, "Cache-Control": {"no"}}, true), []string{"header cache-control: sent, not recorded", "header server: recorded, missing"}},
		{"headers not exact", a.HeaderDiffs(http.Header{"Content-Type": {"x"}, "Server": {"s"}, "Cache-Control": {"no"}}, false), nil},
	} {
		if strings.Join(tc.got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
