package sql

import (
	"errors"
	"net"

	"github.com/miconform/miconform/env/emulator/sql/tds"
)

// Listen opens a TCP listener on addr and serves TDS on it in the background.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	go func() { _ = s.Serve(ln) }()
	return nil
}

// Addr is the address Listen opened, or "" before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// RunAs runs a T-SQL batch in a database as the principal with that object
// id, in process, with the same permission checks and translation as a
// TDS session; the emulator's seed uses it to play the admin in SSMS.
func (s *Server) RunAs(server, database, oid, batch string) error {
	ls, ok := s.logical(server)
	if !ok {
		return errors.New("sql: no server " + server)
	}
	db, ok := ls.database(database)
	if !ok {
		return errors.New("sql: no database " + database)
	}
	ss := &session{srv: s, ls: ls, db: db, oid: oid}
	if a := ls.currentAdmin(); a != nil && a.SID == oid {
		ss.admin, ss.userName = true, "dbo"
	} else if u, ok := db.userByOID(oid); ok {
		ss.user, ss.userName = u, u.Name
	} else {
		return errors.New("sql: " + errLoginFailed) //nolint:staticcheck // ST1005: Azure SQL's message, sent to the client as it is
	}
	defer func() { _ = ss.endTx(false) }() // a rollback of what the batch left open
	var r tds.Response
	toks, err := lex(batch)
	if err != nil {
		return err
	}
	for _, st := range splitStatements(toks) {
		if _, err := ss.statement(&r, st, nil); err != nil {
			return err
		}
	}
	return nil
}
