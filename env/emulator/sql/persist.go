package sql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/state"
)

// Persistence (--state-dir): each database is a SQLite file,
// {dir}/{server}/{database}.sqlite, in WAL mode with synchronous=FULL, so a
// statement (or COMMIT) is answered only once its WAL frame is fsynced.
// Servers, admins and databases are Resource Manager resources and come
// back from its log; the contained users (CREATE USER, ALTER ROLE) live in
// the state log under "u/{server}/{database}".

// safeName is a file name that needs no escaping; other names are hex
// with a "~" no safe name starts with.
var safeName = regexp.MustCompile(`^[a-z0-9_-]+$`)

func fileName(name string) string {
	name = strings.ToLower(name)
	if safeName.MatchString(name) {
		return name
	}
	return "~" + hex.EncodeToString([]byte(name))
}

func (s *Server) dbPath(server, db string) string {
	return filepath.Join(s.dir, fileName(server), fileName(db)+".sqlite")
}

func (s *Server) fileDSN(server, db string) (string, error) {
	p := s.dbPath(server, db)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	return "file:" + p + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)", nil
}

func usersKey(server, db string) string {
	return "u/" + strings.ToLower(server) + "/" + strings.ToLower(db)
}

// Persist keeps databases in files under dir and users in l from now on,
// and brings back the servers, admins and databases Resource Manager
// (loaded first) has, with their data and users. Files of databases
// Resource Manager no longer has (a crash between the two) are removed.
func (s *Server) Persist(dir string, l *state.Log, a *arm.Server) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	s.mu.Lock()
	s.dir, s.log = dir, l
	s.mu.Unlock()
	keep := map[string]bool{}
	servers := a.Resources(typeServer)
	for _, srv := range servers {
		keep[s.dbPath(srv.Name, "master")] = true
	}
	dbs := a.Resources(typeDatabase)
	for _, db := range dbs {
		keep[s.dbPath(serverOf(db.ID), db.Name)] = true
	}
	// Only when every log opened cleanly: after damage, Resource
	// Manager may be what lost the database, not the file.
	if l.Reconciles() {
		if err := s.removeStale(keep); err != nil {
			return err
		}
	}
	for _, srv := range servers {
		if err := s.PutServer(srv.Name); err != nil {
			return err
		}
	}
	for _, ad := range a.Resources(typeAdmin) {
		str := func(k string) string { v, _ := ad.Properties[k].(string); return v }
		if err := s.SetAdmin(serverOf(ad.ID), &Admin{Login: str("login"), SID: str("sid"), TenantID: str("tenantId")}); err != nil {
			return err
		}
	}
	for _, db := range dbs {
		if err := s.PutDatabase(serverOf(db.ID), db.Name); err != nil {
			return err
		}
	}
	var gone state.Batch
	err := l.Each("u/", func(k string, v []byte) error {
		server, db, _ := strings.Cut(strings.TrimPrefix(k, "u/"), "/")
		ls, ok := s.logical(server)
		var d *database
		if ok {
			d, ok = ls.database(db)
		}
		if !ok {
			gone.Delete(k)
			return nil
		}
		var users []*dbUser
		if err := json.Unmarshal(v, &users); err != nil {
			return err
		}
		d.mu.Lock()
		for _, u := range users {
			d.users[strings.ToLower(u.Name)] = u
		}
		d.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	// A refused users write is undone in memory (users.go), so the log
	// may go on after a full disk.
	l.RecoverWrites()
	if !l.Reconciles() {
		return nil
	}
	return l.Commit(&gone)
}

// serverOf is the server name in a .../servers/{server}[/...] id.
func serverOf(id string) string {
	i := strings.Index(strings.ToLower(id), "/servers/")
	if i < 0 {
		return ""
	}
	name, _, _ := strings.Cut(id[i+len("/servers/"):], "/")
	return name
}

// removeStale deletes database files (and their WAL) not in keep.
func (s *Server) removeStale(keep map[string]bool) error {
	files, err := filepath.Glob(filepath.Join(s.dir, "*", "*.sqlite*"))
	if err != nil {
		return err
	}
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimSuffix(f, "-wal"), "-shm")
		if !keep[base] {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// dropFiles removes a dropped database's file (or, with db "", a dropped
// server's directory) and its users. It runs after Resource Manager
// recorded the drop, so a users record the disk refuses to delete is only
// reported: a start drops users of databases Resource Manager lacks, and
// a database created again under that name clears them first
// (clearStaleUsers).
func (s *Server) dropFiles(server, db string) {
	if s.dir == "" {
		return
	}
	var b state.Batch
	if db == "" {
		_ = os.RemoveAll(filepath.Join(s.dir, fileName(server)))
		b.DeletePrefix(usersKey(server, ""))
	} else {
		p := s.dbPath(server, db)
		for _, f := range []string{p, p + "-wal", p + "-shm"} {
			_ = os.Remove(f)
		}
		b.Delete(usersKey(server, db))
	}
	if err := s.log.Commit(&b); err != nil && s.ErrorLog != nil {
		s.ErrorLog("sql: dropped %s/%s but could not delete its users' record: %v", server, db, err)
	}
}

// clearStaleUsers deletes the users a new database (db "": a new server's
// databases) would inherit from a drop whose record the disk refused.
func (s *Server) clearStaleUsers(server, db string) error {
	if s.log == nil {
		return nil
	}
	prefix := usersKey(server, db)
	if db == "" {
		prefix = usersKey(server, "")
	}
	var b state.Batch
	for _, k := range s.log.Keys(prefix) {
		if db == "" || k == prefix {
			b.Delete(k)
		}
	}
	return s.log.Commit(&b)
}

// saveUsers records a database's users; the caller holds d.mu.
func (s *Server) saveUsers(ls *logical, d *database) error {
	if s.log == nil {
		return nil
	}
	users := make([]*dbUser, 0, len(d.users))
	for _, u := range d.users {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return strings.ToLower(users[i].Name) < strings.ToLower(users[j].Name) })
	var b state.Batch
	if err := b.PutJSON(usersKey(ls.name, d.name), users); err != nil {
		return err
	}
	return s.log.Commit(&b)
}

// DamagedFile is a database file that failed PRAGMA quick_check.
type DamagedFile struct {
	Path, Problem string
}

// QuickCheck runs PRAGMA quick_check on every database file under dir (the
// state dir's sql/), so damage is found at start, not as rows silently
// missing from a query.
func QuickCheck(dir string) ([]DamagedFile, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.sqlite"))
	if err != nil {
		return nil, err
	}
	var bad []DamagedFile
	for _, f := range files {
		if problem := quickCheck(f); problem != "" {
			bad = append(bad, DamagedFile{Path: f, Problem: problem})
		}
	}
	return bad, nil
}

// quickCheck says what is wrong with one file, "" when nothing.
func quickCheck(path string) string {
	// Read-only, so a refused start changes nothing: without a WAL the
	// file is opened immutable (no -wal or -shm made); with one (a kill
	// -9 left frames in it) read-only, so its frames are checked too.
	mode := "immutable=1"
	if _, err := os.Stat(path + "-wal"); err == nil {
		mode = "mode=ro"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+mode+"&_pragma=busy_timeout(10000)")
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA quick_check")
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err.Error()
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err.Error()
	}
	if len(problems) > 3 {
		problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
	}
	return strings.Join(problems, "; ")
}

// InjectFull makes a database's file refuse to grow, as a full disk does:
// SQLite answers SQLITE_FULL ("database or disk is full") to any write
// that needs a new page, through its own page limit (PRAGMA
// max_page_count) on the database's one connection. full false lifts it.
// For tests of full-disk behaviour.
func (s *Server) InjectFull(server, database string, full bool) error {
	ls, ok := s.logical(server)
	if !ok {
		return fmt.Errorf("sql: no server %q", server)
	}
	d, ok := ls.database(database)
	if !ok {
		return fmt.Errorf("sql: no database %q", database)
	}
	ctx := context.Background()
	c, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	limit := int64(1<<32 - 2) // SQLite's largest page count
	if full {
		if err := c.QueryRowContext(ctx, "PRAGMA page_count").Scan(&limit); err != nil {
			return err
		}
	}
	_, err = c.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", limit))
	return err
}
