package tds

import (
	"bytes"
	"errors"
	"net"
	"time"
)

// HandshakeConn carries a TLS handshake inside PRELOGIN packets, as TDS 7.x
// does for encrypt=true (MS-TDS 3.3.5.2): what the TLS server writes is
// collected and sent as one PRELOGIN message, one message per flight, when
// the TLS server next needs to read or when Flush is called after the
// handshake; what it reads comes from the payloads of the client's PRELOGIN
// packets. After the handshake the TLS records travel bare on the socket, so
// Passthrough switches the connection over.
type HandshakeConn struct {
	net.Conn
	passthrough bool
	out         bytes.Buffer
	in          []byte
}

// NewHandshakeConn wraps the raw client socket.
func NewHandshakeConn(c net.Conn) *HandshakeConn { return &HandshakeConn{Conn: c} }

// Read implements net.Conn.
func (h *HandshakeConn) Read(b []byte) (int, error) {
	if h.passthrough {
		return h.Conn.Read(b)
	}
	if err := h.Flush(); err != nil {
		return 0, err
	}
	if len(h.in) == 0 {
		m, err := ReadMessage(h.Conn)
		if err != nil {
			return 0, err
		}
		if m.Type != PacketPrelogin {
			return 0, errors.New("tds: expected a PRELOGIN packet carrying the TLS handshake")
		}
		h.in = m.Data
	}
	n := copy(b, h.in)
	h.in = h.in[n:]
	return n, nil
}

// Write implements net.Conn.
func (h *HandshakeConn) Write(b []byte) (int, error) {
	if h.passthrough {
		return h.Conn.Write(b)
	}
	return h.out.Write(b)
}

// Flush sends the pending flight as one PRELOGIN message.
func (h *HandshakeConn) Flush() error {
	if h.out.Len() == 0 {
		return nil
	}
	err := WriteMessage(h.Conn, PacketPrelogin, 4096, h.out.Bytes())
	h.out.Reset()
	return err
}

// Passthrough ends the PRELOGIN framing: from now on TLS records go bare.
func (h *HandshakeConn) Passthrough() error {
	if err := h.Flush(); err != nil {
		return err
	}
	if len(h.in) > 0 {
		return errors.New("tds: client sent data after its last handshake flight inside PRELOGIN")
	}
	h.passthrough = true
	return nil
}

// SetDeadline implements net.Conn.
func (h *HandshakeConn) SetDeadline(t time.Time) error { return h.Conn.SetDeadline(t) }
