package keyvault

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keyPolicy(w *world, oid string, keys ...string) map[string]any {
	return map[string]any{"tenantId": w.dir.TenantID, "objectId": oid, "permissions": map[string]any{"keys": keys}}
}

// keyVault makes an access-policy vault where the operator has every key
// permission.
func keyVault(w *world, name string, extra map[string]any) {
	props := map[string]any{"accessPolicies": []any{keyPolicy(w, w.operator.ObjectID, "all", "purge")}}
	for k, v := range extra {
		props[k] = v
	}
	w.newVault(name, props).requireStatus(200)
}

func (w *world) keyCall(tok, method, vault, path string, body any) answer {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return w.kvCall(tok, method, vault, path+sep+"api-version=7.5", body)
}

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err, "%q", s)
	return b
}

// rsaPublic and ecPublic rebuild the public key from the JWK the vault
// returned, so results are checked with Go's crypto, not the emulator's.
func rsaPublic(t *testing.T, a answer) *rsa.PublicKey {
	n := new(big.Int).SetBytes(unb64(t, a.get("key.n").String()))
	e := new(big.Int).SetBytes(unb64(t, a.get("key.e").String()))
	return &rsa.PublicKey{N: n, E: int(e.Int64())}
}

func ecPublic(t *testing.T, a answer, c elliptic.Curve) *ecdsa.PublicKey {
	pt := append([]byte{4}, unb64(t, a.get("key.x").String())...)
	pt = append(pt, unb64(t, a.get("key.y").String())...)
	pub, err := ecdsa.ParseUncompressedPublicKey(c, pt)
	require.NoError(t, err)
	return pub
}

func TestKeyLifecycle(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	keyVault(w, "keyvault1", nil)
	tok := w.vaultToken(w.operator)
	base := "https://keyvault1." + w.c.VaultSuffix

	a := w.keyCall(tok, "POST", "keyvault1", "/keys/rsa-key/create", map[string]any{"kty": "RSA", "key_size": 2048, "tags": map[string]string{"app": "demo"}}).requireStatus(200)
	assert.Regexp(t, "^"+base+"/keys/rsa-key/[0-9a-f]{32}$", a.get("key.kid").String())
	assert.Equal(t, "RSA", a.get("key.kty").String())
	assert.Equal(t, `["encrypt","decrypt","sign","verify","wrapKey","unwrapKey"]`, a.get("key.key_ops").Raw)
	assert.Equal(t, "AQAB", a.get("key.e").String())
	assert.Len(t, unb64(t, a.get("key.n").String()), 256)
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		assert.False(t, a.get("key."+private).Exists(), "private member %s returned", private)
	}
	assert.True(t, a.get("attributes.enabled").Bool())
	assert.Equal(t, "Recoverable+Purgeable", a.get("attributes.recoveryLevel").String())
	assert.Equal(t, "demo", a.get("tags.app").String())
	v1 := a.get("key.kid").String()

	ec := w.keyCall(tok, "POST", "keyvault1", "/keys/ec-key/create", map[string]any{"kty": "EC", "crv": "P-384"}).requireStatus(200)
	assert.Equal(t, "P-384", ec.get("key.crv").String())
	assert.Len(t, unb64(t, ec.get("key.x").String()), 48)
	assert.Len(t, unb64(t, ec.get("key.y").String()), 48)
	assert.Equal(t, `["sign","verify"]`, ec.get("key.key_ops").Raw)
	assert.False(t, ec.get("key.d").Exists())

	// A second version; the latest is it, the first is still readable.
	a2 := w.keyCall(tok, "POST", "keyvault1", "/keys/rsa-key/create", map[string]any{"kty": "RSA"}).requireStatus(200)
	v2 := a2.get("key.kid").String()
	assert.NotEqual(t, v1, v2)
	assert.Equal(t, v2, w.keyCall(tok, "GET", "keyvault1", "/keys/rsa-key/", nil).requireStatus(200).get("key.kid").String())
	old := w.keyCall(tok, "GET", "keyvault1", "/keys/RSA-KEY/"+v1[strings.LastIndex(v1, "/")+1:], nil).requireStatus(200)
	assert.Equal(t, a.get("key.n").String(), old.get("key.n").String())

	l := w.keyCall(tok, "GET", "keyvault1", "/keys?maxresults=1", nil).requireStatus(200)
	assert.Equal(t, base+"/keys/ec-key", l.get("value.0.kid").String())
	assert.False(t, l.get("value.0.key").Exists(), "list items carry no key material")
	assert.NotEmpty(t, l.get("nextLink").String())
	vers := w.keyCall(tok, "GET", "keyvault1", "/keys/rsa-key/versions", nil).requireStatus(200)
	assert.EqualValues(t, 2, vers.get("value.#").Int())
	assert.Regexp(t, "^"+base+"/keys/rsa-key/[0-9a-f]{32}$", vers.get("value.0.kid").String())

	up := w.keyCall(tok, "PATCH", "keyvault1", "/keys/rsa-key/", map[string]any{"key_ops": []string{"sign", "verify"}, "attributes": map[string]any{"enabled": false}, "tags": map[string]string{"x": "y"}}).requireStatus(200)
	assert.Equal(t, `["sign","verify"]`, up.get("key.key_ops").Raw)
	assert.False(t, up.get("attributes.enabled").Bool())
	assert.Equal(t, `{"x":"y"}`, up.get("tags").Raw)
	assert.Equal(t, a2.get("key.n").String(), up.get("key.n").String(), "update never changes the material")

	d := w.keyCall(tok, "DELETE", "keyvault1", "/keys/rsa-key", nil).requireStatus(200)
	assert.Equal(t, base+"/deletedkeys/rsa-key", d.get("recoveryId").String())
	assert.Greater(t, d.get("scheduledPurgeDate").Int(), d.get("deletedDate").Int())
	nf := w.keyCall(tok, "GET", "keyvault1", "/keys/rsa-key", nil)
	assert.Equal(t, 404, nf.code)
	assert.Equal(t, "KeyNotFound", errCode(nf))
	conflict := w.keyCall(tok, "POST", "keyvault1", "/keys/rsa-key/create", map[string]any{"kty": "RSA"})
	assert.Equal(t, 409, conflict.code)
	assert.Equal(t, "ObjectIsDeletedButRecoverable", innerCode(conflict))
	w.keyCall(tok, "GET", "keyvault1", "/deletedkeys/rsa-key", nil).requireStatus(200)
	assert.EqualValues(t, 1, w.keyCall(tok, "GET", "keyvault1", "/deletedkeys", nil).requireStatus(200).get("value.#").Int())
	rec := w.keyCall(tok, "POST", "keyvault1", "/deletedkeys/rsa-key/recover", nil).requireStatus(200)
	assert.Equal(t, v2, rec.get("key.kid").String())
	assert.EqualValues(t, 2, w.keyCall(tok, "GET", "keyvault1", "/keys/rsa-key/versions", nil).get("value.#").Int())

	w.keyCall(tok, "DELETE", "keyvault1", "/keys/ec-key", nil).requireStatus(200)
	w.keyCall(tok, "DELETE", "keyvault1", "/deletedkeys/ec-key", nil).requireStatus(204)
	assert.Equal(t, 404, w.keyCall(tok, "GET", "keyvault1", "/deletedkeys/ec-key", nil).code)
	// Key permissions are not secret permissions.
	sec := w.keyCall(tok, "GET", "keyvault1", "/secrets/rsa-key", nil)
	assert.Equal(t, 403, sec.code)
	assert.Contains(t, errMsg(sec), "does not have secrets get permission")
}

// cryptoKeys is one RSA 2048 and one EC key per curve, made once: key
// generation is the slow part.
type cryptoKeys struct {
	w   *world
	tok string
	rsa answer
	ec  map[string]answer
}

func newCryptoKeys(t *testing.T) *cryptoKeys {
	w := newWorld(t, "AzureCloud")
	keyVault(w, "cryptovault", nil)
	c := &cryptoKeys{w: w, tok: w.vaultToken(w.operator), ec: map[string]answer{}}
	c.rsa = w.keyCall(c.tok, "POST", "cryptovault", "/keys/rsa/create", map[string]any{"kty": "RSA"}).requireStatus(200)
	for _, crv := range []string{"P-256", "P-384", "P-521"} {
		c.ec[crv] = w.keyCall(c.tok, "POST", "cryptovault", "/keys/ec"+crv[2:]+"/create", map[string]any{"kty": "EC", "crv": crv}).requireStatus(200)
	}
	return c
}

func (c *cryptoKeys) op(key, op string, body map[string]any) answer {
	return c.w.keyCall(c.tok, "POST", "cryptovault", "/keys/"+key+"//"+op, body)
}

func TestKeyCryptoAgainstGoCrypto(t *testing.T) {
	c := newCryptoKeys(t)
	pub := rsaPublic(t, c.rsa)
	secret := []byte("a 32-byte data encryption key!!!")

	// Encrypt locally with the public JWK, decrypt in the vault.
	for _, alg := range []string{"RSA-OAEP", "RSA-OAEP-256", "RSA1_5"} {
		var ct []byte
		var err error
		switch alg {
		case "RSA-OAEP":
			ct, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, secret, nil)
		case "RSA-OAEP-256":
			ct, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
		default:
			ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
		}
		require.NoError(t, err)
		for _, op := range []string{"decrypt", "unwrapkey"} {
			r := c.op("rsa", op, map[string]any{"alg": alg, "value": b64(ct)}).requireStatus(200)
			assert.Equal(t, secret, unb64(t, r.get("value").String()), "%s %s", op, alg)
			assert.Equal(t, c.rsa.get("key.kid").String(), r.get("kid").String())
		}
		// And the vault's own encryption round-trips.
		enc := c.op("rsa", "wrapkey", map[string]any{"alg": alg, "value": b64(secret)}).requireStatus(200)
		assert.Len(t, unb64(t, enc.get("value").String()), 256)
		dec := c.op("rsa", "unwrapkey", map[string]any{"alg": alg, "value": enc.get("value").String()}).requireStatus(200)
		assert.Equal(t, secret, unb64(t, dec.get("value").String()))
	}

	// Sign in the vault, verify locally (and in the vault).
	msg := []byte("signed by the vault")
	digests := map[crypto.Hash][]byte{}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		hh := h.New()
		hh.Write(msg)
		digests[h] = hh.Sum(nil)
	}
	for alg, h := range map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512, "PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512} {
		r := c.op("rsa", "sign", map[string]any{"alg": alg, "value": b64(digests[h])}).requireStatus(200)
		sig := unb64(t, r.get("value").String())
		if alg[0] == 'R' {
			assert.NoError(t, rsa.VerifyPKCS1v15(pub, h, digests[h], sig), alg)
		} else {
			assert.NoError(t, rsa.VerifyPSS(pub, h, digests[h], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}), alg)
		}
		ok := c.op("rsa", "verify", map[string]any{"alg": alg, "digest": b64(digests[h]), "value": b64(sig)}).requireStatus(200)
		assert.True(t, ok.get("value").Bool(), alg)
		sig[0] ^= 1
		bad := c.op("rsa", "verify", map[string]any{"alg": alg, "digest": b64(digests[h]), "value": b64(sig)}).requireStatus(200)
		assert.False(t, bad.get("value").Bool(), alg)
	}
	for alg, p := range map[string]struct {
		crv string
		c   elliptic.Curve
		h   crypto.Hash
	}{"ES256": {"P-256", elliptic.P256(), crypto.SHA256}, "ES384": {"P-384", elliptic.P384(), crypto.SHA384}, "ES512": {"P-521", elliptic.P521(), crypto.SHA512}} {
		key := c.ec[p.crv]
		r := c.op("ec"+p.crv[2:], "sign", map[string]any{"alg": alg, "value": b64(digests[p.h])}).requireStatus(200)
		sig := unb64(t, r.get("value").String())
		size := (p.c.Params().BitSize + 7) / 8
		require.Len(t, sig, 2*size, "JWS r||s")
		pk := ecPublic(t, key, p.c)
		assert.True(t, ecdsa.Verify(pk, digests[p.h], new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])), alg)
		ok := c.op("ec"+p.crv[2:], "verify", map[string]any{"alg": alg, "digest": b64(digests[p.h]), "value": b64(sig)}).requireStatus(200)
		assert.True(t, ok.get("value").Bool())
	}
	// A signature made locally verifies in the vault only with the right key.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rr, ss, err := ecdsa.Sign(rand.Reader, other, digests[crypto.SHA256])
	require.NoError(t, err)
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	assert.False(t, c.op("ec256", "verify", map[string]any{"alg": "ES256", "digest": b64(digests[crypto.SHA256]), "value": b64(sig)}).requireStatus(200).get("value").Bool())
}

func TestKeyRefusals(t *testing.T) {
	c := newCryptoKeys(t)
	w, tok := c.w, c.tok
	d256 := sha256.Sum256([]byte("x"))
	d512 := sha512.Sum512([]byte("x"))
	// A key that only verifies, a disabled key, an expired key and one
	// not yet valid, all versions of the same RSA material class.
	w.keyCall(tok, "POST", "cryptovault", "/keys/verifyonly/create", map[string]any{"kty": "RSA", "key_ops": []string{"verify"}}).requireStatus(200)
	w.keyCall(tok, "POST", "cryptovault", "/keys/off/create", map[string]any{"kty": "RSA", "attributes": map[string]any{"enabled": false}}).requireStatus(200)
	past, future := time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()
	w.keyCall(tok, "POST", "cryptovault", "/keys/expired/create", map[string]any{"kty": "RSA", "attributes": map[string]any{"exp": past}}).requireStatus(200)
	w.keyCall(tok, "POST", "cryptovault", "/keys/early/create", map[string]any{"kty": "RSA", "attributes": map[string]any{"nbf": future}}).requireStatus(200)
	// The VM may read keys but not use them.
	w.addPolicy("cryptovault", "add", keyPolicy(w, w.vm.ObjectID, "get", "list")).requireStatus(200)
	vm := w.vaultToken(w.vm)
	sign256 := map[string]any{"alg": "RS256", "value": b64(d256[:])}

	cases := []struct {
		name, tok, method, path string
		body                    any
		status                  int
		code, inner, msg        string
	}{
		{"no sign permission", vm, "POST", "/keys/rsa//sign", sign256, 403, "Forbidden", "AccessDenied", "does not have keys sign permission on key vault 'cryptovault;"},
		{"no create permission", vm, "POST", "/keys/new/create", map[string]any{"kty": "RSA"}, 403, "Forbidden", "AccessDenied", "does not have keys create permission"},
		{"not in key_ops", tok, "POST", "/keys/verifyonly//sign", sign256, 403, "Forbidden", "KeyOperationForbidden", "Operation sign is not permitted on this key."},
		{"disabled key decrypt", tok, "POST", "/keys/off//decrypt", map[string]any{"alg": "RSA-OAEP", "value": b64(make([]byte, 256))}, 403, "Forbidden", "KeyDisabled", "Operation decrypt is not allowed on a disabled key."},
		{"disabled key sign", tok, "POST", "/keys/off//sign", sign256, 403, "Forbidden", "KeyDisabled", ""},
		{"expired key sign", tok, "POST", "/keys/expired//sign", sign256, 403, "Forbidden", "KeyExpired", ""},
		{"not yet valid encrypt", tok, "POST", "/keys/early//encrypt", map[string]any{"alg": "RSA-OAEP", "value": "AAAA"}, 403, "Forbidden", "KeyNotYetValid", ""},
		{"short digest", tok, "POST", "/keys/rsa//sign", map[string]any{"alg": "RS256", "value": b64([]byte("0123456789"))}, 400, "BadParameter", "", "Invalid length of 'value': 10 bytes. RS256 requires 32 bytes, encoded with base64url."},
		{"SHA-512 digest for ES256", tok, "POST", "/keys/ec256//sign", map[string]any{"alg": "ES256", "value": b64(d512[:])}, 400, "BadParameter", "", "Invalid length of 'value': 64 bytes. ES256 requires 32 bytes"},
		{"verify digest length", tok, "POST", "/keys/rsa//verify", map[string]any{"alg": "PS384", "digest": b64(d256[:]), "value": "AAAA"}, 400, "BadParameter", "", "Invalid length of 'digest': 32 bytes. PS384 requires 48 bytes"},
		{"unknown algorithm", tok, "POST", "/keys/rsa//sign", map[string]any{"alg": "RS1024", "value": b64(d256[:])}, 400, "BadParameter", "", "RS1024"},
		{"EC algorithm on RSA key", tok, "POST", "/keys/rsa//sign", map[string]any{"alg": "ES256", "value": b64(d256[:])}, 400, "BadParameter", "", "ES256"},
		{"curve mismatch", tok, "POST", "/keys/ec384//sign", map[string]any{"alg": "ES256", "value": b64(d256[:])}, 400, "BadParameter", "", "P-384"},
		{"encrypt with EC key", tok, "POST", "/keys/ec256//encrypt", map[string]any{"alg": "RSA-OAEP", "value": "AAAA"}, 403, "Forbidden", "KeyOperationForbidden", ""},
		{"EC key with wrapKey", tok, "POST", "/keys/ecw/create", map[string]any{"kty": "EC", "key_ops": []string{"sign", "verify", "wrapKey", "unwrapKey"}}, 400, "BadParameter", "", `Unsupported key operation(s): "wrapKey", "unwrapKey". Supported values are "sign", "verify".`},
		{"RSA key size", tok, "POST", "/keys/big/create", map[string]any{"kty": "RSA", "key_size": 1024}, 400, "BadParameter", "", "Unsupported key size (1024)"},
		{"HSM key in a standard vault", tok, "POST", "/keys/hsm/create", map[string]any{"kty": "RSA-HSM"}, 400, "BadParameter", "", "RSA-HSM"},
		{"no kty", tok, "POST", "/keys/nokty/create", map[string]any{}, 400, "BadParameter", "", "kty"},
		{"bad base64url", tok, "POST", "/keys/rsa//decrypt", map[string]any{"alg": "RSA-OAEP", "value": "!!"}, 400, "BadParameter", "", "base64url"},
		{"missing alg", tok, "POST", "/keys/rsa//encrypt", map[string]any{"value": "AAAA"}, 400, "BadParameter", "", "alg"},
		{"garbage ciphertext", tok, "POST", "/keys/rsa//decrypt", map[string]any{"alg": "RSA-OAEP", "value": b64(make([]byte, 256))}, 400, "BadParameter", "", ""},
		{"too long to encrypt", tok, "POST", "/keys/rsa//encrypt", map[string]any{"alg": "RSA1_5", "value": b64(make([]byte, 300))}, 400, "BadParameter", "", ""},
		{"unknown key", tok, "POST", "/keys/nope//sign", sign256, 404, "KeyNotFound", "", "A key with (name/id) nope was not found"},
		{"unknown version", tok, "GET", "/keys/rsa/00000000000000000000000000000000", nil, 404, "KeyNotFound", "", ""},
		{"crypto by GET", tok, "GET", "/keys/rsa/abc/sign", nil, 405, "MethodNotAllowed", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := w.keyCall(tc.tok, tc.method, "cryptovault", tc.path, tc.body)
			assert.Equal(t, tc.status, a.code, "%s", a.body)
			assert.Equal(t, tc.code, errCode(a))
			assert.Equal(t, tc.inner, innerCode(a))
			assert.Contains(t, errMsg(a), tc.msg)
			assert.Empty(t, a.hdr.Get("x-ms-error-code"), "recorded Key Vault errors carry no x-ms-error-code")
		})
	}
	// Public-key operations and reads still work on the disabled key, and
	// decrypt/verify on the expired one.
	w.keyCall(tok, "GET", "cryptovault", "/keys/off", nil).requireStatus(200)
	w.keyCall(tok, "POST", "cryptovault", "/keys/off//encrypt", map[string]any{"alg": "RSA-OAEP", "value": "AAAA"}).requireStatus(200)
	enc := w.keyCall(tok, "POST", "cryptovault", "/keys/early//encrypt", map[string]any{"alg": "RSA-OAEP", "value": "AAAA"})
	assert.Equal(t, 403, enc.code)
	w.keyCall(tok, "POST", "cryptovault", "/keys/expired//verify", map[string]any{"alg": "RS256", "digest": b64(d256[:]), "value": "AAAA"}).requireStatus(200)
	// The VM reads the key: public material only.
	r := w.keyCall(vm, "GET", "cryptovault", "/keys/rsa", nil).requireStatus(200)
	assert.False(t, r.get("key.d").Exists())
}

func TestKeysRBAC(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	w.newVault("rbackeys", map[string]any{"enableRbacAuthorization": true}).requireStatus(200)
	vaultID := "/subscriptions/" + w.sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/rbackeys"
	grant := func(oid, roleID string) {
		require.NoError(t, w.rb.Create(rbac.Assignment{Name: directory.NewGUID(), Scope: vaultID, RoleDefinitionID: rbac.RoleDefinitionID(w.sub, roleID), PrincipalID: oid, PrincipalType: "ServicePrincipal"}))
	}
	grant(w.operator.ObjectID, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603") // Key Vault Crypto Officer
	grant(w.vm.ObjectID, "12338af0-0e69-4776-bea7-57ae8d297424")       // Key Vault Crypto User
	op, vm := w.vaultToken(w.operator), w.vaultToken(w.vm)
	k := w.keyCall(op, "POST", "rbackeys", "/keys/signer/create", map[string]any{"kty": "EC", "crv": "P-256"}).requireStatus(200)
	d := sha256.Sum256([]byte("hello"))
	s := w.keyCall(vm, "POST", "rbackeys", "/keys/signer//sign", map[string]any{"alg": "ES256", "value": b64(d[:])}).requireStatus(200)
	sig := unb64(t, s.get("value").String())
	assert.True(t, ecdsa.Verify(ecPublic(t, k, elliptic.P256()), d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])))
	a := w.keyCall(vm, "DELETE", "rbackeys", "/keys/signer", nil)
	assert.Equal(t, 403, a.code)
	assert.Equal(t, "ForbiddenByRbac", innerCode(a))
	assert.Contains(t, errMsg(a), "Action: 'Microsoft.KeyVault/vaults/keys/delete'")
	assert.Contains(t, errMsg(a), "Resource: '"+strings.ToLower(vaultID)+"/keys/signer'")
	// The Crypto Officer cannot read secrets.
	assert.Equal(t, 403, w.kvCall(op, "GET", "rbackeys", "/secrets/x?api-version=7.5", nil).code)
}
