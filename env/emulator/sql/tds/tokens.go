package tds

import (
	"encoding/binary"
)

// Response token types (MS-TDS 2.2.7).
const (
	tokenReturnStatus  = 0x79
	tokenColMetadata   = 0x81
	tokenError         = 0xAA
	tokenInfo          = 0xAB
	tokenLoginAck      = 0xAD
	tokenFeatureExtAck = 0xAE
	tokenRow           = 0xD1
	tokenEnvChange     = 0xE3
	tokenFedAuthInfo   = 0xEE
	tokenDone          = 0xFD
	tokenDoneProc      = 0xFE
	tokenDoneInProc    = 0xFF
)

// DONE status bits (MS-TDS 2.2.7.6).
const (
	DoneFinal = 0x00
	DoneMore  = 0x01
	DoneError = 0x02
	DoneCount = 0x10
	DoneAttn  = 0x20
)

// CurCmd values of DONE tokens: the statement the DONE ends.
const (
	CmdSelect = 0xC1
	CmdInsert = 0xC3
	CmdDelete = 0xC4
	CmdUpdate = 0xC5
	CmdOther  = 0x00
)

// ENVCHANGE types (MS-TDS 2.2.7.9).
const (
	EnvDatabase     = 1
	EnvLanguage     = 2
	EnvPacketSize   = 4
	EnvCollation    = 7
	EnvBeginTran    = 8
	EnvCommitTran   = 9
	EnvRollbackTran = 10
)

// Collation is SQL_Latin1_General_CP1_CI_AS, Azure SQL Database's default
// (LCID 0x0409, CI/AS flags, sort id 52).
var Collation = [5]byte{0x09, 0x04, 0xD0, 0x00, 0x34}

// Response accumulates the tokens of one server message.
type Response struct{ b []byte }

// Bytes is the encoded token stream.
func (r *Response) Bytes() []byte { return r.b }

// Len is the number of bytes buffered.
func (r *Response) Len() int { return len(r.b) }

// Reset empties the buffer.
func (r *Response) Reset() { r.b = r.b[:0] }

func (r *Response) u16(v uint16) { r.b = binary.LittleEndian.AppendUint16(r.b, v) }
func (r *Response) u32(v uint32) { r.b = binary.LittleEndian.AppendUint32(r.b, v) }
func (r *Response) u64(v uint64) { r.b = binary.LittleEndian.AppendUint64(r.b, v) }

// bvarchar appends a B_VARCHAR (length in characters as one byte).
func (r *Response) bvarchar(s string) {
	u := AppendUCS2(nil, s)
	if len(u)/2 > 255 {
		u = u[:510]
	}
	r.b = append(r.b, byte(len(u)/2))
	r.b = append(r.b, u...)
}

// usvarchar appends a US_VARCHAR (length in characters as two bytes).
func (r *Response) usvarchar(s string) {
	u := AppendUCS2(nil, s)
	if len(u)/2 > 65535 {
		u = u[:131070]
	}
	r.u16(uint16(len(u) / 2))
	r.b = append(r.b, u...)
}

// withLength writes a token whose body is prefixed by a 2-byte length.
func (r *Response) withLength(tok byte, body func()) {
	r.b = append(r.b, tok, 0, 0)
	start := len(r.b)
	body()
	binary.LittleEndian.PutUint16(r.b[start-2:], uint16(len(r.b)-start))
}

// LoginAck acknowledges the login (MS-TDS 2.2.7.14). Azure SQL Database
// reports itself as "Microsoft SQL Server" version 12.0.2000.8.
func (r *Response) LoginAck(tdsVersion uint32) {
	r.withLength(tokenLoginAck, func() {
		r.b = append(r.b, 1) // SQL_TSQL
		r.b = binary.BigEndian.AppendUint32(r.b, tdsVersion)
		r.bvarchar("Microsoft SQL Server")
		r.b = append(r.b, 12, 0, 0x07, 0xD0) // 12.0.2000
	})
}

// FeatureExtAckFedAuth acknowledges FEDAUTH with no data, as the server does
// for the SECURITYTOKEN and ADAL libraries without a nonce (MS-TDS 2.2.7.11).
func (r *Response) FeatureExtAckFedAuth() {
	r.b = append(r.b, tokenFeatureExtAck, FeatureFedAuth, 0, 0, 0, 0, featureTerminator)
}

// EnvChangeString is an ENVCHANGE with B_VARCHAR values (database,
// language, packet size).
func (r *Response) EnvChangeString(typ byte, newValue, oldValue string) {
	r.withLength(tokenEnvChange, func() {
		r.b = append(r.b, typ)
		r.bvarchar(newValue)
		r.bvarchar(oldValue)
	})
}

// EnvChangeBytes is an ENVCHANGE with B_VARBYTE values (collation,
// transaction descriptors).
func (r *Response) EnvChangeBytes(typ byte, newValue, oldValue []byte) {
	r.withLength(tokenEnvChange, func() {
		r.b = append(r.b, typ, byte(len(newValue)))
		r.b = append(r.b, newValue...)
		r.b = append(r.b, byte(len(oldValue)))
		r.b = append(r.b, oldValue...)
	})
}

// Notice is an ERROR or INFO token's content (MS-TDS 2.2.7.10, 2.2.7.13).
type Notice struct {
	Number int32
	State  byte
	Class  byte
	Text   string
	Server string
	Proc   string
	Line   int32
}

// Error appends an ERROR token.
func (r *Response) Error(m Notice) { r.message(tokenError, m) }

// Info appends an INFO token.
func (r *Response) Info(m Notice) { r.message(tokenInfo, m) }

func (r *Response) message(tok byte, m Notice) {
	r.withLength(tok, func() {
		r.u32(uint32(m.Number))
		r.b = append(r.b, m.State, m.Class)
		r.usvarchar(m.Text)
		r.bvarchar(m.Server)
		r.bvarchar(m.Proc)
		r.u32(uint32(m.Line))
	})
}

// Done appends DONE (MS-TDS 2.2.7.6).
func (r *Response) Done(status, cmd uint16, rows uint64) { r.done(tokenDone, status, cmd, rows) }

// DoneInProc appends DONEINPROC, ending a statement inside an RPC.
func (r *Response) DoneInProc(status, cmd uint16, rows uint64) {
	r.done(tokenDoneInProc, status, cmd, rows)
}

// DoneProc appends DONEPROC, ending an RPC.
func (r *Response) DoneProc(status, cmd uint16, rows uint64) {
	r.done(tokenDoneProc, status, cmd, rows)
}

func (r *Response) done(tok byte, status, cmd uint16, rows uint64) {
	r.b = append(r.b, tok)
	r.u16(status)
	r.u16(cmd)
	r.u64(rows)
}

// ReturnStatus appends RETURNSTATUS, a stored procedure's return value.
func (r *Response) ReturnStatus(v int32) {
	r.b = append(r.b, tokenReturnStatus)
	r.u32(uint32(v))
}

// FedAuthInfo asks the client for a token (MS-TDS 2.2.7.12): the STS URL
// to get it from and the SPN (the resource) to get it for.
func (r *Response) FedAuthInfo(stsURL, spn string) {
	sts, sp := AppendUCS2(nil, stsURL), AppendUCS2(nil, spn)
	const count = 2
	hdr := uint32(4 + count*9) // offsets count from CountOfInfoIDs
	r.b = append(r.b, tokenFedAuthInfo)
	r.u32(hdr + uint32(len(sts)+len(sp)))
	r.u32(count)
	r.b = append(r.b, 0x01) // STSURL
	r.u32(uint32(len(sts)))
	r.u32(hdr)
	r.b = append(r.b, 0x02) // SPN
	r.u32(uint32(len(sp)))
	r.u32(hdr + uint32(len(sts)))
	r.b = append(r.b, sts...)
	r.b = append(r.b, sp...)
}
