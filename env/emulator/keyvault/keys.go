package keyvault

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"unicode/utf8"
)

// Keys: create, read, update, soft delete and the cryptographic
// operations of specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/keys.json
// (https://learn.microsoft.com/rest/api/keyvault/keys). Private key
// material lives only in memory and in the durable log (persist.go); no
// answer, error or log line carries it.

// key is a named key and its versions, oldest first; deletedKey is one
// soft-deleted (objects.go).
type (
	key        = object[*keyVersion]
	deletedKey = deletedObject[*keyVersion]
)

// keyVersion is one generated key pair with its mutable metadata. PKCS8 is
// the private key as stored in the durable log; signer is it parsed.
type keyVersion struct {
	ID    string   `json:"id"`
	Kty   string   `json:"kty"`
	Ops   []string `json:"key_ops"`
	PKCS8 []byte   `json:"pkcs8"`
	versionMeta
	signer crypto.Signer
}

func (kv *keyVersion) versionID() string { return kv.ID }

// load parses the stored private key (after a restart).
func (kv *keyVersion) load() error {
	p, err := x509.ParsePKCS8PrivateKey(kv.PKCS8)
	if err != nil {
		return err
	}
	sg, ok := p.(crypto.Signer)
	if !ok {
		return errors.New("keyvault: stored key is not a signer")
	}
	kv.signer = sg
	return nil
}

// keyCreateParameters is KeyCreateParameters.
type keyCreateParameters struct {
	Kty        *string           `json:"kty"`
	KeySize    *int              `json:"key_size"`
	PublicExp  *int              `json:"public_exponent"`
	KeyOps     []string          `json:"key_ops"`
	Attributes *secretAttributes `json:"attributes"`
	Tags       map[string]string `json:"tags"`
	Crv        *string           `json:"crv"`
}

// keyUpdateParameters is KeyUpdateParameters.
type keyUpdateParameters struct {
	KeyOps     []string          `json:"key_ops"`
	Attributes *secretAttributes `json:"attributes"`
	Tags       map[string]string `json:"tags"`
}

// keyOperationParameters is KeyOperationsParameters, KeySignParameters and
// KeyVerifyParameters in one: alg, value, and digest for verify.
type keyOperationParameters struct {
	Alg    *string `json:"alg"`
	Value  *string `json:"value"`
	Digest *string `json:"digest"`
}

// allKeyOps are JsonWebKeyOperation's values Key Vault keys take, in the
// order Key Vault lists them for an RSA key [unverified order].
var allKeyOps = []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}

// ecKeyOps: "Supported values are "sign", "verify"." for EC keys
// (Azure/AzureKeyVault#22).
var ecKeyOps = []string{"sign", "verify"}

// curves are JsonWebKeyCurveName values this emulator can generate.
// P-256K is Key Vault's too but Go's standard library has no secp256k1.
var curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

// parseKeyCreate validates KeyCreateParameters. Sizes and curves: "RSA
// 2K, 3K, 4K" and "EC-P256, EC-P384, EC-P521"
// (https://learn.microsoft.com/azure/key-vault/keys/about-keys-details);
// the -HSM types need a Premium vault
// (https://learn.microsoft.com/azure/key-vault/keys/about-keys).
func parseKeyCreate(b []byte, premium bool) (keyCreateParameters, *Error) {
	var p keyCreateParameters
	if e := decodeBody(b, &p); e != nil {
		return p, e
	}
	if p.Kty == nil || *p.Kty == "" {
		return p, errBadParameter("The key type (kty) is required.")
	}
	switch *p.Kty {
	case "RSA", "EC":
	case "RSA-HSM", "EC-HSM":
		if !premium {
			// [unverified] wording of the standard-tier refusal.
			return p, errBadParameter("The key type '%s' is only supported by Premium SKU vaults.", *p.Kty)
		}
	default:
		return p, errBadParameter("The key type '%s' is not supported. Supported values are 'RSA', 'RSA-HSM', 'EC', 'EC-HSM'.", *p.Kty)
	}
	isRSA := strings.HasPrefix(*p.Kty, "RSA")
	if isRSA {
		if p.Crv != nil {
			return p, errBadParameter("The parameter 'crv' is not valid for key type '%s'.", *p.Kty)
		}
		if p.KeySize != nil && *p.KeySize != 2048 && *p.KeySize != 3072 && *p.KeySize != 4096 {
			return p, errBadParameter("Unsupported key size (%d). Supported sizes are [2048, 3072, 4096]", *p.KeySize)
		}
		// Go generates with e = 65537 only, Key Vault's default.
		if p.PublicExp != nil && *p.PublicExp != 65537 {
			return p, errBadParameter("Unsupported public exponent (%d). This emulator supports 65537.", *p.PublicExp)
		}
	} else {
		if p.KeySize != nil {
			// "Unsupported key size (4096). Supported sizes are [256, 384, 521]"
			// (MicrosoftDocs/azure-docs#88477) for EC.
			if _, ok := curves[ecCurveForSize(*p.KeySize)]; !ok {
				return p, errBadParameter("Unsupported key size (%d). Supported sizes are [256, 384, 521]", *p.KeySize)
			}
		}
		if p.Crv != nil {
			if _, ok := curves[*p.Crv]; !ok {
				return p, errBadParameter("The curve '%s' is not supported. Supported values are 'P-256', 'P-384', 'P-521'.", *p.Crv)
			}
		}
	}
	ops, e := canonicalKeyOps(p.KeyOps, isRSA)
	if e != nil {
		return p, e
	}
	p.KeyOps = ops
	return p, checkMetadata(nil, p.Tags, p.Attributes)
}

func ecCurveForSize(n int) string {
	switch n {
	case 256:
		return "P-256"
	case 384:
		return "P-384"
	case 521:
		return "P-521"
	}
	return ""
}

// canonicalKeyOps checks key_ops against what the key type supports and
// spells them as JsonWebKeyOperation does; nil means the type's default
// (every operation it supports [unverified: Azure's default for an omitted
// key_ops]).
func canonicalKeyOps(in []string, isRSA bool) ([]string, *Error) {
	supported := ecKeyOps
	if isRSA {
		supported = allKeyOps
	}
	if in == nil {
		return append([]string(nil), supported...), nil
	}
	var out, bad []string
	for _, op := range in {
		found := ""
		for _, s := range supported {
			if strings.EqualFold(s, op) {
				found = s
			}
		}
		if found == "" {
			bad = append(bad, op)
			continue
		}
		if !containsFold(out, found) {
			out = append(out, found)
		}
	}
	if len(bad) > 0 {
		return nil, errKeyOpsUnsupported(bad, supported)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func parseKeyUpdate(b []byte) (keyUpdateParameters, *Error) {
	var p keyUpdateParameters
	if e := decodeBody(b, &p); e != nil {
		return p, e
	}
	return p, checkMetadata(nil, p.Tags, p.Attributes)
}

// parseKeyOperation validates the body of encrypt, decrypt, wrapKey,
// unwrapKey, sign and verify: alg and value are required (keys.json), and
// value (and verify's digest) are base64url.
func parseKeyOperation(b []byte, kind opKind) (alg string, value, digest []byte, e *Error) {
	var p keyOperationParameters
	if e := decodeBody(b, &p); e != nil {
		return "", nil, nil, e
	}
	if p.Alg == nil || *p.Alg == "" {
		return "", nil, nil, errBadParameter("The parameter 'alg' is required.")
	}
	if !utf8.ValidString(*p.Alg) || len(*p.Alg) > 64 {
		return "", nil, nil, errBadParameter("The algorithm is not valid.")
	}
	if p.Value == nil {
		return "", nil, nil, errBadParameter("The parameter 'value' is required.")
	}
	value, ok := decodeB64URL(*p.Value)
	if !ok {
		return "", nil, nil, errBadParameter("The parameter 'value' is not valid base64url.")
	}
	if kind == opVerify {
		if p.Digest == nil {
			return "", nil, nil, errBadParameter("The parameter 'digest' is required.")
		}
		if digest, ok = decodeB64URL(*p.Digest); !ok {
			return "", nil, nil, errBadParameter("The parameter 'digest' is not valid base64url.")
		}
	}
	return *p.Alg, value, digest, nil
}

// decodeB64URL reads base64url with or without padding, as the SDKs send it.
func decodeB64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// newRSAKey makes the RSA key pair of a create. The package's tests
// replace it (main_test.go): a 2048-bit key takes tens to hundreds of
// milliseconds to make, and they create dozens.
var newRSAKey = func(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }

// generateKey makes the key pair a create asks for.
func generateKey(p keyCreateParameters) (crypto.Signer, *Error) {
	if strings.HasPrefix(*p.Kty, "RSA") {
		bits := 2048
		if p.KeySize != nil {
			bits = *p.KeySize
		}
		k, err := newRSAKey(bits)
		if err != nil {
			return nil, errorf(500, "InternalServerError", "The key could not be generated.")
		}
		return k, nil
	}
	// [unverified] P-256 when neither crv nor key_size names a curve.
	crv := "P-256"
	if p.KeySize != nil {
		crv = ecCurveForSize(*p.KeySize)
	}
	if p.Crv != nil {
		crv = *p.Crv
	}
	k, err := ecdsa.GenerateKey(curves[crv], rand.Reader)
	if err != nil {
		return nil, errorf(500, "InternalServerError", "The key could not be generated.")
	}
	return k, nil
}

// jsonWebKey is JsonWebKey with the public members only: Key Vault never
// returns d, p, q, dp, dq or qi of a key it holds.
type jsonWebKey struct {
	Kid    string   `json:"kid"`
	Kty    string   `json:"kty"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
}

// keyBundleOut is KeyBundle, KeyItem, DeletedKeyBundle and DeletedKeyItem:
// bundles carry "key", items "kid".
type keyBundleOut struct {
	Key                *jsonWebKey       `json:"key,omitempty"`
	Kid                string            `json:"kid,omitempty"`
	Attributes         attributesOut     `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        int64             `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate,omitempty"`
}

func (s *Service) kid(v *vault, x *key, ver *keyVersion) string {
	id := s.baseURL(v) + "/keys/" + x.name
	if ver != nil {
		id += "/" + ver.ID
	}
	return id
}

// publicJWK renders the public half of a version.
func publicJWK(kid string, ver *keyVersion) *jsonWebKey {
	j := &jsonWebKey{Kid: kid, Kty: ver.Kty, KeyOps: ver.Ops}
	switch pub := ver.signer.Public().(type) {
	case *rsa.PublicKey:
		j.N = b64(pub.N.Bytes())
		j.E = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes()
		if err == nil && len(raw) > 1 {
			size := (len(raw) - 1) / 2
			j.Crv = pub.Curve.Params().Name
			j.X, j.Y = b64(raw[1:1+size]), b64(raw[1+size:])
		}
	}
	return j
}

// renderKey builds a KeyBundle (item false) or a KeyItem (item true; the
// kid names the key unless withVersion).
func (s *Service) renderKey(v *vault, x *key, ver *keyVersion, op operation, item, withVersion bool) keyBundleOut {
	b := keyBundleOut{Tags: ver.Tags, Attributes: ver.attributes(v, op)}
	if item {
		if withVersion {
			b.Kid = s.kid(v, x, ver)
		} else {
			b.Kid = s.kid(v, x, nil)
		}
		return b
	}
	b.Key = publicJWK(s.kid(v, x, ver), ver)
	return b
}

func (s *Service) renderDeletedKey(v *vault, d *deletedKey, op operation, item bool) keyBundleOut {
	b := s.renderKey(v, d.obj, d.obj.latest(), op, item, false)
	b.RecoveryID = s.baseURL(v) + "/deletedkeys/" + d.obj.name
	b.DeletedDate, b.ScheduledPurgeDate = d.deletedDate, d.purgeDateUTC
	return b
}

func (s *Service) createKey(v *vault, op operation, body []byte, now int64) reply {
	// CreateKey: a new version of the key (or the key's first).
	p, e := parseKeyCreate(body, strings.EqualFold(v.info.Props.SKU.Name, "premium"))
	if e != nil {
		return fail(e)
	}
	if e := v.keys.refuseDeleted(op.name); e != nil {
		return fail(e)
	}
	sg, e := generateKey(p)
	if e != nil {
		return fail(e)
	}
	der, err := x509.MarshalPKCS8PrivateKey(sg)
	if err != nil {
		return fail(errorf(500, "InternalServerError", "The key could not be generated."))
	}
	ver := &keyVersion{ID: newVersion(), Kty: *p.Kty, Ops: p.KeyOps, PKCS8: der, versionMeta: versionMeta{Tags: p.Tags, Enabled: true, Created: now, Updated: now}, signer: sg}
	ver.applyAttributes(p.Attributes)
	x := v.keys.add(op.name, ver)
	return success(s.renderKey(v, x, ver, op, false, false))
}

func (s *Service) getKey(v *vault, op operation, body []byte, now int64) reply {
	// GetKey: "The get key operation is applicable to all key types"
	// and returns public material only; it works on disabled keys
	// (the SDKs read them to crypt locally, azure-sdk-for-python#45342).
	x, ver, e := v.keys.lookup(op)
	if e != nil {
		return fail(e)
	}
	return success(s.renderKey(v, x, ver, op, false, false))
}

func (s *Service) updateKey(v *vault, op operation, body []byte, now int64) reply {
	// UpdateKey: attributes, key_ops and tags; the key material never changes.
	p, e := parseKeyUpdate(body)
	if e != nil {
		return fail(e)
	}
	x, ver, e := v.keys.lookup(op)
	if e != nil {
		return fail(e)
	}
	var ops []string
	if p.KeyOps != nil {
		if ops, e = canonicalKeyOps(p.KeyOps, strings.HasPrefix(ver.Kty, "RSA")); e != nil {
			return fail(e)
		}
	}
	if a := p.Attributes; a != nil && a.NBF == nil && a.Exp != nil && ver.NBF != nil && *ver.NBF > *a.Exp ||
		a != nil && a.Exp == nil && a.NBF != nil && ver.Exp != nil && *a.NBF > *ver.Exp {
		return fail(errBadParameter("The attribute nbf (not before) must be earlier than exp (expiry)."))
	}
	if ops != nil {
		ver.Ops = ops
	}
	if p.Tags != nil {
		ver.Tags = p.Tags
	}
	ver.applyAttributes(p.Attributes)
	ver.Updated = now
	return success(s.renderKey(v, x, ver, op, false, false))
}

func (s *Service) deleteKey(v *vault, op operation, body []byte, now int64) reply {
	x, d, e := v.keys.remove(op.name, v.info.Props, now)
	if e != nil {
		return fail(e)
	}
	if d == nil {
		return success(s.renderKey(v, x, x.latest(), op, false, false))
	}
	return success(s.renderDeletedKey(v, d, op, false))
}

func (s *Service) getKeys(v *vault, op operation, body []byte, now int64) reply {
	return list(s, v, op, "/keys", sortedKeys(v.keys.live), func(k string) keyBundleOut {
		x := v.keys.live[k]
		return s.renderKey(v, x, x.latest(), op, true, false)
	})
}

func (s *Service) getKeyVersions(v *vault, op operation, body []byte, now int64) reply {
	x, e := v.keys.get(op.name)
	if e != nil {
		return fail(e)
	}
	ids, byID := x.sortedVersions()
	return list(s, v, op, "/keys/"+x.name+"/versions", ids, func(id string) keyBundleOut {
		return s.renderKey(v, x, byID[id], op, true, true)
	})
}

func (s *Service) getDeletedKeys(v *vault, op operation, body []byte, now int64) reply {
	return list(s, v, op, "/deletedkeys", sortedKeys(v.keys.deleted), func(k string) keyBundleOut {
		return s.renderDeletedKey(v, v.keys.deleted[k], op, true)
	})
}

func (s *Service) getDeletedKey(v *vault, op operation, body []byte, now int64) reply {
	d, e := v.keys.getDeleted(op.name)
	if e != nil {
		return fail(e)
	}
	return success(s.renderDeletedKey(v, d, op, false))
}

func (s *Service) recoverDeletedKey(v *vault, op operation, body []byte, now int64) reply {
	x, e := v.keys.recover(op.name)
	if e != nil {
		return fail(e)
	}
	return success(s.renderKey(v, x, x.latest(), op, false, false))
}

func (s *Service) purgeDeletedKey(v *vault, op operation, body []byte, now int64) reply {
	if e := v.keys.purge(op.name, v.info.Props); e != nil {
		return fail(e)
	}
	return noContent()
}

// opNames are the JsonWebKeyOperation names of the crypto operations.
var opNames = map[opKind]string{opEncrypt: "encrypt", opDecrypt: "decrypt", opWrapKey: "wrapKey", opUnwrapKey: "unwrapKey", opSign: "sign", opVerify: "verify"}

// keyOperationResult is KeyOperationResult; verifyResult is KeyVerifyResult.
type keyOperationResult struct {
	Kid   string `json:"kid"`
	Value string `json:"value"`
}

type verifyResult struct {
	Value bool `json:"value"`
}

// cryptoOp is encrypt, decrypt, wrapKey, unwrapKey, sign and verify.
func (s *Service) cryptoOp(v *vault, op operation, body []byte, now int64) reply {
	opName, ok := opNames[op.kind]
	if !ok {
		return fail(errorf(404, "NotFound", "The requested resource was not found."))
	}
	alg, value, digest, e := parseKeyOperation(body, op.kind)
	if e != nil {
		return fail(e)
	}
	x, ver, e := v.keys.lookup(op)
	if e != nil {
		return fail(e)
	}
	// Only the private-key operations are refused on a disabled key
	// (azure-sdk-for-python#45342: encrypt, verify and wrapKey still work).
	private := op.kind == opDecrypt || op.kind == opUnwrapKey || op.kind == opSign
	if !ver.Enabled && private {
		return fail(errKeyDisabled(opName))
	}
	// "Not-yet-valid and expired keys ... will work for decrypt, unwrap,
	// and verify key operations" (about-keys-details#date-time-controlled-operations).
	if op.kind == opEncrypt || op.kind == opWrapKey || op.kind == opSign {
		if ver.NBF != nil && now < *ver.NBF {
			return fail(errKeyNotInValidity(opName, false))
		}
		if ver.Exp != nil && now >= *ver.Exp {
			return fail(errKeyNotInValidity(opName, true))
		}
	}
	if !containsFold(ver.Ops, opName) {
		return fail(errKeyOperationForbidden(opName))
	}
	kid := s.kid(v, x, ver)
	switch k := ver.signer.(type) {
	case *rsa.PrivateKey:
		return rsaOp(k, op.kind, kid, alg, value, digest)
	case *ecdsa.PrivateKey:
		return ecOp(k, op.kind, kid, alg, value, digest)
	}
	return fail(errorf(500, "InternalServerError", "The key is not usable."))
}

// errAlgorithm is an alg Key Vault does not know, or one the key's type
// cannot do [unverified: wording].
func errAlgorithm(alg, kty string) *Error {
	return errBadParameter("The algorithm '%s' is not supported for key type '%s'.", alg, kty)
}

// rsaOp: RSA1_5, RSA-OAEP (SHA-1), RSA-OAEP-256 for encrypt/decrypt and
// wrapKey/unwrapKey; RS256/384/512 (PKCS#1 v1.5, DigestInfo built by the
// server) and PS256/384/512 (PSS, salt the hash's length, RFC 7518 3.5)
// for sign/verify (https://learn.microsoft.com/azure/key-vault/keys/about-keys-details#rsa-algorithms).
func rsaOp(k *rsa.PrivateKey, kind opKind, kid, alg string, value, digest []byte) reply {
	switch kind {
	case opEncrypt, opWrapKey, opDecrypt, opUnwrapKey:
		var out []byte
		var err error
		enc := kind == opEncrypt || kind == opWrapKey
		switch alg {
		case "RSA1_5":
			if enc {
				out, err = rsa.EncryptPKCS1v15(rand.Reader, &k.PublicKey, value)
			} else {
				out, err = rsa.DecryptPKCS1v15(nil, k, value)
			}
		case "RSA-OAEP", "RSA-OAEP-256":
			h := sha1.New()
			if alg == "RSA-OAEP-256" {
				h = sha256.New()
			}
			if enc {
				out, err = rsa.EncryptOAEP(h, rand.Reader, &k.PublicKey, value, nil)
			} else {
				out, err = rsa.DecryptOAEP(h, nil, k, value, nil)
			}
		default:
			return fail(errAlgorithm(alg, "RSA"))
		}
		if err != nil {
			// [unverified] wording; Go's error names no key material.
			if enc {
				return fail(errBadParameter("The value could not be encrypted with %s: it is too long for the key.", alg))
			}
			return fail(errBadParameter("The value could not be decrypted with %s.", alg))
		}
		return success(keyOperationResult{Kid: kid, Value: b64(out)})
	}
	sa, ok := rsaSignAlgs[alg]
	h, pss := sa.hash, sa.pss
	if !ok {
		return fail(errAlgorithm(alg, "RSA"))
	}
	d := value
	field := "value"
	if kind == opVerify {
		d, field = digest, "digest"
	}
	if len(d) != h.Size() {
		return fail(errDigestLength(field, len(d), alg, h.Size()))
	}
	var pssOpts *rsa.PSSOptions
	if pss {
		pssOpts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	if kind == opSign {
		var sig []byte
		var err error
		if pss {
			sig, err = rsa.SignPSS(rand.Reader, k, h, d, pssOpts)
		} else {
			sig, err = rsa.SignPKCS1v15(nil, k, h, d)
		}
		if err != nil {
			return fail(errorf(500, "InternalServerError", "The signature could not be made."))
		}
		return success(keyOperationResult{Kid: kid, Value: b64(sig)})
	}
	var err error
	if pss {
		err = rsa.VerifyPSS(&k.PublicKey, h, d, value, pssOpts)
	} else {
		err = rsa.VerifyPKCS1v15(&k.PublicKey, h, d, value)
	}
	return success(verifyResult{Value: err == nil})
}

type rsaSignAlg struct {
	hash crypto.Hash
	pss  bool
}

var rsaSignAlgs = map[string]rsaSignAlg{
	"RS256": {crypto.SHA256, false}, "RS384": {crypto.SHA384, false}, "RS512": {crypto.SHA512, false},
	"PS256": {crypto.SHA256, true}, "PS384": {crypto.SHA384, true}, "PS512": {crypto.SHA512, true},
}

// ecAlgs: ES256 on P-256 with a SHA-256 digest, ES384 on P-384, ES512 on
// P-521 (about-keys-details#ec-algorithms). Signatures are JWS's r||s,
// each the curve's byte size (RFC 7518 3.4).
var ecAlgs = map[string]struct {
	curve  string
	digest int
}{"ES256": {"P-256", 32}, "ES384": {"P-384", 48}, "ES512": {"P-521", 64}}

func ecOp(k *ecdsa.PrivateKey, kind opKind, kid, alg string, value, digest []byte) reply {
	if kind != opSign && kind != opVerify {
		// EC keys carry sign and verify only, so the key_ops check above
		// refuses the rest first; this is the backstop.
		return fail(errAlgorithm(alg, "EC"))
	}
	a, ok := ecAlgs[alg]
	if !ok {
		return fail(errAlgorithm(alg, "EC"))
	}
	crv := k.Curve.Params().Name
	if a.curve != crv {
		// [unverified] wording.
		return fail(errBadParameter("The algorithm '%s' is not valid for a key on curve '%s'.", alg, crv))
	}
	d, field := value, "value"
	if kind == opVerify {
		d, field = digest, "digest"
	}
	if len(d) != a.digest {
		return fail(errDigestLength(field, len(d), alg, a.digest))
	}
	size := (k.Curve.Params().BitSize + 7) / 8
	if kind == opSign {
		r, sv, err := ecdsa.Sign(rand.Reader, k, d)
		if err != nil {
			return fail(errorf(500, "InternalServerError", "The signature could not be made."))
		}
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		sv.FillBytes(sig[size:])
		return success(keyOperationResult{Kid: kid, Value: b64(sig)})
	}
	if len(value) != 2*size {
		return success(verifyResult{Value: false})
	}
	r := new(big.Int).SetBytes(value[:size])
	sv := new(big.Int).SetBytes(value[size:])
	return success(verifyResult{Value: ecdsa.Verify(&k.PublicKey, d, r, sv)})
}
