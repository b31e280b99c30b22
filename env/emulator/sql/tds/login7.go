package tds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// FEDAUTH libraries (MS-TDS 2.2.6.4, FEATUREEXT FEDAUTH bFedAuthLibrary).
const (
	FedAuthSecurityToken byte = 0x01
	FedAuthADAL          byte = 0x02
)

// Feature extension ids (MS-TDS 2.2.6.4).
const (
	FeatureFedAuth    byte = 0x02
	featureTerminator byte = 0xFF
)

const login7FixedLen = 94

// Login7 is what the server needs from a LOGIN7 message.
type Login7 struct {
	TDSVersion uint32
	PacketSize uint32
	HostName   string
	UserName   string
	AppName    string
	// ServerName is the host name the client dialed, from which the
	// gateway picks the logical server.
	ServerName string
	Database   string
	Language   string
	// FedAuth is the FEDAUTH feature, nil when the client logs in another way.
	FedAuth *FedAuth
}

// FedAuth is the FEDAUTH feature extension of LOGIN7.
type FedAuth struct {
	Library byte
	Echo    bool
	// Token is the access token, for the SECURITYTOKEN library.
	Token string
	// Workflow is the ADAL workflow byte (0x03 managed identity, ...).
	Workflow byte
}

// ParseLogin7 decodes a LOGIN7 message (MS-TDS 2.2.6.4).
func ParseLogin7(b []byte) (*Login7, error) {
	if len(b) < login7FixedLen {
		return nil, errors.New("tds: LOGIN7 is shorter than its fixed part")
	}
	if n := binary.LittleEndian.Uint32(b); int(n) != len(b) {
		return nil, fmt.Errorf("tds: LOGIN7 says it is %d bytes long but is %d", n, len(b))
	}
	l := &Login7{TDSVersion: binary.BigEndian.Uint32(b[4:]), PacketSize: binary.LittleEndian.Uint32(b[8:])}
	str := func(at int) (string, error) {
		off, n := int(binary.LittleEndian.Uint16(b[at:])), int(binary.LittleEndian.Uint16(b[at+2:]))
		if n == 0 {
			return "", nil
		}
		if off < login7FixedLen || off+2*n > len(b) {
			return "", fmt.Errorf("tds: LOGIN7 field at %d points outside the message", at)
		}
		return UCS2(b[off : off+2*n])
	}
	var err error
	for _, f := range []struct {
		at  int
		dst *string
	}{{36, &l.HostName}, {40, &l.UserName}, {48, &l.AppName}, {52, &l.ServerName}, {64, &l.Language}, {68, &l.Database}} {
		if *f.dst, err = str(f.at); err != nil {
			return nil, err
		}
	}
	const fExtension = 0x10
	if b[27]&fExtension != 0 {
		off, n := int(binary.LittleEndian.Uint16(b[56:])), int(binary.LittleEndian.Uint16(b[58:]))
		if n < 4 || off+4 > len(b) {
			return nil, errors.New("tds: LOGIN7 extension pointer is outside the message")
		}
		feat := int(binary.LittleEndian.Uint32(b[off:]))
		if feat < login7FixedLen || feat > len(b) {
			return nil, errors.New("tds: LOGIN7 FeatureExt offset is outside the message")
		}
		if l.FedAuth, err = parseFeatureExt(b[feat:]); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func parseFeatureExt(b []byte) (*FedAuth, error) {
	var fa *FedAuth
	for {
		if len(b) == 0 {
			return nil, errors.New("tds: FeatureExt has no terminator")
		}
		id := b[0]
		if id == featureTerminator {
			return fa, nil
		}
		if len(b) < 5 {
			return nil, errors.New("tds: FeatureExt entry is truncated")
		}
		n := binary.LittleEndian.Uint32(b[1:])
		if uint64(n) > uint64(len(b)-5) {
			return nil, fmt.Errorf("tds: FeatureExt %#x is longer than the message", id)
		}
		data := b[5 : 5+n]
		b = b[5+n:]
		if id != FeatureFedAuth {
			continue
		}
		if len(data) < 1 {
			return nil, errors.New("tds: FEDAUTH feature is empty")
		}
		fa = &FedAuth{Library: data[0] >> 1, Echo: data[0]&1 != 0}
		switch fa.Library {
		case FedAuthSecurityToken:
			if len(data) < 5 {
				return nil, errors.New("tds: FEDAUTH SECURITYTOKEN is truncated")
			}
			tl := binary.LittleEndian.Uint32(data[1:])
			if uint64(tl) > uint64(len(data)-5) {
				return nil, errors.New("tds: FEDAUTH token is longer than the feature")
			}
			tok, err := UCS2(data[5 : 5+tl])
			if err != nil {
				return nil, err
			}
			fa.Token = tok
		case FedAuthADAL:
			if len(data) < 2 {
				return nil, errors.New("tds: FEDAUTH ADAL has no workflow")
			}
			fa.Workflow = data[1]
		default:
			return nil, fmt.Errorf("tds: FEDAUTH library %#x is not supported", fa.Library)
		}
	}
}

// ParseFedAuthToken decodes the client's FEDAUTH token message (MS-TDS
// 2.2.7.12 / 2.2.6.3), sent after the server's FEDAUTHINFO.
func ParseFedAuthToken(b []byte) (string, error) {
	if len(b) < 8 {
		return "", errors.New("tds: FEDAUTH token message is truncated")
	}
	dl, tl := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if uint64(dl) != uint64(len(b)-4) || uint64(tl) > uint64(dl)-4 {
		return "", errors.New("tds: FEDAUTH token message lengths disagree")
	}
	return UCS2(b[8 : 8+tl])
}

// UCS2 decodes UTF-16LE text.
func UCS2(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("tds: UTF-16 text has an odd number of bytes")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// AppendUCS2 appends s as UTF-16LE.
func AppendUCS2(dst []byte, s string) []byte {
	for _, r := range utf16.Encode([]rune(s)) {
		dst = append(dst, byte(r), byte(r>>8))
	}
	return dst
}
