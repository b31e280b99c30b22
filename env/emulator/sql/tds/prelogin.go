package tds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// PRELOGIN option tokens (MS-TDS 2.2.6.5).
const (
	PreloginVersion         byte = 0x00
	PreloginEncryption      byte = 0x01
	PreloginInstOpt         byte = 0x02
	PreloginThreadID        byte = 0x03
	PreloginMARS            byte = 0x04
	PreloginTraceID         byte = 0x05
	PreloginFedAuthRequired byte = 0x06
	PreloginNonce           byte = 0x07
	preloginTerminator      byte = 0xFF
)

// Encryption values of the PRELOGIN ENCRYPTION option.
const (
	EncryptOff    byte = 0x00
	EncryptOn     byte = 0x01
	EncryptNotSup byte = 0x02
	EncryptReq    byte = 0x03
)

// Prelogin is a parsed PRELOGIN message: option token to value.
type Prelogin map[byte][]byte

// ParsePrelogin reads the option table and values of a PRELOGIN message.
func ParsePrelogin(b []byte) (Prelogin, error) {
	p := Prelogin{}
	for i := 0; ; i += 5 {
		if i >= len(b) {
			return nil, errors.New("tds: PRELOGIN option table has no terminator")
		}
		tok := b[i]
		if tok == preloginTerminator {
			return p, nil
		}
		if i+5 > len(b) {
			return nil, errors.New("tds: PRELOGIN option table is truncated")
		}
		off, n := int(binary.BigEndian.Uint16(b[i+1:])), int(binary.BigEndian.Uint16(b[i+3:]))
		if off+n > len(b) {
			return nil, fmt.Errorf("tds: PRELOGIN option %#x points past the message", tok)
		}
		if _, dup := p[tok]; dup {
			return nil, fmt.Errorf("tds: PRELOGIN option %#x appears twice", tok)
		}
		p[tok] = b[off : off+n]
	}
}

// Encryption is the client's ENCRYPTION option; a PRELOGIN without one is
// treated as ENCRYPT_OFF, the protocol default.
func (p Prelogin) Encryption() byte {
	if v := p[PreloginEncryption]; len(v) == 1 {
		return v[0]
	}
	return EncryptOff
}

// Bytes encodes options in token order.
func (p Prelogin) Bytes() []byte {
	keys := make([]int, 0, len(p))
	for k := range p {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	off := 5*len(keys) + 1
	out := make([]byte, 0, off+64)
	var data []byte
	for _, k := range keys {
		v := p[byte(k)]
		out = append(out, byte(k), byte(off>>8), byte(off), byte(len(v)>>8), byte(len(v)))
		off += len(v)
		data = append(data, v...)
	}
	out = append(out, preloginTerminator)
	return append(out, data...)
}
