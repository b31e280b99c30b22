package report

import (
	"fmt"
	"html"
	"strings"
	"text/tabwriter"
	"time"
)

// summaryLogLines is how many trailing step-log lines a failure's details
// block shows.
const summaryLogLines = 40

func round(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

// StatusLine is the one-line verdict, e.g.
// "✅ 12 passed, 0 failed, 1 skipped (13 scenarios) in 4.2s — cloud AzureCloud, target emulator";
// an interrupted run's starts "⛔ INTERRUPTED:".
func (r *Result) StatusLine() string {
	c := r.Counts()
	icon := "✅"
	if !r.OK() {
		icon = "❌"
	}
	var b strings.Builder
	if r.Interrupted {
		icon = "⛔ INTERRUPTED:"
	}
	fmt.Fprintf(&b, "%s %d passed, %d failed", icon, c.Passed, c.Failed)
	if c.Errors > 0 {
		fmt.Fprintf(&b, ", %d errors", c.Errors)
	}
	fmt.Fprintf(&b, ", %d skipped (%d scenarios", c.Skipped, c.Tests)
	if c.Interrupted > 0 {
		fmt.Fprintf(&b, "; %d cut short by the interrupt", c.Interrupted)
	}
	fmt.Fprintf(&b, ") in %s", round(r.Duration))
	var where []string
	if r.Meta.Cloud != "" {
		where = append(where, "cloud "+r.Meta.Cloud)
	}
	if r.Meta.Target != "" {
		where = append(where, "target "+r.Meta.Target)
	}
	if r.Meta.VM != "" {
		where = append(where, "VM "+r.Meta.VM)
	}
	if r.Meta.Region != "" {
		where = append(where, "region "+r.Meta.Region)
	}
	if len(where) > 0 {
		b.WriteString(" — " + strings.Join(where, ", "))
	}
	return clean(b.String())
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(clean(s)), " ")
	s = html.EscapeString(s)
	return strings.ReplaceAll(s, "|", `\|`)
}

// fence returns a code fence longer than any backtick run in s.
func fence(s string) string {
	n, run := 3, 0
	for _, r := range s {
		if r == '`' {
			run++
			if run >= n {
				n = run + 1
			}
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", n)
}

func codeBlock(b *strings.Builder, s string) {
	s = strings.TrimRight(s, "\n")
	f := fence(s)
	fmt.Fprintf(b, "%s\n%s\n%s\n", f, s, f)
}

func tail(s string, n int) (string, bool) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n"), false
	}
	return strings.Join(lines[len(lines)-n:], "\n"), true
}

// Summary renders the GitHub-flavoured Markdown summary (fit for
// $GITHUB_STEP_SUMMARY).
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", html.EscapeString(r.title()))
	fmt.Fprintf(&b, "%s\n\n", html.EscapeString(r.StatusLine()))
	b.WriteString("| Tutorial | Feature | Passed | Failed | Skipped | Time |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|\n")
	for _, f := range r.Features {
		c := f.Counts()
		icon := map[string]string{"PASS": "✅", "FAIL": "❌", "SKIP": "⏭️"}[c.verdict()]
		tut := "—"
		if f.Tutorial != "" {
			tut = "`" + strings.ReplaceAll(clean(f.Tutorial), "`", "") + "`"
		}
		fmt.Fprintf(&b, "| %s %s | %s | %d | %d | %d | %s |\n",
			icon, tut, mdCell(f.Name), c.Passed, c.Failed+c.Errors, c.Skipped, round(f.Duration()))
	}

	var failing []string
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			if s.Failing() {
				failing = append(failing, r.failureDetails(f, s))
			}
		}
	}
	if len(failing) > 0 {
		b.WriteString("\n### Failures\n\n")
		for _, d := range failing {
			b.WriteString(d)
		}
	}
	if r.Coverage != nil {
		b.WriteString("\n" + r.Coverage.Markdown())
	}
	return b.String()
}

func (r *Result) title() string {
	if r.Suite != "" {
		return clean(r.Suite)
	}
	return "miconform"
}

func (r *Result) failureDetails(f *Feature, s *Scenario) string {
	var b strings.Builder
	kind, label := string(s.Status), map[Status]string{
		Failed: "Failed step", Undefined: "Undefined step", Ambiguous: "Ambiguous step",
	}[s.Status]
	if s.Fault {
		kind, label = "harness error", "Failing step"
	}
	fmt.Fprintf(&b, "<details><summary>❌ <b>%s</b> — %s (<code>%s:%d</code>, %s)</summary>\n\n",
		html.EscapeString(clean(f.Name)), html.EscapeString(clean(s.Name)),
		html.EscapeString(clean(f.URI)), s.Line, kind)
	if st := s.Culprit(); st != nil {
		fmt.Fprintf(&b, "**%s** (line %d):\n\n", label, st.Line)
		codeBlock(&b, clean(strings.TrimSpace(st.Keyword+" "+st.Text)))
		if st.Error != "" {
			b.WriteString("\n**Error:**\n\n")
			codeBlock(&b, clean(st.Error))
		}
	} else {
		b.WriteString("The scenario has no steps.\n")
	}
	if lines := r.articleLines(s); len(lines) > 0 {
		b.WriteString("\n**What the article says:**\n\n")
		codeBlock(&b, clean(strings.Join(lines, "\n")))
	}
	b.WriteString("\n**Steps:**\n\n")
	codeBlock(&b, clean(stepList(s)))
	if s.Log != "" {
		log, cut := tail(clean(s.Log), summaryLogLines)
		if cut {
			fmt.Fprintf(&b, "\n**Step log** (last %d lines; the full log is in junit.xml):\n\n", summaryLogLines)
		} else {
			b.WriteString("\n**Step log:**\n\n")
		}
		codeBlock(&b, log)
	}
	b.WriteString("\n</details>\n\n")
	return b.String()
}

// WriteSummary writes the Markdown summary to path, creating its directory.
func (r *Result) WriteSummary(path string) error {
	return writeFile(path, []byte(r.Summary()))
}

// Table renders the per-tutorial results as plain text for the terminal.
func (r *Result) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tTUTORIAL\tFEATURE\tPASSED\tFAILED\tSKIPPED\tTIME")
	for _, f := range r.Features {
		c := f.Counts()
		res := c.verdict()
		tut := f.Tutorial
		if tut == "" {
			tut = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", res, oneLine(tut), oneLine(f.Name),
			c.Passed, c.Failed+c.Errors, c.Skipped, round(f.Duration()))
	}
	c := r.Counts()
	res := "PASS"
	if !r.OK() {
		res = "FAIL"
	}
	fmt.Fprintf(tw, "%s\tTOTAL\t%d features\t%d\t%d\t%d\t%s\n", res, len(r.Features),
		c.Passed, c.Failed+c.Errors, c.Skipped, round(r.Duration))
	tw.Flush()
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			if !s.Failing() {
				continue
			}
			line := fmt.Sprintf("FAIL %s:%d %s", f.URI, s.Line, s.Name)
			if st := s.Culprit(); st != nil {
				line += " — " + strings.TrimSpace(st.Keyword+" "+st.Text)
				if e := sentences(st.Error); e != "" {
					line += ": " + e
				}
			}
			b.WriteString(oneLine(line) + "\n")
			for _, a := range r.articleText(s, 1) {
				b.WriteString("     " + strings.ReplaceAll(clean(a), "\n", "\n     ") + "\n")
			}
		}
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(clean(s)), " ")
}
