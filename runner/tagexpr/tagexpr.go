// Package tagexpr parses Cucumber tag expressions ("@a and not (@b or @c)",
// https://cucumber.io/docs/cucumber/api/#tag-expressions) and godog's own
// older syntax ("@a && ~@b,@c"), and translates either into the syntax
// godog v0.15 evaluates.
//
// godog v0.15.1 understands only a conjunction of disjunctions: "&&"
// between groups, "," inside one, "~" for not (internal/tags/tag_filter.go).
// Given "@a and not @b" it looks for a tag named "a and not b" and
// silently matches nothing; given "@a,,@b" it panics. So every expression
// is parsed here, errors name the expression and the position, and the
// result is handed to godog in conjunctive normal form (Godog).
package tagexpr

import (
	"fmt"
	"slices"
	"strings"
)

// Expr is a parsed tag expression.
type Expr interface {
	// Eval reports whether a scenario with these tags (each with its "@")
	// matches.
	Eval(tags []string) bool
	String() string
}

type tag string
type not struct{ x Expr }
type and struct{ l, r Expr }
type or struct{ l, r Expr }

func (t tag) Eval(tags []string) bool { return slices.Contains(tags, string(t)) }
func (n not) Eval(tags []string) bool { return !n.x.Eval(tags) }
func (a and) Eval(tags []string) bool { return a.l.Eval(tags) && a.r.Eval(tags) }
func (o or) Eval(tags []string) bool  { return o.l.Eval(tags) || o.r.Eval(tags) }

func (t tag) String() string { return string(t) }
func (n not) String() string { return "not " + paren(n.x) }
func (a and) String() string { return paren(a.l) + " and " + paren(a.r) }
func (o or) String() string  { return paren(o.l) + " or " + paren(o.r) }

func paren(e Expr) string {
	if _, ok := e.(tag); ok {
		return e.String()
	}
	if _, ok := e.(not); ok {
		return e.String()
	}
	return "(" + e.String() + ")"
}

// Tags lists the tags an expression names, in order of first appearance.
func Tags(e Expr) []string {
	var out []string
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case tag:
			if !slices.Contains(out, string(x)) {
				out = append(out, string(x))
			}
		case not:
			walk(x.x)
		case and:
			walk(x.l)
			walk(x.r)
		case or:
			walk(x.l)
			walk(x.r)
		}
	}
	walk(e)
	return out
}

// Error is a syntax error in a tag expression.
type Error struct {
	Expr string
	Pos  int // byte offset in Expr
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("tag expression %q: %s at position %d\n  %s\n  %s^", e.Expr, e.Msg, e.Pos+1, e.Expr, strings.Repeat(" ", e.Pos))
}

// Parse parses a tag expression: Cucumber's syntax ("and", "or", "not",
// parentheses; "not" binds tightest, then "and", then "or"), or godog's
// older one when the expression uses "&&", "," or "~". An empty or blank
// expression is nil (everything matches).
func Parse(s string) (Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if strings.ContainsAny(s, ",~") || strings.Contains(s, "&&") {
		return parseLegacy(s)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &Error{s, t.pos, fmt.Sprintf("unexpected %q (an operator, \"and\" or \"or\", is missing before it, or a \"(\" before a \")\")", t.text)}
	}
	return e, nil
}

// checkTag refuses what Gherkin would not take for a tag: "@" and at
// least one character. Tags written without "@" are a common slip that
// would otherwise match nothing.
func checkTag(src string, pos int, t string) error {
	if !strings.HasPrefix(t, "@") {
		return &Error{src, pos, fmt.Sprintf("%q is not a tag (tags start with @)", t)}
	}
	if len(t) == 1 {
		return &Error{src, pos, "a tag needs a name after @"}
	}
	if name := t[1:]; strings.TrimSpace(name) != name {
		return &Error{src, pos, fmt.Sprintf("%q: a tag neither starts nor ends with white space", t)}
	}
	if strings.Contains(t[1:], "@") {
		// godog drops every "@" before comparing; "@a@b" would match "@ab".
		return &Error{src, pos, fmt.Sprintf("%q: a tag has one @, at its start (separate tags with and/or)", t)}
	}
	return nil
}

// parseLegacy parses godog's syntax: groups joined by "&&", alternatives
// in a group joined by ",", each "@tag" or "~@tag".
func parseLegacy(s string) (Expr, error) {
	var e Expr
	start := 0
	for _, group := range strings.Split(s, "&&") {
		var g Expr
		off := start
		for _, lit := range strings.Split(group, ",") {
			pos := off + len(lit) - len(strings.TrimLeft(lit, " \t"))
			off += len(lit) + 1
			lit = strings.TrimSpace(lit)
			if lit == "" {
				return nil, &Error{s, pos, "empty tag (\"&&\" or \",\" with nothing on one side)"}
			}
			if strings.ContainsAny(lit, " \t()") {
				return nil, &Error{s, pos, fmt.Sprintf("%q: godog's syntax (&&, \",\", ~) cannot be mixed with and/or/not/parentheses", lit)}
			}
			var x Expr
			if rest, neg := strings.CutPrefix(lit, "~"); neg {
				if err := checkTag(s, pos+1, rest); err != nil {
					return nil, err
				}
				x = not{tag(rest)}
			} else {
				if err := checkTag(s, pos, lit); err != nil {
					return nil, err
				}
				x = tag(lit)
			}
			if g == nil {
				g = x
			} else {
				g = or{g, x}
			}
		}
		if e == nil {
			e = g
		} else {
			e = and{e, g}
		}
		start += len(group) + 2
	}
	return e, nil
}

type kind int

const (
	tEOF kind = iota
	tTag
	tAnd
	tOr
	tNot
	tOpen
	tClose
)

type token struct {
	kind kind
	text string
	pos  int
}

// lex splits a Cucumber tag expression into tokens. A backslash escapes
// the next character (a space or parenthesis inside a tag).
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			i++
		case c == '(':
			toks = append(toks, token{tOpen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tClose, ")", i})
			i++
		default:
			start := i
			var b strings.Builder
			for i < len(s) && !strings.ContainsRune(" \t\n\r\v\f()", rune(s[i])) {
				if s[i] == '\\' {
					if i+1 >= len(s) {
						return nil, &Error{s, i, "a backslash at the end escapes nothing"}
					}
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			w := b.String()
			switch w {
			case "and":
				toks = append(toks, token{tAnd, w, start})
			case "or":
				toks = append(toks, token{tOr, w, start})
			case "not":
				toks = append(toks, token{tNot, w, start})
			default:
				if err := checkTag(s, start, w); err != nil {
					return nil, err
				}
				toks = append(toks, token{tTag, w, start})
			}
		}
	}
	return append(toks, token{tEOF, "end of expression", len(s)}), nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOr {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = or{l, r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tAnd {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = and{l, r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tNot:
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return not{x}, nil
	case tTag:
		return tag(t.text), nil
	case tOpen:
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tClose {
			return nil, &Error{p.src, c.pos, fmt.Sprintf("expected \")\" to close the \"(\" at position %d, found %s", t.pos+1, describe(c))}
		}
		return x, nil
	}
	return nil, &Error{p.src, t.pos, fmt.Sprintf("expected a tag, \"not\" or \"(\", found %s", describe(t))}
}

func describe(t token) string {
	if t.kind == tEOF {
		return "the end of the expression"
	}
	return fmt.Sprintf("%q", t.text)
}

// MaxClauses bounds the conjunctive normal form Godog builds: distributing
// "or" over "and" can grow an expression exponentially.
const MaxClauses = 256

// Godog renders e in the syntax godog v0.15 evaluates: clauses joined by
// "&&", literals in a clause by ",", "~" for not. godog's matcher is
// exactly a conjunction of disjunctions of literals, so any expression is
// first brought into that form. nil renders as "" (no filter).
func Godog(e Expr) (string, error) {
	if e == nil {
		return "", nil
	}
	cnf, err := toCNF(nnf(e, false))
	if err != nil {
		return "", err
	}
	var clauses []string
	for _, c := range cnf {
		clauses = append(clauses, strings.Join(c, ","))
	}
	return strings.Join(clauses, " && "), nil
}

// nnf pushes negations down to the tags (De Morgan).
func nnf(e Expr, neg bool) Expr {
	switch x := e.(type) {
	case tag:
		if neg {
			return not{x}
		}
		return x
	case not:
		return nnf(x.x, !neg)
	case and:
		if neg {
			return or{nnf(x.l, true), nnf(x.r, true)}
		}
		return and{nnf(x.l, false), nnf(x.r, false)}
	case or:
		if neg {
			return and{nnf(x.l, true), nnf(x.r, true)}
		}
		return or{nnf(x.l, false), nnf(x.r, false)}
	}
	panic(fmt.Sprintf("tagexpr: unknown node %T", e))
}

// toCNF returns the clauses of an expression in negation normal form, each
// clause a list of literals ("@a", "~@a").
func toCNF(e Expr) ([][]string, error) {
	switch x := e.(type) {
	case tag:
		return [][]string{{string(x)}}, nil
	case not:
		return [][]string{{"~" + string(x.x.(tag))}}, nil
	case and:
		l, err := toCNF(x.l)
		if err != nil {
			return nil, err
		}
		r, err := toCNF(x.r)
		if err != nil {
			return nil, err
		}
		if len(l)+len(r) > MaxClauses {
			return nil, fmt.Errorf("tag expression too complex for godog (more than %d clauses once in conjunctive normal form)", MaxClauses)
		}
		return append(l, r...), nil
	case or:
		l, err := toCNF(x.l)
		if err != nil {
			return nil, err
		}
		r, err := toCNF(x.r)
		if err != nil {
			return nil, err
		}
		if len(l)*len(r) > MaxClauses {
			return nil, fmt.Errorf("tag expression too complex for godog (more than %d clauses once in conjunctive normal form)", MaxClauses)
		}
		var out [][]string
		for _, a := range l {
			for _, b := range r {
				out = append(out, append(slices.Clone(a), b...))
			}
		}
		return out, nil
	}
	panic(fmt.Sprintf("tagexpr: unknown node %T", e))
}

// And is the conjunction of a and b; a nil operand is left out.
func And(a, b Expr) Expr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return and{a, b}
}

// Not is the negation of a tag, e.g. Not("@azure-only").
func Not(t string) Expr { return not{tag(t)} }
