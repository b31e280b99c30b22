package entra

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
)

// maxVerified bounds the verified-token cache. A tutorial run uses a few
// dozen tokens; a load test's clients reuse theirs, so this only matters
// against a flood of distinct valid tokens, which then cost one RSA
// verification each, as without the cache.
const maxVerified = 4096

// verifiedCache remembers tokens whose signature an issuer key has
// verified, keyed by the SHA-256 of the raw token, so the RSA verification
// and JSON decoding run once per token rather than once per request (they
// were most of a Resource Manager request's CPU). Only the signature
// verdict is cached: it is a pure function of the token's bytes and the
// key. Expiry, not-before and the principal's existence depend on the
// clock and the directory, so Verify checks them on every call.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[[32]byte]verifiedToken
}

type verifiedToken struct {
	// key is the signing key that verified the token; after a rotation
	// the entry no longer counts.
	key    *SigningKey
	claims Claims
}

func (v *verifiedCache) get(sum [32]byte, key *SigningKey) (*Claims, bool) {
	v.mu.RLock()
	t, ok := v.m[sum]
	v.mu.RUnlock()
	if !ok || t.key != key {
		return nil, false
	}
	c := t.claims // each caller gets its own copy
	return &c, true
}

func (v *verifiedCache) put(sum [32]byte, key *SigningKey, c *Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[[32]byte]verifiedToken{}
	}
	if len(v.m) >= maxVerified {
		// Drop about a quarter, in the map's arbitrary order: cheap, and a
		// dropped token that comes back is merely verified again.
		n := maxVerified / 4
		for k := range v.m {
			delete(v.m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	v.m[sum] = verifiedToken{key: key, claims: *c}
}

// forget drops the tokens of a principal (its identity was disabled or
// deleted), so nothing about them outlives the principal here.
func (v *verifiedCache) forget(objectID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, t := range v.m {
		if strings.EqualFold(t.claims.OID, objectID) {
			delete(v.m, k)
		}
	}
}

// verifySignature checks a token's algorithm, key id and RS256 signature
// against key, answering from the cache for a token already verified with
// that key. The claims returned are the caller's to keep.
func (v *verifiedCache) verifySignature(raw string, key *SigningKey) (*Claims, error) {
	if len(raw) > maxTokenLen {
		_, _, _, _, err := parse(raw) // the same error as without the cache
		return nil, err
	}
	id := sha256.Sum256([]byte(raw))
	if c, ok := v.get(id, key); ok {
		return c, nil
	}
	h, c, sig, signing, err := parse(raw)
	if err != nil {
		return nil, err
	}
	if h.Alg != "RS256" {
		return c, fmt.Errorf("%w: alg %q", ErrAlgorithm, h.Alg)
	}
	if h.Kid != key.KID {
		return c, ErrUnknownKey
	}
	sum := sha256.Sum256([]byte(signing))
	if err := rsa.VerifyPKCS1v15(&key.Private.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return c, ErrSignature
	}
	v.put(id, key, c)
	return c, nil
}
