package report

import (
	"fmt"
	"strings"

	"github.com/miconform/miconform/features/tutorials"
)

// messageMax is about how long a JUnit failure message may be. It is cut
// only after a whole sentence (or a whole line); CI systems show the
// message as the failure's title, and half a sentence misleads a reader.
const messageMax = 300

// sentences is the start of an error for a one-line message: its first
// line, with the lines that continue it (after a line ending in ":", and
// indented or parenthesised lines), joined; then as many whole sentences
// as fit in messageMax (at least one, however long).
func sentences(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	msg := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		t := strings.TrimSpace(l)
		if t == "" {
			break
		}
		if !strings.HasSuffix(msg, ":") && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") && !strings.HasPrefix(t, "(") {
			break
		}
		msg += " " + t
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) <= messageMax {
		return msg
	}
	end := -1
	for i := 0; i < len(msg)-1; i++ {
		if strings.IndexByte(".;!?", msg[i]) >= 0 && msg[i+1] == ' ' {
			if i+1 > messageMax && end > 0 {
				break
			}
			end = i + 1
			if i+1 > messageMax {
				break
			}
		}
	}
	if end < 0 {
		return msg
	}
	return msg[:end] + " [...]"
}

// articleLines is the scenario's article context for a docs writer: each
// block and claim its binding tags name, as "id, file:line" and the
// article's current text (a block's first lines, a claim's sentence).
func (r *Result) articleLines(s *Scenario) []string { return r.articleText(s, 8) }

// articleText is articleLines with blocks cut to their first n lines (whole
// lines; n == 1 gives one line per block and claim, for the terminal).
func (r *Result) articleText(s *Scenario, n int) []string {
	if r.Articles == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, tag := range s.Tags {
		bd, ok, err := tutorials.ParseTag(tag)
		if !ok || err != nil || seen[bd.Ref] {
			continue
		}
		seen[bd.Ref] = true
		if bd.IsBlock() {
			b, err := r.Articles.Block(bd.Ref)
			if err != nil {
				out = append(out, fmt.Sprintf("%s: %v", bd.How, err))
				continue
			}
			if n == 1 {
				out = append(out, fmt.Sprintf("%s block %s: %s", bd.How, b.Where(), excerptLines(b.Text, 1)))
				continue
			}
			out = append(out, fmt.Sprintf("%s block %s:\n%s", bd.How, b.Where(), strings.TrimSuffix(indent(excerptLines(b.Text, n), "    "), "\n")))
			continue
		}
		c, err := r.Articles.Claim(bd.Ref)
		if err != nil {
			out = append(out, fmt.Sprintf("claim: %v", err))
			continue
		}
		what := "claim"
		if bd.How == tutorials.DocDiscrepancy {
			what = "claim (Azure differs, doc-discrepancy)"
		}
		if c.Line == 0 {
			out = append(out, fmt.Sprintf("%s %s: the article no longer says %q", what, c.Where(), c.Quote))
			continue
		}
		out = append(out, fmt.Sprintf("%s %s: %q", what, c.Where(), c.Quote))
	}
	return out
}

// articleContext is articleLines as one text block, "" without any.
func (r *Result) articleContext(s *Scenario) string {
	lines := r.articleLines(s)
	if len(lines) == 0 {
		return ""
	}
	return "What the article says:\n" + strings.Join(lines, "\n") + "\n"
}

func excerptLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	more := fmt.Sprintf("[... %d more line(s)]", len(lines)-n)
	if n == 1 {
		return lines[0] + " " + more
	}
	return strings.Join(lines[:n], "\n") + "\n" + more
}

// coverageProperties are the JUnit properties of the coverage that concern
// feature f: the totals, and the numbers of each article its scenarios
// bind.
func (r *Result) coverageProperties(f *Feature) map[string]string {
	if r.Coverage == nil {
		return nil
	}
	all := r.Coverage.Properties()
	articles := map[string]bool{}
	for _, s := range f.Scenarios {
		for _, tag := range s.Tags {
			bd, ok, err := tutorials.ParseTag(tag)
			if !ok || err != nil {
				continue
			}
			if bd.IsBlock() {
				name, _, _ := strings.Cut(bd.Ref, ":")
				articles[name] = true
			} else if c, err := r.Articles.Claim(bd.Ref); err == nil {
				articles[c.Article] = true
			}
		}
	}
	out := map[string]string{}
	for k, v := range all {
		rest, ok := strings.CutPrefix(k, "coverage.")
		name, _, _ := strings.Cut(rest, ".")
		if !ok || !articles[name] {
			// The totals, "articles" and "coverage.problems".
			isArticle := false
			for _, n := range tutorials.Names {
				if name == n {
					isArticle = true
				}
			}
			if isArticle {
				continue
			}
		}
		out[k] = v
	}
	for _, a := range r.Coverage.Articles {
		if !articles[a.Name] {
			continue
		}
		var ids []string
		for _, b := range a.Blocks {
			if b.Status() == "" {
				ids = append(ids, strings.Join(b.Inventory, "+"))
			}
		}
		for _, c := range a.Claims {
			if c.Status() == "" {
				ids = append(ids, c.Claim.ID)
			}
		}
		out["coverage."+a.Name+".not-checked.ids"] = strings.Join(ids, ",")
	}
	return out
}
