package report

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/miconform/miconform/internal/redact"
)

// ansi matches CSI and OSC escape sequences and stray ESC bytes.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b`)

// clean strips ANSI escapes and characters XML 1.0 cannot carry, then
// redacts. Every string a report writes goes through it.
func clean(s string) string {
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansi.ReplaceAllString(s, "")
	}
	if !xmlSafe(s) {
		s = xmlFilter(s)
	}
	return redact.String(s)
}

// xmlFilter drops the characters XML 1.0 cannot carry and marks invalid
// UTF-8 with U+FFFD.
func xmlFilter(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n', r == '\r':
			return r
		case r < 0x20, r == 0x7f:
			return -1
		case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return -1
		case r == 0xFFFD: // invalid UTF-8 was decoded to U+FFFD; keep the marker
			return r
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// xmlSafe reports whether xmlFilter would leave s as it is:
// valid UTF-8 of tabs, newlines, carriage returns and printable ASCII,
// or non-ASCII runes XML 1.0 allows (most texts, checked without a copy).
func xmlSafe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// firstLine returns the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
