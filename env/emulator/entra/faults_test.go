package entra

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Short-lived tokens: every token issued after SetLifetime lives that
// long, the cache does not hand out a token of the old lifetime, and 0
// restores Entra's lifetimes.
func TestSetLifetime(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	const arm = "https://management.azure.com/"
	long, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.Equal(t, DefaultLifetime, long.ExpiresOn.Sub(long.IssuedAt))

	f.iss.SetLifetime(90 * time.Second)
	assert.Equal(t, 90*time.Second, f.iss.Lifetime())
	short, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.NotEqual(t, long.Raw, short.Raw, "the cached 24 h token is dropped")
	assert.Equal(t, 90*time.Second, short.ExpiresOn.Sub(short.IssuedAt))
	app, err := f.iss.AppToken(f.app, arm)
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, app.ExpiresOn.Sub(app.IssuedAt), "application tokens too")

	// A token shorter than the refresh window is never reused: each
	// request gets a fresh one, as IMDS does near expiry.
	again, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.NotEqual(t, short.Raw, again.Raw)

	// Past exp plus the 5 minutes' leeway the token is refused.
	*f.now = fixedNow.Add(90*time.Second + clockSkew + time.Second)
	_, err = f.iss.Verify(short.Raw)
	assert.ErrorIs(t, err, ErrExpired)

	f.iss.SetLifetime(0)
	back, err := f.iss.AppToken(f.app, arm)
	require.NoError(t, err)
	assert.Equal(t, AppTokenLifetime, back.ExpiresOn.Sub(back.IssuedAt))
}

// A token replayed after its principal left the directory (identity
// disabled, application deleted) is refused, whatever its signature says;
// another tenant's principal is left to the services' issuer checks.
func TestVerifyRefusesGonePrincipal(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok, err := f.iss.ManagedIdentityToken(f.system, "https://management.azure.com/", vmID)
	require.NoError(t, err)
	_, err = f.iss.Verify(tok.Raw)
	require.NoError(t, err)

	f.dir.Remove(f.system.ObjectID)
	c, err := f.iss.Verify(tok.Raw)
	assert.True(t, errors.Is(err, ErrPrincipalGone), "got %v", err)
	require.NotNil(t, c)
	assert.Equal(t, f.system.ObjectID, c.OID)

	f.dir.Add(f.system)
	_, err = f.iss.Verify(tok.Raw)
	assert.NoError(t, err, "the same principal back (re-created) is accepted again")

	other := NewIssuer(f.iss.Cloud, directory.New(directory.NewGUID()), key(t))
	other.SetClock(f.iss.Now)
	foreign, err := other.AppToken(directory.Principal{ObjectID: directory.NewGUID()}, "https://management.azure.com/")
	require.NoError(t, err)
	_, err = f.iss.Verify(foreign.Raw)
	assert.NoError(t, err, "another tenant's token is the services' issuer check to refuse")
}
