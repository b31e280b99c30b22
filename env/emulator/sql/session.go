package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/sql/tds"
)

// statementTimeout bounds one statement, including the wait for another
// session's open transaction.
const statementTimeout = 30 * time.Second

// session is one logged-in connection.
type session struct {
	srv        *Server
	conn       net.Conn
	packetSize int
	ls         *logical
	db         *database
	spid       uint16

	oid string
	// login is what SUSER_SNAME() returns: client id @ tenant id, as Azure
	// SQL names Microsoft Entra applications and managed identities.
	login    string
	userName string
	admin    bool
	user     *dbUser

	tx   *sql.Conn
	txID uint64
}

// executor is what statements run on: the database, or the session's
// connection while a transaction is open.
type executor interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (ss *session) exec() executor {
	if ss.tx != nil {
		return ss.tx
	}
	return ss.db.db
}

// serve answers requests until the client goes away or sends something
// malformed, which ends only this connection.
func (ss *session) serve() error {
	defer func() { _ = ss.endTx(false) }() // the connection is going: roll back what it left open
	for {
		m, err := tds.ReadMessage(ss.conn)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if m.Reset {
			_ = ss.endTx(false)
		}
		var r tds.Response
		switch m.Type {
		case tds.PacketSQLBatch:
			b, err := tds.ParseBatch(m.Data)
			if err != nil {
				return err
			}
			ss.runBatch(&r, b.Text, nil, false)
		case tds.PacketRPC:
			rpc, err := tds.ParseRPC(m.Data)
			if err != nil {
				return err
			}
			ss.runRPC(&r, rpc)
		case tds.PacketTransMgr:
			t, err := tds.ParseTransMgr(m.Data)
			if err != nil {
				return err
			}
			ss.transMgr(&r, t)
		case tds.PacketAttention:
			// Requests are answered whole before the next is read, so
			// there is nothing left to cancel: acknowledge.
			r.Done(tds.DoneAttn, 0, 0)
		default:
			return fmt.Errorf("unexpected packet type %#x in a session", m.Type)
		}
		if err := tds.WriteMessage(ss.conn, tds.PacketReply, ss.packetSize, r.Bytes()); err != nil {
			return err
		}
	}
}

func (ss *session) notice(r *tds.Response, e *sqlError) {
	r.Error(tds.Notice{Number: e.Number, State: e.State, Class: e.Class, Text: e.Text, Server: ss.ls.name, Line: 1})
}

// runBatch runs the statements of a batch in order; the first error ends
// the batch.
func (ss *session) runBatch(r *tds.Response, text string, params map[string]any, inProc bool) bool {
	done := r.Done
	// Inside a procedure (sp_executesql) every DONEINPROC says more
	// follows (DONE_MORE): the procedure's RETURNSTATUS and DONEPROC do.
	// go-mssqldb stops reading a response at a DONEINPROC without it, so
	// an ERROR before one would never reach the client: a parameterized
	// INSERT that failed would look as if it had succeeded.
	more := uint16(0)
	if inProc {
		done, more = r.DoneInProc, tds.DoneMore
	}
	toks, err := lex(text)
	if err != nil {
		ss.notice(r, asSQLError(err))
		done(tds.DoneError|more, 0, 0)
		return false
	}
	stmts := splitStatements(toks)
	if len(stmts) == 0 {
		done(tds.DoneFinal|more, 0, 0)
		return true
	}
	for i, st := range stmts {
		res, err := ss.statement(r, st, params)
		if err != nil {
			se := asSQLError(err)
			doomed := ss.tx != nil && se.rolledBack
			if doomed {
				c := *se
				c.Text += " The transaction was rolled back."
				se = &c
			}
			ss.notice(r, se)
			if doomed {
				ss.dropDoomedTx(r)
			}
			done(tds.DoneError|more, 0, 0)
			return false
		}
		status := uint16(0)
		if i < len(stmts)-1 || inProc {
			status |= tds.DoneMore
		}
		if res.counted {
			status |= tds.DoneCount
		}
		done(status, res.cmd, res.count)
	}
	return true
}

// runRPC runs sp_executesql, which go-mssqldb sends for every query with
// arguments; other procedures are not emulated.
func (ss *session) runRPC(r *tds.Response, rpc tds.RPC) {
	if rpc.ProcID != tds.ProcExecuteSQL && !strings.EqualFold(rpc.Proc, "sp_executesql") {
		name := rpc.Proc
		if name == "" {
			name = fmt.Sprintf("procedure id %d", rpc.ProcID)
		}
		ss.notice(r, &sqlError{Number: 2812, State: 62, Class: 16, Text: fmt.Sprintf("Could not find stored procedure '%s'.", name)})
		r.DoneProc(tds.DoneError, 0, 0)
		return
	}
	if len(rpc.Params) == 0 {
		ss.notice(r, &sqlError{Number: 201, State: 4, Class: 16, Text: "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied."})
		r.DoneProc(tds.DoneError, 0, 0)
		return
	}
	stmt, ok := rpc.Params[0].Value.(string)
	if !ok {
		ss.notice(r, &sqlError{Number: 214, State: 2, Class: 16, Text: "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'."})
		r.DoneProc(tds.DoneError, 0, 0)
		return
	}
	params := map[string]any{}
	for _, p := range rpc.Params[min(2, len(rpc.Params)):] {
		params[strings.ToLower(strings.TrimPrefix(p.Name, "@"))] = p.Value
	}
	if ss.runBatch(r, stmt, params, true) {
		r.ReturnStatus(0)
		r.DoneProc(tds.DoneFinal, 0, 0)
		return
	}
	r.DoneProc(tds.DoneError, 0, 0)
}

// transMgr answers go-mssqldb's BeginTx/Commit/Rollback, which come as
// transaction manager requests rather than T-SQL.
func (ss *session) transMgr(r *tds.Response, t tds.TransMgr) {
	var err error
	switch t.Type {
	case tds.TMBegin:
		err = ss.beginTx(r)
	case tds.TMCommit, tds.TMRollback:
		err = ss.finishTx(r, t.Type == tds.TMCommit)
		if err == nil && t.BeginAgain {
			err = ss.beginTx(r)
		}
	}
	if err != nil {
		ss.notice(r, asSQLError(err))
		r.Done(tds.DoneError, 0, 0)
		return
	}
	r.Done(tds.DoneFinal, 0, 0)
}

func (ss *session) beginTx(r *tds.Response) error {
	if ss.tx != nil {
		// Nested BEGIN TRAN only counts in SQL Server; one level is kept.
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), statementTimeout)
	defer cancel()
	c, err := ss.db.db.Conn(ctx)
	if err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		c.Close()
		return err
	}
	ss.tx = c
	ss.txID++
	r.EnvChangeBytes(tds.EnvBeginTran, txDescriptor(ss.spid, ss.txID), nil)
	return nil
}

func (ss *session) finishTx(r *tds.Response, commit bool) error {
	if ss.tx == nil {
		if commit {
			return &sqlError{Number: 3902, State: 1, Class: 16, Text: "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION."}
		}
		return &sqlError{Number: 3903, State: 1, Class: 16, Text: "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION."}
	}
	typ := byte(tds.EnvRollbackTran)
	if commit {
		typ = tds.EnvCommitTran
	}
	err := ss.endTx(commit)
	if err != nil {
		typ = tds.EnvRollbackTran
	}
	r.EnvChangeBytes(typ, nil, txDescriptor(ss.spid, ss.txID))
	return err
}

// dropDoomedTx ends the session's transaction after an error SQLite
// answers by rolling the whole transaction back (SQLITE_FULL: "it is
// possible that the transaction will be automatically rolled back",
// sqlite.org/lang_transaction.html), as SQL Server ends a doomed
// transaction: rolled back and announced with ENVCHANGE rollback, so the
// client's later COMMIT gets 3902 and no later statement of what the
// client takes for its transaction is committed on its own.
func (ss *session) dropDoomedTx(r *tds.Response) {
	_ = ss.endTx(false) // SQLite may have rolled back already
	r.EnvChangeBytes(tds.EnvRollbackTran, nil, txDescriptor(ss.spid, ss.txID))
}

func (ss *session) endTx(commit bool) error {
	if ss.tx == nil {
		return nil
	}
	q := "ROLLBACK"
	if commit {
		q = "COMMIT"
	}
	_, err := ss.tx.ExecContext(context.Background(), q)
	if err != nil && commit {
		// A COMMIT refused (a full disk) may leave the transaction
		// open: the pooled connection must not carry it to the next
		// session.
		_, _ = ss.tx.ExecContext(context.Background(), "ROLLBACK")
	}
	ss.tx.Close()
	ss.tx = nil
	return err
}

func txDescriptor(spid uint16, id uint64) []byte {
	v := uint64(spid)<<48 | id
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
