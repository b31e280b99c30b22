package emulator_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
)

// forge builds an RS256 (or other alg) JWT from a header and claims, signed
// with key (nil: no signature, as alg "none" tokens come).
func forge(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	if key == nil {
		return signing + "."
	}
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// jwtParts decodes a token's header and claims.
func jwtParts(t *testing.T, raw string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	var h, c map[string]any
	for i, v := range []*map[string]any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, v))
	}
	return h, c
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestEveryServiceRefusesBadTokens hits Resource Manager, Blob, Key Vault
// and Azure SQL with each kind of token a service must refuse: unsigned
// (alg none), signed by another key (under its own kid and under the
// emulator's), for another tenant or another audience (signed with the
// emulator's own key, so only that claim is wrong), expired, not yet
// valid, and replayed after the identity was disabled. A valid token for
// each service is the control: it gets past authentication.
func TestEveryServiceRefusesBadTokens(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials", listen: true}) // SQL is TDS, dialed
	e, c, w := h.E, h.E.Cloud, h.E.World
	realKey := h.E.Issuer.SigningKey()
	vm, ok := e.Dir.ByResourceID(w.VMResourceID)
	require.True(t, ok)

	type service struct {
		name, resource string
		// call answers whether the service accepted the token (got past
		// authentication) and what it said.
		call func(tok string) (accepted bool, said string)
	}
	httpCall := func(method, url string, hdr map[string]string) func(string) (bool, string) {
		return func(tok string) (bool, string) {
			hd := map[string][]string{"Authorization": {"Bearer " + tok}}
			for k, v := range hdr {
				hd[k] = []string{v}
			}
			r := h.do(method, url, hd, nil)
			return r.code != 401, r.header.Get("WWW-Authenticate") + " " + string(r.raw)
		}
	}
	sqlHost := w.SQLServer + "." + c.SQLSuffix
	sqlCall := func(tok string) (bool, string) {
		cfg, err := msdsn.Parse("sqlserver://" + sqlHost + "?database=" + w.SQLDatabase + "&encrypt=true")
		require.NoError(t, err)
		cfg.TLSConfig = &tls.Config{RootCAs: e.CA.Pool(), ServerName: sqlHost}
		conn, err := mssql.NewSecurityTokenConnector(cfg, func(context.Context) (string, error) { return tok, nil })
		require.NoError(t, err)
		conn.Dialer = dialerFunc(e.DialContext)
		db := sql.OpenDB(conn)
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
		var me mssql.Error
		if errors.As(err, &me) && me.Number == 18456 {
			return false, me.Message
		}
		return true, fmt.Sprint(err)
	}
	services := []service{
		{"Resource Manager", c.ARMResource, httpCall("GET", "https://"+c.ARMHost+h.rg(w.ResourceGroup)+"?api-version=2021-04-01", nil)},
		{"Blob", c.StorageResource, httpCall("GET", "https://"+w.StorageAccount+".blob."+c.StorageSuffix+"/"+w.Container+"/"+strings.ReplaceAll(w.Blob, " ", "%20"), map[string]string{"x-ms-version": "2020-04-08"})},
		{"Key Vault", c.VaultResource, httpCall("GET", "https://"+w.VaultName+"."+c.VaultSuffix+"/secrets/"+w.SecretName+"?api-version=7.4", nil)},
		{"Azure SQL", c.SQLResource, sqlCall},
	}
	// The VM's tokens, taken before its identity is disabled below.
	valid := map[string]string{}
	for _, s := range services {
		tok, err := e.Issuer.ManagedIdentityToken(vm, s.resource, w.VMResourceID)
		require.NoError(t, err)
		valid[s.name] = tok.Raw
	}
	otherTenant := directory.NewGUID()
	now := time.Now()
	cases := []struct {
		name string
		bad  func(s service) string
	}{
		{"alg none", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			return forge(t, nil, with(hd, "alg", "none"), cl)
		}},
		{"another key under its own kid", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			k := otherKey(t)
			return forge(t, k.Private, with(hd, "kid", k.KID, "x5t", k.KID), cl)
		}},
		{"another key under the emulator's kid", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			return forge(t, otherKey(t).Private, hd, cl)
		}},
		{"another tenant", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			return forge(t, realKey.Private, hd, with(cl, "tid", otherTenant, "iss", c.Issuer(otherTenant), "idp", c.Issuer(otherTenant)))
		}},
		{"another audience", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			aud := c.ARMResource
			if s.resource == c.ARMResource {
				aud = c.VaultResource
			}
			return forge(t, realKey.Private, hd, with(cl, "aud", aud))
		}},
		{"expired", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			return forge(t, realKey.Private, hd, with(cl, "iat", now.Add(-3*time.Hour).Unix(), "nbf", now.Add(-3*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix()))
		}},
		{"not yet valid", func(s service) string {
			hd, cl := jwtParts(t, valid[s.name])
			return forge(t, realKey.Private, hd, with(cl, "iat", now.Add(time.Hour).Unix(), "nbf", now.Add(time.Hour).Unix(), "exp", now.Add(3*time.Hour).Unix()))
		}},
	}
	for _, s := range services {
		ok, said := s.call(valid[s.name])
		require.True(t, ok, "%s refuses the VM's valid token: %s", s.name, said)
		for _, cs := range cases {
			ok, said := s.call(cs.bad(s))
			assert.False(t, ok, "%s accepts a token: %s", s.name, cs.name)
			assert.NotEmpty(t, said, "%s: %s", s.name, cs.name)
		}
	}

	// Disable the VM's identity (its service principal is deleted), then
	// replay the tokens it had: every service refuses them.
	r := h.op("PATCH", w.VMResourceID+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "None"}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	_, still := e.Dir.ByObjectID(vm.ObjectID)
	require.False(t, still)
	for _, s := range services {
		ok, said := s.call(valid[s.name])
		assert.False(t, ok, "%s accepts a token replayed after the identity was disabled: %s", s.name, said)
	}
}

// dialerFunc is a go-mssqldb Dialer over the emulator's dialer.
type dialerFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (d dialerFunc) DialContext(ctx context.Context, n, a string) (net.Conn, error) {
	return d(ctx, n, a)
}

// HostName makes go-mssqldb hand the host name to the dialer unresolved.
func (d dialerFunc) HostName() string { return "" }
