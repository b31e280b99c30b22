package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/miconform/miconform/env/emulator/pki"
)

// SigningKey is the tenant's token signing key with the self-signed
// certificate Entra publishes for it in x5c.
type SigningKey struct {
	Private *rsa.PrivateKey
	Cert    *x509.Certificate
	// KID is the key id, equal to the certificate's x5t thumbprint as in Entra.
	KID string
}

const signingKeyFile = "token-signing.pem"

// LoadOrCreateSigningKey reads the signing key from dir, or makes one and
// stores it there, so tokens issued before a restart still verify after it.
// An empty dir keeps the key in memory only.
func LoadOrCreateSigningKey(dir string) (*SigningKey, error) {
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, signingKeyFile))
		if err == nil {
			return parseSigningKey(b)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	key, err := NewSigningKey()
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if err := saveSigningKey(dir, key); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// NewSigningKey makes a 2048-bit RSA key and its self-signed certificate,
// as Entra's are.
func NewSigningKey() (*SigningKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &SigningKey{Private: key, Cert: cert, KID: thumbprint(cert)}, nil
}

// SeedSigningKey stores k in the state directory dir unless dir already
// holds a signing key, which it leaves as it is. An emulator started on dir
// then signs with k: tests give their emulators' state directories the
// test process's key rather than each generating one (an RSA key
// generation costs tens to hundreds of milliseconds).
func SeedSigningKey(dir string, k *SigningKey) error {
	if _, err := os.Stat(filepath.Join(dir, signingKeyFile)); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return saveSigningKey(dir, k)
}

func saveSigningKey(dir string, k *SigningKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Private)})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})...)
	return pki.WriteFileAtomic(filepath.Join(dir, signingKeyFile), out, 0o600)
}

func parseSigningKey(b []byte) (*SigningKey, error) {
	var sk SigningKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			sk.Private = k
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			sk.Cert = c
		}
	}
	if sk.Private == nil || sk.Cert == nil {
		return nil, errors.New("entra: signing key file lacks the key or the certificate")
	}
	sk.KID = thumbprint(sk.Cert)
	return &sk, nil
}

// JWK is one key of the published key set, in the fields Entra publishes.
// https://login.microsoftonline.com/common/discovery/keys
type JWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer,omitempty"`
}

// JWK returns the public half as a JSON Web Key.
func (k *SigningKey) JWK(issuer string) JWK {
	pub := k.Private.PublicKey
	return JWK{
		Kty:    "RSA",
		Use:    "sig",
		Kid:    k.KID,
		X5t:    k.KID,
		N:      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5c:    []string{base64.StdEncoding.EncodeToString(k.Cert.Raw)},
		Issuer: issuer,
	}
}

func sha1Sum(b []byte) [20]byte { return sha1.Sum(b) }
