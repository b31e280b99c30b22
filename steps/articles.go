package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/features/tutorials"
	"github.com/miconform/miconform/internal/redact"
)

// Article steps read the tutorials from the run's article set (the embedded
// features/tutorials/*.md, or a docs writer's --articles copies), so that
// what runs and what is compared is the article's current text: a verbatim
// step runs a block as the article prints it; a quote step fails with "the
// article now says ..." when the article no longer says what a restated
// step sends or expects.
func registerArticles(sc *godog.ScenarioContext) {
	sc.Step(re(`^the article's (?:block|claim) "([^"]*)" says "([^"]*)"$`), articleSays)
	sc.Step(re(`^the article's (?:block|claim) "([^"]*)" says:$`), articleSaysDoc)
	sc.Step(re(`^the article's block "([^"]*)" does not say "([^"]*)"$`), articleBlockLacks)
	sc.Step(re(`^the VM runs the article's command "([^"]*)"$`), vmRunsArticleCommand)
	sc.Step(re(`^the command prints what the article's sample "([^"]*)" shows$`), commandPrintsArticleSample)
	sc.Step(re(`^the response body has what the article's sample "([^"]*)" shows$`), responseHasArticleSample)
	sc.Step(re(`^the admin (runs|tries) the article's statement "([^"]*)" on the database, with (\w+) as "([^"]*)"$`), adminRunsArticleStatement)
	sc.Step(re(`^the admin (runs|tries) the article's statement "([^"]*)" with the article's "([^"]*)" appended on the database, with (\w+) as "([^"]*)" and (\w+) as "([^"]*)"$`), adminRunsArticleStatementAppended)
	sc.Step(re(`^the VM runs the query the article's block "([^"]*)" sets as CommandText, with (<[A-Z-]+>) as "([^"]*)"$`), vmRunsArticleQuery)
}

// articleBlock is the block ref of the run's article set.
func articleBlock(ctx context.Context, ref string) (tutorials.Block, error) {
	set, err := tutorials.FromContext(ctx)
	if err != nil {
		return tutorials.Block{}, err
	}
	return set.Block(ref)
}

func articleSays(ctx context.Context, ref, text string) error {
	set, err := tutorials.FromContext(ctx)
	if err != nil {
		return err
	}
	return set.Quote(ref, text)
}

// articleBlockLacks holds while a block still lacks what a discrepancy
// scenario says it lacks (e.g. -ContentType); once the article adds it,
// the scenario fails, telling the docs writer the discrepancy is resolved.
func articleBlockLacks(ctx context.Context, ref, text string) error {
	b, err := articleBlock(ctx, ref)
	if err != nil {
		return err
	}
	if strings.Contains(b.Text, text) {
		return fmt.Errorf("the article now says:\n%s\n(%s), which has %q: the scenario expected the article without it", indent(b.Text), b.Where(), text)
	}
	return nil
}

func articleSaysDoc(ctx context.Context, ref string, doc *godog.DocString) error {
	return articleSays(ctx, ref, doc.Content)
}

// vmRunsArticleCommand runs a block as the article prints it: only its
// <PLACEHOLDERS> are filled in, and on a cloud other than the one the
// commands are written for, that cloud's host names replace the article's.
func vmRunsArticleCommand(ctx context.Context, ref string) error {
	b, err := articleBlock(ctx, ref)
	if err != nil {
		return err
	}
	if err := vmRunsCommand(ctx, &godog.DocString{Content: b.Text}); err != nil {
		return fmt.Errorf("%s: %w", b.Where(), err)
	}
	_, st := snippets(ctx)
	st.block = b
	return nil
}

// articleSample parses a sample output block as JSON, with the run's hosts.
func (s *scenario) articleSample(ctx context.Context, st *snippetState, ref string) (tutorials.Block, any, error) {
	b, err := articleBlock(ctx, ref)
	if err != nil {
		return b, nil, err
	}
	var want any
	if err := json.Unmarshal([]byte(s.rewrite(st, b.Text)), &want); err != nil {
		return b, nil, fmt.Errorf("the article's sample (%s) is not JSON: %v", b.Where(), err)
	}
	return b, want, nil
}

// compareWithSample is commandPrintsTutorial's comparison against an
// article's sample: on failure the error names the sample's block and
// shows it beside what came back.
func (s *scenario) compareWithSample(st *snippetState, b tutorials.Block, want, got any, what string) error {
	byRun := st.byRun
	st.byRun = nil
	var diffs []string
	seen := map[string]bool{}
	compareSample(s, want, got, "", byRun, seen, &diffs)
	for f := range byRun {
		if !seen[f] {
			diffs = append(diffs, fmt.Sprintf("%s: named as differing, but the article's sample has no such field", f))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	ran := ""
	if st.block.ID != "" {
		ran = fmt.Sprintf("\nit ran (%s):\n%s", st.block.Where(), indent(st.command))
	}
	return errors.New(redact.String(fmt.Sprintf("%s differs from the article's sample (%s):\n%s%s\nthe article's sample:\n%s\n%s:\n%.1500s",
		what, b.Where(), strings.Join(diffs, "\n"), ran, indent(b.Text), what, indent(show(got)))))
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

func commandPrintsArticleSample(ctx context.Context, ref string) error {
	s, st := snippets(ctx)
	got, err := st.outputJSON()
	if err != nil {
		return err
	}
	b, want, err := s.articleSample(ctx, st, ref)
	if err != nil {
		return err
	}
	what := "the command's output"
	if st.block.ID != "" {
		what = fmt.Sprintf("the output of %s", st.block.Ref())
	}
	return s.compareWithSample(st, b, want, got, what)
}

func responseHasArticleSample(ctx context.Context, ref string) error {
	s, st := snippets(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	var got any
	if err := json.Unmarshal([]byte(j.Raw), &got); err != nil {
		return err
	}
	b, want, err := s.articleSample(ctx, st, ref)
	if err != nil {
		return err
	}
	return s.compareWithSample(st, b, want, got, fmt.Sprintf("the answer to %s %s", s.last.Method, s.last.URL))
}

// articleStatement is a T-SQL block with the article's stand-in names
// (VMName, xxx) replaced, as a reader does, and nothing else changed.
func (s *scenario) articleStatement(ctx context.Context, ref string, subst ...string) (string, tutorials.Block, error) {
	b, err := articleBlock(ctx, ref)
	if err != nil {
		return "", b, err
	}
	text, err := substitute(s, b.Text, b.Where(), subst...)
	return text, b, err
}

// substitute replaces each word (a whole word, so VMName is not a part of
// a longer name) with its expanded value; a word the text lacks is an
// error naming where the text comes from.
func substitute(s *scenario, text, where string, subst ...string) (string, error) {
	for i := 0; i+1 < len(subst); i += 2 {
		w, err := s.expand(subst[i+1])
		if err != nil {
			return "", err
		}
		word := regexp.MustCompile(`\b` + regexp.QuoteMeta(subst[i]) + `\b`)
		if subst[i][0] == '<' {
			word = regexp.MustCompile(regexp.QuoteMeta(subst[i]))
		}
		if !word.MatchString(text) {
			return "", fmt.Errorf("the article now says %q (%s), which has no %s to replace", text, where, subst[i])
		}
		text = word.ReplaceAllLiteralString(text, w)
	}
	return text, nil
}

func adminRunsArticleStatement(ctx context.Context, mode, ref, word, value string) error {
	s := from(ctx)
	stmt, b, err := s.articleStatement(ctx, ref, word, value)
	if err != nil {
		return err
	}
	return s.adminStatement(ctx, mode, stmt, b.Where())
}

// adminRunsArticleStatementAppended is a block with the article's inline
// addition appended, as its note says ("append the CREATE USER statement
// with WITH OBJECT_ID='xxx'"); the addition is the claim's quote.
func adminRunsArticleStatementAppended(ctx context.Context, mode, ref, claim, w1, v1, w2, v2 string) error {
	s := from(ctx)
	set, err := tutorials.FromContext(ctx)
	if err != nil {
		return err
	}
	c, err := set.Claim(claim)
	if err != nil {
		return err
	}
	if c.Line == 0 {
		return fmt.Errorf("the article no longer says %q (%s)", c.Quote, c.Where())
	}
	b, err := articleBlock(ctx, ref)
	if err != nil {
		return err
	}
	where := b.Where() + " and " + c.Where()
	stmt, err := substitute(s, b.Text+" "+c.Quote, where, w1, v1, w2, v2)
	if err != nil {
		return err
	}
	return s.adminStatement(ctx, mode, stmt, where)
}

func (s *scenario) adminStatement(ctx context.Context, mode, stmt, where string) error {
	var err error
	if mode == "tries" {
		err = adminTries(ctx, stmt)
	} else {
		err = adminRuns(ctx, stmt)
	}
	if err != nil {
		return fmt.Errorf("%s ran %q: %w", where, redact.String(stmt), err)
	}
	return nil
}

var commandText = regexp.MustCompile(`\.CommandText\s*=\s*"([^"]*)"`)

// vmRunsArticleQuery runs the T-SQL the article's PowerShell sets as
// $SqlCmd.CommandText, with its <TABLE> filled in.
func vmRunsArticleQuery(ctx context.Context, ref, placeholder, value string) error {
	s := from(ctx)
	b, err := articleBlock(ctx, ref)
	if err != nil {
		return err
	}
	m := commandText.FindStringSubmatch(b.Text)
	if m == nil {
		return fmt.Errorf("the article now says:\n%s\n(%s), which sets no CommandText", indent(b.Text), b.Where())
	}
	q, err := substitute(s, m[1], b.Where(), placeholder, value)
	if err != nil {
		return err
	}
	if err := vmRuns(ctx, q); err != nil {
		return fmt.Errorf("%s ran %q: %w", b.Where(), q, err)
	}
	return nil
}
