package tds

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Kind is a SQL Server data type as the server describes result columns.
type Kind int

// Column kinds the emulator sends.
const (
	KindInt Kind = iota // INT (Size 4), BIGINT (8), SMALLINT (2), TINYINT (1)
	KindBit
	KindFloat
	KindDecimal
	KindNVarChar
	KindDateTime2
	KindDateTime
	KindDate
	KindGUID
	KindVarBinary
)

// TDS type ids (MS-TDS 2.2.5.4).
const (
	typeNull       = 0x1F
	typeInt1       = 0x30
	typeBit        = 0x32
	typeInt2       = 0x34
	typeInt4       = 0x38
	typeDateTim4   = 0x3A
	typeFlt4       = 0x3B
	typeMoney      = 0x3C
	typeDateTime   = 0x3D
	typeFlt8       = 0x3E
	typeMoney4     = 0x7A
	typeInt8       = 0x7F
	typeGUID       = 0x24
	typeIntN       = 0x26
	typeDateN      = 0x28
	typeTimeN      = 0x29
	typeDateTime2N = 0x2A
	typeDTOffsetN  = 0x2B
	typeBitN       = 0x68
	typeDecimalN   = 0x6A
	typeNumericN   = 0x6C
	typeFltN       = 0x6D
	typeMoneyN     = 0x6E
	typeDateTimeN  = 0x6F
	typeBigVarBin  = 0xA5
	typeBigVarChr  = 0xA7
	typeBigBinary  = 0xAD
	typeBigChar    = 0xAF
	typeNVarChar   = 0xE7
	typeNChar      = 0xEF
)

// Column describes one result column.
type Column struct {
	Name string
	Kind Kind
	// Size is bytes for KindInt, characters for KindNVarChar and bytes for
	// KindVarBinary; -1 is MAX (sent as a partially length-prefixed type).
	Size      int
	Precision byte
	Scale     byte
}

// ColMetadata appends COLMETADATA (MS-TDS 2.2.7.4).
func (r *Response) ColMetadata(cols []Column) {
	r.b = append(r.b, tokenColMetadata)
	r.u16(uint16(len(cols)))
	for _, c := range cols {
		r.u32(0)      // UserType
		r.u16(0x0001) // Nullable
		switch c.Kind {
		case KindInt:
			r.b = append(r.b, typeIntN, byte(c.Size))
		case KindBit:
			r.b = append(r.b, typeBitN, 1)
		case KindFloat:
			r.b = append(r.b, typeFltN, 8)
		case KindDecimal:
			r.b = append(r.b, typeDecimalN, decimalSize(c.Precision), c.Precision, c.Scale)
		case KindNVarChar:
			r.b = append(r.b, typeNVarChar)
			if c.Size < 0 || c.Size > 4000 {
				r.u16(0xFFFF)
			} else {
				r.u16(uint16(2 * c.Size))
			}
			r.b = append(r.b, Collation[:]...)
		case KindDateTime2:
			r.b = append(r.b, typeDateTime2N, c.Scale)
		case KindDateTime:
			r.b = append(r.b, typeDateTimeN, 8)
		case KindDate:
			r.b = append(r.b, typeDateN)
		case KindGUID:
			r.b = append(r.b, typeGUID, 16)
		case KindVarBinary:
			r.b = append(r.b, typeBigVarBin)
			if c.Size < 0 || c.Size > 8000 {
				r.u16(0xFFFF)
			} else {
				r.u16(uint16(c.Size))
			}
		}
		r.bvarchar(c.Name)
	}
}

func decimalSize(p byte) byte {
	switch {
	case p <= 9:
		return 5
	case p <= 19:
		return 9
	case p <= 28:
		return 13
	}
	return 17
}

func isPLP(c Column) bool {
	return (c.Kind == KindNVarChar && (c.Size < 0 || c.Size > 4000)) || (c.Kind == KindVarBinary && (c.Size < 0 || c.Size > 8000))
}

// Row appends ROW (MS-TDS 2.2.7.19). Values are nil, int64, float64, bool,
// string, []byte or time.Time, converted to each column's kind; a value
// that cannot be converted is an error and nothing is appended.
func (r *Response) Row(cols []Column, vals []any) error {
	start := len(r.b)
	r.b = append(r.b, tokenRow)
	for i, c := range cols {
		if err := r.value(c, vals[i]); err != nil {
			r.b = r.b[:start]
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
	}
	return nil
}

func (r *Response) value(c Column, v any) error {
	if v == nil {
		switch {
		case isPLP(c):
			r.u64(math.MaxUint64)
		case c.Kind == KindNVarChar || c.Kind == KindVarBinary:
			r.u16(0xFFFF)
		default:
			r.b = append(r.b, 0)
		}
		return nil
	}
	switch c.Kind {
	case KindInt:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		r.b = append(r.b, byte(c.Size))
		var tmp [8]byte
		binary.LittleEndian.PutUint64(tmp[:], uint64(n))
		r.b = append(r.b, tmp[:c.Size]...)
	case KindBit:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		b := byte(0)
		if n != 0 {
			b = 1
		}
		r.b = append(r.b, 1, b)
	case KindFloat:
		f, err := toFloat(v)
		if err != nil {
			return err
		}
		r.b = append(r.b, 8)
		r.u64(math.Float64bits(f))
	case KindDecimal:
		return r.decimal(c, v)
	case KindNVarChar:
		s := toString(v)
		u := AppendUCS2(nil, s)
		if isPLP(c) {
			r.plp(u)
		} else {
			if len(u) > 2*c.Size {
				u = u[:2*c.Size]
			}
			r.u16(uint16(len(u)))
			r.b = append(r.b, u...)
		}
	case KindVarBinary:
		b, ok := v.([]byte)
		if !ok {
			b = []byte(toString(v))
		}
		if isPLP(c) {
			r.plp(b)
		} else {
			r.u16(uint16(len(b)))
			r.b = append(r.b, b...)
		}
	case KindDateTime2, KindDate, KindDateTime:
		t, err := toTime(v)
		if err != nil {
			return err
		}
		r.datetime(c, t)
	case KindGUID:
		g, err := ParseGUID(toString(v))
		if err != nil {
			return err
		}
		r.b = append(r.b, 16)
		r.b = append(r.b, g[:]...)
	}
	return nil
}

func (r *Response) plp(b []byte) {
	r.u64(uint64(len(b)))
	if len(b) > 0 {
		r.u32(uint32(len(b)))
		r.b = append(r.b, b...)
	}
	r.u32(0)
}

var epoch1 = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
var epoch1900 = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func (r *Response) datetime(c Column, t time.Time) {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	// Durations overflow after 292 years, so days come from Unix seconds.
	days := int((day.Unix() - epoch1.Unix()) / 86400)
	if c.Kind == KindDateTime {
		d := int32((day.Unix() - epoch1900.Unix()) / 86400)
		ticks := uint32(math.Round(float64(t.Sub(day).Nanoseconds()) * 300 / 1e9))
		r.b = append(r.b, 8)
		r.u32(uint32(d))
		r.u32(ticks)
		return
	}
	if c.Kind == KindDate {
		r.b = append(r.b, 3, byte(days), byte(days>>8), byte(days>>16))
		return
	}
	scale := int(c.Scale)
	n := t.Sub(day).Nanoseconds() / int64(math.Pow10(9-scale))
	tl := 5
	switch {
	case scale <= 2:
		tl = 3
	case scale <= 4:
		tl = 4
	}
	r.b = append(r.b, byte(tl+3))
	var tmp [8]byte
	binary.LittleEndian.PutUint64(tmp[:], uint64(n))
	r.b = append(r.b, tmp[:tl]...)
	r.b = append(r.b, byte(days), byte(days>>8), byte(days>>16))
}

func (r *Response) decimal(c Column, v any) error {
	var rat big.Rat
	switch x := v.(type) {
	case int64:
		rat.SetInt64(x)
	case float64:
		rat.SetFloat64(x)
	default:
		if _, ok := rat.SetString(strings.TrimSpace(toString(v))); !ok {
			return fmt.Errorf("%q is not a number", toString(v))
		}
	}
	scaled := new(big.Rat).Mul(&rat, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Scale)), nil)))
	// Round half away from zero, as SQL Server converts.
	num, den := scaled.Num(), scaled.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	size := int(decimalSize(c.Precision))
	sign := byte(1)
	if q.Sign() < 0 {
		sign = 0
		q.Neg(q)
	}
	mag := q.Bytes() // big-endian
	if len(mag) > size-1 {
		return fmt.Errorf("%s does not fit DECIMAL(%d,%d)", rat.FloatString(int(c.Scale)), c.Precision, c.Scale)
	}
	r.b = append(r.b, byte(size), sign)
	le := make([]byte, size-1)
	for i, b := range mag {
		le[len(mag)-1-i] = b
	}
	r.b = append(r.b, le...)
	return nil
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	case []byte:
		return strconv.ParseInt(strings.TrimSpace(string(x)), 10, 64)
	}
	return 0, fmt.Errorf("cannot convert %T to an integer", v)
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("cannot convert %T to float", v)
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.Format("2006-01-02 15:04:05.0000000")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// TimeLayouts are the text forms dates are stored in and parsed from.
var TimeLayouts = []string{
	"2006-01-02 15:04:05.9999999", "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02T15:04:05.9999999Z07:00", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02",
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		for _, l := range TimeLayouts {
			if t, err := time.Parse(l, strings.TrimSpace(x)); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("conversion failed when converting date and/or time from character string %q", x)
	}
	return time.Time{}, fmt.Errorf("cannot convert %T to a date", v)
}

// ParseGUID reads the canonical text form into SQL Server's byte order
// (the first three groups little-endian).
func ParseGUID(s string) ([16]byte, error) {
	var g [16]byte
	h := strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 || len(strings.Trim(s, "{}")) != 36 {
		return g, fmt.Errorf("conversion failed when converting from a character string to uniqueidentifier")
	}
	copy(g[:], b)
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	return g, nil
}

// FormatGUID is ParseGUID's inverse, upper case as SQL Server prints.
func FormatGUID(g []byte) string {
	b := []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}
	b = append(b, g[8:16]...)
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
