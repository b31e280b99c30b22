// Package blob is the emulator's Azure Blob Storage: the data plane at
// https://{account}.blob.{storage suffix}/ (and path style,
// https://127.0.0.1:{port}/{account}/..., for tools that cannot map host
// names) and the Microsoft.Storage resource provider in Resource Manager
// (storage accounts, their keys, listServiceSas, containers).
//
// A data-plane request goes: Service.ServeHTTP (find the account, the
// operation and the version) -> authenticate (Bearer token with RBAC data
// actions, service SAS, or Shared Key) -> the handler named after the REST
// operation -> Store. Every answer, errors included, leaves through write.
package blob

import (
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/miconform/miconform/env/emulator/state"
)

// Service is the Blob service of every storage account of one emulated cloud.
type Service struct {
	Cloud  cloud.Profile
	Issuer *entra.Issuer
	RBAC   *rbac.Store
	Store  Store

	mu       sync.RWMutex
	accounts map[string]*Account
	// log keeps accounts and blobs across restarts (durable.go; nil:
	// memory only).
	log *state.Log
}

// Account is what the data plane knows of a storage account.
type Account struct {
	Name string
	// ResourceID is the account's Resource Manager id (the RBAC scope).
	ResourceID string
	// Keys are key1 and key2 (raw bytes; the API shows them base64).
	Keys       [2][]byte
	KeyCreated [2]time.Time
	// DelegationSecret is what user delegation keys are derived from
	// (delegation.go); Revoke User Delegation Keys replaces it. Persisted
	// with the keys so issued keys survive a restart.
	DelegationSecret []byte
	// HTTPSOnly is properties.supportsHttpsTrafficOnly ("secure transfer
	// required"): plain-HTTP requests are refused.
	HTTPSOnly bool
	// Kind and Sku are the account's kind ("Storage", "StorageV2", ...)
	// and SKU name, which Resource Manager shows beside its properties.
	Kind, Sku string
}

// New makes a Blob service with an empty in-memory store.
func New(c cloud.Profile, iss *entra.Issuer, rb *rbac.Store) *Service {
	return &Service{Cloud: c, Issuer: iss, RBAC: rb, Store: NewMemStore(), accounts: map[string]*Account{}}
}

// Host is the host pattern the Blob service answers on.
func (s *Service) Host() string { return "*.blob." + s.Cloud.StorageSuffix }

// Endpoint is an account's primary blob endpoint, with the trailing slash
// Resource Manager shows.
func (s *Service) Endpoint(account string) string {
	return "https://" + account + ".blob." + s.Cloud.StorageSuffix + "/"
}

// Account returns a copy of an account's data-plane record.
func (s *Service) Account(name string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[name]
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// AddAccount registers an account with two new keys.
func (s *Service) AddAccount(name, resourceID string) Account {
	return s.addAccount(name, resourceID, nil)
}

// addAccount registers an account with two new keys, set changing it
// before it is stored (one write). Data an earlier account of the name
// left (RemoveAccount on a full disk) is dropped first; the state dir
// refusing that, or the account, panics with state.Failure, leaving no
// account.
func (s *Service) addAccount(name, resourceID string, set func(*Account)) Account {
	if stale, _ := s.Store.ListContainers(name, "", "", 1); len(stale) > 0 {
		s.Store.DropAccount(name)
	}
	now := time.Now().UTC()
	a := &Account{Name: name, ResourceID: resourceID, Keys: [2][]byte{newKey(), newKey()}, KeyCreated: [2]time.Time{now, now}, DelegationSecret: newKey(), HTTPSOnly: true}
	if set != nil {
		set(a)
	}
	s.mu.Lock()
	s.accounts[name] = a
	s.mu.Unlock()
	s.saveAccount(name)
	return *a
}

// RemoveAccount forgets an account and all its data. Resource Manager has
// deleted the account when it is called, so the account is gone whatever
// the state dir says: what a full disk keeps of it stays on disk,
// unreachable, until the next start drops it (no account in Resource
// Manager) or an account of the same name is created (addAccount).
func (s *Service) RemoveAccount(name string) {
	s.mu.Lock()
	delete(s.accounts, name)
	s.mu.Unlock()
	_ = s.writeAccount(name, false)
	_ = state.Catch(func() { s.Store.DropAccount(name) })
}

// updateAccount changes an account under the lock.
func (s *Service) updateAccount(name string, fn func(*Account)) (Account, bool) {
	s.mu.Lock()
	a, ok := s.accounts[name]
	if !ok {
		s.mu.Unlock()
		return Account{}, false
	}
	fn(a)
	out := *a
	s.mu.Unlock()
	s.saveAccount(name)
	return out, true
}

// RegenerateKey replaces key1 (i 0) or key2 (i 1); SASes and Shared Key
// signatures made with the old key stop working at once.
func (s *Service) RegenerateKey(name string, i int) (Account, bool) {
	return s.updateAccount(name, func(a *Account) {
		a.Keys[i] = newKey()
		// Later than the key it replaces, even on a clock coarser than
		// the 100 ns Microsoft.Storage prints (Windows, Wine), where a
		// regeneration right after the create would read the same time.
		now := time.Now().UTC()
		if !now.After(a.KeyCreated[i]) {
			now = a.KeyCreated[i].Add(100 * time.Nanosecond)
		}
		a.KeyCreated[i] = now
	})
}

// RevokeUserDelegationKeys invalidates every user delegation key issued for
// the account, and so every SAS signed with one.
func (s *Service) RevokeUserDelegationKeys(name string) (Account, bool) {
	return s.updateAccount(name, func(a *Account) { a.DelegationSecret = newKey() })
}

// newKey is a 64-byte account key, the size Azure's base64 keys decode to.
func newKey() []byte {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// request is one parsed data-plane request.
type request struct {
	*http.Request
	acct      Account
	container string
	blob      string
	// escapedPath is the path as sent, for Shared Key's canonicalized resource.
	escapedPath string
	q           url.Values
	version     string
	https       bool
	op          *operation
	// sas is set when the request was authorized with a SAS.
	sas *SAS
	// oid and tid are the caller's object and tenant ids when authorized
	// with a token.
	oid, tid string
	// out is the answer's header map, which handlers may fill directly.
	out http.Header
}

// isLoopback tells path-style hosts (loopback addresses) from host-style ones.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeHTTP is the Blob service's front door.
func (s *Service) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	r := s.admit(w, hr)
	if r == nil {
		return
	}
	if e := s.authenticate(r); e != nil {
		writeError(w, hr, r.version, e)
		return
	}
	write(w, hr, r.version, r.op.h(s, r))
}

// admit finds the account, the version, the resource and the operation
// of a request, or answers the error and returns nil. It returns before
// authentication and the handler run: kept out of ServeHTTP's frame, its
// locals do not sit under every handler's stack.
//
//go:noinline
func (s *Service) admit(w http.ResponseWriter, hr *http.Request) *request {
	host := strings.ToLower(hr.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	escaped := hr.URL.EscapedPath()
	path := escaped
	var name string
	if isLoopback(host) {
		// Path style: the first segment names the account.
		seg, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		name, path = seg, "/"+rest
	} else {
		name, _ = strings.CutSuffix(host, ".blob."+strings.ToLower(s.Cloud.StorageSuffix))
	}
	acct, ok := s.Account(name)
	if !ok {
		// An account that does not exist has no DNS name in Azure, so no
		// HTTP answer can be faithful; dropping the connection is closest.
		panic(http.ErrAbortHandler)
	}
	r := &request{Request: hr, acct: acct, escapedPath: escaped, q: hr.URL.Query(), https: hr.TLS != nil, out: w.Header()}
	version := hr.Header.Get("x-ms-version")
	if version != "" && !knownVersion(version) {
		writeError(w, hr, "", errInvalidHeader("x-ms-version", version))
		return nil
	}
	r.version = version
	if e := r.locate(path); e != nil {
		writeError(w, hr, version, e)
		return nil
	}
	op, e := route(r)
	if e != nil {
		writeError(w, hr, version, e)
		return nil
	}
	r.op = op
	if acct.HTTPSOnly && !r.https {
		// https://learn.microsoft.com/azure/storage/common/storage-require-secure-transfer
		writeError(w, hr, version, errorf(400, "AccountRequiresHttps", "The account being accessed does not support http.", "AccountName", acct.Name))
		return nil
	}
	return r
}

// locate splits the path into container and blob, decoding them.
func (r *request) locate(path string) *Error {
	p := strings.TrimPrefix(path, "/")
	if p == "" {
		return nil
	}
	c, b, hasBlob := strings.Cut(p, "/")
	var err error
	if r.container, err = url.PathUnescape(c); err != nil {
		return errInvalidURI()
	}
	if hasBlob {
		if r.blob, err = url.PathUnescape(b); err != nil {
			return errInvalidURI()
		}
		if r.blob == "" {
			return errInvalidURI()
		}
	} else if r.q.Get("restype") != "container" {
		// A one-segment path without restype=container is a blob in the
		// root container. https://learn.microsoft.com/rest/api/storageservices/working-with-the-root-container
		r.container, r.blob = "$root", r.container
	}
	return nil
}
