package tutorials

import (
	"strings"
	"testing"
)

// FuzzParseArticle feeds the article parser what a docs writer's copy may
// hold: it returns an article or an error, never panics, and a block's
// line is inside the file.
func FuzzParseArticle(f *testing.F) {
	for _, n := range Names {
		b, err := embedded.ReadFile(n + ".md")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("---\ntitle: t\nsource: s\nretrieved: r\nlicense: l\n---\n# t\n## a\n```\nx\n```\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := parseArticle("x", "x.md", src)
		if err != nil {
			return
		}
		n := strings.Count(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") + 1
		for _, b := range a.blocks {
			if b.Line < 1 || b.Line > n+1 {
				t.Fatalf("block %s at line %d of %d", b.ID, b.Line, n)
			}
		}
		a.find("a b")
	})
}

// FuzzParseClaims: a claims file is read or refused, never a panic.
func FuzzParseClaims(f *testing.F) {
	for _, n := range Names {
		b, err := embedded.ReadFile(n + ".claims.md")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("| a | b |\n|---|---|\n| \\| | x |\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = parseClaims("x.claims.md", src)
	})
}

// BenchmarkLoad is reading the five embedded articles and their claims
// files, which every run and `runner coverage` does once.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(""); err != nil {
			b.Fatal(err)
		}
	}
}
