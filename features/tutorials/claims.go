package tutorials

import (
	"fmt"
	"strings"
)

// The claims file of an article, features/tutorials/<article>.claims.md,
// is Markdown with two tables, told apart by their header rows:
//
//	| inventory id | block | if not checked |            one row per code block
//
// (a block the inventory counts as several lists their ids, comma-separated)
//	| id | kind | claim | quote | if not checked |        one row per prose claim
//
// "inventory id" and "id" are the claims inventory's ids (001-SAS-CB1,
// 001-SAS-12). "block" is the block's id in the article. "kind" is
// "checkable" (a scenario can check it against Azure or the emulator) or
// "not checkable" (portal clicks, retired software, statements about
// Microsoft's internals); "if not checked" says why no scenario checks it,
// and is printed by the coverage report for every entry no scenario binds.
// "quote" is the article's own words (Markdown marks and line breaks
// aside) the claim rests on; "|" inside a cell is written "\|".

// Kinds of claims.
const (
	Checkable    = "checkable"
	NotCheckable = "not checkable"
)

// blockEntry is a row of the blocks table.
type blockEntry struct {
	inventory  []string
	id, reason string
	line       int
}

// claimEntry is a row of the claims table.
type claimEntry struct {
	id, kind, text, quote, reason string
	line                          int
}

type claimsFile struct {
	file   string
	blocks []blockEntry
	claims []claimEntry
}

// parseClaims reads a claims file.
func parseClaims(file string, src []byte) (*claimsFile, error) {
	cf := &claimsFile{file: file}
	var header []string
	for i, raw := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
		line := strings.TrimSpace(raw)
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		cells := splitRow(line)
		if header == nil {
			header = cells
			continue
		}
		if isRule(cells) {
			continue
		}
		if len(cells) != len(header) {
			return nil, fmt.Errorf("%s:%d: %d cells, the table's header has %d", file, i+1, len(cells), len(header))
		}
		row := map[string]string{}
		for k, h := range header {
			row[strings.ToLower(h)] = cells[k]
		}
		switch {
		case has(header, "block"):
			e := blockEntry{id: row["block"], reason: row["if not checked"], line: i + 1}
			for _, inv := range strings.Split(row["inventory id"], ",") {
				if inv = strings.TrimSpace(inv); inv != "" {
					e.inventory = append(e.inventory, inv)
				}
			}
			if len(e.inventory) == 0 || e.id == "" {
				return nil, fmt.Errorf("%s:%d: a block row needs an inventory id and a block id", file, i+1)
			}
			cf.blocks = append(cf.blocks, e)
		case has(header, "quote"):
			e := claimEntry{id: row["id"], kind: row["kind"], text: row["claim"], quote: row["quote"], reason: row["if not checked"], line: i + 1}
			if e.id == "" || e.quote == "" {
				return nil, fmt.Errorf("%s:%d: a claim row needs an id and a quote", file, i+1)
			}
			if e.kind != Checkable && e.kind != NotCheckable {
				return nil, fmt.Errorf("%s:%d: claim %s: kind %q, want %q or %q", file, i+1, e.id, e.kind, Checkable, NotCheckable)
			}
			if e.kind == NotCheckable && e.reason == "" {
				return nil, fmt.Errorf("%s:%d: claim %s is not checkable: say why in \"if not checked\"", file, i+1, e.id)
			}
			cf.claims = append(cf.claims, e)
		default:
			return nil, fmt.Errorf("%s:%d: a table that is neither the blocks table (a \"block\" column) nor the claims table (a \"quote\" column)", file, i+1)
		}
	}
	return cf, nil
}

func has(cells []string, name string) bool {
	for _, c := range cells {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// splitRow splits a table row into trimmed cells; "\|" is a literal bar.
func splitRow(line string) []string {
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			b.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, cleanCell(b.String()))
			b.Reset()
		default:
			b.WriteByte(line[i])
		}
	}
	return append(cells, cleanCell(b.String()))
}

// cleanCell trims a cell and drops the backticks that only format it.
func cleanCell(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && !strings.Contains(s[1:len(s)-1], "`") {
		s = s[1 : len(s)-1]
	}
	return s
}

func isRule(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}
