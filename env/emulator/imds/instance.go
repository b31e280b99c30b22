package imds

// This file is the Instance category, GET /metadata/instance[/<key or
// index>...]: the whole instance document or any sub-tree or leaf of it.
//
// Contract: https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service
// (MicrosoftDocs/azure-compute-docs articles/virtual-machines/instance-metadata-service.md),
// sections "Route parameters", "Data format", "Instance metadata" and
// "Errors and debugging". What they say and this file relies on:
//   - "The parameters correspond to the indexes/keys that would be used to
//     walk down the json object": object keys and array indices are path
//     segments (/network/interface/0/ipv4/ipAddress/0/publicIpAddress).
//   - "When filtering to a leaf node, format=json doesn't work. For these
//     queries format=text needs to be explicitly specified since the
//     default format is json." The 400 this gives, with format=json and
//     with no format at all, was reported in MicrosoftDocs/azure-docs#15283.
//   - "endpoints that support response filtering ... also support the
//     format text"; the doc's own example asks for the whole document with
//     format=text.
//   - 404 "The requested element doesn't exist".
//   - "All instance metadata queries are case-sensitive." (the 2017 doc,
//     MicrosoftDocs/azure-docs articles/virtual-machines/windows/instance-metadata-service.md).
//   - Text leaves are the bare value: the samples answer vmId with
//     "5c08b38e-4d57-4c23-ac45-aca61037f084", platformFaultDomain with "0"
//     and tags with "Department:IT;ReferenceNumber:123456;TestStatus:Pending".
//   - "In json responses, all primitives will be of type string", so a
//     number or a boolean is the string IMDS holds, printed as is in text.

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Instance is GET /metadata/instance and every route below it. The path
// after /metadata/instance walks the document; format (json, the default,
// or text) picks the answer's form.
func (s *Server) Instance(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !supported(q.Get("api-version"), "2017-04-02") {
		writeJSON(w, http.StatusBadRequest, badVersion())
		return
	}
	format := q.Get("format")
	// [unverified] The doc names only json and text; the wording of the
	// 400 for anything else is not published. Values are matched
	// case-sensitively like the rest of the query.
	if format != "" && format != "json" && format != "text" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad request. Invalid format '" + format + "' specified in the request. Supported formats are json and text"})
		return
	}
	segments, ok := instancePath(r.URL)
	if !ok {
		writeNotFound(w, false)
		return
	}
	vm, ok := s.VM()
	if !ok {
		writeNotFound(w, false)
		return
	}
	node, ok := lookup(s.instanceDocument(vm, q.Get("api-version")), segments)
	if !ok {
		writeNotFound(w, false)
		return
	}
	leaf, isLeaf := node.(string)
	switch {
	case format == "text" && isLeaf:
		writeText(w, leaf)
	case format == "text":
		writeText(w, listing(node))
	case isLeaf:
		// [unverified] Only the status is published; the text is ours, in
		// the {"error": ...} shape of the instance category's other errors.
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad request. Leaf nodes are only available in text format; specify format=text in the request. For more information refer to aka.ms/azureimds"})
	default:
		writeJSON(w, http.StatusOK, node)
	}
}

// instancePath splits the request path into the route parameters after
// /metadata/instance. It works on the escaped path so that an escaped
// slash (%2F) stays inside its segment, where it matches no key, instead
// of splitting it in two. One trailing slash is dropped: the emulator has
// always answered /metadata/instance/ like /metadata/instance, and IMDS
// READMEs copied around GitHub ask for /metadata/instance/?...&format=text
// ([unverified] for deeper paths). Empty segments are kept and, matching
// no key or index, end in 404.
func instancePath(u *url.URL) ([]string, bool) {
	raw := strings.TrimSuffix(u.EscapedPath(), "/")
	parts := strings.Split(raw, "/")
	if len(parts) < 3 || parts[0] != "" {
		return nil, false
	}
	segments := make([]string, 0, len(parts)-1)
	for _, p := range parts[1:] {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		segments = append(segments, v)
	}
	if segments[0] != "metadata" || segments[1] != "instance" {
		return nil, false
	}
	return segments[2:], true
}

// lookup walks the document: an object by key (case-sensitive, as the doc
// says every instance query is), an array by index. A segment past a leaf,
// an unknown key and a bad index all mean the element doesn't exist.
func lookup(node any, segments []string) (any, bool) {
	for _, seg := range segments {
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[seg]
			if !ok {
				return nil, false
			}
			node = v
		case []any:
			i, ok := arrayIndex(seg, len(n))
			if !ok {
				return nil, false
			}
			node = n[i]
		default:
			return nil, false
		}
	}
	return node, true
}

// arrayIndex reads an index segment. [unverified] Only the canonical
// decimal form is an index here (no sign, spaces or leading zeros), since
// the doc's indices are "the indexes ... that would be used to walk down
// the json object"; anything else, and any index past the end, is 404.
func arrayIndex(seg string, n int) (int, bool) {
	if seg == "" || len(seg) > 9 || (len(seg) > 1 && seg[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}

// listing is a non-leaf node in text format: its keys (sorted, the order
// the JSON form has) or indices, one a line, a child that is itself a
// sub-tree marked with a trailing slash so a client can tell where to walk
// on. [unverified] The doc accepts format=text on the whole document but
// does not show the answer; this follows the directory-style listing
// other clouds' metadata services give, with no trailing newline like a
// text leaf.
func listing(node any) string {
	var names []string
	mark := func(name string, child any) string {
		if _, leaf := child.(string); leaf {
			return name
		}
		return name + "/"
	}
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			names = append(names, mark(k, n[k]))
		}
	case []any:
		for i, c := range n {
			names = append(names, mark(strconv.Itoa(i), c))
		}
	}
	return strings.Join(names, "\n")
}

// writeText is a format=text answer. [unverified] The Content-Type is not
// published; text/plain is what the doc's "non-default response format"
// implies.
func writeText(w http.ResponseWriter, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Server", serverHeader)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// writeNotFound is IMDS's 404 for a path or element that doesn't exist.
func writeNotFound(w http.ResponseWriter, identity bool) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": "Not found"})
}
