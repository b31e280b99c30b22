package tutorials

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Table is the coverage summary for a terminal: one row per article, then
// every block and claim nothing checks, with the reason, then any binding
// tag that names nothing.
func (c *Coverage) Table() string {
	var b strings.Builder
	where := "the embedded articles (" + EmbeddedDir + ")"
	if c.Dir != "" {
		where = "the articles in " + c.Dir
	}
	fmt.Fprintf(&b, "Coverage of %s by %d scenario(s)", where, c.Scenarios)
	if c.Ran >= 0 && c.Ran < c.Scenarios {
		fmt.Fprintf(&b, ", %d of which ran in this run (the others were left out by --tags, paths or the target)", c.Ran)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "article\tblocks\tverbatim\trestated\tnot checked\t\tclaims\tholds\tdoc-discrepancy\tnot checked")
	row := func(name string, n Counts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\t%d\t%d\t%d\t%d\n", name, n.Blocks, n.Verbatim, n.Restated, n.BlocksNotChecked, n.Claims, n.Holds, n.DocDiscrepancy, n.ClaimsNotChecked)
	}
	for _, a := range c.Articles {
		row(a.Name, a.Counts())
	}
	row("total", c.Total())
	tw.Flush()
	if t := c.Total(); t.Failed > 0 {
		fmt.Fprintf(&b, "%d block(s) and claim(s) are bound only by scenarios that failed in this run.\n", t.Failed)
	}
	b.WriteString("\nNot checked, and why:\n")
	for _, a := range c.Articles {
		for _, bc := range a.Blocks {
			if bc.Status() == "" {
				fmt.Fprintf(&b, "  %s  block %s (%s:%d): %s\n", strings.Join(bc.Inventory, ","), bc.Block.Ref(), bc.Block.File, bc.Block.Line, bc.NotChecked())
			}
		}
		for _, cc := range a.Claims {
			if cc.Status() == "" {
				fmt.Fprintf(&b, "  %s  claim (%s): %s\n", cc.Claim.ID, cc.Claim.Kind, cc.NotChecked())
			}
		}
	}
	c.problems(&b, "")
	return b.String()
}

func (c *Coverage) problems(b *strings.Builder, bullet string) {
	if len(c.Problems) > 0 {
		fmt.Fprintf(b, "\nBinding tags that name nothing (fix the tag or the claims file):\n")
		for _, p := range c.Problems {
			fmt.Fprintf(b, "%s  %s\n", bullet, p)
		}
	}
	if len(c.Stale) > 0 {
		fmt.Fprintf(b, "\nClaims-file rows whose block the article no longer has:\n")
		for _, p := range c.Stale {
			fmt.Fprintf(b, "%s  %s\n", bullet, p)
		}
	}
}

// Listing is every block and claim with its status and the scenarios that
// bind it: what `runner coverage` prints.
func (c *Coverage) Listing() string {
	var b strings.Builder
	b.WriteString(c.Table())
	for _, a := range c.Articles {
		fmt.Fprintf(&b, "\n%s (%s)\n  %s\n  %s\n", a.Name, a.File, a.Title, a.Source)
		for _, bc := range a.Blocks {
			fmt.Fprintf(&b, "  block %-12s %s  line %d\n", strings.Join(bc.Inventory, ","), bc.Block.ID, bc.Block.Line)
			fmt.Fprintf(&b, "        %s\n", status(bc.Status(), bc.Uses, bc.NotChecked()))
		}
		for _, cc := range a.Claims {
			line := "gone from the article"
			if cc.Claim.Line > 0 {
				line = fmt.Sprintf("line %d", cc.Claim.Line)
			}
			fmt.Fprintf(&b, "  claim %-12s %s  (%s, %s)\n", cc.Claim.ID, cc.Claim.Text, cc.Claim.Kind, line)
			fmt.Fprintf(&b, "        %s\n", status(cc.Status(), cc.Uses, cc.NotChecked()))
		}
	}
	return b.String()
}

func status(s string, uses []Use, why string) string {
	if s == "" {
		return "not checked: " + why
	}
	return s + ": " + usesText(uses, " by ")
}

// usesText lists the scenarios that use a block or claim: how, sep, where,
// and the result when there is one, separated by "; ".
func usesText(uses []Use, sep string) string {
	by := make([]string, 0, len(uses))
	for _, u := range uses {
		r := u.How + sep + u.Where
		if u.Result != "" {
			r += " (" + u.Result + ")"
		}
		by = append(by, r)
	}
	return strings.Join(by, "; ")
}

// Markdown is the coverage for summary.md: the per-article table, and the
// lists of what is not checked (folded, they are long).
func (c *Coverage) Markdown() string {
	var b strings.Builder
	b.WriteString("## Coverage of the tutorials\n\n")
	if c.Dir != "" {
		fmt.Fprintf(&b, "Articles read from `%s` (`--articles`).\n\n", c.Dir)
	}
	fmt.Fprintf(&b, "Bound by %d scenario(s)", c.Scenarios)
	if c.Ran >= 0 && c.Ran < c.Scenarios {
		fmt.Fprintf(&b, ", %d of which ran in this run", c.Ran)
	}
	b.WriteString(".\n\n")
	b.WriteString("| article | blocks | verbatim | restated | not checked | claims | holds | doc-discrepancy | not checked |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	row := func(name string, n Counts) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", name, n.Blocks, n.Verbatim, n.Restated, n.BlocksNotChecked, n.Claims, n.Holds, n.DocDiscrepancy, n.ClaimsNotChecked)
	}
	for _, a := range c.Articles {
		row(fmt.Sprintf("[%s](%s)", a.Name, a.Source), a.Counts())
	}
	row("**total**", c.Total())
	for _, a := range c.Articles {
		var rows []string
		for _, bc := range a.Blocks {
			if bc.Status() == "" {
				rows = append(rows, fmt.Sprintf("| %s | block `%s` (%s:%d) | %s |", strings.Join(bc.Inventory, ", "), bc.Block.ID, bc.Block.File, bc.Block.Line, mdCell(bc.NotChecked())))
			}
		}
		for _, cc := range a.Claims {
			if cc.Status() == "" {
				rows = append(rows, fmt.Sprintf("| %s | claim: %s | %s |", cc.Claim.ID, mdCell(cc.Claim.Text), mdCell(cc.NotChecked())))
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s: %d not checked</summary>\n\n| id | what | why not checked |\n|---|---|---|\n%s\n\n</details>\n", a.Name, len(rows), strings.Join(rows, "\n"))
	}
	// Every block and claim, checked or not, so the summary lists every id.
	for _, a := range c.Articles {
		fmt.Fprintf(&b, "\n<details><summary>%s: every block and claim</summary>\n\n| id | block or claim | status | by |\n|---|---|---|---|\n", a.Name)
		for _, bc := range a.Blocks {
			st, by := mdStatus(bc.Status(), bc.Uses, bc.NotChecked())
			fmt.Fprintf(&b, "| %s | block `%s` (line %d) | %s | %s |\n", strings.Join(bc.Inventory, ", "), bc.Block.ID, bc.Block.Line, st, by)
		}
		for _, cc := range a.Claims {
			st, by := mdStatus(cc.Status(), cc.Uses, cc.NotChecked())
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cc.Claim.ID, mdCell(cc.Claim.Text), st, by)
		}
		b.WriteString("\n</details>\n")
	}
	var p strings.Builder
	c.problems(&p, "-")
	b.WriteString(p.String())
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

func mdStatus(s string, uses []Use, why string) (string, string) {
	if s == "" {
		return "not checked", mdCell(why)
	}
	return s, mdCell(usesText(uses, " "))
}
