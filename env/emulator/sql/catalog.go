package sql

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // the embedded engine behind each emulated database
)

// logical is one Azure SQL logical server (Microsoft.Sql/servers).
type logical struct {
	name string
	mu   sync.RWMutex
	// admin is the Microsoft Entra admin (administrators/ActiveDirectory);
	// nil until one is set.
	admin *Admin
	dbs   map[string]*database
}

// Admin is a server's Microsoft Entra admin.
type Admin struct {
	Login    string
	SID      string
	TenantID string
}

// database is one database of a logical server, backed by an in-memory
// SQLite database.
type database struct {
	name string
	db   *sql.DB
	mu   sync.RWMutex
	// users are the contained users, keyed by lower-cased name.
	users map[string]*dbUser
}

// dbUser is a contained database user mapped to a Microsoft Entra principal.
type dbUser struct {
	Name  string
	OID   string
	Roles map[string]bool
}

var dbSeq atomic.Int64

func (s *Server) newDatabase(server, name string) (*database, error) {
	// A private in-memory database per emulated database (a file in the
	// state dir with --state-dir, persist.go); one connection, so sessions
	// queue behind an open transaction as they would wait on SQL Server's
	// locks.
	dsn := fmt.Sprintf("file:miconform-%d?mode=memory", dbSeq.Add(1))
	if s.dir != "" {
		var err error
		if dsn, err = s.fileDSN(server, name); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return &database{name: name, db: db, users: map[string]*dbUser{}}, nil
}

func (d *database) userByOID(oid string) (*dbUser, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, u := range d.users {
		if strings.EqualFold(u.OID, oid) {
			return u, true
		}
	}
	return nil, false
}

func (d *database) hasRole(u *dbUser, role string) bool {
	if u == nil {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return u.Roles[role]
}

// PutServer creates a logical server, or keeps an existing one.
func (s *Server) PutServer(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(name)
	if _, ok := s.servers[k]; ok {
		return nil
	}
	master, err := s.newDatabase(name, "master")
	if err != nil {
		return err
	}
	s.servers[k] = &logical{name: name, dbs: map[string]*database{"master": master}}
	return nil
}

// DeleteServer drops a logical server and all its databases.
func (s *Server) DeleteServer(name string) {
	s.mu.Lock()
	ls := s.servers[strings.ToLower(name)]
	delete(s.servers, strings.ToLower(name))
	s.mu.Unlock()
	if ls == nil {
		return
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, d := range ls.dbs {
		d.db.Close()
	}
	s.dropFiles(name, "")
}

// SetAdmin sets or (with nil) removes a server's Microsoft Entra admin.
func (s *Server) SetAdmin(server string, a *Admin) error {
	ls, ok := s.logical(server)
	if !ok {
		return fmt.Errorf("sql: no server %q", server)
	}
	ls.mu.Lock()
	ls.admin = a
	ls.mu.Unlock()
	return nil
}

// PutDatabase creates a database, or keeps an existing one.
func (s *Server) PutDatabase(server, name string) error {
	ls, ok := s.logical(server)
	if !ok {
		return fmt.Errorf("sql: no server %q", server)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	k := strings.ToLower(name)
	if _, ok := ls.dbs[k]; ok {
		return nil
	}
	d, err := s.newDatabase(server, name)
	if err != nil {
		return err
	}
	ls.dbs[k] = d
	return nil
}

// DeleteDatabase drops a database and its data.
func (s *Server) DeleteDatabase(server, name string) {
	ls, ok := s.logical(server)
	if !ok {
		return
	}
	ls.mu.Lock()
	d := ls.dbs[strings.ToLower(name)]
	delete(ls.dbs, strings.ToLower(name))
	ls.mu.Unlock()
	if d != nil {
		d.db.Close()
	}
	s.dropFiles(server, name)
}

func (s *Server) logical(name string) (*logical, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.servers[strings.ToLower(name)]
	return ls, ok
}

func (ls *logical) database(name string) (*database, bool) {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	d, ok := ls.dbs[strings.ToLower(name)]
	return d, ok
}

func (ls *logical) currentAdmin() *Admin {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	return ls.admin
}
