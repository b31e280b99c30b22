package entra

import (
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/wine/winetest"
)

func TestManagedIdentityTokenClaims(t *testing.T) {
	for _, tc := range []struct {
		cloud, iss string
	}{
		{"AzureCloud", "https://sts.windows.net/" + testTenant + "/"},
		{"AzureChinaCloud", "https://sts.chinacloudapi.cn/" + testTenant + "/"},
	} {
		t.Run(tc.cloud, func(t *testing.T) {
			f := newFixture(t, tc.cloud)
			for _, p := range []directory.Principal{f.system, f.user} {
				const resource = "https://management.azure.com/"
				tok, err := f.iss.ManagedIdentityToken(p, resource, vmID)
				require.NoError(t, err)
				h, c := decode(t, tok.Raw)

				assert.Equal(t, "RS256", h["alg"])
				assert.Equal(t, "JWT", h["typ"])
				require.NotEmpty(t, h["kid"])
				assert.Equal(t, h["kid"], h["x5t"], "Entra sets kid and x5t to the same thumbprint")

				assert.Equal(t, resource, c["aud"], "aud is the requested resource, exactly")
				assert.Equal(t, tc.iss, c["iss"])
				assert.Equal(t, tc.iss, c["idp"])
				assert.Equal(t, float64(fixedNow.Unix()), c["iat"])
				assert.Equal(t, float64(fixedNow.Unix()), c["nbf"])
				assert.Equal(t, float64(fixedNow.Add(24*time.Hour).Unix()), c["exp"], "managed identity tokens live 24 hours")
				assert.Equal(t, p.ObjectID, c["oid"])
				assert.Equal(t, p.ObjectID, c["sub"])
				assert.Equal(t, testTenant, c["tid"])
				assert.Equal(t, p.ClientID, c["appid"])
				assert.Equal(t, "2", c["appidacr"])
				assert.Equal(t, "app", c["idtyp"])
				assert.Equal(t, "1.0", c["ver"])
				assert.NotEmpty(t, c["uti"])
				assert.Equal(t, strings.Replace(p.ResourceID, "/resourceGroups/", "/resourcegroups/", 1), c["xms_mirid"], "Entra spells resourcegroups in lower case here")
				if p.Kind == directory.UserAssigned {
					assert.Equal(t, strings.Replace(vmID, "/resourceGroups/", "/resourcegroups/", 1), c["xms_az_rid"], "user-assigned tokens name the resource they were requested on")
				} else {
					assert.NotContains(t, c, "xms_az_rid", "system-assigned tokens carry no xms_az_rid")
				}

				assert.Equal(t, resource, tok.Resource)
				assert.Equal(t, fixedNow.Unix(), tok.IssuedAt.Unix())
				assert.Equal(t, fixedNow.Unix(), tok.NotBefore.Unix())
				assert.Equal(t, fixedNow.Add(DefaultLifetime).Unix(), tok.ExpiresOn.Unix())

				claims, err := f.iss.Verify(tok.Raw)
				require.NoError(t, err)
				assert.Equal(t, p.ObjectID, claims.OID)
			}
		})
	}
}

func TestTokenAudienceIsExactlyTheResource(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	for _, r := range []string{"https://management.azure.com", "https://management.azure.com/", "https://vault.azure.net", "https://acct.blob.core.windows.net/"} {
		tok, err := f.iss.ManagedIdentityToken(f.system, r, vmID)
		require.NoError(t, err)
		_, c := decode(t, tok.Raw)
		assert.Equal(t, r, c["aud"])
	}
}

func TestUniqueTokenIdentifiers(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		tok, err := f.iss.AppToken(f.app, "https://management.azure.com/")
		require.NoError(t, err)
		_, c := decode(t, tok.Raw)
		uti := c["uti"].(string)
		assert.False(t, seen[uti], "uti %q repeated", uti)
		seen[uti] = true
	}
}

func TestAppTokenClaims(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	tok, err := f.iss.AppToken(f.app, "https://management.azure.com/")
	require.NoError(t, err)
	_, c := decode(t, tok.Raw)
	assert.Equal(t, "1", c["appidacr"], "a client secret authenticates as appidacr 1")
	assert.Equal(t, f.app.ClientID, c["appid"])
	assert.Equal(t, f.app.ObjectID, c["oid"])
	assert.Equal(t, float64(fixedNow.Add(AppTokenLifetime).Unix()), c["exp"])
	assert.NotContains(t, c, "xms_mirid")
	assert.NotContains(t, c, "xms_az_rid")
}

func TestManagedIdentityTokenCache(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	const arm = "https://management.azure.com/"
	t1, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)

	*f.now = fixedNow.Add(time.Hour)
	t2, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.Equal(t, t1.Raw, t2.Raw, "same identity and resource reuse the cached token")

	t3, err := f.iss.ManagedIdentityToken(f.system, "https://management.azure.com", vmID)
	require.NoError(t, err)
	assert.NotEqual(t, t1.Raw, t3.Raw, "a different resource string is a different token")

	t4, err := f.iss.ManagedIdentityToken(f.user, arm, vmID)
	require.NoError(t, err)
	assert.NotEqual(t, t1.Raw, t4.Raw, "another identity gets its own token")

	f.iss.Forget(strings.ToUpper(f.system.ObjectID))
	t5, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.NotEqual(t, t1.Raw, t5.Raw, "Forget drops the cached token")
	t6, err := f.iss.ManagedIdentityToken(f.user, arm, vmID)
	require.NoError(t, err)
	assert.Equal(t, t4.Raw, t6.Raw, "Forget leaves other identities' tokens")

	// Within five minutes of expiry a fresh token is minted.
	*f.now = t5.ExpiresOn.Add(-4 * time.Minute)
	t7, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.NotEqual(t, t5.Raw, t7.Raw)
	assert.Equal(t, f.now.Add(DefaultLifetime).Unix(), t7.ExpiresOn.Unix())

	// A clock set back before the cached token's issue time gets a new one.
	*f.now = fixedNow.Add(-time.Hour)
	t8, err := f.iss.ManagedIdentityToken(f.system, arm, vmID)
	require.NoError(t, err)
	assert.NotEqual(t, t7.Raw, t8.Raw)
}

func TestAppTokensAreNotCached(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	a, err := f.iss.AppToken(f.app, "https://management.azure.com/")
	require.NoError(t, err)
	b, err := f.iss.AppToken(f.app, "https://management.azure.com/")
	require.NoError(t, err)
	assert.NotEqual(t, a.Raw, b.Raw)
}

// forge signs arbitrary claims with key under the given header.
func forge(t testing.TB, key *rsa.PrivateKey, h header, c any) string {
	t.Helper()
	raw, err := sign(key, h, c)
	require.NoError(t, err)
	return raw
}

func TestVerify(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	k, other := keys(t)
	good, err := f.iss.ManagedIdentityToken(f.system, "https://management.azure.com/", vmID)
	require.NoError(t, err)
	claims, err := ParseUnverified(good.Raw)
	require.NoError(t, err)

	t.Run("valid", func(t *testing.T) {
		c, err := f.iss.Verify(good.Raw)
		require.NoError(t, err)
		assert.Equal(t, *claims, *c)
	})
	t.Run("alg none", func(t *testing.T) {
		parts := strings.Split(good.Raw, ".")
		hdr := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"none","kid":"` + k.KID + `"}`))
		for _, raw := range []string{hdr + "." + parts[1] + ".", hdr + "." + parts[1] + "." + parts[2]} {
			_, err := f.iss.Verify(raw)
			assert.ErrorIs(t, err, ErrAlgorithm)
		}
	})
	t.Run("alg HS256", func(t *testing.T) {
		raw := forge(t, k.Private, header{Typ: "JWT", Alg: "HS256", Kid: k.KID, X5T: k.KID}, claims)
		_, err := f.iss.Verify(raw)
		assert.ErrorIs(t, err, ErrAlgorithm)
	})
	t.Run("another key with its own kid", func(t *testing.T) {
		raw := forge(t, other.Private, header{Typ: "JWT", Alg: "RS256", Kid: other.KID, X5T: other.KID}, claims)
		_, err := f.iss.Verify(raw)
		assert.ErrorIs(t, err, ErrUnknownKey)
	})
	t.Run("another key claiming our kid", func(t *testing.T) {
		raw := forge(t, other.Private, header{Typ: "JWT", Alg: "RS256", Kid: k.KID, X5T: k.KID}, claims)
		_, err := f.iss.Verify(raw)
		assert.ErrorIs(t, err, ErrSignature)
	})
	t.Run("no kid", func(t *testing.T) {
		raw := forge(t, k.Private, header{Typ: "JWT", Alg: "RS256"}, claims)
		_, err := f.iss.Verify(raw)
		assert.ErrorIs(t, err, ErrUnknownKey)
	})
	t.Run("tampered claims", func(t *testing.T) {
		parts := strings.Split(good.Raw, ".")
		c := *claims
		c.OID = directory.NewGUID()
		cj, _ := json.Marshal(c)
		_, err := f.iss.Verify(parts[0] + "." + b64.EncodeToString(cj) + "." + parts[2])
		assert.ErrorIs(t, err, ErrSignature)
	})
	t.Run("tampered signature", func(t *testing.T) {
		parts := strings.Split(good.Raw, ".")
		sig, _ := b64.DecodeString(parts[2])
		sig[10] ^= 0x01
		_, err := f.iss.Verify(parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig))
		assert.ErrorIs(t, err, ErrSignature)
		_, err = f.iss.Verify(parts[0] + "." + parts[1] + ".")
		assert.ErrorIs(t, err, ErrSignature)
	})
	t.Run("expired", func(t *testing.T) {
		defer func(saved time.Time) { *f.now = saved }(*f.now)
		*f.now = good.ExpiresOn.Add(5 * time.Minute) // within the skew allowance
		_, err := f.iss.Verify(good.Raw)
		require.NoError(t, err)
		*f.now = good.ExpiresOn.Add(5*time.Minute + time.Second)
		c, err := f.iss.Verify(good.Raw)
		assert.ErrorIs(t, err, ErrExpired)
		require.NotNil(t, c, "the claims come back so callers can quote exp")
		assert.Equal(t, good.ExpiresOn.Unix(), c.ExpiresAt().Unix())
	})
	t.Run("not yet valid", func(t *testing.T) {
		defer func(saved time.Time) { *f.now = saved }(*f.now)
		*f.now = good.NotBefore.Add(-5 * time.Minute)
		_, err := f.iss.Verify(good.Raw)
		require.NoError(t, err)
		*f.now = good.NotBefore.Add(-5*time.Minute - time.Second)
		_, err = f.iss.Verify(good.Raw)
		assert.ErrorIs(t, err, ErrNotYetValid)
	})
	t.Run("malformed", func(t *testing.T) {
		parts := strings.Split(good.Raw, ".")
		for name, raw := range map[string]string{
			"empty":             "",
			"one part":          "abc",
			"two parts":         parts[0] + "." + parts[1],
			"four parts":        good.Raw + ".x",
			"header not b64":    "!!!." + parts[1] + "." + parts[2],
			"header not json":   b64.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2],
			"claims not b64":    parts[0] + ".%%%." + parts[2],
			"claims not json":   parts[0] + "." + b64.EncodeToString([]byte("[1,2")) + "." + parts[2],
			"claims wrong type": parts[0] + "." + b64.EncodeToString([]byte(`{"exp":"soon"}`)) + "." + parts[2],
			"aud array":         parts[0] + "." + b64.EncodeToString([]byte(`{"aud":["a","b"]}`)) + "." + parts[2],
			"signature not b64": parts[0] + "." + parts[1] + ".***",
			"padded base64":     parts[0] + "=." + parts[1] + "." + parts[2],
			"too long":          parts[0] + "." + strings.Repeat("A", maxTokenLen) + "." + parts[2],
			"bearer prefix":     "Bearer " + good.Raw,
		} {
			_, err := f.iss.Verify(raw)
			assert.ErrorIs(t, err, ErrMalformed, name)
		}
	})
}

func TestKnownResource(t *testing.T) {
	pub := newFixture(t, "AzureCloud").iss
	for r, want := range map[string]bool{
		"https://management.azure.com/":           true,
		"https://management.azure.com":            true,
		"HTTPS://MANAGEMENT.AZURE.COM/":           true,
		"https://management.core.windows.net/":    true,
		"https://vault.azure.net":                 true,
		"https://vault.azure.net/":                true,
		"https://storage.azure.com/":              true,
		"https://database.windows.net/":           true,
		"https://graph.microsoft.com":             true,
		"https://myacct.blob.core.windows.net":    true,
		"https://myacct.blob.core.windows.net/":   true,
		"":                                        false,
		"/":                                       false,
		"https://managements.azure.com":           false,
		"https://management.azure.com/extra":      false,
		"https://management.chinacloudapi.cn/":    false,
		"https://.blob.core.windows.net":          false,
		"https://a.b.blob.core.windows.net":       false,
		"https://myacct.blob.core.windows.net.cn": false,
		"http://myacct.blob.core.windows.net":     false,
	} {
		assert.Equal(t, want, pub.KnownResource(r), "%q", r)
	}
	cn := newFixture(t, "AzureChinaCloud").iss
	assert.True(t, cn.KnownResource("https://management.chinacloudapi.cn/"))
	assert.True(t, cn.KnownResource("https://vault.azure.cn"))
	assert.True(t, cn.KnownResource("https://acct.blob.core.chinacloudapi.cn"))
	assert.False(t, cn.KnownResource("https://management.azure.com/"))
}

func TestSigningKeyPersistence(t *testing.T) {
	dir := winetest.TempDir(t)
	a, err := LoadOrCreateSigningKey(dir)
	require.NoError(t, err)
	b, err := LoadOrCreateSigningKey(dir)
	require.NoError(t, err)
	assert.Equal(t, a.KID, b.KID)
	assert.True(t, a.Private.Equal(b.Private))
	assert.Equal(t, thumbprint(a.Cert), a.KID)
	assert.Len(t, a.KID, 27, "base64url SHA-1 thumbprint")
	fi, err := os.Stat(filepath.Join(dir, signingKeyFile))
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		// Windows has no mode bits (Go reports 0666 for any writable
		// file); the user's profile ACL guards the key there.
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}

	// Tokens signed before a restart verify after it.
	f := newFixture(t, "AzureCloud")
	i1 := NewIssuer(f.iss.Cloud, f.dir, a)
	i2 := NewIssuer(f.iss.Cloud, f.dir, b)
	tok, err := i1.AppToken(f.app, "https://management.azure.com/")
	require.NoError(t, err)
	_, err = i2.Verify(tok.Raw)
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, signingKeyFile), []byte("garbage"), 0o600))
	_, err = LoadOrCreateSigningKey(dir)
	assert.Error(t, err)
}

func TestJWKMatchesKey(t *testing.T) {
	k, _ := keys(t)
	j := k.JWK("")
	assert.Equal(t, "RSA", j.Kty)
	assert.Equal(t, "sig", j.Use)
	assert.Equal(t, k.KID, j.Kid)
	assert.Equal(t, k.KID, j.X5t)
	assert.Equal(t, "AQAB", j.E)
	require.Len(t, j.X5c, 1)
	out, err := json.Marshal(j)
	require.NoError(t, err)
	assert.NotContains(t, string(out), `"issuer"`, "the v1 key set has no issuer member")
}

func TestClaimResourceIDLowersResourceGroups(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/s/resourceGroups/MyRG/providers/Microsoft.Compute/virtualMachines/myVM": "/subscriptions/s/resourcegroups/MyRG/providers/Microsoft.Compute/virtualMachines/myVM",
		"/subscriptions/s/RESOURCEGROUPS/rg/providers/X/y/z":                                    "/subscriptions/s/resourcegroups/rg/providers/X/y/z",
		"/subscriptions/s/resourcegroups/rg":                                                    "/subscriptions/s/resourcegroups/rg",
		"/subscriptions/s":                                                                      "/subscriptions/s",
		"":                                                                                      "",
	} {
		assert.Equal(t, want, claimResourceID(in))
	}
}
