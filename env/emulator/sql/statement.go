package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/sql/tds"
	"github.com/miconform/miconform/env/emulator/state"
)

type result struct {
	cmd     uint16
	count   uint64
	counted bool
}

// Version is what SELECT @@VERSION returns on Azure SQL Database.
const Version = "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tCopyright (C) 2022 Microsoft Corporation\n"

// statement runs one statement, appending its result tokens (without DONE).
func (ss *session) statement(r *tds.Response, st []token, params map[string]any) (result, error) {
	kw := func(i int) string {
		if i < len(st) && st[i].kind == tWord {
			return strings.ToUpper(st[i].text)
		}
		return ""
	}
	switch kw(0) {
	case "CREATE":
		switch kw(1) {
		case "USER":
			return result{}, ss.createUser(st)
		case "TABLE", "INDEX", "VIEW", "UNIQUE":
			return ss.ddl(st, params)
		}
	case "ALTER":
		switch kw(1) {
		case "ROLE":
			return result{}, ss.alterRole(st)
		case "TABLE":
			return ss.ddl(st, params)
		}
	case "DROP":
		switch kw(1) {
		case "USER":
			return result{}, ss.dropUser(st)
		case "TABLE", "INDEX", "VIEW":
			return ss.ddl(st, params)
		}
	case "BEGIN":
		if k := kw(1); k == "TRAN" || k == "TRANSACTION" {
			return result{}, ss.beginTx(r)
		}
	case "COMMIT", "ROLLBACK":
		return result{}, ss.finishTx(r, kw(0) == "COMMIT")
	case "SET":
		// Session options (NOCOUNT, XACT_ABORT, ...) have no effect here.
		return result{}, nil
	case "USE":
		return result{}, &sqlError{Number: 40508, State: 1, Class: 16, Text: "USE statement is not supported to switch between databases. Use a new connection to connect to a different database."}
	case "SELECT", "WITH":
		return ss.query(r, st, params)
	case "INSERT", "UPDATE", "DELETE":
		return ss.dml(st, params)
	}
	near := st[0].text
	return result{}, syntaxError(fmt.Sprintf("Incorrect syntax near '%s'.", near))
}

// can reports whether the caller holds role (the admin and db_owner hold all).
func (ss *session) can(role string) bool {
	return ss.admin || ss.db.hasRole(ss.user, "db_owner") || ss.db.hasRole(ss.user, role)
}

func (ss *session) denied(perm, table string) error {
	return &sqlError{Number: 229, State: 5, Class: 14, Text: fmt.Sprintf("The %s permission was denied on the object '%s', database '%s', schema 'dbo'.", perm, table, ss.db.name)}
}

// tables lists the objects a statement reads (after FROM/JOIN) or writes
// (INSERT INTO, UPDATE, DELETE FROM), without the dbo. prefix.
func tables(st []token) (read, written []string) {
	name := func(i int) (string, bool) {
		if i < len(st) && (st[i].kind == tWord || st[i].kind == tQuoted) {
			if i+2 < len(st) && st[i+1].text == "." && (st[i+2].kind == tWord || st[i+2].kind == tQuoted) {
				return st[i+2].text, true
			}
			return st[i].text, true
		}
		return "", false
	}
	for i, t := range st {
		switch {
		case t.is("FROM") || t.is("JOIN"):
			if n, ok := name(i + 1); ok && !(i > 0 && st[0].is("DELETE")) {
				read = append(read, n)
			} else if ok {
				written = append(written, n)
			}
		case t.is("INTO") || (t.is("UPDATE") && i == 0):
			if n, ok := name(i + 1); ok {
				written = append(written, n)
			}
		}
	}
	return read, written
}

func (ss *session) checkObjects(ctx context.Context, names []string) error {
	for _, n := range names {
		var c int
		if err := ss.exec().QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type IN ('table','view') AND name = ? COLLATE NOCASE", n).Scan(&c); err != nil {
			return err
		}
		if c == 0 {
			return &sqlError{Number: 208, State: 1, Class: 16, Text: fmt.Sprintf("Invalid object name '%s'.", n)}
		}
	}
	return nil
}

func (ss *session) query(r *tds.Response, st []token, params map[string]any) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	read, written := tables(st)
	if err := ss.checkObjects(ctx, append(read, written...)); err != nil {
		return result{}, err
	}
	if len(read) > 0 && !ss.can("db_datareader") {
		return result{}, ss.denied("SELECT", read[0])
	}
	q, args, err := ss.translate(st, params)
	if err != nil {
		return result{}, err
	}
	rows, err := ss.exec().QueryContext(ctx, q, args...)
	if err != nil {
		return result{}, engineError(err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return result{}, engineError(err)
	}
	var data [][]any
	for rows.Next() {
		vals := make([]any, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, engineError(err)
		}
		data = append(data, vals)
	}
	if err := rows.Err(); err != nil {
		return result{}, engineError(err)
	}
	cols := make([]tds.Column, len(cts))
	for i, ct := range cts {
		cols[i] = columnFor(ct.Name(), ct.DatabaseTypeName(), data, i)
	}
	r.ColMetadata(cols)
	for _, row := range data {
		if err := r.Row(cols, row); err != nil {
			return result{}, &sqlError{Number: 245, State: 1, Class: 16, Text: "Conversion failed: " + err.Error()}
		}
	}
	return result{cmd: tds.CmdSelect, count: uint64(len(data)), counted: true}, nil
}

func (ss *session) dml(st []token, params map[string]any) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	read, written := tables(st)
	if err := ss.checkObjects(ctx, append(written, read...)); err != nil {
		return result{}, err
	}
	verb := strings.ToUpper(st[0].text)
	if len(written) > 0 && !ss.can("db_datawriter") {
		return result{}, ss.denied(verb, written[0])
	}
	if len(read) > 0 && !ss.can("db_datareader") {
		return result{}, ss.denied("SELECT", read[0])
	}
	q, args, err := ss.translate(st, params)
	if err != nil {
		return result{}, err
	}
	res, err := ss.exec().ExecContext(ctx, q, args...)
	if err != nil {
		return result{}, engineError(err)
	}
	n, _ := res.RowsAffected()
	cmd := map[string]uint16{"INSERT": tds.CmdInsert, "UPDATE": tds.CmdUpdate, "DELETE": tds.CmdDelete}[verb]
	return result{cmd: cmd, count: uint64(n), counted: true}, nil
}

func (ss *session) ddl(st []token, params map[string]any) (result, error) {
	if !ss.can("db_ddladmin") {
		what := strings.ToUpper(st[1].text)
		if what == "UNIQUE" {
			what = "INDEX"
		}
		return result{}, &sqlError{Number: 262, State: 1, Class: 14, Text: fmt.Sprintf("%s %s permission denied in database '%s'.", strings.ToUpper(st[0].text), what, ss.db.name)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	q, args, err := ss.translate(st, params)
	if err != nil {
		return result{}, err
	}
	if _, err := ss.exec().ExecContext(ctx, q, args...); err != nil {
		return result{}, engineError(err)
	}
	return result{}, nil
}

// translate rewrites a T-SQL statement into SQLite: bracketed names, N”
// literals, the dbo. schema, TOP n, (MAX) lengths, IDENTITY columns and the
// built-in functions the tutorials' clients call.
func (ss *session) translate(st []token, params map[string]any) (string, []any, error) {
	var out []token
	limit := ""
	args := []any{}
	used := map[string]bool{}
	for i := 0; i < len(st); i++ {
		t := st[i]
		next := func(k int) token {
			if i+k < len(st) {
				return st[i+k]
			}
			return token{kind: tPunct}
		}
		switch {
		case (t.kind == tWord || t.kind == tQuoted) && strings.EqualFold(t.text, "dbo") && next(1).text == ".":
			i++
			continue
		case t.is("TOP") && len(out) > 0 && (out[len(out)-1].is("SELECT") || out[len(out)-1].is("DISTINCT")):
			if next(1).kind == tNumber {
				limit, i = next(1).text, i+1
				continue
			}
			if next(1).text == "(" && (next(2).kind == tNumber || next(2).kind == tVar) && next(3).text == ")" {
				limit, i = next(2).text, i+3
				continue
			}
			return "", nil, syntaxError("Incorrect syntax near 'TOP'.")
		case t.is("MAX") && len(out) > 0 && out[len(out)-1].text == "(" && next(1).text == ")" && len(out) > 1 && isSizedType(out[len(out)-2]):
			out = append(out, token{kind: tNumber, text: "-1"})
			continue
		case t.is("IDENTITY"):
			// INT IDENTITY(1,1) becomes SQLite's auto-numbered INTEGER PRIMARY KEY.
			if len(out) > 0 && (out[len(out)-1].is("INT") || out[len(out)-1].is("BIGINT") || out[len(out)-1].is("INTEGER")) {
				out[len(out)-1].text = "INTEGER"
			}
			if next(1).text == "(" {
				j := i + 1
				for j < len(st) && st[j].text != ")" {
					j++
				}
				i = j
			}
			if !columnHasPrimaryKey(st[i+1:]) {
				out = append(out, token{kind: tWord, text: "PRIMARY"}, token{kind: tWord, text: "KEY"})
			}
			continue
		case t.is("CLUSTERED") || t.is("NONCLUSTERED"):
			continue
		case (t.is("GETDATE") || t.is("GETUTCDATE") || t.is("SYSDATETIME") || t.is("SYSUTCDATETIME")) && next(1).text == "(" && next(2).text == ")":
			out = append(out, token{kind: tString, text: time.Now().UTC().Format("2006-01-02 15:04:05.0000000")})
			i += 2
			continue
		case (t.is("DB_NAME") || t.is("SUSER_SNAME") || t.is("SUSER_NAME") || t.is("ORIGINAL_LOGIN") || t.is("USER_NAME")) && next(1).text == "(" && next(2).text == ")":
			v := ss.db.name
			switch strings.ToUpper(t.text) {
			case "SUSER_SNAME", "SUSER_NAME", "ORIGINAL_LOGIN":
				v = ss.login
			case "USER_NAME":
				v = ss.userName
			}
			out = append(out, token{kind: tString, text: v})
			i += 2
			continue
		case t.is("SCOPE_IDENTITY") && next(1).text == "(" && next(2).text == ")":
			out = append(out, token{kind: tWord, text: "last_insert_rowid()"})
			i += 2
			continue
		case t.is("NEWID") && next(1).text == "(" && next(2).text == ")":
			out = append(out, token{kind: tString, text: strings.ToUpper(directory.NewGUID())})
			i += 2
			continue
		case t.is("LEN") && next(1).text == "(":
			t.text = "length"
		case t.is("ISNULL") && next(1).text == "(":
			t.text = "ifnull"
		case t.kind == tVar && strings.HasPrefix(t.text, "@@"):
			switch strings.ToUpper(t.text) {
			case "@@VERSION":
				out = append(out, token{kind: tString, text: Version})
			case "@@SPID":
				out = append(out, token{kind: tNumber, text: strconv.Itoa(int(ss.spid))})
			case "@@IDENTITY":
				out = append(out, token{kind: tWord, text: "last_insert_rowid()"})
			case "@@TRANCOUNT":
				n := "0"
				if ss.tx != nil {
					n = "1"
				}
				out = append(out, token{kind: tNumber, text: n})
			default:
				return "", nil, &sqlError{Number: 195, State: 10, Class: 15, Text: fmt.Sprintf("'%s' is not a recognized built-in function name.", t.text)}
			}
			continue
		case t.kind == tVar:
			name := strings.ToLower(t.text[1:])
			v, ok := params[name]
			if !ok {
				return "", nil, &sqlError{Number: 137, State: 2, Class: 15, Text: fmt.Sprintf(`Must declare the scalar variable "%s".`, t.text)}
			}
			if !used[name] {
				used[name] = true
				args = append(args, sql.Named(name, bindable(v)))
			}
			t.text = "@" + name
		}
		out = append(out, t)
	}
	q := render(out)
	if limit != "" {
		if strings.HasPrefix(limit, "@") {
			name := strings.ToLower(limit[1:])
			v, ok := params[name]
			if !ok {
				return "", nil, &sqlError{Number: 137, State: 2, Class: 15, Text: fmt.Sprintf(`Must declare the scalar variable "%s".`, limit)}
			}
			limit = fmt.Sprint(v)
		}
		q += " LIMIT " + limit
	}
	return q, args, nil
}

func isSizedType(t token) bool {
	return t.is("NVARCHAR") || t.is("VARCHAR") || t.is("VARBINARY")
}

// columnHasPrimaryKey looks ahead to the end of the column definition.
func columnHasPrimaryKey(rest []token) bool {
	depth := 0
	for _, t := range rest {
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			if depth == 0 {
				return false
			}
			depth--
		case t.text == "," && depth == 0:
			return false
		case t.is("PRIMARY"):
			return true
		}
	}
	return false
}

// bindable turns a parameter value into what SQLite stores: dates as the
// text form DATETIME2 columns hold.
func bindable(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format("2006-01-02 15:04:05.0000000")
	}
	return v
}

var declRE = regexp.MustCompile(`^\s*([A-Za-z0-9_]+)\s*(?:\(\s*(-?\d+)\s*(?:,\s*(\d+))?\s*\))?`)

// columnFor picks a column's TDS type from its declared type, or for an
// expression from the values it holds.
func columnFor(name, decl string, data [][]any, i int) tds.Column {
	c := tds.Column{Name: name}
	m := declRE.FindStringSubmatch(decl)
	base, n1, n2 := "", -2, -2
	if m != nil {
		base = strings.ToUpper(m[1])
		if m[2] != "" {
			n1, _ = strconv.Atoi(m[2])
		}
		if m[3] != "" {
			n2, _ = strconv.Atoi(m[3])
		}
	}
	switch base {
	case "INT", "INTEGER":
		c.Kind, c.Size = tds.KindInt, 4
	case "BIGINT":
		c.Kind, c.Size = tds.KindInt, 8
	case "SMALLINT":
		c.Kind, c.Size = tds.KindInt, 2
	case "TINYINT":
		c.Kind, c.Size = tds.KindInt, 1
	case "BIT":
		c.Kind = tds.KindBit
	case "FLOAT", "REAL", "DOUBLE":
		c.Kind = tds.KindFloat
	case "DECIMAL", "NUMERIC", "MONEY":
		c.Kind, c.Precision, c.Scale = tds.KindDecimal, 18, 0
		if base == "MONEY" {
			c.Precision, c.Scale = 19, 4
		}
		if n1 > 0 && n1 <= 38 {
			c.Precision = byte(n1)
		}
		if n2 >= 0 && n2 <= int(c.Precision) {
			c.Scale = byte(n2)
		}
	case "NVARCHAR", "VARCHAR", "NCHAR", "CHAR", "TEXT", "NTEXT", "SYSNAME":
		c.Kind, c.Size = tds.KindNVarChar, 4000
		if n1 == -1 || base == "TEXT" || base == "NTEXT" {
			c.Size = -1
		} else if n1 > 0 {
			c.Size = n1
		} else if base == "SYSNAME" {
			c.Size = 128
		}
	case "DATETIME2", "DATETIMEOFFSET":
		c.Kind, c.Scale = tds.KindDateTime2, 7
		if n1 >= 0 && n1 <= 7 {
			c.Scale = byte(n1)
		}
	case "DATETIME", "SMALLDATETIME":
		c.Kind = tds.KindDateTime
	case "DATE":
		c.Kind = tds.KindDate
	case "UNIQUEIDENTIFIER":
		c.Kind = tds.KindGUID
	case "VARBINARY", "BINARY", "BLOB", "IMAGE":
		c.Kind, c.Size = tds.KindVarBinary, 8000
		if n1 == -1 || base == "BLOB" || base == "IMAGE" {
			c.Size = -1
		} else if n1 > 0 {
			c.Size = n1
		}
	default:
		return inferColumn(name, data, i)
	}
	return c
}

// inferColumn types an expression column as SQL Server would type the
// expression's result: integers as INT (BIGINT when too large), reals as
// FLOAT, text as NVARCHAR; an all-NULL column is INT.
func inferColumn(name string, data [][]any, i int) tds.Column {
	c := tds.Column{Name: name, Kind: tds.KindInt, Size: 4}
	kind := ""
	maxLen := 1
	for _, row := range data {
		switch v := row[i].(type) {
		case nil:
		case int64:
			if kind == "" || kind == "int" {
				kind = "int"
			}
			if v > math.MaxInt32 || v < math.MinInt32 {
				c.Size = 8
			}
		case float64:
			if kind == "" || kind == "int" || kind == "float" {
				kind = "float"
			}
		case []byte:
			if kind == "" || kind == "bytes" {
				kind = "bytes"
			}
			maxLen = max(maxLen, len(v))
		case time.Time:
			if kind == "" || kind == "time" {
				kind = "time"
			}
		default:
			kind = "text"
			maxLen = max(maxLen, len([]rune(fmt.Sprint(v))))
		}
	}
	switch kind {
	case "float":
		c.Kind = tds.KindFloat
	case "bytes":
		c.Kind, c.Size = tds.KindVarBinary, maxLen
		if maxLen > 8000 {
			c.Size = -1
		}
	case "time":
		c.Kind, c.Scale = tds.KindDateTime2, 7
	case "text":
		c.Kind, c.Size = tds.KindNVarChar, maxLen
		if maxLen > 4000 {
			c.Size = -1
		}
	}
	return c
}

func asSQLError(err error) *sqlError {
	var se *sqlError
	if errors.As(err, &se) {
		return se
	}
	return engineError(err).(*sqlError)
}

// sqliteFull is SQLITE_FULL, SQLite's result code for a write the disk
// (or the database's page limit) refused.
const sqliteFull = 13

// isFull says whether err is a write refused for lack of space: the users'
// state log on a full disk, or SQLite's "database or disk is full".
func isFull(err error) bool {
	return state.IsNoSpace(err) || sqliteFullErr(err)
}

// sqliteFullErr says whether err is SQLite's SQLITE_FULL.
func sqliteFullErr(err error) bool {
	var ce interface{ Code() int }
	return errors.As(err, &ce) && ce.Code()&0xff == sqliteFull
}

var (
	noTableRE  = regexp.MustCompile(`no such table: (?:main\.)?(\S+)`)
	noColRE    = regexp.MustCompile(`no such column: (\S+)`)
	existsRE   = regexp.MustCompile(`table "?([^" ]+)"? already exists`)
	nearRE     = regexp.MustCompile(`near "([^"]*)": syntax error`)
	notNullRE  = regexp.MustCompile(`NOT NULL constraint failed: ([^.]+)\.(\S+)`)
	uniqueRE   = regexp.MustCompile(`UNIQUE constraint failed: ([^.]+)\.`)
	sqliteCode = regexp.MustCompile(`\s*\(\d+\)$`)
)

// engineError maps SQLite's errors onto the SQL Server errors a client
// would get for the same mistake.
func engineError(err error) error {
	var se *sqlError
	if errors.As(err, &se) {
		return se
	}
	msg := err.Error()
	switch {
	case isFull(err):
		// Error 1105 (severity 17, insufficient resources) is SQL
		// Server's answer to a write with no space left; the text names
		// the emulator's cause. The statement had no effect.
		return &sqlError{Number: 1105, State: 2, Class: 17, rolledBack: sqliteFullErr(err),
			Text: fmt.Sprintf("Could not allocate space: the emulator's state directory is full (%s). The statement was not applied; retry once the disk has space.", sqliteCode.ReplaceAllString(msg, ""))}
	case errors.Is(err, context.DeadlineExceeded):
		return &sqlError{Number: 1222, State: 56, Class: 16, Text: "Lock request time out period exceeded."}
	case noTableRE.MatchString(msg):
		return &sqlError{Number: 208, State: 1, Class: 16, Text: fmt.Sprintf("Invalid object name '%s'.", noTableRE.FindStringSubmatch(msg)[1])}
	case noColRE.MatchString(msg):
		col := noColRE.FindStringSubmatch(msg)[1]
		if i := strings.LastIndex(col, "."); i >= 0 {
			col = col[i+1:]
		}
		return &sqlError{Number: 207, State: 1, Class: 16, Text: fmt.Sprintf("Invalid column name '%s'.", col)}
	case existsRE.MatchString(msg):
		return &sqlError{Number: 2714, State: 6, Class: 16, Text: fmt.Sprintf("There is already an object named '%s' in the database.", existsRE.FindStringSubmatch(msg)[1])}
	case notNullRE.MatchString(msg):
		m := notNullRE.FindStringSubmatch(msg)
		return &sqlError{Number: 515, State: 2, Class: 16, Text: fmt.Sprintf("Cannot insert the value NULL into column '%s', table '%s'; column does not allow nulls. INSERT fails.", sqliteCode.ReplaceAllString(m[2], ""), m[1])}
	case uniqueRE.MatchString(msg):
		return &sqlError{Number: 2627, State: 1, Class: 14, Text: fmt.Sprintf("Violation of PRIMARY KEY or UNIQUE constraint. Cannot insert duplicate key in object 'dbo.%s'.", uniqueRE.FindStringSubmatch(msg)[1])}
	case nearRE.MatchString(msg):
		return syntaxError(fmt.Sprintf("Incorrect syntax near '%s'.", nearRE.FindStringSubmatch(msg)[1]))
	}
	return &sqlError{Number: 50000, State: 1, Class: 16, Text: sqliteCode.ReplaceAllString(msg, "")}
}
