package entra

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
)

// A cached verdict changes nothing Verify answers: the clock and the
// directory are consulted on every call, a key change voids the entries,
// and the caller's claims are its own.
func TestVerifiedCacheKeepsEveryCheck(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok, err := f.iss.ManagedIdentityToken(f.system, "https://management.azure.com/", vmID)
	require.NoError(t, err)
	first, err := f.iss.Verify(tok.Raw)
	require.NoError(t, err)
	require.Len(t, f.iss.verified.m, 1, "the verdict is cached")

	first.OID = "changed by a caller"
	again, err := f.iss.Verify(tok.Raw)
	require.NoError(t, err)
	assert.Equal(t, f.system.ObjectID, again.OID, "callers never share claims")

	t.Run("expiry on a hit", func(t *testing.T) {
		defer func(saved time.Time) { *f.now = saved }(*f.now)
		*f.now = tok.ExpiresOn.Add(clockSkew + time.Second)
		_, err := f.iss.Verify(tok.Raw)
		assert.ErrorIs(t, err, ErrExpired)
		*f.now = tok.NotBefore.Add(-clockSkew - time.Second)
		_, err = f.iss.Verify(tok.Raw)
		assert.ErrorIs(t, err, ErrNotYetValid)
	})
	t.Run("principal removed after the hit was cached", func(t *testing.T) {
		f.dir.Remove(f.system.ObjectID)
		defer f.dir.Add(f.system)
		_, err := f.iss.Verify(tok.Raw)
		assert.ErrorIs(t, err, ErrPrincipalGone)
	})
	t.Run("Forget drops the principal's entries", func(t *testing.T) {
		app, err := f.iss.AppToken(f.app, "https://management.azure.com/")
		require.NoError(t, err)
		_, err = f.iss.Verify(app.Raw)
		require.NoError(t, err)
		require.Len(t, f.iss.verified.m, 2)
		f.iss.Forget(f.system.ObjectID)
		require.Len(t, f.iss.verified.m, 1)
		_, ok := f.iss.verified.m[sha256.Sum256([]byte(app.Raw))]
		assert.True(t, ok, "other principals' entries stay")
		_, err = f.iss.Verify(tok.Raw)
		require.NoError(t, err, "verified afresh")
	})
	t.Run("another key voids the entries", func(t *testing.T) {
		rotated := NewIssuer(f.iss.Cloud, f.dir, otherKey(t))
		rotated.verified.m = f.iss.verified.m // as if the key changed under the cache
		_, err := rotated.Verify(tok.Raw)
		assert.ErrorIs(t, err, ErrUnknownKey)
	})
}

func TestVerifiedCacheIsBounded(t *testing.T) {
	var v verifiedCache
	k := key(t)
	for n := range maxVerified + 10 {
		v.put(sha256.Sum256(fmt.Appendf(nil, "token %d", n)), k, &Claims{OID: directory.NewGUID()})
		require.LessOrEqual(t, len(v.m), maxVerified)
	}
	_, ok := v.get(sha256.Sum256([]byte(fmt.Sprintf("token %d", maxVerified+9))), k)
	assert.True(t, ok, "the newest entry is kept")
}

// BenchmarkVerify is one bearer token check as every service makes it, with
// the signature verdict cached (the token is reused, as clients do) and
// without (a new token every time).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	f.iss.SetClock(time.Now)
	tok, err := f.iss.AppToken(f.app, "https://management.azure.com/")
	require.NoError(b, err)
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.iss.Verify(tok.Raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.iss.verified.forget(f.app.ObjectID)
			if _, err := f.iss.Verify(tok.Raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
