package redact

import (
	"encoding/base64"
	"math"
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

// decoded is a view of src with its escapes decoded: s[i] came from
// src[start[i]:end[i]].
type decoded struct {
	s          string
	start, end []int32 // int32 halves what a megabyte report costs here
}

// entities are the named XML/HTML entities of ASCII characters.
var entities = map[string]byte{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}

// decodeOnce decodes JSON \u00XX and \/ escapes, %XX and XML entities of
// ASCII characters, one level.
func decodeOnce(src string) decoded {
	d := decoded{start: make([]int32, 0, len(src)), end: make([]int32, 0, len(src))}
	var b strings.Builder
	b.Grow(len(src))
	emit := func(c byte, from, to int) {
		b.WriteByte(c)
		d.start = append(d.start, int32(from))
		d.end = append(d.end, int32(to))
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\\' && i+5 < len(src) && (src[i+1] == 'u' || src[i+1] == 'U') && src[i+2] == '0' && src[i+3] == '0':
			if v, err := strconv.ParseUint(src[i+4:i+6], 16, 8); err == nil && v < 0x80 {
				emit(byte(v), i, i+6)
				i += 6
				continue
			}
		case c == '\\' && i+1 < len(src) && src[i+1] == '/':
			emit('/', i, i+2)
			i += 2
			continue
		case c == '%' && i+2 < len(src):
			if v, err := strconv.ParseUint(src[i+1:i+3], 16, 8); err == nil && v < 0x80 {
				emit(byte(v), i, i+3)
				i += 3
				continue
			}
		case c == '&':
			if j := strings.IndexByte(src[i:min(len(src), i+10)], ';'); j > 1 {
				name := src[i+1 : i+j]
				if v, ok := entities[name]; ok {
					emit(v, i, i+j+1)
					i += j + 1
					continue
				}
				if num, ok := strings.CutPrefix(name, "#"); ok {
					base := 10
					if h, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
						num, base = h, 16
					}
					if v, err := strconv.ParseUint(num, base, 8); err == nil && v > 0 && v < 0x80 {
						emit(byte(v), i, i+j+1)
						i += j + 1
						continue
					}
				}
			}
		}
		emit(c, i, i+1)
		i++
	}
	d.s = b.String()
	return d
}

// mayBeEncoded is false for text with none of the escapes decodeOnce knows.
func mayBeEncoded(s string) bool {
	return strings.Contains(s, `\u00`) || strings.Contains(s, `\U00`) || strings.Contains(s, `\/`) ||
		strings.Contains(s, "%") || strings.Contains(s, "&")
}

// decodeView decodes up to three levels (a percent-encoded URL inside JSON
// inside XML), composing the offsets back to src.
func decodeView(src string) (decoded, bool) {
	view := decoded{s: src}
	if len(src) > math.MaxInt32 {
		return view, false // offsets are int32; no report or log comes near
	}
	changed := false
	for level := 0; level < 3 && mayBeEncoded(view.s); level++ {
		next := decodeOnce(view.s)
		if next.s == view.s {
			break
		}
		if changed {
			for i := range next.s {
				next.start[i], next.end[i] = view.start[next.start[i]], view.end[next.end[i]-1]
			}
		}
		view, changed = next, true
	}
	return view, changed
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
	lower := asciiLower(view.s)
	var found uint64
	if prefilter {
		found = needles.scan(lower)
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
		out = append(out, span{lo: int(view.start[lo]), hi: int(view.end[hi-1]), with: m})
	}
	for _, r := range rules {
		if prefilter && !r.mayMatch(found) {
			continue
		}
		for _, m := range r.matches(view.s, lower, prefilter) {
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
