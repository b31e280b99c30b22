// Package tds is the server side of the Tabular Data Stream wire format as
// Azure SQL Database speaks it: packets, PRELOGIN, the TLS handshake carried
// inside PRELOGIN packets, LOGIN7 with the FEDAUTH feature extension, the
// client's FEDAUTH token message, SQL batches, RPC requests, transaction
// manager requests, and the response tokens a server sends back.
//
// Every parser here reads untrusted bytes: it returns an error for anything
// malformed, truncated or oversized and never panics.
//
// Reference: [MS-TDS] https://learn.microsoft.com/openspecs/windows_protocols/ms-tds/
package tds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PacketType is the first byte of a packet header (MS-TDS 2.2.3.1.1).
type PacketType byte

// Packet types a client sends, and the server's reply type.
const (
	PacketSQLBatch     PacketType = 0x01
	PacketRPC          PacketType = 0x03
	PacketReply        PacketType = 0x04
	PacketAttention    PacketType = 0x06
	PacketFedAuthToken PacketType = 0x08
	PacketTransMgr     PacketType = 0x0E
	PacketLogin7       PacketType = 0x10
	PacketPrelogin     PacketType = 0x12
)

// Packet header status bits (MS-TDS 2.2.3.1.2).
const (
	statusEOM             = 0x01
	StatusResetConnection = 0x08
)

const headerLen = 8

// MaxMessage bounds one client message, so a client announcing endless
// packets cannot exhaust memory. It is far above what the tutorials send
// and what a LOGIN7 may be (128 KiB).
const MaxMessage = 8 << 20

// ErrTooLarge is returned for a message over MaxMessage.
var ErrTooLarge = errors.New("tds: message too large")

// Message is one client message: the packets up to the one with EOM.
type Message struct {
	Type PacketType
	// Reset is the RESETCONNECTION bit of the first packet: the client's
	// pool hands the connection to a new user and the session starts over.
	Reset bool
	Data  []byte
}

// ReadMessage reads packets until end of message. All packets of a message
// must have the same type.
func ReadMessage(r io.Reader) (Message, error) {
	var m Message
	var h [headerLen]byte
	for first := true; ; first = false {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			if !first && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return m, err
		}
		n := int(binary.BigEndian.Uint16(h[2:4]))
		if n < headerLen {
			return m, fmt.Errorf("tds: packet length %d is shorter than its header", n)
		}
		t := PacketType(h[0])
		if first {
			m.Type, m.Reset = t, h[1]&StatusResetConnection != 0
		} else if t != m.Type {
			return m, fmt.Errorf("tds: packet type %#x inside a message of type %#x", t, m.Type)
		}
		if len(m.Data)+n-headerLen > MaxMessage {
			return m, ErrTooLarge
		}
		start := len(m.Data)
		m.Data = append(m.Data, make([]byte, n-headerLen)...)
		if _, err := io.ReadFull(r, m.Data[start:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return m, err
		}
		if h[1]&statusEOM != 0 {
			return m, nil
		}
	}
}

// WriteMessage sends data as one message of packets no bigger than
// packetSize, the last one marked end of message.
func WriteMessage(w io.Writer, t PacketType, packetSize int, data []byte) error {
	if packetSize < 512 {
		packetSize = 512
	}
	chunk := packetSize - headerLen
	buf := make([]byte, 0, packetSize)
	id := byte(1)
	for {
		n := min(chunk, len(data))
		status := byte(0)
		if n == len(data) {
			status = statusEOM
		}
		buf = buf[:headerLen]
		buf[0], buf[1] = byte(t), status
		binary.BigEndian.PutUint16(buf[2:], uint16(n+headerLen))
		buf[4], buf[5], buf[6], buf[7] = 0, 0, id, 0
		buf = append(buf, data[:n]...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		data = data[n:]
		id++
		if status == statusEOM {
			return nil
		}
	}
}
