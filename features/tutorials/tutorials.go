// Package tutorials holds the Microsoft tutorials miconform tests, as
// Markdown articles (features/tutorials/*.md), and gives the scenarios
// their code blocks and claims by stable id.
//
// A block's id is derived from the article itself (see Block), so a docs
// writer's edited copy of an article, read with Load(dir) (the runner's
// --articles DIR), yields the same ids with the new text: a verbatim step
// then runs what the article says now, and Quote tells a restated step
// when the article no longer says what the scenario quotes.
//
// Prose claims are listed, with the inventory's ids, in one claims file per
// article (<article>.claims.md; format in claims.go). The coverage report
// (Cover) reads the scenarios' binding tags (ParseTag) against both.
package tutorials

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

//go:embed *.md
var embedded embed.FS

// Names are the articles' file names without ".md", in the order of the
// tutorial texts they reconstruct (000..004).
var Names = []string{
	"rm-msi-2017",                    // 000: the 2017 tutorial as published
	"windows-vm-access",              // 001: the current tutorial set (docs.azure.cn copy)
	"rm-msi-2017-source",             // 002: the Markdown source of 000
	"signin-vm-identity",             // 003: sign in with the VM's identity
	"how-managed-identities-work-vm", // 004: the concepts unit
}

// EmbeddedDir is where the embedded articles live in the repository; the
// File of an embedded block or claim is under it.
const EmbeddedDir = "features/tutorials"

// Block is one fenced code block (a command, a program, a sample output) of
// an article.
type Block struct {
	// Article is the article's name, e.g. "windows-vm-access".
	Article string
	// ID is the slugs of the enclosing headings (level 2 and below) joined
	// by "/", then "/", the language, "#" and the ordinal of that
	// language's blocks directly under that heading:
	// "get-an-access-token/bash#1".
	ID string
	// Lang is the fence's language ("text" when it names none).
	Lang string
	// Text is the block's content, without the fences and the indentation
	// of the fence, and without a final newline.
	Text string
	// File and Line locate the block's first line.
	File string
	Line int
}

// Ref is the block's reference, "article:ID", as binding tags and Set.Block
// use it.
func (b Block) Ref() string { return b.Article + ":" + b.ID }

// Where is "ID, file:line", for messages a docs writer can act on.
func (b Block) Where() string { return fmt.Sprintf("%s, %s:%d", b.Ref(), b.File, b.Line) }

// Claim is one checkable (or deliberately unchecked) statement of an
// article's prose.
type Claim struct {
	// Article is the article's name.
	Article string
	// ID is the inventory's id, e.g. "001-SAS-12".
	ID string
	// Text is the claim as the claims file states it; Quote is the
	// article's own words it rests on.
	Text, Quote string
	// File and Line locate the quote in the article; Line is 0 when the
	// loaded article no longer contains it.
	File string
	Line int
	// Kind is Checkable or NotCheckable.
	Kind string
	// Reason says why no scenario checks the claim (empty if one should).
	Reason string
	// Paragraph is the article's paragraph around the quote, as a reader
	// sees it ("" when the quote is gone).
	Paragraph string
}

// Ref is the claim's reference: its id.
func (c Claim) Ref() string { return c.ID }

// Where is "ID, file:line", for messages a docs writer can act on.
func (c Claim) Where() string {
	if c.Line == 0 {
		return fmt.Sprintf("%s, %s", c.ID, c.File)
	}
	return fmt.Sprintf("%s, %s:%d", c.ID, c.File, c.Line)
}

// BlockInfo is what the claims file says about a block: its inventory id
// and why no scenario checks it.
type BlockInfo struct {
	// Inventory are the inventory's ids for the block (two when the
	// inventory counts the lines of one block separately).
	Inventory []string
	Reason    string
}

// Set is the five articles and their claims, as one run reads them.
type Set struct {
	// Dir is the --articles directory, "" for the embedded copies.
	Dir      string
	articles []*Article
	blocks   map[string]Block // by Ref
	order    []string
	claims   map[string]Claim // by ID
	corder   []string
	info     map[string]BlockInfo // by block Ref
	// invBlocks maps an inventory block id (001-SAS-CB1) to a block Ref.
	invBlocks map[string]string
	// stale lists claims-file block ids the article no longer has.
	stale []string
}

// Load reads the articles. dir == "" reads the copies embedded in the
// binary (features/tutorials); otherwise <dir>/<article>.md for every name
// in Names, and <dir>/<article>.claims.md where present (the embedded
// claims file otherwise). A missing or unparsable article is an error
// naming its file.
func Load(dir string) (*Set, error) {
	s := &Set{Dir: dir, blocks: map[string]Block{}, claims: map[string]Claim{}, info: map[string]BlockInfo{}, invBlocks: map[string]string{}}
	for _, name := range Names {
		var src []byte
		var file string
		var err error
		if dir == "" {
			file = EmbeddedDir + "/" + name + ".md"
			src, err = fs.ReadFile(embedded, name+".md")
		} else {
			file = filepath.Join(dir, name+".md")
			src, err = os.ReadFile(file)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("article %s: %s does not exist (want one file per article: %s)", name, file, strings.Join(fileNames(), ", "))
			}
			return nil, fmt.Errorf("article %s: %w", name, err)
		}
		a, err := parseArticle(name, file, src)
		if err != nil {
			return nil, fmt.Errorf("article %s is not usable: %w", name, err)
		}
		s.articles = append(s.articles, a)
		for _, b := range a.blocks {
			s.blocks[b.Ref()] = b
			s.order = append(s.order, b.Ref())
		}
		cf, err := loadClaims(dir, name)
		if err != nil {
			return nil, err
		}
		for _, e := range cf.blocks {
			ref := name + ":" + e.id
			if _, ok := s.blocks[ref]; !ok {
				s.stale = append(s.stale, fmt.Sprintf("%s:%d: block %s (%s) is not in %s", cf.file, e.line, e.id, e.inventory, file))
			}
			for _, inv := range e.inventory {
				if prev, ok := s.invBlocks[inv]; ok {
					return nil, fmt.Errorf("%s:%d: inventory id %s names %s and %s", cf.file, e.line, inv, prev, ref)
				}
				s.invBlocks[inv] = ref
			}
			if _, dup := s.info[ref]; dup {
				return nil, fmt.Errorf("%s:%d: block %s has two rows", cf.file, e.line, e.id)
			}
			s.info[ref] = BlockInfo{Inventory: e.inventory, Reason: e.reason}
		}
		for _, e := range cf.claims {
			if _, dup := s.claims[e.id]; dup {
				return nil, fmt.Errorf("%s:%d: claim %s is listed twice", cf.file, e.line, e.id)
			}
			line, para := a.find(e.quote)
			s.claims[e.id] = Claim{Article: name, ID: e.id, Text: e.text, Quote: e.quote, File: file, Line: line, Kind: e.kind, Reason: e.reason, Paragraph: para}
			s.corder = append(s.corder, e.id)
		}
	}
	return s, nil
}

func fileNames() []string {
	var n []string
	for _, name := range Names {
		n = append(n, name+".md")
	}
	return n
}

func loadClaims(dir, name string) (*claimsFile, error) {
	base := name + ".claims.md"
	if dir != "" {
		file := filepath.Join(dir, base)
		src, err := os.ReadFile(file)
		if err == nil {
			return parseClaims(file, src)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	src, err := fs.ReadFile(embedded, base)
	if err != nil {
		return nil, fmt.Errorf("claims of %s: %w", name, err)
	}
	return parseClaims(EmbeddedDir+"/"+base, src)
}

var (
	embeddedOnce sync.Once
	embeddedSet  *Set
	embeddedErr  error
)

// Embedded is the set of the articles embedded in the binary, read once.
func Embedded() (*Set, error) {
	embeddedOnce.Do(func() { embeddedSet, embeddedErr = Load("") })
	return embeddedSet, embeddedErr
}

// Articles are the articles in the order of Names.
func (s *Set) Articles() []*Article { return s.articles }

// Article returns the article of that name, or nil.
func (s *Set) Article(name string) *Article {
	for _, a := range s.articles {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Blocks are every block of every article, in article order.
func (s *Set) Blocks() []Block {
	out := make([]Block, 0, len(s.order))
	for _, r := range s.order {
		out = append(out, s.blocks[r])
	}
	return out
}

// Claims are every claim of every article, in claims-file order.
func (s *Set) Claims() []Claim {
	out := make([]Claim, 0, len(s.corder))
	for _, id := range s.corder {
		out = append(out, s.claims[id])
	}
	return out
}

// Info is what the claims file says about the block ref (zero if nothing).
func (s *Set) Info(ref string) BlockInfo { return s.info[ref] }

// Stale lists the claims files' block rows that name a block the articles
// do not have (an edited article's headings or blocks moved).
func (s *Set) Stale() []string { return s.stale }

// Block returns the block "article:ID". The id may be shortened to its
// trailing part, from any heading of its path on, when no other block of
// the article ends the same way ("windows-vm-access:get-an-access-token/bash#1"
// for ".../use-a-windows-vm-...-resource-manager/get-an-access-token/bash#1");
// an inventory id ("001-SAS-CB1") is accepted too. An unknown ref is an error listing the article's blocks
// with the same heading path or language, to help a mistyped tag.
func (s *Set) Block(ref string) (Block, error) {
	if r, ok := s.invBlocks[ref]; ok {
		ref = r
	}
	if b, ok := s.blocks[ref]; ok {
		return b, nil
	}
	name, id, ok := strings.Cut(ref, ":")
	a := s.Article(name)
	if !ok || a == nil {
		return Block{}, fmt.Errorf("no block %q: want \"article:block-id\" with article one of %s", ref, strings.Join(Names, ", "))
	}
	// The trailing part of an id, from a heading on, is enough when only
	// one block's id ends with it.
	var ends []Block
	for _, b := range a.blocks {
		if strings.HasSuffix(b.ID, "/"+id) {
			ends = append(ends, b)
		}
	}
	if len(ends) == 1 {
		return ends[0], nil
	}
	if len(ends) > 1 {
		var ids []string
		for _, b := range ends {
			ids = append(ids, b.ID)
		}
		return Block{}, fmt.Errorf("%s: %q ends %d block ids (%s); give more of the heading path", a.File, id, len(ends), strings.Join(ids, ", "))
	}
	var near []string
	prefix := id
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		prefix = id[:i+1]
	}
	for _, b := range a.blocks {
		if strings.HasPrefix(b.ID, prefix) {
			near = append(near, b.ID)
		}
	}
	if len(near) == 0 {
		for _, b := range a.blocks {
			near = append(near, b.ID)
		}
	}
	return Block{}, fmt.Errorf("%s has no block %q; it has: %s", a.File, id, strings.Join(near, ", "))
}

// Claim returns the claim of that id ("001-SAS-12", or "article:001-SAS-12").
func (s *Set) Claim(ref string) (Claim, error) {
	id := ref
	if _, after, ok := strings.Cut(ref, ":"); ok {
		id = after
	}
	if c, ok := s.claims[id]; ok {
		return c, nil
	}
	return Claim{}, fmt.Errorf("no claim %q in the claims files (%s/<article>.claims.md)", ref, EmbeddedDir)
}

// Quote checks that what a scenario quotes from the article is still what
// the article says: nil if the block's text, or the paragraph of the
// claim's quote, contains text (white space and typographic quotes
// normalised for prose; exact for code). Otherwise the error reads "the
// article now says ... (id, file:line)", so that a docs writer sees the
// current text beside what the scenario expected.
func (s *Set) Quote(ref, text string) error {
	if b, err := s.Block(ref); err == nil {
		if strings.Contains(b.Text, text) || strings.Contains(norm(b.Text), norm(text)) {
			return nil
		}
		return &DriftError{Ref: b.Ref(), Where: b.Where(), Expected: text, Now: excerpt(b.Text, text)}
	}
	c, err := s.Claim(ref)
	if err != nil {
		return fmt.Errorf("quote %q: %q is neither a block nor a claim: %w", text, ref, err)
	}
	if c.Line == 0 {
		return &DriftError{Ref: c.ID, Where: c.Where(), Expected: text, Gone: c.Quote}
	}
	if strings.Contains(c.Paragraph, norm(plain(text))) {
		return nil
	}
	return &DriftError{Ref: c.ID, Where: c.Where(), Expected: text, Now: c.Paragraph}
}

// DriftError is a scenario's quote the article no longer contains.
type DriftError struct {
	// Ref is the block or claim; Where is "id, file:line".
	Ref, Where string
	// Expected is what the scenario quotes; Now is the article's current
	// text there (a block, or the claim's paragraph).
	Expected, Now string
	// Gone is a claim's quote the article no longer contains at all.
	Gone string
}

func (e *DriftError) Error() string {
	if e.Gone != "" {
		return fmt.Sprintf("the article no longer says %q (%s); the scenario expected %q", e.Gone, e.Where, e.Expected)
	}
	if strings.Contains(e.Now, "\n") {
		return fmt.Sprintf("the article now says:\n%s\n(%s); the scenario expected %q", indent(e.Now), e.Where, e.Expected)
	}
	return fmt.Sprintf("the article now says %q (%s); the scenario expected %q", e.Now, e.Where, e.Expected)
}

// maxLines is how much of a long block a drift message shows.
const maxLines = 12

// excerpt is the block's text, or for a long block the lines around the
// first line that shares a word with want, whole lines only.
func excerpt(text, want string) string {
	lines := strings.Split(text, "\n")
	if len(lines) <= maxLines {
		return text
	}
	at := 0
	for _, w := range strings.Fields(want) {
		found := false
		for i, l := range lines {
			if len(w) > 3 && strings.Contains(l, w) {
				at, found = i, true
				break
			}
		}
		if found {
			break
		}
	}
	from := max(0, at-maxLines/2)
	to := min(len(lines), from+maxLines)
	out := strings.Join(lines[from:to], "\n")
	if from > 0 {
		out = fmt.Sprintf("[... %d line(s) before]\n", from) + out
	}
	if to < len(lines) {
		out += fmt.Sprintf("\n[... %d line(s) after]", len(lines)-to)
	}
	return out
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

type ctxKey struct{}

// NewContext returns ctx carrying set: the suite puts the run's articles
// (embedded, or --articles DIR) in every scenario's context this way.
func NewContext(ctx context.Context, set *Set) context.Context {
	return context.WithValue(ctx, ctxKey{}, set)
}

// FromContext is the run's article set; the embedded one when the context
// carries none (a step run outside the runner, e.g. in a unit test).
func FromContext(ctx context.Context) (*Set, error) {
	if s, ok := ctx.Value(ctxKey{}).(*Set); ok && s != nil {
		return s, nil
	}
	return Embedded()
}

// CopyTo writes the embedded articles and their claims files into dir
// (created if need be): a starting point for a docs writer's edits, and
// for tests that edit an article.
func CopyTo(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(embedded, e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
