package tds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
)

// reader is a bounds-checked cursor over a request; the first failed read
// sets err and every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.New("tds: request is truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) ucs2(chars int) string {
	b := r.take(2 * chars)
	if r.err != nil {
		return ""
	}
	s, err := UCS2(b)
	if err != nil {
		r.err = err
	}
	return s
}

// allHeaders reads ALL_HEADERS (MS-TDS 2.2.5.3) and returns the
// transaction descriptor it carries.
func (r *reader) allHeaders() uint64 {
	total := r.u32()
	if r.err != nil {
		return 0
	}
	if total < 4 {
		r.err = errors.New("tds: ALL_HEADERS length is too small")
		return 0
	}
	hr := &reader{b: r.take(int(total) - 4)}
	var txn uint64
	for r.err == nil && len(hr.b) > 0 {
		n := hr.u32()
		typ := hr.u16()
		if hr.err != nil || n < 6 {
			r.err = errors.New("tds: malformed ALL_HEADERS entry")
			return 0
		}
		data := &reader{b: hr.take(int(n) - 6)}
		if hr.err != nil {
			r.err = hr.err
			return 0
		}
		if typ == 2 { // transaction descriptor
			txn = data.u64()
		}
	}
	return txn
}

// Batch is a SQL batch request (MS-TDS 2.2.6.7).
type Batch struct {
	Txn  uint64
	Text string
}

// ParseBatch decodes a SQL batch.
func ParseBatch(b []byte) (Batch, error) {
	r := &reader{b: b}
	txn := r.allHeaders()
	if r.err != nil {
		return Batch{}, r.err
	}
	if len(r.b)%2 != 0 {
		return Batch{}, errors.New("tds: SQL batch text has an odd number of bytes")
	}
	text := r.ucs2(len(r.b) / 2)
	return Batch{Txn: txn, Text: text}, r.err
}

// TransMgr request types (MS-TDS 2.2.6.9).
const (
	TMBegin    = 5
	TMCommit   = 7
	TMRollback = 8
)

// TransMgr is a transaction manager request.
type TransMgr struct {
	Txn  uint64
	Type uint16
	// BeginAgain is fBeginXact of commit/rollback: start a new transaction at once.
	BeginAgain bool
}

// ParseTransMgr decodes a transaction manager request.
func ParseTransMgr(b []byte) (TransMgr, error) {
	r := &reader{b: b}
	t := TransMgr{Txn: r.allHeaders()}
	t.Type = r.u16()
	switch t.Type {
	case TMBegin:
		r.u8() // isolation level
		r.ucs2(int(r.u8()))
	case TMCommit, TMRollback:
		r.ucs2(int(r.u8()))
		if len(r.b) > 0 {
			t.BeginAgain = r.u8()&1 != 0
		}
	default:
		if r.err == nil {
			return t, fmt.Errorf("tds: transaction manager request %d is not supported", t.Type)
		}
	}
	return t, r.err
}

// Param is one RPC parameter.
type Param struct {
	Name   string
	Output bool
	// Value is nil, int64, float64, bool, string, []byte or time.Time;
	// decimals and GUIDs come as their text form.
	Value any
}

// RPC is an RPC request (MS-TDS 2.2.6.6); only the first call of a batch of
// calls is decoded.
type RPC struct {
	Txn    uint64
	ProcID uint16
	Proc   string
	Params []Param
}

// ProcExecuteSQL is sp_executesql's well-known procedure id.
const ProcExecuteSQL = 10

// ParseRPC decodes an RPC request.
func ParseRPC(b []byte) (RPC, error) {
	r := &reader{b: b}
	rpc := RPC{Txn: r.allHeaders()}
	n := r.u16()
	if n == 0xFFFF {
		rpc.ProcID = r.u16()
	} else {
		rpc.Proc = r.ucs2(int(n))
	}
	r.u16() // option flags
	for r.err == nil && len(r.b) > 0 {
		if r.b[0] == 0x80 || r.b[0] == 0xFF || r.b[0] == 0xFE {
			return rpc, errors.New("tds: batched RPC calls are not supported")
		}
		var p Param
		p.Name = r.ucs2(int(r.u8()))
		p.Output = r.u8()&1 != 0
		p.Value = r.typedValue()
		rpc.Params = append(rpc.Params, p)
		if len(rpc.Params) > 2100 {
			return rpc, errors.New("tds: too many parameters; a request can have at most 2100")
		}
	}
	return rpc, r.err
}

// typedValue reads TYPE_INFO then the value it describes.
func (r *reader) typedValue() any {
	t := r.u8()
	if r.err != nil {
		return nil
	}
	switch t {
	case typeNull:
		return nil
	case typeInt1:
		return int64(r.u8())
	case typeBit:
		return r.u8() != 0
	case typeInt2:
		return int64(int16(r.u16()))
	case typeInt4:
		return int64(int32(r.u32()))
	case typeInt8:
		return int64(r.u64())
	case typeFlt4:
		return float64(math.Float32frombits(r.u32()))
	case typeFlt8:
		return math.Float64frombits(r.u64())
	case typeDateTime:
		return dateTime8(r.take(8))
	case typeIntN, typeBitN, typeFltN, typeDateTimeN, typeGUID, typeMoneyN:
		r.u8() // max length
		v := r.take(int(r.u8()))
		if r.err != nil || len(v) == 0 {
			return nil
		}
		return fixedLen(t, v, r)
	case typeDecimalN, typeNumericN:
		r.u8()
		r.u8() // precision
		scale := r.u8()
		v := r.take(int(r.u8()))
		if r.err != nil || len(v) == 0 {
			return nil
		}
		mag := make([]byte, len(v)-1)
		for i := range mag {
			mag[i] = v[len(v)-1-i]
		}
		n := new(big.Int).SetBytes(mag)
		if v[0] == 0 {
			n.Neg(n)
		}
		return new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)).FloatString(int(scale))
	case typeDateN, typeTimeN, typeDateTime2N, typeDTOffsetN:
		scale := byte(0)
		if t != typeDateN {
			scale = r.u8()
		}
		v := r.take(int(r.u8()))
		if r.err != nil || len(v) == 0 {
			return nil
		}
		return dateTimeN(t, scale, v, r)
	case typeNVarChar, typeNChar, typeBigVarChr, typeBigChar, typeBigVarBin, typeBigBinary:
		max := r.u16()
		if t == typeNVarChar || t == typeNChar || t == typeBigVarChr || t == typeBigChar {
			r.take(5) // collation
		}
		var v []byte
		if max == 0xFFFF {
			v = r.plp()
		} else {
			n := r.u16()
			if n == 0xFFFF {
				return nil
			}
			v = r.take(int(n))
		}
		if r.err != nil || v == nil {
			return nil
		}
		switch t {
		case typeNVarChar, typeNChar:
			s, err := UCS2(v)
			if err != nil {
				r.err = err
			}
			return s
		case typeBigVarChr, typeBigChar:
			return string(v)
		}
		return v
	}
	r.err = fmt.Errorf("tds: parameter type %#x is not supported", t)
	return nil
}

// plp reads a PARTLENTYPE value; nil is NULL.
func (r *reader) plp() []byte {
	total := r.u64()
	if r.err != nil || total == math.MaxUint64 {
		return nil
	}
	out := []byte{}
	for r.err == nil {
		n := r.u32()
		if n == 0 {
			return out
		}
		if uint64(len(out))+uint64(n) > MaxMessage {
			r.err = ErrTooLarge
			return nil
		}
		out = append(out, r.take(int(n))...)
	}
	return nil
}

func fixedLen(t byte, v []byte, r *reader) any {
	switch t {
	case typeIntN:
		switch len(v) {
		case 1:
			return int64(v[0])
		case 2:
			return int64(int16(binary.LittleEndian.Uint16(v)))
		case 4:
			return int64(int32(binary.LittleEndian.Uint32(v)))
		case 8:
			return int64(binary.LittleEndian.Uint64(v))
		}
	case typeBitN:
		return v[0] != 0
	case typeFltN:
		switch len(v) {
		case 4:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(v)))
		case 8:
			return math.Float64frombits(binary.LittleEndian.Uint64(v))
		}
	case typeDateTimeN:
		if len(v) == 8 {
			return dateTime8(v)
		}
	case typeGUID:
		if len(v) == 16 {
			return FormatGUID(v)
		}
	case typeMoneyN:
		switch len(v) {
		case 4:
			return float64(int32(binary.LittleEndian.Uint32(v))) / 10000
		case 8:
			hi, lo := int64(int32(binary.LittleEndian.Uint32(v))), int64(binary.LittleEndian.Uint32(v[4:]))
			return float64(hi<<32|lo) / 10000
		}
	}
	r.err = fmt.Errorf("tds: parameter of type %#x has invalid length %d", t, len(v))
	return nil
}

func dateTime8(v []byte) any {
	if len(v) != 8 {
		return nil
	}
	days := int32(binary.LittleEndian.Uint32(v))
	ticks := binary.LittleEndian.Uint32(v[4:])
	return epoch1900.AddDate(0, 0, int(days)).Add(time.Duration(ticks) * time.Second / 300)
}

func dateTimeN(t, scale byte, v []byte, r *reader) any {
	if scale > 7 {
		r.err = errors.New("tds: time scale above 7")
		return nil
	}
	tl := 5
	switch {
	case scale <= 2:
		tl = 3
	case scale <= 4:
		tl = 4
	}
	var want int
	switch t {
	case typeDateN:
		want = 3
	case typeTimeN:
		want = tl
	case typeDateTime2N:
		want = tl + 3
	case typeDTOffsetN:
		want = tl + 5
	}
	if len(v) != want {
		r.err = fmt.Errorf("tds: date/time parameter has invalid length %d", len(v))
		return nil
	}
	var clock time.Duration
	if t != typeDateN {
		var tmp [8]byte
		copy(tmp[:], v[:tl])
		clock = time.Duration(binary.LittleEndian.Uint64(tmp[:]) * uint64(math.Pow10(9-int(scale))))
		v = v[tl:]
	}
	if t == typeTimeN {
		return epoch1900.Add(clock)
	}
	days := int(v[0]) | int(v[1])<<8 | int(v[2])<<16
	ts := epoch1.AddDate(0, 0, days).Add(clock)
	if t == typeDTOffsetN {
		off := int16(binary.LittleEndian.Uint16(v[3:]))
		ts = ts.In(time.FixedZone("", int(off)*60))
	}
	return ts
}
