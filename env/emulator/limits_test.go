package emulator_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
)

func startLimited(t *testing.T, lim emulator.Limits) *emulator.Emulator {
	t.Helper()
	e, err := emulator.New(emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), Seed: "none", Limits: &lim, SigningKey: sharedKey(t)})
	require.NoError(t, err)
	require.NoError(t, e.Start())
	t.Cleanup(func() { e.Close() })
	return e
}

// closedWithin reads c until the server closes it and fails if that takes
// longer than max (the server's limit, with room for a loaded machine).
func closedWithin(t *testing.T, c net.Conn, max time.Duration) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(max)))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open for %v", max)
	}
}

// TestSlowBodiesAreCut: a request whose body stops coming, or trickles in
// longer than the body limit, loses its connection; unauthenticated, on
// the HTTPS listener (a blob PUT) and on plain IMDS.
func TestSlowBodiesAreCut(t *testing.T) {
	t.Parallel()
	e := startLimited(t, emulator.Limits{ReadHeader: 5 * time.Second, BodyIdle: 300 * time.Millisecond, Body: 1500 * time.Millisecond, Idle: time.Minute, MaxConns: 64})
	dials := map[string]func() net.Conn{
		"https blob": func() net.Conn {
			c, err := tls.Dial("tcp", e.HTTPSAddr(), &tls.Config{RootCAs: e.CA.Pool(), ServerName: "acct.blob." + e.Cloud.StorageSuffix})
			require.NoError(t, err)
			return c
		},
		"imds": func() net.Conn {
			c, err := net.Dial("tcp", e.IMDSAddr())
			require.NoError(t, err)
			return c
		},
	}
	head := "PUT /c/b HTTP/1.1\r\nHost: acct.blob." + e.Cloud.StorageSuffix + "\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: 100000\r\n\r\n"
	for name, dial := range dials {
		t.Run(name+" stalled", func(t *testing.T) {
			c := dial()
			defer c.Close()
			_, err := io.WriteString(c, head+"first bytes")
			require.NoError(t, err)
			closedWithin(t, c, 10*time.Second)
		})
		t.Run(name+" trickling", func(t *testing.T) {
			c := dial()
			defer c.Close()
			_, err := io.WriteString(c, head)
			require.NoError(t, err)
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						if _, err := io.WriteString(c, "x"); err != nil {
							return
						}
					}
				}
			}()
			defer close(stop)
			closedWithin(t, c, 10*time.Second)
		})
	}
}

// TestIdleConnectionsClose: a keep-alive connection with no next request
// is closed after the idle limit.
func TestIdleConnectionsClose(t *testing.T) {
	t.Parallel()
	e := startLimited(t, emulator.Limits{ReadHeader: 5 * time.Second, BodyIdle: 5 * time.Second, Body: time.Minute, Idle: 300 * time.Millisecond, MaxConns: 64})
	c, err := net.Dial("tcp", e.IMDSAddr())
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /metadata/instance?api-version=2021-02-01 HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closedWithin(t, c, 10*time.Second)
}

// holdConns opens n connections to addr, closed when the test ends.
func holdConns(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var held []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		held = append(held, c)
	}
	return held
}

// TestConnectionCap: past MaxConns open connections, a new one is not
// served until one of them closes.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	const max = 4
	e := startLimited(t, emulator.Limits{ReadHeader: time.Minute, BodyIdle: time.Minute, Body: time.Minute, Idle: time.Minute, MaxConns: max})
	held := holdConns(t, e.IMDSAddr(), max)
	extra, err := net.Dial("tcp", e.IMDSAddr()) // the kernel's backlog takes it
	require.NoError(t, err)
	defer extra.Close()
	_, err = io.WriteString(extra, "GET /metadata/instance?api-version=2021-02-01 HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
	_, err = extra.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "not served while %d connections are open", max)

	held[0].Close()
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	require.NoError(t, err, "served once one closed")
	resp.Body.Close()
	assert.True(t, strings.HasPrefix(resp.Status, "4") || strings.HasPrefix(resp.Status, "2"), resp.Status)
}

// TestSQLConnectionCap: the TDS listener has the same cap; past it a
// login gets Azure SQL's session-limit error (10928), and a closed
// connection's slot takes a login again (here refused as an unknown
// server, which the seedless emulator has none of).
func TestSQLConnectionCap(t *testing.T) {
	const max = 3
	e := startLimited(t, emulator.Limits{ReadHeader: time.Minute, BodyIdle: time.Minute, Body: time.Minute, Idle: time.Minute, MaxConns: max})
	held := holdConns(t, e.SQLAddr(), max)
	host := "nosuchserver." + e.Cloud.SQLSuffix
	login := func() mssql.Error {
		t.Helper()
		cfg, err := msdsn.Parse("sqlserver://" + host + "?database=db&encrypt=true&dial+timeout=5&connection+timeout=10")
		require.NoError(t, err)
		cfg.TLSConfig = &tls.Config{RootCAs: e.CA.Pool(), ServerName: host}
		conn, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return "token", nil })
		require.NoError(t, err)
		conn.Dialer = dialerFunc(func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, e.SQLAddr())
		})
		db := sql.OpenDB(conn)
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var me mssql.Error
		require.ErrorAs(t, db.PingContext(ctx), &me)
		return me
	}
	// The listener takes connections in order; the held ones may still be
	// in its backlog, so a first login may come before all of them count.
	require.Eventually(t, func() bool { return login().Number == 10928 }, 10*time.Second, 50*time.Millisecond)
	me := login()
	assert.EqualValues(t, 10928, me.Number)
	assert.Contains(t, me.Message, fmt.Sprintf("The session limit for the database is %d and has been reached", max))

	for _, c := range held {
		c.Close()
	}
	require.Eventually(t, func() bool { return login().Number == 40532 }, 10*time.Second, 50*time.Millisecond, "freed slots take logins")
}
