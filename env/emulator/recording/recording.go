// Package recording compares the emulator's answers with answers of live
// Azure recorded by Microsoft's SDK test suites. Each service package keeps
// small excerpts of such recordings in its testdata directory, one answer a
// file, naming the repository and path they come from; its tests hold the
// emulator's answer to the same request against the excerpt.
//
// What is compared is what a client can depend on: the status, the names
// of the headers, and the shape of the body (every field path and its JSON
// type, or every XML element path). Values are not compared: ids, times,
// tokens and ETags differ from run to run.
package recording

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
)

// Answer is one recorded response.
type Answer struct {
	// Source names the recording: repository and path.
	Source string `json:"source"`
	Status int    `json:"status"`
	// Headers are the recorded response headers (values as recorded; only
	// the names are compared).
	Headers map[string]string `json:"headers"`
	// Body is the recorded JSON body, nil when the answer has none or is XML.
	Body json.RawMessage `json:"body,omitempty"`
	// XML is the recorded XML body, "" when there is none.
	XML string `json:"xml,omitempty"`
}

// Load reads an excerpt file (JSON, an Answer).
func Load(path string) (Answer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Answer{}, err
	}
	var a Answer
	if err := json.Unmarshal(b, &a); err != nil {
		return Answer{}, fmt.Errorf("%s: %v", path, err)
	}
	if a.Source == "" {
		return Answer{}, fmt.Errorf("%s: names no source", path)
	}
	return a, nil
}

// volatile are headers a recording carries that say nothing about the
// service: transport framing and the date.
var volatile = map[string]bool{"date": true, "content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true}

// HeaderDiffs lists the differences between the recorded header names and got's:
// a header the recording has and got lacks, and, when exact, a header got has
// that the recording lacks. ignore names headers not compared either way
// (a recording's cookies, say).
func (a Answer) HeaderDiffs(got http.Header, exact bool, ignore ...string) []string {
	skip := map[string]bool{}
	for k := range volatile {
		skip[k] = true
	}
	for _, k := range ignore {
		skip[strings.ToLower(k)] = true
	}
	want := map[string]bool{}
	for k := range a.Headers {
		if !skip[strings.ToLower(k)] {
			want[strings.ToLower(k)] = true
		}
	}
	have := map[string]bool{}
	for k := range got {
		if !skip[strings.ToLower(k)] {
			have[strings.ToLower(k)] = true
		}
	}
	var diffs []string
	for k := range want {
		if !have[k] {
			diffs = append(diffs, "header "+k+": recorded, missing")
		}
	}
	if exact {
		for k := range have {
			if !want[k] {
				diffs = append(diffs, "header "+k+": sent, not recorded")
			}
		}
	}
	sort.Strings(diffs)
	return diffs
}

// JSONDiffs lists where got's JSON differs in shape from the recorded body:
// a path missing or extra, or a value of another JSON type. Arrays are
// compared by their first element. ignore names paths (dotted, arrays as
// "[]") whose presence is not compared, for fields a recording has only on
// some answers.
func (a Answer) JSONDiffs(got []byte, ignore ...string) []string {
	var w, g any
	if err := json.Unmarshal(a.Body, &w); err != nil {
		return []string{"recorded body: " + err.Error()}
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{"body is not JSON: " + err.Error()}
	}
	wp, gp := map[string]string{}, map[string]string{}
	jsonPaths(w, "", wp)
	jsonPaths(g, "", gp)
	return compare(wp, gp, ignore)
}

func jsonPaths(v any, at string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[at] = "object"
		for k, c := range x {
			jsonPaths(c, strings.TrimPrefix(at+"."+k, "."), out)
		}
	case []any:
		out[at] = "array"
		if len(x) > 0 {
			jsonPaths(x[0], at+"[]", out)
		}
	case string:
		out[at] = "string"
	case float64:
		out[at] = "number"
	case bool:
		out[at] = "boolean"
	case nil:
		out[at] = "null"
	}
}

// XMLDiffs lists where got's XML differs from the recorded XML in its
// element paths (attributes are named path/@name). Repeated elements count
// once.
func (a Answer) XMLDiffs(got []byte, ignore ...string) []string {
	wp, err := xmlPaths(strings.NewReader(a.XML))
	if err != nil {
		return []string{"recorded XML: " + err.Error()}
	}
	gp, err := xmlPaths(strings.NewReader(string(got)))
	if err != nil {
		return []string{"body is not XML: " + err.Error()}
	}
	return compare(wp, gp, ignore)
}

func xmlPaths(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	d := xml.NewDecoder(r)
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			p := strings.Join(stack, "/")
			out[p] = "element"
			// Namespace declarations are not attributes a client reads.
			for _, at := range t.Attr {
				if at.Name.Space == "" && at.Name.Local != "xmlns" {
					out[p+"/@"+at.Name.Local] = "attribute"
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func compare(want, got map[string]string, ignore []string) []string {
	skip := func(p string) bool {
		for _, i := range ignore {
			if p == i || strings.HasPrefix(p, i+".") || strings.HasPrefix(p, i+"/") || strings.HasPrefix(p, i+"[]") {
				return true
			}
		}
		return false
	}
	var diffs []string
	for p, wt := range want {
		if skip(p) {
			continue
		}
		gt, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: recorded (%s), missing", show(p), wt))
		case gt != wt:
			diffs = append(diffs, fmt.Sprintf("%s: recorded %s, sent %s", show(p), wt, gt))
		}
	}
	for p, gt := range got {
		if _, ok := want[p]; !ok && !skip(p) {
			diffs = append(diffs, fmt.Sprintf("%s: sent (%s), not recorded", show(p), gt))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func show(p string) string {
	if p == "" {
		return "(top)"
	}
	return p
}
