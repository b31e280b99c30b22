package recording

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miconform/miconform/env/wine/winetest"
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

func TestCoverage(t *testing.T) {
	dir := winetest.TempDir(t)
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `{"operations":["GET /x/{name}"],"evidence":"recording","source":{"repo":"Azure/azure-sdk-for-net","path":"p.json"}}`)
	write("b.json", `{"operations":["PUT /y","GET /nowhere"],"evidence":"guess","source":""}`)
	write("fixture.json", `{"value":1}`)
	write("unread.json", `{"operations":["PUT /y"],"evidence":"spec-example","source":"Azure/azure-rest-api-specs examples/x.json"}`)
	write("x_test.go", `package p // reads a.json and b.json`)
	got, err := Coverage([]string{"get /X/{name}", "PUT /y", "DELETE /z"}, dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`b.json: evidence "guess" is none of recording, capture, spec-example`,
		`b.json: names "GET /nowhere", which the service does not serve`,
		"b.json: names no source",
		"no evidence for DELETE /z",
		"unread.json: no test of the package reads it",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ex, _ := Excerpts(dir)
	if len(ex) != 3 || ex[0].SourceText() != "Azure/azure-sdk-for-net p.json" || ex[2].SourceText() != "Azure/azure-rest-api-specs examples/x.json" {
		t.Errorf("excerpts: %+v", ex)
	}
}

type fakeT struct{ errs []string }

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func TestHold(t *testing.T) {
	dir := winetest.TempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"operations":["GET /a"],"evidence":"recording","source":"r p"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a_test.go"), []byte(`// a.json`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeT{}
	Hold(f, []string{"GET /a", "GET /b", "GET /c"}, dir, dir, []string{"GET /b"})
	if strings.Join(f.errs, "|") != "no evidence for GET /c" {
		t.Errorf("unlisted gap: %q", f.errs)
	}
	f = &fakeT{}
	Hold(f, []string{"GET /a", "GET /b"}, dir, dir, []string{"GET /a", "GET /b"})
	if strings.Join(f.errs, "|") != "GET /a has evidence now, or is not served: remove it from noEvidenceYet" {
		t.Errorf("stale list: %q", f.errs)
	}
}
