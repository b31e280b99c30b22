package entra

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims are the claims of a v1 access token as Microsoft Entra ID issues them
// to managed identities and applications.
// https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
type Claims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	AIO      string `json:"aio,omitempty"`
	AppID    string `json:"appid"`
	AppIDACR string `json:"appidacr"`
	IDP      string `json:"idp"`
	IDTyp    string `json:"idtyp"`
	OID      string `json:"oid"`
	RH       string `json:"rh,omitempty"`
	Sub      string `json:"sub"`
	TID      string `json:"tid"`
	UTI      string `json:"uti"`
	Ver      string `json:"ver"`
	// XMSMIRID is the managed identity's resource id (managed identities only).
	XMSMIRID string `json:"xms_mirid,omitempty"`
	// XMSAZRID is the id of the Azure resource the token was requested on,
	// present for user-assigned identities.
	XMSAZRID string `json:"xms_az_rid,omitempty"`
	// Roles are the application permissions (app roles) granted to the
	// principal on the token's resource; only Microsoft Graph tokens have
	// any here (directory.Principal.GraphRoles).
	Roles []string `json:"roles,omitempty"`
}

// ExpiresAt is the exp claim as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Exp, 0).UTC() }

// NotBefore is the nbf claim as a time.
func (c *Claims) NotBefore() time.Time { return time.Unix(c.Nbf, 0).UTC() }

type header struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	X5T string `json:"x5t,omitempty"`
	Kid string `json:"kid,omitempty"`
}

// Validation errors, distinguishable with errors.Is so each service can map
// them to its own Azure error code.
var (
	// ErrMalformed: not three base64url JSON parts, or claims of the wrong type.
	ErrMalformed = errors.New("token is malformed")
	// ErrAlgorithm: alg is not RS256 (this includes "none").
	ErrAlgorithm = errors.New("token algorithm is not RS256")
	// ErrUnknownKey: kid names no key this issuer publishes.
	ErrUnknownKey = errors.New("token signing key is unknown")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("token signature is invalid")
	// ErrExpired: exp is in the past.
	ErrExpired = errors.New("token is expired")
	// ErrNotYetValid: nbf is in the future.
	ErrNotYetValid = errors.New("token is not yet valid")
	// ErrPrincipalGone: the token is genuine but its oid is no longer in
	// the directory (the identity was disabled or deleted since).
	ErrPrincipalGone = errors.New("token principal no longer exists")
)

var b64 = base64.RawURLEncoding

func sign(key *rsa.PrivateKey, h header, c any) (string, error) {
	hj, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(hj) + "." + b64.EncodeToString(cj)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

// maxTokenLen bounds what we are willing to decode; Entra tokens are a few KB.
const maxTokenLen = 16 << 10

// parse splits and decodes a compact JWS without checking the signature.
func parse(raw string) (header, *Claims, []byte, string, error) {
	var h header
	if len(raw) > maxTokenLen {
		return h, nil, nil, "", fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenLen)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return h, nil, nil, "", fmt.Errorf("%w: %d parts, want 3", ErrMalformed, len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	var c Claims
	if err := json.Unmarshal(cb, &c); err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return h, &c, sig, parts[0] + "." + parts[1], nil
}

// ParseUnverified decodes a token's claims without any check. Callers use it
// only to describe a token that has already been rejected, or in reports.
func ParseUnverified(raw string) (*Claims, error) {
	_, c, _, _, err := parse(raw)
	return c, err
}
