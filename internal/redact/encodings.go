package redact

import (
	"encoding/base64"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A secret reaches a report in more shapes than the rules spell out: a
// JSON encoder writes & and = as \u0026 and \u003d (so "\u0026sig=" has no
// word boundary before "sig"), a URL percent-encodes it, an XML report
// writes &amp; or &#61;, and a callback URL may carry it base64url-encoded.
// Rather than each rule knowing every encoding, the rules also run on a
// decoded view of the text, and what they find there is masked in the
// text itself; base64 values in URLs are decoded and redacted as text.

// decoded is a view of src with its escapes decoded, a level at a time
// (a percent-encoded URL inside JSON inside XML takes three): levels[k]
// lists the escapes that decoding k+1 decoded, so that s[i] came from
// src[d.start(i):d.end(i)]. Escapes are few in a report of megabytes, so
// only they are kept, not an offset per byte.
type decoded struct {
	s      string
	levels [][]edit
}

// edit is one decoded escape: the byte at at in the decoded text came from
// [from, to) of the text it was decoded from.
type edit struct{ at, from, to int }

// origin is where byte i of a level's decoded text came from, given the
// level's escapes: the escape's extent, or the one byte as far past the
// last escape before it.
func origin(edits []edit, i int) (from, to int) {
	k := sort.Search(len(edits), func(k int) bool { return edits[k].at > i }) - 1
	if k < 0 {
		return i, i + 1
	}
	e := edits[k]
	if e.at == i {
		return e.from, e.to
	}
	p := e.to + (i - e.at - 1)
	return p, p + 1
}

// start is where in src byte i of d.s begins.
func (d decoded) start(i int) int {
	for k := len(d.levels) - 1; k >= 0; k-- {
		i, _ = origin(d.levels[k], i)
	}
	return i
}

// end is where in src byte i of d.s ends.
func (d decoded) end(i int) int {
	e := i + 1
	for k := len(d.levels) - 1; k >= 0; k-- {
		_, e = origin(d.levels[k], e-1)
	}
	return e
}

// entities are the named XML/HTML entities of ASCII characters.
var entities = map[string]byte{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}

// decodeAt decodes the escape at src[i], if one is there: JSON's \u00XX
// and \/, %XX, and XML entities, of ASCII characters. n is its length (0:
// none).
func decodeAt(src string, i int) (c byte, n int) {
	switch src[i] {
	case '\\':
		if i+5 < len(src) && (src[i+1] == 'u' || src[i+1] == 'U') && src[i+2] == '0' && src[i+3] == '0' {
			if v, err := strconv.ParseUint(src[i+4:i+6], 16, 8); err == nil && v < 0x80 {
				return byte(v), 6
			}
		}
		if i+1 < len(src) && src[i+1] == '/' {
			return '/', 2
		}
	case '%':
		if i+2 < len(src) {
			if v, err := strconv.ParseUint(src[i+1:i+3], 16, 8); err == nil && v < 0x80 {
				return byte(v), 3
			}
		}
	case '&':
		if j := strings.IndexByte(src[i:min(len(src), i+10)], ';'); j > 1 {
			name := src[i+1 : i+j]
			if v, ok := entities[name]; ok {
				return v, j + 1
			}
			if num, ok := strings.CutPrefix(name, "#"); ok {
				base := 10
				if h, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
					num, base = h, 16
				}
				if v, err := strconv.ParseUint(num, base, 8); err == nil && v > 0 && v < 0x80 {
					return byte(v), j + 1
				}
			}
		}
	}
	return 0, 0
}

// decodeOnce decodes one level of escapes (decodeAt's): the text, and the
// escapes it decoded (none: src itself).
func decodeOnce(src string) (string, []edit) {
	var b []byte // made at the first escape
	var edits []edit
	last := 0 // src[last:i] is still to be copied
	for i := 0; i < len(src); {
		k := strings.IndexAny(src[i:], `\%&`)
		if k < 0 {
			break
		}
		i += k
		c, n := decodeAt(src, i)
		if n == 0 {
			i++
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(src))
		}
		b = append(b, src[last:i]...)
		edits = append(edits, edit{at: len(b), from: i, to: i + n})
		b = append(b, c)
		i += n
		last = i
	}
	if b == nil {
		return src, nil
	}
	return string(append(b, src[last:]...)), edits
}

// mayBeEncoded is false for text with none of the escapes decodeOnce knows.
func mayBeEncoded(s string) bool {
	return strings.Contains(s, `\u00`) || strings.Contains(s, `\U00`) || strings.Contains(s, `\/`) ||
		strings.Contains(s, "%") || strings.Contains(s, "&")
}

// decodeView decodes up to three levels (a percent-encoded URL inside JSON
// inside XML); ok is false when there was nothing to decode.
func decodeView(src string) (view decoded, ok bool) {
	view.s = src
	for level := 0; level < 3 && mayBeEncoded(view.s); level++ {
		next, edits := decodeOnce(view.s)
		if edits == nil {
			break
		}
		view.s, view.levels = next, append(view.levels, edits)
	}
	return view, len(view.levels) > 0
}

// span is a replacement of src[lo:hi].
type span struct {
	lo, hi int
	with   string
}

// encodedMatches runs the rules on view, the decoded view of s, and
// returns the replacements, in s, of the secrets found there. The rules
// whose needles the decoded text lacks are skipped, as in pass: a needle
// is what a rule's match needs, wherever the text came from.
func encodedMatches(view decoded, prefilter bool) []span {
	prefilter = prefilter && !hasFoldToASCII(view.s)
	var hits *needleHits
	if prefilter {
		hits = needles.find(view.s, leadNeedles)
	}
	var out []span
	add := func(lo, hi int, v, after string, keep int) {
		m := mask(v, keep, after)
		if m == v || lo >= hi {
			return
		}
		if keep > 0 && m != Marker {
			// The kept prefix lands in an encoded context: only letters
			// and digits are sure to mean the same there.
			for _, r := range m[:len(m)-len(Masked)] {
				if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
					m = Marker
					break
				}
			}
		}
		out = append(out, span{lo: view.start(lo), hi: view.end(hi - 1), with: m})
	}
	for _, r := range rules {
		if hits != nil && !r.mayMatch(hits.found) {
			continue
		}
		for _, m := range r.matches(view.s, hits) {
			lo, hi := m[2*r.group], m[2*r.group+1]
			if lo < 0 {
				continue
			}
			v := view.s[lo:hi]
			if r.valid != nil && !r.valid(v, view.s[hi:]) {
				continue
			}
			add(lo, hi, v, view.s[hi:], r.keep)
		}
	}
	var objects [][]int
	switch {
	case !strings.Contains(view.s, `"keyName"`):
	case prefilter:
		objects = findKeyObjects(view.s)
	default:
		objects = keyObject.FindAllStringIndex(view.s, -1)
	}
	for _, o := range objects {
		obj := view.s[o[0]:o[1]]
		for _, m := range keyMember.re.FindAllStringSubmatchIndex(obj, -1) {
			add(o[0]+m[2], o[0]+m[3], obj[m[2]:m[3]], obj[m[3]:], 0)
		}
	}
	return out
}

// replaceSpans applies non-overlapping replacements (the first of
// overlapping ones wins).
func replaceSpans(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp.lo < last {
			continue
		}
		b.WriteString(s[last:sp.lo])
		b.WriteString(sp.with)
		last = sp.hi
	}
	b.WriteString(s[last:])
	return b.String()
}

// base64Value is a base64 or base64url value of a URL query parameter or
// path segment, long enough to hide a credential.
var base64Value = regexp.MustCompile(`[=/]([A-Za-z0-9_+/-]{16,}={0,2})`)

// maskBase64 masks base64 values that decode to text holding a secret
// (fast: found by findBase64Values rather than base64Value).
func maskBase64(s string, reg *registry, depth int, fast bool) string {
	if depth > 1 {
		return s
	}
	var spans []span
	values := findBase64Values
	if !fast {
		values = func(s string) [][]int { return base64Value.FindAllStringSubmatchIndex(s, -1) }
	}
	for _, m := range values(s) {
		v := s[m[2]:m[3]]
		for len(v) > 16 {
			text, ok := decodeBase64Text(v)
			if ok {
				if fixpointDepth(text, reg, depth+1) != text {
					spans = append(spans, span{lo: m[2], hi: m[2] + len(v), with: Marker})
				}
				break
			}
			// A path value ("/c/b64") may carry a slash-separated tail.
			i := strings.LastIndexByte(v, '/')
			if i < 16 {
				break
			}
			v = v[:i]
		}
	}
	return replaceSpans(s, spans)
}

// decodeBase64Text decodes v (standard or URL alphabet, padded or not) and
// says whether it is printable text.
func decodeBase64Text(v string) (string, bool) {
	raw := strings.TrimRight(v, "=")
	var b []byte
	var err error
	if strings.ContainsAny(raw, "+/") {
		b, err = base64.RawStdEncoding.DecodeString(raw)
	} else {
		b, err = base64.RawURLEncoding.DecodeString(raw)
	}
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return "", false
		}
	}
	return string(b), true
}
