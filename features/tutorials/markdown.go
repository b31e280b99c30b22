package tutorials

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Article is one tutorial text as the repository (or a docs writer's
// checkout) holds it.
type Article struct {
	// Name is the file name without ".md", e.g. "windows-vm-access".
	Name string
	// File is where it was read from: "features/tutorials/<name>.md" for the
	// embedded copy, the path under --articles DIR otherwise.
	File string
	// Title, Source, Retrieved and License come from the front matter.
	Title, Source, Retrieved, License string
	// Meta is the whole front matter.
	Meta map[string]string

	lines  []string
	blocks []Block
	// prose is the article's text normalised for finding quoted sentences
	// (markup and line breaks removed); proseLine maps each byte of prose
	// back to its 1-based line.
	prose     string
	proseLine []int
}

// requiredMeta are the front-matter keys every article must have: where it
// comes from and under which licence it is reproduced.
var requiredMeta = []string{"title", "source", "retrieved", "license"}

var (
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$`)
	fenceRE   = regexp.MustCompile("^( *)(```+|~~~+)[ \t]*([^`]*?)[ \t]*$")
)

// parseArticle reads the Markdown of one article. Block ids are derived
// from the text alone: the slugs of the enclosing headings (level 2 and
// below; the level-1 heading is the article's title), the block's
// language, and its ordinal among that language's blocks directly under
// that heading. The same id is therefore computed from any copy of the
// article, including an edited one.
func parseArticle(name, file string, src []byte) (*Article, error) {
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	a := &Article{Name: name, File: file, Meta: map[string]string{}}
	a.lines = strings.Split(text, "\n")
	start, err := a.frontMatter()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}

	type heading struct {
		level int
		slug  string
	}
	var stack []heading
	seenPath := map[string]int{}
	ordinal := map[string]int{}
	path := func() string {
		var p []string
		for _, h := range stack {
			if h.level >= 2 {
				p = append(p, h.slug)
			}
		}
		return strings.Join(p, "/")
	}
	var pb proseBuilder
	for i := start; i < len(a.lines); i++ {
		line := a.lines[i]
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			indent, fence, info := len(m[1]), m[2], m[3]
			lang := strings.ToLower(strings.Fields(info + " text")[0])
			var body []string
			j := i + 1
			for ; j < len(a.lines); j++ {
				t := strings.TrimLeft(a.lines[j], " ")
				if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]+" \t") == "" {
					break
				}
				body = append(body, trimIndent(a.lines[j], indent))
			}
			if j == len(a.lines) {
				return nil, fmt.Errorf("%s:%d: code fence %s is never closed", file, i+1, fence)
			}
			p := path()
			key := p + "/" + lang
			ordinal[key]++
			id := lang + "#" + strconv.Itoa(ordinal[key])
			if p != "" {
				id = p + "/" + id
			}
			b := Block{Article: name, ID: id, Lang: lang, Text: strings.Join(body, "\n"), File: file, Line: i + 2}
			a.blocks = append(a.blocks, b)
			for k, l := range body {
				pb.add(l, i+2+k)
			}
			pb.add("", j+1)
			i = j
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			level := len(m[1])
			if level == 1 && a.Title == "" {
				a.Title = plain(m[2])
			}
			for len(stack) > 0 && stack[len(stack)-1].level >= level {
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, heading{level, slug(m[2])})
			// A heading repeated under the same parent gets "-1", "-2",
			// as GitHub numbers repeated anchors.
			if p := path(); p != "" {
				if n := seenPath[p]; n > 0 {
					stack[len(stack)-1].slug += "-" + strconv.Itoa(n)
				}
				seenPath[p]++
			}
			pb.add("", i+1)
			pb.add(plain(m[2]), i+1)
			pb.add("", i+1)
			continue
		}
		pb.add(plain(line), i+1)
	}
	if a.Title == "" {
		return nil, fmt.Errorf("%s: no level-1 heading (the article's title)", file)
	}
	if a.Meta["title"] != a.Title {
		return nil, fmt.Errorf("%s: front matter title %q differs from the level-1 heading %q", file, a.Meta["title"], a.Title)
	}
	a.prose, a.proseLine = pb.String(), pb.lines
	return a, nil
}

// frontMatter reads the leading "---" block of "key: value" lines and
// returns the index of the first line after it.
func (a *Article) frontMatter() (int, error) {
	if len(a.lines) == 0 || strings.TrimSpace(a.lines[0]) != "---" {
		return 0, fmt.Errorf("no front matter: the article must start with a \"---\" block naming %s", strings.Join(requiredMeta, ", "))
	}
	for i := 1; i < len(a.lines); i++ {
		l := a.lines[i]
		if strings.TrimSpace(l) == "---" {
			for _, k := range requiredMeta {
				if a.Meta[k] == "" {
					return 0, fmt.Errorf("front matter lacks %q", k)
				}
			}
			a.Source, a.Retrieved, a.License = a.Meta["source"], a.Meta["retrieved"], a.Meta["license"]
			return i + 1, nil
		}
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return 0, fmt.Errorf("line %d: front matter wants \"key: value\", got %q", i+1, l)
		}
		a.Meta[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return 0, fmt.Errorf("front matter is never closed with \"---\"")
}

// trimIndent removes up to n leading spaces: a fence indented inside a list
// item has its content indented as much.
func trimIndent(s string, n int) string {
	i := 0
	for i < n && i < len(s) && s[i] == ' ' {
		i++
	}
	return s[i:]
}

// slug is a heading's anchor: lower case, letters, digits, '_' and '-'
// kept, spaces turned into '-', everything else dropped.
func slug(h string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(plain(h)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\t':
			dash = true
		}
	}
	return b.String()
}

var (
	linkRE  = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	markRE  = regexp.MustCompile("\\*|__|`")
	listRE  = regexp.MustCompile(`^\s*(?:[-*+]|\d+[.)])\s+`)
	quoteRE = regexp.MustCompile(`^\s*(?:>\s?)+`)
)

// plain is a line of Markdown as a reader sees it: links reduced to their
// text, emphasis and code marks, list and quote markers dropped.
func plain(s string) string {
	s = quoteRE.ReplaceAllString(s, "")
	s = listRE.ReplaceAllString(s, "")
	s = linkRE.ReplaceAllString(s, "$1")
	s = markRE.ReplaceAllString(s, "")
	return s
}

// norm collapses runs of white space into one space, and typographic
// quotes and apostrophes into ASCII ones, so a quote matches text however
// it is wrapped or typeset.
func norm(s string) string {
	s = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u201c", `"`, "\u201d", `"`, "\u00a0", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// proseBuilder joins the article's lines into one normalised string,
// remembering which line each byte came from.
type proseBuilder struct {
	b     strings.Builder
	lines []int
}

func (p *proseBuilder) add(s string, line int) {
	s = norm(s)
	if s == "" {
		// A paragraph break: kept as a marker so a quote never spans two.
		if p.b.Len() > 0 && !strings.HasSuffix(p.b.String(), "\n") {
			p.b.WriteByte('\n')
			p.lines = append(p.lines, line)
		}
		return
	}
	if p.b.Len() > 0 && !strings.HasSuffix(p.b.String(), "\n") {
		p.b.WriteByte(' ')
		p.lines = append(p.lines, line)
	}
	p.b.WriteString(s)
	for range len(s) {
		p.lines = append(p.lines, line)
	}
}

func (p *proseBuilder) String() string { return p.b.String() }

// find returns the 1-based line where quote starts in the article and the
// paragraph around it, or 0 if the article does not say it.
func (a *Article) find(quote string) (int, string) {
	q := norm(plain(quote))
	if q == "" {
		return 0, ""
	}
	i := strings.Index(a.prose, q)
	if i < 0 {
		// A quote from a link's target or other markup a reader does not
		// see: look for it in the lines as written.
		raw := norm(quote)
		for n, l := range a.lines {
			if strings.Contains(norm(l), raw) {
				return n + 1, norm(l)
			}
		}
		return 0, ""
	}
	start := strings.LastIndexByte(a.prose[:i], '\n') + 1
	end := strings.IndexByte(a.prose[i:], '\n')
	if end < 0 {
		end = len(a.prose)
	} else {
		end += i
	}
	return a.proseLine[i], a.prose[start:end]
}
