package tutorials

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"
)

// Bound is one scenario (or one example row of an outline) and the
// binding tags it carries, its feature's included.
type Bound struct {
	// File and Line locate the scenario, or the example row.
	File     string
	Line     int
	Scenario string
	// Tags are all the scenario's tags; Bindings the binding tags among
	// them.
	Tags     []string
	Bindings []Binding
	// TagLine is where each binding tag is written, for error messages.
	TagLine map[string]int
}

// Where is "file:line".
func (b Bound) Where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

// ScanFeatures reads the scenarios of the feature files under paths
// (files or directories) without running them.
func ScanFeatures(paths ...string) ([]Bound, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".feature") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	var out []Bound
	for _, f := range files {
		b, err := scanFeature(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func scanFeature(file string) ([]Bound, error) {
	r, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	doc, err := gherkin.ParseGherkinDocument(r, (&messages.Incrementing{}).NewId)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Feature == nil {
		return nil, nil
	}
	var out []Bound
	type tagged struct {
		name string
		line int
	}
	tagsOf := func(ts []*messages.Tag) []tagged {
		var o []tagged
		for _, t := range ts {
			o = append(o, tagged{t.Name, int(t.Location.Line)})
		}
		return o
	}
	add := func(sc *messages.Scenario, inherited []tagged) {
		own := append(slices.Clone(inherited), tagsOf(sc.Tags)...)
		rows := []struct {
			line int
			tags []tagged
		}{}
		if len(sc.Examples) == 0 {
			rows = append(rows, struct {
				line int
				tags []tagged
			}{int(sc.Location.Line), own})
		}
		for _, ex := range sc.Examples {
			et := append(slices.Clone(own), tagsOf(ex.Tags)...)
			for _, row := range ex.TableBody {
				rows = append(rows, struct {
					line int
					tags []tagged
				}{int(row.Location.Line), et})
			}
		}
		for _, row := range rows {
			b := Bound{File: file, Line: row.line, Scenario: sc.Name, TagLine: map[string]int{}}
			for _, t := range row.tags {
				b.Tags = append(b.Tags, t.name)
				bd, ok, err := ParseTag(t.name)
				if !ok {
					continue
				}
				if err != nil {
					// Kept as a binding with no How, so Cover reports it.
					bd = Binding{Ref: t.name}
				}
				b.Bindings = append(b.Bindings, bd)
				b.TagLine[t.name] = t.line
			}
			out = append(out, b)
		}
	}
	ft := tagsOf(doc.Feature.Tags)
	for _, ch := range doc.Feature.Children {
		switch {
		case ch.Scenario != nil:
			add(ch.Scenario, ft)
		case ch.Rule != nil:
			rt := append(slices.Clone(ft), tagsOf(ch.Rule.Tags)...)
			for _, rc := range ch.Rule.Children {
				if rc.Scenario != nil {
					add(rc.Scenario, rt)
				}
			}
		}
	}
	return out, nil
}

// Coverage is how the scenarios cover the articles' blocks and claims.
type Coverage struct {
	Articles []*ArticleCoverage
	// Problems are binding tags that name no block or claim, or are
	// malformed, with the tag's file:line; a run with problems is not
	// trustworthy coverage.
	Problems []string
	// Stale are claims-file rows naming blocks the articles no longer have.
	Stale []string
	// Dir is the --articles directory, "" for the embedded articles.
	Dir   string
	bound []Bound
	// Scenarios is how many scenarios were read; Ran how many of them
	// ran, once Record has been called (-1 before).
	Scenarios, Ran int
}

// ArticleCoverage is one article's coverage.
type ArticleCoverage struct {
	Name, File, Title, Source string
	Blocks                    []*BlockCoverage
	Claims                    []*ClaimCoverage
}

// Scenario states after a run.
const (
	RunPassed  = "passed"
	RunFailed  = "failed"
	RunSkipped = "skipped"
)

// Use is one scenario binding a block or claim.
type Use struct {
	// How is Verbatim, Restated, Holds or DocDiscrepancy.
	How string
	// Where is the scenario's file:line, Scenario its name.
	Where, Scenario string
	// Result is the scenario's outcome after a run ("" before one).
	Result string
}

// BlockCoverage is one block and the scenarios binding it.
type BlockCoverage struct {
	Block     Block
	Inventory []string
	Uses      []Use
	// Reason is the claims file's "if not checked".
	Reason string
}

// ClaimCoverage is one claim and the scenarios binding it.
type ClaimCoverage struct {
	Claim Claim
	Uses  []Use
}

// Status is the strongest way the block is checked: Verbatim, then
// Restated, "" when no scenario binds it.
func (b *BlockCoverage) Status() string { return strongest(b.Uses, Verbatim, Restated) }

// Status is DocDiscrepancy when a scenario shows Azure differs from the
// claim, else Holds when one shows it holds, "" when none binds it.
func (c *ClaimCoverage) Status() string { return strongest(c.Uses, DocDiscrepancy, Holds) }

func strongest(uses []Use, order ...string) string {
	for _, h := range order {
		for _, u := range uses {
			if u.How == h {
				return h
			}
		}
	}
	return ""
}

// NotChecked is why nothing checks the block: the claims file's reason, or
// that no scenario binds it.
func (b *BlockCoverage) NotChecked() string {
	if b.Reason != "" {
		return b.Reason
	}
	return "no scenario binds it yet"
}

// NotChecked is why nothing checks the claim.
func (c *ClaimCoverage) NotChecked() string {
	if c.Claim.Reason != "" {
		return c.Claim.Reason
	}
	return "no scenario binds it yet"
}

// Cover matches the scenarios' binding tags with the set's blocks and
// claims.
func Cover(set *Set, scenarios []Bound) *Coverage {
	c := &Coverage{Dir: set.Dir, Stale: set.Stale(), Scenarios: len(scenarios), Ran: -1}
	c.bound = scenarios
	blocks := map[string]*BlockCoverage{}
	claims := map[string]*ClaimCoverage{}
	for _, a := range set.Articles() {
		ac := &ArticleCoverage{Name: a.Name, File: a.File, Title: a.Title, Source: a.Source}
		for _, b := range a.blocks {
			info := set.Info(b.Ref())
			bc := &BlockCoverage{Block: b, Inventory: info.Inventory, Reason: info.Reason}
			ac.Blocks = append(ac.Blocks, bc)
			blocks[b.Ref()] = bc
		}
		c.Articles = append(c.Articles, ac)
	}
	for _, cl := range set.Claims() {
		cc := &ClaimCoverage{Claim: cl}
		claims[cl.ID] = cc
		for _, ac := range c.Articles {
			if ac.Name == cl.Article {
				ac.Claims = append(ac.Claims, cc)
			}
		}
	}
	for _, s := range scenarios {
		seen := map[string]bool{}
		for _, bd := range s.Bindings {
			tagAt := fmt.Sprintf("%s:%d", s.File, s.TagLine[bd.Tag()])
			if bd.How == "" {
				_, _, err := ParseTag(bd.Ref)
				c.Problems = append(c.Problems, fmt.Sprintf("%s:%d: %v", s.File, s.TagLine[bd.Ref], err))
				continue
			}
			u := Use{How: bd.How, Where: s.Where(), Scenario: s.Scenario}
			if bd.IsBlock() {
				b, err := set.Block(bd.Ref)
				if err != nil {
					c.Problems = append(c.Problems, fmt.Sprintf("%s: %s: %v", tagAt, bd.Tag(), err))
					continue
				}
				if key := bd.How + b.Ref(); !seen[key] {
					seen[key] = true
					blocks[b.Ref()].Uses = append(blocks[b.Ref()].Uses, u)
				}
				continue
			}
			cl, err := set.Claim(bd.Ref)
			if err != nil {
				c.Problems = append(c.Problems, fmt.Sprintf("%s: %s: %v", tagAt, bd.Tag(), err))
				continue
			}
			if key := bd.How + cl.ID; !seen[key] {
				seen[key] = true
				claims[cl.ID].Uses = append(claims[cl.ID].Uses, u)
			}
		}
	}
	sort.Strings(c.Problems)
	c.Problems = slices.Compact(c.Problems)
	return c
}

// Record sets each use's Result from a run: result(file, line) is the
// outcome of the scenario at file:line ("" if it did not run).
func (c *Coverage) Record(result func(file string, line int) string) {
	c.Ran = 0
	for _, b := range c.bound {
		if result(b.File, b.Line) != "" {
			c.Ran++
		}
	}
	set := func(uses []Use) {
		for i := range uses {
			file, line, _ := cutLine(uses[i].Where)
			uses[i].Result = result(file, line)
		}
	}
	for _, a := range c.Articles {
		for _, b := range a.Blocks {
			set(b.Uses)
		}
		for _, cl := range a.Claims {
			set(cl.Uses)
		}
	}
}

func cutLine(where string) (string, int, bool) {
	i := strings.LastIndexByte(where, ':')
	if i < 0 {
		return where, 0, false
	}
	var n int
	_, err := fmt.Sscanf(where[i+1:], "%d", &n)
	return where[:i], n, err == nil
}

// Counts are one article's (or all articles') numbers.
type Counts struct {
	Blocks, Verbatim, Restated, BlocksNotChecked    int
	Claims, Holds, DocDiscrepancy, ClaimsNotChecked int
	// NotCheckable counts claims the claims file marks not checkable
	// (they are among ClaimsNotChecked unless a scenario binds them anyway).
	NotCheckable int
	// Failed counts blocks and claims bound only by scenarios that failed
	// in the run.
	Failed int
}

// Counts tallies the article.
func (a *ArticleCoverage) Counts() Counts {
	var n Counts
	for _, b := range a.Blocks {
		n.Blocks++
		switch b.Status() {
		case Verbatim:
			n.Verbatim++
		case Restated:
			n.Restated++
		default:
			n.BlocksNotChecked++
		}
		if allFailed(b.Uses) {
			n.Failed++
		}
	}
	for _, cl := range a.Claims {
		n.Claims++
		if cl.Claim.Kind == NotCheckable {
			n.NotCheckable++
		}
		switch cl.Status() {
		case DocDiscrepancy:
			n.DocDiscrepancy++
		case Holds:
			n.Holds++
		default:
			n.ClaimsNotChecked++
		}
		if allFailed(cl.Uses) {
			n.Failed++
		}
	}
	return n
}

func allFailed(uses []Use) bool {
	if len(uses) == 0 {
		return false
	}
	for _, u := range uses {
		if u.Result != RunFailed {
			return false
		}
	}
	return true
}

// Total tallies every article.
func (c *Coverage) Total() Counts {
	var t Counts
	for _, a := range c.Articles {
		n := a.Counts()
		t.Blocks += n.Blocks
		t.Verbatim += n.Verbatim
		t.Restated += n.Restated
		t.BlocksNotChecked += n.BlocksNotChecked
		t.Claims += n.Claims
		t.Holds += n.Holds
		t.DocDiscrepancy += n.DocDiscrepancy
		t.ClaimsNotChecked += n.ClaimsNotChecked
		t.NotCheckable += n.NotCheckable
		t.Failed += n.Failed
	}
	return t
}

// Properties are the coverage as JUnit properties: per article and in
// total, e.g. "coverage.windows-vm-access.blocks.verbatim" = "7".
func (c *Coverage) Properties() map[string]string {
	p := map[string]string{}
	put := func(prefix string, n Counts) {
		p[prefix+".blocks"] = fmt.Sprint(n.Blocks)
		p[prefix+".blocks.verbatim"] = fmt.Sprint(n.Verbatim)
		p[prefix+".blocks.restated"] = fmt.Sprint(n.Restated)
		p[prefix+".blocks.not-checked"] = fmt.Sprint(n.BlocksNotChecked)
		p[prefix+".claims"] = fmt.Sprint(n.Claims)
		p[prefix+".claims.holds"] = fmt.Sprint(n.Holds)
		p[prefix+".claims.doc-discrepancy"] = fmt.Sprint(n.DocDiscrepancy)
		p[prefix+".claims.not-checked"] = fmt.Sprint(n.ClaimsNotChecked)
	}
	for _, a := range c.Articles {
		put("coverage."+a.Name, a.Counts())
	}
	put("coverage", c.Total())
	if c.Dir != "" {
		p["articles"] = c.Dir
	}
	if len(c.Problems) > 0 {
		p["coverage.problems"] = strings.Join(c.Problems, "; ")
	}
	return p
}
