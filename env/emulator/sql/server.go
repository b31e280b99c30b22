// Package sql is the emulator's Azure SQL Database: the Microsoft.Sql
// resource provider (servers, their Microsoft Entra admin, databases) and a
// TDS listener that behaves like the Azure SQL gateway and database engine
// for clients that sign in with Microsoft Entra access tokens. A connection's
// path is: listener -> PRELOGIN (encryption negotiated, TLS inside PRELOGIN
// packets) or TLS first (TDS 8.0 strict) -> LOGIN7 with the FEDAUTH feature
// -> token checks -> session loop (SQL batches, RPC, transaction requests)
// -> T-SQL translated onto an embedded SQLite database per Azure database.
package sql

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/sql/tds"
	"github.com/miconform/miconform/env/emulator/state"
)

// defaultLoginTimeout bounds the time from accept to LOGINACK, so a
// client that stalls mid-handshake does not hold a connection forever.
const defaultLoginTimeout = 30 * time.Second

// defaultRefuseTimeout bounds the handshake of a connection past the cap,
// which is only answered with error 10928; defaultMaxRefusing bounds how
// many such handshakes run at once (more are closed at accept).
const (
	defaultRefuseTimeout = 5 * time.Second
	defaultMaxRefusing   = 64
)

// Server is the TDS endpoint of every logical server of one emulated cloud.
type Server struct {
	Cloud  cloud.Profile
	Issuer *entra.Issuer
	Dir    *directory.Directory

	cert tls.Certificate
	// ErrorLog receives connection-level failures (malformed packets...);
	// nil discards them.
	ErrorLog func(format string, args ...any)

	mu      sync.Mutex
	servers map[string]*logical
	conns   map[net.Conn]struct{}
	lns     []net.Listener
	wg      sync.WaitGroup
	closed  bool
	spid    uint16
	addr    string
	// dir holds the database files and log the users (persist.go);
	// empty and nil keep everything in memory.
	dir string
	log *state.Log
	// maxConns caps each listener's open connections (0: no cap).
	maxConns int
	// loginTimeout, refuseTimeout and maxRefusing are the defaults above
	// (fields, so that a test shortens them for its own server).
	loginTimeout, refuseTimeout time.Duration
	maxRefusing                 int
}

// SetMaxConns caps the connections each listener keeps open at once, as
// the emulator's HTTP listeners are capped (0: no cap). A connection past
// the cap is answered as Azure SQL answers a login past a database's
// session limit: the handshake goes on to LOGIN7, which gets error 10928
// ("Resource ID : 2. The session limit for the database is N and has been
// reached"), and the connection is closed. Clients report it as an error
// at once, and retry policies treat 10928 as transient (Microsoft.Data.
// SqlClient's configurable retry logic lists it: dotnet/SqlClient
// RetryLogicTestHelper.cs). Past 64 such handshakes at once, a connection
// is closed at accept.
func (s *Server) SetMaxConns(n int) {
	s.mu.Lock()
	s.maxConns = n
	s.mu.Unlock()
}

// New makes the SQL endpoint; cert must cover *.{SQLSuffix}.
func New(c cloud.Profile, iss *entra.Issuer, dir *directory.Directory, cert tls.Certificate) *Server {
	return &Server{
		Cloud: c, Issuer: iss, Dir: dir, cert: cert, servers: map[string]*logical{}, conns: map[net.Conn]struct{}{},
		loginTimeout: defaultLoginTimeout, refuseTimeout: defaultRefuseTimeout, maxRefusing: defaultMaxRefusing,
	}
}

// Serve accepts TDS connections until the listener is closed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	// open counts this listener's connections within the cap, refusing
	// those being answered 10928.
	var open atomic.Int64
	refusing := make(chan struct{}, s.maxRefusing)
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return net.ErrClosed
		}
		limit := s.maxConns
		refuse := limit > 0 && open.Load() >= int64(limit)
		if refuse {
			select {
			case refusing <- struct{}{}:
			default:
				s.mu.Unlock()
				c.Close()
				continue
			}
		} else {
			open.Add(1)
		}
		s.conns[c] = struct{}{}
		s.spid++
		spid := s.spid%30000 + 51 // user sessions start at 51
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				// The slot is free before the client sees the close,
				// so a client that reconnects at once finds it.
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				if refuse {
					<-refusing
				} else {
					open.Add(-1)
				}
				c.Close()
			}()
			var err error
			if refuse {
				err = s.refuse(c, limit)
			} else {
				err = s.handle(c, spid)
			}
			if err != nil && s.ErrorLog != nil {
				s.ErrorLog("sql: connection from %s: %v", c.RemoteAddr(), err)
			}
		}()
	}
}

// openConns counts the connections being served (tests).
func (s *Server) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// refuse answers a connection past the cap: the handshake up to LOGIN7,
// then Azure SQL's error for a session limit reached (error-messages
// table of Azure SQL Database: 10928, severity 20, "Resource ID : %d. The
// %s limit for the database is %d and has been reached"; resource 2 is
// sessions), within refuseTimeout.
func (s *Server) refuse(raw net.Conn, limit int) error {
	_ = raw.SetDeadline(time.Now().Add(min(s.refuseTimeout, s.loginTimeout)))
	conn, err := s.handshake(raw)
	if err != nil || conn == nil {
		return err
	}
	m, err := tds.ReadMessage(conn)
	if err != nil {
		return err
	}
	if m.Type != tds.PacketLogin7 {
		return errors.New("expected LOGIN7")
	}
	var r tds.Response
	r.Error(tds.Notice{Number: 10928, State: 1, Class: 20, Server: "",
		Text: fmt.Sprintf("Resource ID : 2. The session limit for the database is %d and has been reached. See 'https://docs.microsoft.com/azure/azure-sql/database/resource-limits-logical-server' for assistance.", limit)})
	r.Done(tds.DoneError, 0, 0)
	return tds.WriteMessage(conn, tds.PacketReply, 4096, r.Bytes())
}

// Close stops the listeners, ends every connection and closes the databases.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	servers := s.servers
	s.servers = map[string]*logical{}
	s.mu.Unlock()
	s.wg.Wait()
	for _, ls := range servers {
		for _, d := range ls.dbs {
			d.db.Close()
		}
	}
	return nil
}

// peekConn lets the first byte be inspected without consuming it.
type peekConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func (s *Server) tlsConfig(alpn ...string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12, NextProtos: alpn,
		// A session ticket would be sent after the handshake inside a
		// PRELOGIN packet the client no longer reads as such.
		SessionTicketsDisabled: true,
	}
}

// handle runs one connection from accept to close.
func (s *Server) handle(raw net.Conn, spid uint16) error {
	_ = raw.SetDeadline(time.Now().Add(s.loginTimeout))
	conn, err := s.handshake(raw)
	if err != nil || conn == nil {
		return err
	}
	sess, err := s.login(conn, spid)
	if err != nil || sess == nil {
		return err
	}
	_ = raw.SetDeadline(time.Time{})
	return sess.serve()
}

// handshake answers PRELOGIN and sets up TLS (TDS 8.0's TLS first, or TLS
// inside PRELOGIN packets); nil without an error when the client cannot
// encrypt and is turned away.
func (s *Server) handshake(raw net.Conn) (net.Conn, error) {
	pc := &peekConn{Conn: raw, r: bufio.NewReader(raw)}
	first, err := pc.r.Peek(1)
	if err != nil {
		return nil, err
	}
	var conn net.Conn = pc
	strict := first[0] == 0x16 // a TLS handshake record: TDS 8.0
	if strict {
		tc := tls.Server(pc, s.tlsConfig("tds/8.0"))
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol != "tds/8.0" {
			return nil, errors.New("TDS 8.0 client did not negotiate ALPN tds/8.0")
		}
		conn = tc
	}
	m, err := tds.ReadMessage(conn)
	if err != nil {
		return nil, err
	}
	if m.Type != tds.PacketPrelogin {
		return nil, errors.New("first message is not PRELOGIN")
	}
	pre, err := tds.ParsePrelogin(m.Data)
	if err != nil {
		return nil, err
	}
	clientEnc := pre.Encryption()
	resp := tds.Prelogin{
		tds.PreloginVersion:  {12, 0, 0x07, 0xD0, 0, 0},
		tds.PreloginInstOpt:  {0},
		tds.PreloginThreadID: {},
		tds.PreloginMARS:     {0},
	}
	// Azure SQL Database always encrypts: ENCRYPT_ON is echoed, anything
	// else is answered ENCRYPT_REQ (MS-TDS 2.2.6.5 encryption table).
	switch {
	case strict || clientEnc == tds.EncryptOn:
		resp[tds.PreloginEncryption] = []byte{tds.EncryptOn}
	default:
		resp[tds.PreloginEncryption] = []byte{tds.EncryptReq}
	}
	if _, ok := pre[tds.PreloginFedAuthRequired]; ok {
		resp[tds.PreloginFedAuthRequired] = []byte{1}
	}
	if err := tds.WriteMessage(conn, tds.PacketReply, 4096, resp.Bytes()); err != nil {
		return nil, err
	}
	if !strict {
		if clientEnc == tds.EncryptNotSup {
			// The client cannot encrypt and the server requires it: the
			// server ends the connection (MS-TDS 2.2.6.5).
			return nil, nil
		}
		hc := tds.NewHandshakeConn(raw)
		if pc.r.Buffered() > 0 {
			return nil, errors.New("client sent data before the TLS handshake")
		}
		tc := tls.Server(hc, s.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		if err := hc.Passthrough(); err != nil {
			return nil, err
		}
		conn = tc
	}
	return conn, nil
}

// loginError is the answer to a refused login: ERROR then DONE with the
// error bit, as Azure SQL sends.
func (s *Server) loginError(conn net.Conn, number int32, state byte, text string) error {
	var r tds.Response
	r.Error(tds.Notice{Number: number, State: state, Class: 14, Text: text, Server: ""})
	r.Done(tds.DoneError, 0, 0)
	return tds.WriteMessage(conn, tds.PacketReply, 4096, r.Bytes())
}

// errLoginFailed is Azure SQL's 18456 for token logins: the principal is
// not named, the literal placeholder is.
const errLoginFailed = "Login failed for user '<token-identified principal>'."

// login reads LOGIN7 (and for the ADAL library the FEDAUTH token
// message), checks the token and opens the session. A refused login is
// answered and returns a nil session.
func (s *Server) login(conn net.Conn, spid uint16) (*session, error) {
	m, err := tds.ReadMessage(conn)
	if err != nil {
		return nil, err
	}
	if m.Type != tds.PacketLogin7 {
		return nil, errors.New("expected LOGIN7")
	}
	l, err := tds.ParseLogin7(m.Data)
	if err != nil {
		return nil, err
	}
	packetSize := int(l.PacketSize)
	if packetSize < 512 || packetSize > 32767 {
		packetSize = 4096
	}
	serverName := strings.ToLower(l.ServerName)
	if i := strings.IndexAny(serverName, `\,:`); i >= 0 {
		serverName = serverName[:i]
	}
	label, _, _ := strings.Cut(serverName, ".")
	ls, ok := s.logical(label)
	if !ok {
		return nil, s.loginError(conn, 40532, 1, `Cannot open server "`+label+`" requested by the login. The login failed.`)
	}
	if l.FedAuth == nil {
		// SQL authentication: this emulator's servers are Entra-only.
		name := l.UserName
		return nil, s.loginError(conn, 18456, 1, "Login failed for user '"+name+"'.")
	}
	token := l.FedAuth.Token
	if l.FedAuth.Library == tds.FedAuthADAL {
		var r tds.Response
		// The STS is the tenant's authority; the SPN is the resource a
		// token must be for.
		r.FedAuthInfo("https://"+s.Cloud.ChallengeLoginHost+"/"+s.Dir.TenantID, s.Cloud.SQLResource)
		if err := tds.WriteMessage(conn, tds.PacketReply, packetSize, r.Bytes()); err != nil {
			return nil, err
		}
		m, err := tds.ReadMessage(conn)
		if err != nil {
			return nil, err
		}
		if m.Type != tds.PacketFedAuthToken {
			return nil, errors.New("expected the FEDAUTH token message after FEDAUTHINFO")
		}
		if token, err = tds.ParseFedAuthToken(m.Data); err != nil {
			return nil, err
		}
	}
	claims, ok := s.checkToken(token)
	if !ok {
		return nil, s.loginError(conn, 18456, 1, errLoginFailed)
	}
	dbName := l.Database
	if dbName == "" {
		dbName = "master"
	}
	db, ok := ls.database(dbName)
	if !ok {
		return nil, s.loginError(conn, 4060, 1, `Cannot open database "`+dbName+`" requested by the login. The login failed.`)
	}
	sess := &session{srv: s, conn: conn, packetSize: packetSize, ls: ls, db: db, spid: spid,
		oid: claims.OID, login: claims.AppID + "@" + claims.TID}
	if a := ls.currentAdmin(); a != nil && strings.EqualFold(a.SID, claims.OID) {
		sess.admin = true
		sess.userName = "dbo"
	} else if u, ok := db.userByOID(claims.OID); ok {
		sess.user, sess.userName = u, u.Name
	} else {
		return nil, s.loginError(conn, 18456, 1, errLoginFailed)
	}
	var r tds.Response
	r.EnvChangeString(tds.EnvDatabase, db.name, "master")
	r.Info(tds.Notice{Number: 5701, State: 2, Class: 0, Text: "Changed database context to '" + db.name + "'.", Server: ls.name, Line: 1})
	r.EnvChangeBytes(tds.EnvCollation, tds.Collation[:], nil)
	r.EnvChangeString(tds.EnvLanguage, "us_english", "")
	r.Info(tds.Notice{Number: 5703, State: 1, Class: 0, Text: "Changed language setting to us_english.", Server: ls.name, Line: 1})
	ver := uint32(0x74000004)
	r.LoginAck(ver)
	r.FeatureExtAckFedAuth()
	r.EnvChangeString(tds.EnvPacketSize, strconv.Itoa(packetSize), strconv.Itoa(packetSize))
	r.Done(tds.DoneFinal, 0, 0)
	if err := tds.WriteMessage(conn, tds.PacketReply, packetSize, r.Bytes()); err != nil {
		return nil, err
	}
	return sess, nil
}

// checkToken applies Azure SQL's token rules: a valid signature and
// lifetime, this tenant's issuer and the cloud's database resource as
// audience.
func (s *Server) checkToken(raw string) (*entra.Claims, bool) {
	c, err := s.Issuer.Verify(raw)
	if err != nil {
		return nil, false
	}
	aud := strings.TrimSuffix(s.Cloud.SQLResource, "/")
	if strings.TrimSuffix(c.Aud, "/") != aud || c.Iss != s.Issuer.IssuerURL() || !strings.EqualFold(c.TID, s.Dir.TenantID) {
		return nil, false
	}
	return c, true
}
