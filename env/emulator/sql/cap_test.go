package sql

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closedBy reads c until the server closes it; false if it is still open
// at the deadline.
func closedBy(t *testing.T, c net.Conn, deadline time.Duration) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(deadline)))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestConnectionCap: with a cap of 4 and room for 2 refusals at once, cap+5
// raw connections: the 5 extra are closed (2 after the refusal deadline,
// 3 at once) while the 4 within the cap stay open; a client past the cap
// gets error 10928 at login; the session that was open keeps working; and
// once connections close their slots take new logins again.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, "AzureCloud", func(s *Server) { s.maxRefusing, s.refuseTimeout = 2, 300*time.Millisecond })
	const limit = 4
	f.srv.SetMaxConns(limit)

	admin := f.asAdmin("true")
	admin.SetMaxOpenConns(1)
	require.NoError(t, admin.PingContext(ctx(t)))
	var within []net.Conn
	for range limit - 1 {
		c, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		within = append(within, c)
	}
	// Accepts are in order: the extra connections are past the cap only
	// once the server has taken the ones within it; a round trip on the
	// admin's session after dialing does not prove that, so wait for the
	// server to count them.
	require.Eventually(t, func() bool { return f.srv.openConns() == limit }, 10*time.Second, 10*time.Millisecond)

	var extra []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", f.addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		extra = append(extra, c)
	}
	for i, c := range extra {
		assert.True(t, closedBy(t, c, 10*time.Second), "extra connection %d is closed", i)
	}
	for i, c := range within {
		assert.False(t, closedBy(t, c, 50*time.Millisecond), "connection %d within the cap stays open", i)
	}

	// A client past the cap: error 10928 at login, not a hang.
	var me mssql.Error
	require.ErrorAs(t, f.asAdmin("true").PingContext(ctx(t)), &me)
	assert.EqualValues(t, 10928, me.Number)
	assert.EqualValues(t, 20, me.Class)
	assert.Contains(t, me.Message, "The session limit for the database is 4 and has been reached")
	// TDS 8.0 (TLS first) is refused the same way.
	require.ErrorAs(t, f.asAdmin("strict").PingContext(ctx(t)), &me)
	assert.EqualValues(t, 10928, me.Number)

	// The session within the cap goes on.
	var one int
	require.NoError(t, admin.QueryRowContext(ctx(t), "SELECT 1").Scan(&one))

	// Freed slots take logins again.
	for _, c := range within {
		c.Close()
	}
	require.Eventually(t, func() bool { return f.srv.openConns() == 1 }, 10*time.Second, 10*time.Millisecond)
	fresh := f.asAdmin("true")
	require.NoError(t, fresh.PingContext(ctx(t)))
	require.NoError(t, fresh.QueryRowContext(ctx(t), "SELECT 1").Scan(&one))
}
