package redact

import (
	"math/bits"
	"regexp"
	"slices"
	"strings"
)

// Go's regexp scans a text at some tens of megabytes a second when a
// pattern has no literal prefix to skip to (every case-insensitive rule);
// reports run to megabytes, redacted more than once. The finders here give
// the same matches as the rules' regexps (fuzz-tested against them,
// find_test.go) by trying a rule only where a match can start or end.

// isWordByte is \b's notion of a word character ([0-9A-Za-z_]); a byte of
// a multi-byte rune is not one.
func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// leading compiles r.anchored for a rule every match of which starts with
// one of its needles (after a \b when its pattern begins with one).
func leading(r rule) rule {
	src := r.re.String()
	ci := strings.HasPrefix(src, "(?i)")
	src = strings.TrimPrefix(src, "(?i)")
	r.boundary = strings.HasPrefix(src, `\b`)
	src = strings.TrimPrefix(src, `\b`)
	if ci {
		r.anchored = regexp.MustCompile(`^(?i:` + src + `)`)
	} else {
		r.anchored = regexp.MustCompile(`^(?:` + src + `)`)
	}
	return r
}

// matches is r.re.FindAllStringSubmatchIndex(s, -1), found faster where
// the prefilter's condition allows (hits is not nil: s holds none of
// foldsToASCII, and hits is needles.find(s)).
func (r rule) matches(s string, hits *needleHits) [][]int {
	switch {
	case hits != nil && r.find != nil:
		return r.find(s)
	case hits != nil && r.anchored != nil:
		return r.leadMatches(s, hits.starts(r.mask))
	}
	return r.re.FindAllStringSubmatchIndex(s, -1)
}

// leadMatches tries r.anchored at each needle, left to right, as the
// leftmost-first search of r.re would find its matches: a match starts at
// a needle, so the first needle at or after the previous match's end where
// the anchored pattern matches is where the search finds the next one.
func (r rule) leadMatches(s string, starts []int) [][]int {
	var out [][]int
	pos := 0
	for _, c := range starts {
		if c < pos || r.boundary && c > 0 && isWordByte(s[c-1]) {
			continue
		}
		m := r.anchored.FindStringSubmatchIndex(s[c:])
		if m == nil {
			continue
		}
		for k := range m {
			if m[k] >= 0 {
				m[k] += c
			}
		}
		out = append(out, m)
		pos = max(m[1], c+1)
	}
	return out
}

// isKeyByte is [A-Za-z0-9+/], the alphabet of a standard base64 key.
func isKeyByte(c byte) bool {
	return c == '+' || c == '/' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// findAccountKeys is rule (f)'s regexp, (?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{86}==),
// tried only where "==" ends a run of 86 key characters.
func findAccountKeys(s string) [][]int {
	var out [][]int
	prevEnd := 0
	for from := 0; ; {
		i := strings.Index(s[from:], "==")
		if i < 0 {
			return out
		}
		j := from + i // the group is s[j-86 : j+2]
		from = j + 1
		g := j - 86
		if g < 0 {
			continue
		}
		start := g // at the start of the text, ^ stands for the delimiter
		if g > 0 {
			if isKeyByte(s[g-1]) {
				continue
			}
			start = g - 1
		}
		if start < prevEnd || !allKeyBytes(s[g:j]) {
			continue
		}
		out = append(out, []int{start, j + 2, g, j + 2})
		prevEnd, from = j+2, j+2
	}
}

func allKeyBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isKeyByte(s[i]) {
			return false
		}
	}
	return true
}

// isBase64Byte is [A-Za-z0-9_+/-], either base64 alphabet.
func isBase64Byte(c byte) bool {
	return c == '-' || c == '_' || isKeyByte(c)
}

// findBase64Values is base64Value's regexp, [=/]([A-Za-z0-9_+/-]{16,}={0,2}),
// as one scan: a run of fewer than 16 characters after a = or / holds no
// start of a match either (each later / in it has fewer after it).
func findBase64Values(s string) [][]int {
	var out [][]int
	for i := 0; i < len(s); {
		if s[i] != '=' && s[i] != '/' {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isBase64Byte(s[j]) {
			j++
		}
		if j-(i+1) < 16 {
			i = max(j, i+1)
			continue
		}
		k := j
		for k < len(s) && k < j+2 && s[k] == '=' {
			k++
		}
		out = append(out, []int{i, k, i + 1, k})
		i = k
	}
	return out
}

// findKeyObjects is keyObject's regexp, \{[^{}]*"keyName"[^{}]*\}: a
// match is the text between a { and the next brace, a }, holding a
// "keyName". Each brace is looked for once, however many "keyName"s lie
// between two braces.
func findKeyObjects(s string) [][]int {
	const name = `"keyName"`
	var out [][]int
	prevEnd := 0
	lastBrace, scanned := -1, 0 // the last brace in s[:scanned]
	nextBrace := -1             // the first brace after the last "keyName" seen; len(s) for none
	for from := 0; ; {
		i := strings.Index(s[from:], name)
		if i < 0 {
			return out
		}
		at := from + i
		if b := strings.LastIndexAny(s[scanned:at], "{}"); b >= 0 {
			lastBrace = scanned + b
		}
		scanned = at
		after := at + len(name)
		if nextBrace < after {
			nextBrace = len(s)
			if b := strings.IndexAny(s[after:], "{}"); b >= 0 {
				nextBrace = after + b
			}
		}
		if lastBrace < prevEnd || s[lastBrace] != '{' || nextBrace == len(s) || s[nextBrace] != '}' {
			from = at + 1
			continue
		}
		out = append(out, []int{lastBrace, nextBrace + 1})
		prevEnd, from = nextBrace+1, nextBrace+1
	}
}

// needleSet tells which of the rules' needles a text holds, in one pass
// over it (an Aho-Corasick automaton over the needles, whose bytes are
// mapped to a few classes), where a strings.Contains per needle made
// some fifty passes.
type needleSet struct {
	class [256]uint8 // an upper-case ASCII letter is in its lower case's class
	ncls  int
	delta []uint16 // delta[state*ncls+class] is the next state
	out   []uint64 // out[state] has bit i when needle i ends at state
	lens  []int    // the needles' lengths
}

// newNeedleSet builds the automaton of needles (at most 64, lower-case).
func newNeedleSet(needles []string) *needleSet {
	if len(needles) > 64 {
		panic("redact: more than 64 needles")
	}
	ns := &needleSet{ncls: 1}
	for _, n := range needles {
		ns.lens = append(ns.lens, len(n))
		for i := 0; i < len(n); i++ {
			if 'A' <= n[i] && n[i] <= 'Z' {
				panic("redact: needle " + n + " is not lower-case")
			}
			if ns.class[n[i]] == 0 {
				ns.class[n[i]] = uint8(ns.ncls)
				if 'a' <= n[i] && n[i] <= 'z' {
					ns.class[n[i]-'a'+'A'] = uint8(ns.ncls)
				}
				ns.ncls++
			}
		}
	}
	// The trie, then the failure links breadth first.
	children := []map[uint8]int{{}}
	out := []uint64{0}
	for id, n := range needles {
		s := 0
		for i := 0; i < len(n); i++ {
			c := ns.class[n[i]]
			next, ok := children[s][c]
			if !ok {
				next = len(children)
				children = append(children, map[uint8]int{})
				out = append(out, 0)
				children[s][c] = next
			}
			s = next
		}
		out[s] |= 1 << id
	}
	if len(children) > 1<<16 {
		panic("redact: needles too long")
	}
	ns.delta = make([]uint16, len(children)*ns.ncls)
	fail := make([]int, len(children))
	queue := []int{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := 0; c < ns.ncls; c++ {
			next, ok := children[s][uint8(c)]
			if !ok {
				if s != 0 {
					ns.delta[s*ns.ncls+c] = ns.delta[fail[s]*ns.ncls+c]
				}
				continue
			}
			ns.delta[s*ns.ncls+c] = uint16(next)
			if s != 0 {
				fail[next] = int(ns.delta[fail[s]*ns.ncls+c])
			}
			out[next] |= out[fail[next]]
			queue = append(queue, next)
		}
	}
	ns.out = out
	return ns
}

// needleHits is what needleSet.find saw in a text.
type needleHits struct {
	found uint64  // the needles it holds, bit i for needle i
	at    []int   // where the recorded needles start, in the order found
	id    []uint8 // which needle starts at at[i]
}

// find reads s once (ignoring ASCII case): which needles it holds, and
// where the needles in record start.
func (ns *needleSet) find(s string, record uint64) *needleHits {
	h := &needleHits{}
	st := 0
	for i := 0; i < len(s); i++ {
		st = int(ns.delta[st*ns.ncls+int(ns.class[s[i]])])
		out := ns.out[st]
		h.found |= out
		for hit := out & record; hit != 0; hit &= hit - 1 {
			id := bits.TrailingZeros64(hit)
			h.at = append(h.at, i+1-ns.lens[id])
			h.id = append(h.id, uint8(id))
		}
	}
	return h
}

// starts lists where the needles in mask start, in order, each position
// once.
func (h *needleHits) starts(mask uint64) []int {
	var out []int
	sorted := true
	for i, at := range h.at {
		if mask&(1<<h.id[i]) == 0 {
			continue
		}
		if n := len(out); n > 0 {
			if at == out[n-1] {
				continue
			}
			sorted = sorted && at > out[n-1]
		}
		out = append(out, at)
	}
	if !sorted {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}
