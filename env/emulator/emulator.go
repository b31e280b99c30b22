// Package emulator runs the emulated Azure in one process: an HTTPS listener
// that serves every Azure host name of one cloud (routed by Host header to
// Resource Manager, the Entra login host, Blob Storage, Key Vault, Graph),
// and the listeners of services that have their own (IMDS, the VM
// extension's endpoint, Azure SQL's TDS, plain HTTP for Blob Storage), all
// wired by the service table (services.go). A request's path through the
// code is: listener (or InProcessTransport) -> Emulator.ServeHTTP (host
// router over the table) -> service package -> handler named after the
// Azure operation -> store.
package emulator

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/blob"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/faults"
	"github.com/miconform/miconform/env/emulator/graph"
	"github.com/miconform/miconform/env/emulator/imds"
	"github.com/miconform/miconform/env/emulator/keyvault"
	"github.com/miconform/miconform/env/emulator/pki"
	"github.com/miconform/miconform/env/emulator/rbac"
	sqlsrv "github.com/miconform/miconform/env/emulator/sql"
	"github.com/miconform/miconform/env/emulator/state"
)

// Config says what to emulate and where to listen.
type Config struct {
	// Cloud is the cloud to emulate (default AzureCloud).
	Cloud cloud.Profile
	// StateDir keeps everything across restarts and crashes (persist.go):
	// the CA, the signing key, the tenant's ids and every service's data,
	// each write durable before it is answered. Empty keeps everything in
	// memory.
	StateDir string
	// StateRepair starts from a damaged state dir (emulate
	// --state-dir-repair): every intact record is kept, damaged bytes
	// go to side files, and what was lost is reported (persist.go).
	StateRepair bool
	// HTTPSAddr and IMDSAddr are listen addresses (default 127.0.0.1:0,
	// a free loopback port).
	HTTPSAddr string
	IMDSAddr  string
	// Seed is "tutorials" (the world the tutorials assume) or "none".
	Seed string
	// IMDSThrottle enables IMDS's 20 requests/s and 5 concurrent limits.
	IMDSThrottle bool
	// SQLAddr is where the TDS listener for Azure SQL listens (default 127.0.0.1:0).
	SQLAddr string
	// LegacyAddr is where the 2017 VM extension endpoint listens while the
	// extension is installed on the VM (default 127.0.0.1:0); a VM reaches
	// it at localhost:50342.
	LegacyAddr string
	// LegacyExtension installs the managed identity VM extension at start.
	LegacyExtension bool
	// Faults are set at start (emulate --faults); see package faults.
	Faults *faults.Set
	// LRO paces Resource Manager's long-running operations (storage
	// account, SQL server and database, vault creates; VM, NIC and disk
	// writes): nil is
	// arm.DefaultLROTiming, one "in progress" answer and Retry-After 1.
	// More polls or a MinDuration stretch them for clients whose waiting
	// is under test.
	LRO *arm.LROTiming
	// AllowRemote permits listen addresses other than loopback (bind.go).
	AllowRemote bool
	// Limits bound every HTTP listener, and MaxConns each TDS listener too
	// (default DefaultLimits, limits.go).
	Limits *Limits
	// SigningKey is the token-signing key to use instead of a new one, so
	// several emulators in one process (the harness's pool) skip the RSA
	// key generation, about 55 ms each. Entra's tenants share their
	// signing keys too; each emulator still has a tenant of its own, and
	// its services refuse another tenant's tokens. Not with StateDir,
	// which keeps its own key.
	SigningKey *entra.SigningKey
}

// Emulator is one emulated Azure cloud with one tenant and one subscription.
type Emulator struct {
	Cloud    cloud.Profile
	CA       *pki.CA
	Dir      *directory.Directory
	Issuer   *entra.Issuer
	RBAC     *rbac.Store
	ARM      *arm.Server
	IMDS     *imds.Server
	SQL      *sqlsrv.Server
	Blob     *blob.Service
	KeyVault *keyvault.Service
	Graph    *graph.Service
	Operator directory.Principal
	// Faults injects failures; driven by the control API (control.go).
	Faults *faults.Injector
	// World names what the seed created (empty with Seed "none" until
	// SetVM is called).
	World World

	cfg  Config
	logs map[string]*state.Log // --state-dir (persist.go)
	// reconcileHeld is set when a log was repaired (persist.go).
	reconcileHeld bool
	control       http.Handler
	ids           identityFile
	leaf          tls.Certificate
	// services is the service table, built (services.go); hosts are
	// their host patterns, in table order.
	services []*service
	hosts    []hostRoute
	caFile   string
	mu       sync.Mutex
	servers  []*http.Server
	httpsLn  net.Listener
	imdsLn   net.Listener // IMDS's (service_imds.go)
	plainLn  net.Listener // plain HTTP (port 80), see plainhttp.go
	legacy   *legacy
	vmMu     sync.RWMutex
	vmID     string
	closed   bool
	tempDirs []string
	// transports are the ones Transport made, whose idle connections
	// Close closes first: an HTTP/2 server's shutdown otherwise waits a
	// second after its GOAWAY for each client to hang up.
	transports []*http.Transport
	// stateLock keeps other emulators out of the state dir until Close.
	stateLock *state.DirLock
	// vmEndpoints are extra addresses for the sandbox (vmendpoints.go).
	vmEndpoints []VMEndpoint
	// opToken is operatorCall's cached token.
	opMu    sync.Mutex
	opToken entra.Token
}

// World is the seeded world the tutorials assume.
type World struct {
	ResourceGroup string
	Location      string
	VMName        string
	VMResourceID  string
	// OSDiskName/OSDiskResourceID and NICName/NICResourceID are the VM's
	// managed OS disk and network interface, resources of their own.
	OSDiskName, OSDiskResourceID string
	NICName, NICResourceID       string
	UserIdentityName             string
	UserIdentityResourceID       string
	UserIdentityClientID         string
	// VaultName and SecretName are the Key Vault tutorial's vault and secret.
	VaultName, SecretName string
	// SQLServer, SQLDatabase and SQLTable are the SQL tutorial's logical
	// server, database and table.
	SQLServer, SQLDatabase, SQLTable string
	// StorageAccount, Container and Blob are the Storage tutorials' account,
	// container and blob name.
	StorageAccount, Container, Blob string
}

// identityFile is the tenant's ids, kept in the state dir.
type identityFile struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	OperatorID     string `json:"operatorClientId"`
	OperatorOID    string `json:"operatorObjectId"`
	OperatorSecret string `json:"operatorClientSecret"`
}

// New builds an emulator; Start opens its listeners.
func New(cfg Config) (*Emulator, error) {
	if cfg.Cloud.Name == "" {
		cfg.Cloud = cloud.MustLookup("AzureCloud")
	}
	if cfg.HTTPSAddr == "" {
		cfg.HTTPSAddr = "127.0.0.1:0"
	}
	if cfg.IMDSAddr == "" {
		cfg.IMDSAddr = "127.0.0.1:0"
	}
	if cfg.Seed == "" {
		cfg.Seed = "tutorials"
	}
	if cfg.Seed != "tutorials" && cfg.Seed != "none" {
		return nil, fmt.Errorf("emulator: unknown seed %q (want tutorials or none)", cfg.Seed)
	}
	if err := checkBind(cfg); err != nil {
		return nil, err
	}
	e := &Emulator{Cloud: cfg.Cloud, cfg: cfg}
	var err error
	// One emulator per state directory, taken before anything in it is
	// read or written; released by Close, or here if New fails.
	if cfg.StateDir != "" {
		if e.stateLock, err = state.LockDir(cfg.StateDir); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
	}
	made := false
	defer func() {
		if !made {
			_ = e.closeState()
			e.stateLock.Close()
		}
	}()
	if e.CA, err = pki.LoadOrCreateCA(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("emulator: CA: %w", err)
	}
	var names []string
	for _, n := range cloud.Names() {
		names = append(names, cloud.MustLookup(n).HostPatterns()...)
	}
	if e.leaf, err = e.CA.Leaf(names); err != nil {
		return nil, fmt.Errorf("emulator: TLS certificate: %w", err)
	}
	key := cfg.SigningKey
	if key != nil && cfg.StateDir != "" {
		return nil, errors.New("emulator: a SigningKey cannot be given with a StateDir (the state dir keeps its own)")
	}
	if key == nil {
		if key, err = entra.LoadOrCreateSigningKey(cfg.StateDir); err != nil {
			return nil, fmt.Errorf("emulator: signing key: %w", err)
		}
	}
	if e.ids, err = loadOrCreateIDs(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("emulator: tenant ids: %w", err)
	}
	e.Dir = directory.New(e.ids.TenantID)
	e.Issuer = entra.NewIssuer(cfg.Cloud, e.Dir, key)
	e.RBAC = rbac.NewStore()
	e.buildServices()
	e.Faults = faults.New(e.Issuer, e.RBAC, faultNames(e.services)...)
	e.control = e.Faults.Control(e.authorizeControl)
	e.Operator = directory.Principal{
		ObjectID: e.ids.OperatorOID, ClientID: e.ids.OperatorID, DisplayName: "miconform-operator",
		Kind: directory.Application, Secret: e.ids.OperatorSecret,
		GraphRoles: []string{graph.DirectoryRead}, // an app role the admin consented to (package graph)
	}
	if err := e.openState(); err != nil {
		return nil, fmt.Errorf("emulator: state: %w", err)
	}
	e.Operator.Created = time.Now().UTC().Truncate(time.Second)
	if old, ok := e.Dir.ByObjectID(e.Operator.ObjectID); ok {
		e.Operator.Created = old.Created // Graph's createdDateTime survives restarts
	}
	e.Dir.Add(e.Operator)
	// The operator plays the person in the portal: Owner of the subscription
	// (restored from the state dir after the first start).
	if err := e.RBAC.Create(rbac.Assignment{
		Name: directory.NewGUID(), Scope: "/subscriptions/" + e.ids.SubscriptionID,
		RoleDefinitionID: rbac.RoleDefinitionID(e.ids.SubscriptionID, ownerRoleID),
		PrincipalID:      e.Operator.ObjectID, PrincipalType: "ServicePrincipal",
		CreatedOn: time.Now().UTC(), UpdatedOn: time.Now().UTC(),
	}); err != nil && !errors.As(err, new(rbac.ErrExists)) {
		return nil, err
	}
	restored, err := e.restoreState()
	if err != nil {
		return nil, fmt.Errorf("emulator: state: %w", err)
	}
	if cfg.Seed == "tutorials" && !restored {
		if err := e.seedTutorials(); err != nil {
			return nil, fmt.Errorf("emulator: seed: %w", err)
		}
	}
	if err := e.saveWorld(restored); err != nil {
		return nil, fmt.Errorf("emulator: state: %w", err)
	}
	// The seed is paced by default (it polls without waiting); the
	// configured pacing is for clients.
	if cfg.LRO != nil {
		e.ARM.SetLRO(*cfg.LRO)
	}
	// An operations fault stretches Resource Manager's long-running
	// operations while it lasts; the configured pacing comes back after.
	pacing := arm.DefaultLROTiming
	if cfg.LRO != nil {
		pacing = *cfg.LRO
	}
	e.Faults.SetOperationsTarget(func(f *faults.Operations) {
		if f == nil {
			e.ARM.SetLRO(pacing)
			return
		}
		e.ARM.SetLRO(arm.LROTiming{Polls: f.Polls, MinDuration: time.Duration(f.MinDurationSeconds * float64(time.Second)), RetryAfter: f.RetryAfterSeconds})
	})
	for _, s := range e.services {
		if s.ready != nil {
			if err := s.ready(); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Faults != nil {
		if err := e.Faults.ApplySet(*cfg.Faults); err != nil {
			return nil, fmt.Errorf("emulator: faults: %w", err)
		}
	}
	made = true
	return e, nil
}

// ownerRoleID is the Owner built-in role.
const ownerRoleID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

// ServeHTTP is the HTTPS listener's host router.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.HasPrefix(r.URL.Path, faults.ControlPrefix) {
		e.control.ServeHTTP(w, r)
		return
	}
	s := e.route(host)
	if s != nil && e.serveFaulted(w, r, s) {
		return
	}
	if s == nil || pathStyleMisses(r, host, s) {
		e.misdirected(w, r, host)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Start opens the listeners and serves until Close: the HTTPS listener
// (every host name of the table), then each service's own, in table order.
// An emulator that is never started still answers in process
// (InProcessTransport).
func (e *Emulator) Start() error {
	httpsLn, err := net.Listen("tcp", e.cfg.HTTPSAddr)
	if err != nil {
		return fmt.Errorf("emulator: HTTPS listener: %w", err)
	}
	e.mu.Lock()
	e.httpsLn = httpsLn
	e.mu.Unlock()
	e.serve(e.capped(httpsLn, true), e)
	for _, s := range e.services {
		if s.start != nil {
			if err := s.start(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Emulator) serve(ln net.Listener, h http.Handler) {
	srv := e.httpServer(h)
	e.mu.Lock()
	e.servers = append(e.servers, srv)
	e.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Close stops the listeners, letting requests in flight finish for a moment.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	servers := e.servers
	transports := e.transports
	e.mu.Unlock()
	for _, t := range transports {
		t.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range e.services {
		if s.close != nil {
			s.close()
		}
	}
	errs = append(errs, e.closeState(), e.stateLock.Close())
	for _, d := range e.tempDirs {
		os.RemoveAll(d)
	}
	return errors.Join(errs...)
}

// HTTPSAddr is the host:port serving every Azure host name ("" before
// Start).
func (e *Emulator) HTTPSAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.httpsLn == nil {
		return ""
	}
	return e.httpsLn.Addr().String()
}

// TenantID is the emulated tenant.
func (e *Emulator) TenantID() string { return e.ids.TenantID }

// SubscriptionID is the emulated subscription.
func (e *Emulator) SubscriptionID() string { return e.ids.SubscriptionID }

// SetVM makes IMDS answer for the VM with that resource id.
func (e *Emulator) SetVM(resourceID string) {
	e.vmMu.Lock()
	e.vmID = resourceID
	e.vmMu.Unlock()
	for _, s := range e.services {
		if s.vmChanged != nil {
			s.vmChanged()
		}
	}
}

// currentVM is IMDS's view of the VM it runs on, read live from Resource
// Manager so identity changes take effect at once.
func (e *Emulator) currentVM() (imds.VM, bool) {
	e.vmMu.RLock()
	id := e.vmID
	e.vmMu.RUnlock()
	if id == "" {
		return imds.VM{}, false
	}
	res, ok := e.ARM.VirtualMachine(id)
	if !ok {
		return imds.VM{}, false
	}
	vm := imds.VM{
		SubscriptionID: e.ids.SubscriptionID, ResourceGroup: res.ResourceGroup, Name: res.Name, Location: res.Location,
		ResourceID: res.ID, Tags: res.Tags, VMSize: "Standard_B2s",
	}
	vm.VMID, _ = res.Properties["vmId"].(string)
	// The instance document reads the VM's image, OS disk and admin from
	// its properties, and its addresses from its NICs, resources of their
	// own.
	vm.Properties = res.Properties
	if np, ok := res.Properties["networkProfile"].(map[string]any); ok {
		nics, _ := np["networkInterfaces"].([]any)
		for _, n := range nics {
			ref, _ := n.(map[string]any)
			id, _ := ref["id"].(string)
			if nic, ok := e.ARM.GetResource(id); ok && id != "" {
				vm.NICs = append(vm.NICs, nic.Properties)
			}
		}
	}
	if hw, ok := res.Properties["hardwareProfile"].(map[string]any); ok {
		if size, ok := hw["vmSize"].(string); ok {
			vm.VMSize = size
		}
	}
	e.vmIdentities(&vm, res.Identity)
	return vm, true
}

// currentIdentity is currentVM for the token path: the VM's resource id and
// identities only, read without copying the VM's properties.
func (e *Emulator) currentIdentity() (imds.VM, bool) {
	e.vmMu.RLock()
	id := e.vmID
	e.vmMu.RUnlock()
	if id == "" {
		return imds.VM{}, false
	}
	rid, ident, ok := e.ARM.VirtualMachineIdentity(id)
	if !ok {
		return imds.VM{}, false
	}
	vm := imds.VM{ResourceID: rid}
	e.vmIdentities(&vm, ident)
	return vm, true
}

// vmIdentities sets the principals of a VM's identity.
func (e *Emulator) vmIdentities(vm *imds.VM, ident *arm.Identity) {
	if ident.HasSystem() {
		if p, ok := e.Dir.ByObjectID(ident.PrincipalID); ok {
			vm.System = &p
		}
	}
	if ident != nil {
		for id, ref := range ident.UserAssigned {
			// The principal the attachment recorded, when it still
			// belongs to that identity, saves ByResourceID's scan of
			// the directory.
			if p, ok := e.Dir.ByObjectID(ref.PrincipalID); ok && ref.PrincipalID != "" && strings.EqualFold(p.ResourceID, id) {
				vm.User = append(vm.User, p)
			} else if p, ok := e.Dir.ByResourceID(id); ok {
				vm.User = append(vm.User, p)
			}
		}
	}
}

// CAFile writes the CA certificate to a file (in the state dir when there is
// one) and returns its absolute path, for clients told to trust it.
func (e *Emulator) CAFile() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.caFile != "" {
		return e.caFile, nil
	}
	dir := e.cfg.StateDir
	if dir == "" {
		d, err := os.MkdirTemp("", "miconform-ca-")
		if err != nil {
			return "", err
		}
		e.tempDirs = append(e.tempDirs, d)
		dir = d
	}
	p, err := filepath.Abs(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return "", err
	}
	if err := pki.WriteFileAtomic(p, e.CA.PEM, 0o644); err != nil {
		return "", err
	}
	e.caFile = p
	return p, nil
}

func loadOrCreateIDs(dir string) (identityFile, error) {
	var ids identityFile
	path := filepath.Join(dir, "tenant.json")
	if dir != "" {
		if b, err := os.ReadFile(path); err == nil {
			if err := json.Unmarshal(b, &ids); err != nil {
				return ids, fmt.Errorf("%s: %w", path, err)
			}
			return ids, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return ids, err
		}
	}
	ids = identityFile{
		TenantID: directory.NewGUID(), SubscriptionID: directory.NewGUID(),
		OperatorID: directory.NewGUID(), OperatorOID: directory.NewGUID(),
		OperatorSecret: newSecret(),
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return ids, err
		}
		b, _ := json.MarshalIndent(ids, "", "  ")
		if err := pki.WriteFileAtomic(path, b, 0o600); err != nil {
			return ids, err
		}
	}
	return ids, nil
}
