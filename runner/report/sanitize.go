package report

import (
	"regexp"
	"strings"

	"github.com/miconform/miconform/internal/redact"
)

// ansi matches CSI and OSC escape sequences and stray ESC bytes.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b`)

// clean strips ANSI escapes and characters XML 1.0 cannot carry, then
// redacts. Every string a report writes goes through it.
func clean(s string) string {
	s = ansi.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
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
	return redact.String(s)
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
