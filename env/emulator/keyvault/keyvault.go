// Package keyvault is the emulator's Azure Key Vault: the vault data plane
// (secrets, with soft delete and backup/restore; keys, with soft delete and
// the cryptographic operations) served at
// https://{vault}.{vault suffix}/, and the Microsoft.KeyVault/vaults resource
// provider registered with Resource Manager. A data-plane request goes
// ServeHTTP -> authenticate (Entra token, WWW-Authenticate challenge) ->
// parseOperation (one line per operation in routes.go) -> authorize (access
// policy or RBAC data action, from the route) -> the
// handler named after the REST operation -> the vault's secrets or keys.
package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/miconform/miconform/env/emulator/state"
)

// Service serves every vault of one emulated cloud.
type Service struct {
	Cloud  cloud.Profile
	ARM    *arm.Server
	Issuer *entra.Issuer
	RBAC   *rbac.Store

	// now is the clock for created/updated/deletedDate (tests move it).
	now func() time.Time
	// backupKey seals backup blobs: like Azure's, they restore only into
	// vaults of the same subscription (here, the same emulator).
	backupKey cipher.AEAD

	mu sync.RWMutex
	// vaults holds each vault's settings and secrets, keyed by the vault
	// name in lower case (vault names are unique in a cloud).
	vaults map[string]*vault
	// log keeps the secrets across restarts (persist.go; nil: memory only).
	log *state.Log
}

// vault is one vault: the Resource Manager view that decides who may do
// what, its secrets and its keys.
type vault struct {
	info    vaultInfo
	secrets collection[*version]
	keys    collection[*keyVersion]
}

func newVault(info vaultInfo) *vault {
	return &vault{info: info, secrets: newCollection[*version](secretKind), keys: newCollection[*keyVersion](keyKind)}
}

// vaultInfo is what the data plane needs of the vault resource.
type vaultInfo struct {
	ID, Name, ResourceGroup, Location string
	Props                             vaultProperties
}

// New makes the service and registers Microsoft.KeyVault with Resource
// Manager.
func New(c cloud.Profile, a *arm.Server, iss *entra.Issuer, rb *rbac.Store) *Service {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	s := &Service{Cloud: c, ARM: a, Issuer: iss, RBAC: rb, now: time.Now, backupKey: gcm, vaults: map[string]*vault{}}
	s.registerProvider()
	return s
}

// SetClock replaces the service clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Host is the host name of a vault: {vault}.{vault suffix}.
func (s *Service) Host(vaultName string) string {
	return strings.ToLower(vaultName) + "." + s.Cloud.VaultSuffix
}

// Serves reports whether host names an existing vault, so the emulator's
// dialer fails for other names as DNS does for a vault that does not exist.
func (s *Service) Serves(host string) bool {
	_, ok := s.lookup(host)
	return ok
}

// lookup finds the vault a host name addresses.
func (s *Service) lookup(host string) (*vault, bool) {
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, ok := strings.CutSuffix(host, "."+s.Cloud.VaultSuffix)
	if !ok || name == "" || strings.Contains(name, ".") {
		return nil, false
	}
	s.mu.RLock()
	v, ok := s.vaults[name]
	s.mu.RUnlock()
	return v, ok
}

// ServeHTTP is the vault data plane.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, ok := s.lookup(r.Host)
	if !ok {
		// Real clients never get here: the name does not resolve.
		http.Error(w, "miconform emulator: no vault answers at "+r.Host, http.StatusNotFound)
		return
	}
	s.mu.RLock()
	info := v.info
	s.mu.RUnlock()
	tenant := info.Props.TenantID
	c, e := s.authenticate(r, tenant)
	if e != nil {
		s.write(w, r, tenant, fail(e))
		return
	}
	op, e := parseOperation(r.Method, r.URL.EscapedPath(), r.URL.Query())
	if e != nil {
		s.write(w, r, tenant, fail(e))
		return
	}
	grant, e := s.authorize(c, op, &info)
	if e != nil {
		s.write(w, r, tenant, fail(e))
		return
	}
	rbacHeaders(w.Header(), grant, s.now())
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		if err != nil {
			s.write(w, r, tenant, fail(errBadParameter("The request body could not be read.")))
			return
		}
		if len(b) > maxRequestBytes {
			s.write(w, r, tenant, fail(errorf(413, "RequestEntityTooLarge", "The request body exceeds the maximum size of %d bytes.", maxRequestBytes)))
			return
		}
		body = b
	}
	s.write(w, r, tenant, s.do(v, op, body))
}

// newVersion is a secret version id: 32 lower-case hex digits.
func newVersion() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
