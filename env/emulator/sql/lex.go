package sql

import (
	"fmt"
	"strings"
)

// tokKind classifies T-SQL lexemes.
type tokKind int

const (
	tWord   tokKind = iota // keyword or bare identifier
	tQuoted                // [identifier] or "identifier"; text is unquoted
	tString                // 'text' or N'text'; text is unescaped
	tNumber
	tVar // @name or @@name
	tPunct
)

type token struct {
	kind tokKind
	text string
	// national is an N'' literal.
	national bool
}

func (t token) is(word string) bool { return t.kind == tWord && strings.EqualFold(t.text, word) }

// lex splits T-SQL into tokens, dropping comments and whitespace; batches
// are split into statements on semicolons by splitStatements.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, syntaxError("Missing end comment mark '*/'.")
			}
			i += end + 4
		case c == '[':
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, syntaxError(fmt.Sprintf("Unclosed quotation mark after the character string '%s'.", s[i+1:]))
				}
				if s[j] == ']' {
					if j+1 < len(s) && s[j+1] == ']' {
						b.WriteByte(']')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			out = append(out, token{kind: tQuoted, text: b.String()})
			i = j + 1
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(s) && s[i+1] == '\'') || c == '"':
			national := c != '\'' && c != '"'
			q := byte('\'')
			if c == '"' {
				q = '"'
			}
			j := i + 1
			if national {
				j++
			}
			var b strings.Builder
			for ; ; j++ {
				if j >= len(s) {
					return nil, syntaxError(fmt.Sprintf("Unclosed quotation mark after the character string '%s'.", s[i:]))
				}
				if s[j] == q {
					if j+1 < len(s) && s[j+1] == q {
						b.WriteByte(q)
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			k := tString
			if q == '"' {
				k = tQuoted
			}
			out = append(out, token{kind: k, text: b.String(), national: national})
			i = j + 1
		case c == '@':
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || s[j] == '@') {
				j++
			}
			out = append(out, token{kind: tVar, text: s[i:j]})
			i = j
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
				j++
			}
			out = append(out, token{kind: tNumber, text: s[i:j]})
			i = j
		case isWordByte(c) || c >= 0x80:
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] >= 0x80 || s[j] == '$' || s[j] == '#') {
				j++
			}
			out = append(out, token{kind: tWord, text: s[i:j]})
			i = j
		default:
			// Two-character operators first.
			if i+1 < len(s) {
				two := s[i : i+2]
				if two == "<>" || two == "<=" || two == ">=" || two == "!=" || two == "||" {
					out = append(out, token{kind: tPunct, text: two})
					i += 2
					continue
				}
			}
			out = append(out, token{kind: tPunct, text: string(c)})
			i++
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '#'
}

// splitStatements cuts a batch at semicolons and at the keywords that start
// a statement the tutorials write without a separator.
func splitStatements(toks []token) [][]token {
	var out [][]token
	var cur []token
	for _, t := range toks {
		if t.kind == tPunct && t.text == ";" {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// render turns tokens back into SQLite text: identifiers double-quoted,
// strings single-quoted.
func render(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && needsSpace(toks[i-1], t) {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tQuoted:
			b.WriteString(`"` + strings.ReplaceAll(t.text, `"`, `""`) + `"`)
		case tString:
			b.WriteString("'" + strings.ReplaceAll(t.text, "'", "''") + "'")
		default:
			b.WriteString(t.text)
		}
	}
	return b.String()
}

func needsSpace(a, b token) bool {
	if b.kind == tPunct && (b.text == "," || b.text == ")" || b.text == ".") {
		return false
	}
	if a.kind == tPunct && (a.text == "(" || a.text == ".") {
		return false
	}
	return true
}

// sqlError is a T-SQL error as the server reports it.
type sqlError struct {
	Number int32
	State  byte
	Class  byte
	Text   string
	// rolledBack: the engine rolled back the whole open transaction
	// (SQLITE_FULL), which the session must then end.
	rolledBack bool
}

func (e *sqlError) Error() string { return fmt.Sprintf("mssql error %d: %s", e.Number, e.Text) }

func syntaxError(text string) *sqlError {
	return &sqlError{Number: 102, State: 1, Class: 15, Text: text}
}
