package graph

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// The $filter subset directory objects answer: comparisons (eq, ne) of a
// property with a literal, startswith(property,'prefix'), lambda any over
// a string collection (servicePrincipalNames/any(c:c eq 'x')), joined with
// and, or, not and parentheses. The Azure CLI sends appId eq,
// servicePrincipalNames/any and startswith(displayName,...) (role module,
// custom.py: list_service_principals, _resolve_service_principal; keyvault
// custom.py: _get_object_id_by_spn); Graph's docs list the rest for
// servicePrincipal and application
// (https://learn.microsoft.com/graph/aad-advanced-queries). String
// comparisons ignore case, as the directory's do.

// kind is how a property can be filtered.
type kind int

const (
	kindString kind = iota + 1
	kindBool
	// kindCollection is a string collection, filtered with any().
	kindCollection
	// kindOpaque is a property of the type that $filter does not support.
	kindOpaque
)

// entityType names a filterable type: its properties, and its names in
// Graph's messages.
type entityType struct {
	// odata is the OData type (microsoft.graph.servicePrincipal), resource
	// the directory's name (ServicePrincipal).
	odata, resource string
	props           map[string]kind
}

// maxFilterLen and maxDepth bound what the parser accepts: Graph's URLs are
// limited too, and nesting must not exhaust the stack.
const (
	maxFilterLen = 4096
	maxDepth     = 32
)

// filter is a parsed $filter expression.
type filter interface {
	match(obj map[string]any) bool
}

type (
	orNode  struct{ l, r filter }
	andNode struct{ l, r filter }
	notNode struct{ x filter }
	cmpNode struct {
		prop string
		ne   bool
		lit  any // string, bool or nil
	}
	startsNode struct{ prop, prefix string }
	anyNode    struct {
		prop string
		fn   func(string) bool
	}
)

func (n orNode) match(o map[string]any) bool  { return n.l.match(o) || n.r.match(o) }
func (n andNode) match(o map[string]any) bool { return n.l.match(o) && n.r.match(o) }
func (n notNode) match(o map[string]any) bool { return !n.x.match(o) }

func (n cmpNode) match(o map[string]any) bool {
	v := o[n.prop]
	eq := false
	switch lit := n.lit.(type) {
	case string:
		s, ok := v.(string)
		eq = ok && strings.EqualFold(s, lit)
	case bool:
		b, ok := v.(bool)
		eq = ok && b == lit
	case nil:
		eq = v == nil
	}
	return eq != n.ne
}

func (n startsNode) match(o map[string]any) bool {
	s, ok := o[n.prop].(string)
	return ok && len(s) >= len(n.prefix) && strings.EqualFold(s[:len(n.prefix)], n.prefix)
}

func (n anyNode) match(o map[string]any) bool {
	list, _ := o[n.prop].([]string)
	for _, s := range list {
		if n.fn(s) {
			return true
		}
	}
	return false
}

// parseFilter parses a $filter value for objects of type t.
func parseFilter(src string, t entityType) (filter, *Error) {
	if len(src) > maxFilterLen {
		return nil, invalidFilter("the filter is longer than %d characters", maxFilterLen)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, t: t, src: src}
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if !p.done() {
		return nil, p.syntax("end of the expression")
	}
	return f, nil
}

func invalidFilter(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+format, args...)
}

// unsupported is Graph's answer for a property it cannot filter that way,
// worded as in MicrosoftDocs/azure-docs
// articles/active-directory/fundamentals/custom-security-attributes-troubleshoot.md
// ("Unsupported or invalid query filter clause specified for property
// '<name>' of resource '<Resource>'."); `az ad sp show --id ""` gets it for
// servicePrincipalNames.
func unsupported(prop string, t entityType) *Error {
	return errorf(http.StatusBadRequest, "Request_UnsupportedQuery",
		"Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", prop, t.resource)
}

type tokKind int

const (
	tIdent tokKind = iota + 1
	tString
	tPunct // ( ) , : /
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lex(src string) ([]token, *Error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("(),:/", c) >= 0:
			toks = append(toks, token{tPunct, string(c), i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) {
					return nil, invalidFilter("there is an unterminated string literal at position %d in '%s'.", i, src)
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			toks = append(toks, token{tString, b.String(), i})
			i = j + 1
		case c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || c == '_' || c == '-' || c == '.'):
			j := i
			for j < len(src) && src[j] < 0x80 && (unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j])) || strings.IndexByte("_-.", src[j]) >= 0) {
				j++
			}
			toks = append(toks, token{tIdent, src[i:j], i})
			i = j
		default:
			return nil, invalidFilter("syntax error: character '%c' is not valid at position %d in '%s'.", rune(c), i, src)
		}
	}
	return toks, nil
}

type parser struct {
	toks []token
	i    int
	t    entityType
	src  string
}

func (p *parser) done() bool { return p.i >= len(p.toks) }

func (p *parser) peek() token {
	if p.done() {
		return token{pos: len(p.src)}
	}
	return p.toks[p.i]
}

func (p *parser) keyword(k string) bool {
	t := p.peek()
	if t.kind == tIdent && strings.EqualFold(t.text, k) {
		p.i++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	t := p.peek()
	if t.kind == tPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) syntax(want string) *Error {
	return invalidFilter("syntax error: %s expected at position %d in '%s'.", want, p.peek().pos, p.src)
}

func (p *parser) or(depth int) (filter, *Error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (filter, *Error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) unary(depth int) (filter, *Error) {
	if depth > maxDepth {
		return nil, invalidFilter("the expression is nested deeper than %d levels.", maxDepth)
	}
	if p.keyword("not") {
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	if p.punct("(") {
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, p.syntax("')'")
		}
		return x, nil
	}
	t := p.peek()
	if t.kind != tIdent {
		return nil, p.syntax("a property or function")
	}
	p.i++
	if strings.EqualFold(t.text, "startswith") {
		return p.startswith()
	}
	prop, k, err := p.property(t.text)
	if err != nil {
		return nil, err
	}
	if p.punct("/") {
		return p.lambda(prop, k)
	}
	ne := false
	switch {
	case p.keyword("eq"):
	case p.keyword("ne"):
		ne = true
	default:
		if op := p.peek(); op.kind == tIdent {
			// ge, le, in, ... exist in OData but not for these properties.
			return nil, unsupported(prop, p.t)
		}
		return nil, p.syntax("'eq' or 'ne'")
	}
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	switch lit.(type) {
	case string:
		if k != kindString {
			return nil, unsupported(prop, p.t)
		}
	case bool:
		if k != kindBool {
			return nil, unsupported(prop, p.t)
		}
	}
	if k == kindCollection || k == kindOpaque {
		return nil, unsupported(prop, p.t)
	}
	return cmpNode{prop: prop, ne: ne, lit: lit}, nil
}

// property resolves a property name of the type, case-insensitively, to
// its canonical spelling.
func (p *parser) property(name string) (string, kind, *Error) {
	for n, k := range p.t.props {
		if strings.EqualFold(n, name) {
			return n, k, nil
		}
	}
	return "", 0, invalidFilter("Could not find a property named '%s' on type '%s'.", name, p.t.odata)
}

func (p *parser) literal() (any, *Error) {
	t := p.peek()
	switch {
	case t.kind == tString:
		p.i++
		return t.text, nil
	case t.kind == tIdent && (t.text == "true" || t.text == "false"):
		p.i++
		return t.text == "true", nil
	case t.kind == tIdent && t.text == "null":
		p.i++
		return nil, nil
	}
	return nil, p.syntax("a literal")
}

// startswith parses the rest of startswith(property,'prefix').
func (p *parser) startswith() (filter, *Error) {
	if !p.punct("(") {
		return nil, p.syntax("'('")
	}
	t := p.peek()
	if t.kind != tIdent {
		return nil, p.syntax("a property")
	}
	p.i++
	prop, k, err := p.property(t.text)
	if err != nil {
		return nil, err
	}
	if !p.punct(",") {
		return nil, p.syntax("','")
	}
	s := p.peek()
	if s.kind != tString {
		return nil, p.syntax("a string literal")
	}
	p.i++
	if !p.punct(")") {
		return nil, p.syntax("')'")
	}
	if k != kindString {
		return nil, unsupported(prop, p.t)
	}
	return startsNode{prop: prop, prefix: s.text}, nil
}

// lambda parses the rest of collection/any(v:v eq 'x') (or startswith(v,'x')).
func (p *parser) lambda(prop string, k kind) (filter, *Error) {
	if !p.keyword("any") {
		if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, "all") {
			return nil, unsupported(prop, p.t)
		}
		return nil, p.syntax("'any'")
	}
	if !p.punct("(") {
		return nil, p.syntax("'('")
	}
	v := p.peek()
	if v.kind != tIdent {
		return nil, p.syntax("a range variable")
	}
	p.i++
	if !p.punct(":") {
		return nil, p.syntax("':'")
	}
	var fn func(string) bool
	var lit string
	if p.keyword("startswith") {
		if !p.punct("(") || !p.keyword(v.text) || !p.punct(",") {
			return nil, p.syntax(fmt.Sprintf("startswith(%s,", v.text))
		}
		s := p.peek()
		if s.kind != tString {
			return nil, p.syntax("a string literal")
		}
		p.i++
		if !p.punct(")") {
			return nil, p.syntax("')'")
		}
		lit = s.text
		fn = func(x string) bool { return len(x) >= len(lit) && strings.EqualFold(x[:len(lit)], lit) }
	} else {
		if !p.keyword(v.text) {
			return nil, invalidFilter("Could not find a property named '%s' on type '%s'.", p.peek().text, p.t.odata)
		}
		if !p.keyword("eq") {
			return nil, p.syntax("'eq'")
		}
		s := p.peek()
		if s.kind != tString {
			return nil, p.syntax("a string literal")
		}
		p.i++
		lit = s.text
		fn = func(x string) bool { return strings.EqualFold(x, lit) }
	}
	if !p.punct(")") {
		return nil, p.syntax("')'")
	}
	if k != kindCollection || lit == "" {
		return nil, unsupported(prop, p.t)
	}
	return anyNode{prop: prop, fn: fn}, nil
}
