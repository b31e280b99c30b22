package report

import "testing"

// xmlSafe is true exactly for the texts xmlFilter leaves as they are.
func FuzzXMLSafe(f *testing.F) {
	for _, s := range []string{"", "plain\ttext\r\n", "\x00", "\x7f", "\x1b[31m", "caf\u00e9", "\xff", "\ufffd", "\ufffe", "\uffff", "\U0001F600", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := xmlSafe(s), xmlFilter(s) == s; got != want {
			t.Fatalf("xmlSafe(%q) = %v, but xmlFilter leaves it unchanged: %v", s, got, want)
		}
	})
}
