package report

import (
	"fmt"
	"strings"

	"github.com/miconform/miconform/internal/redact"
)

// Outline renders every scenario, feature by feature in file order, as
// the terminal shows a run whose scenarios ran at once (godog's pretty
// output interleaves them): a line per scenario, and for one that failed
// or was skipped, the step that decided it, its error and the scenario's
// log.
func (r *Result) Outline() string {
	var b strings.Builder
	for _, f := range r.Features {
		fmt.Fprintf(&b, "Feature: %s  (%s)\n", oneLine(f.Name), f.URI)
		for _, s := range f.Scenarios {
			verdict := s.verdict()
			fmt.Fprintf(&b, "  %s  %s  (%s, line %d)\n", verdict, oneLine(s.Name), round(s.Duration), s.Line)
			if verdict == "PASS" {
				continue
			}
			if st := s.Culprit(); st != nil {
				fmt.Fprintf(&b, "        %s  (line %d)\n", oneLine(st.Keyword+" "+st.Text), st.Line)
				if e := strings.TrimSpace(clean(st.Error)); e != "" {
					b.WriteString(indent(e, "          "))
				}
			}
			if verdict == "FAIL" && strings.TrimSpace(s.Log) != "" {
				b.WriteString("        log:\n")
				b.WriteString(indent(strings.TrimSpace(clean(s.Log)), "          "))
			}
		}
	}
	return redact.String(b.String())
}

// indent prefixes every line of s and ends it with a newline.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}
