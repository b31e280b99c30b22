// Package directory is the emulated Microsoft Entra tenant: the service
// principals that exist in it (managed identities and the operator
// application), looked up by object id, client (application) id or, for
// managed identities, by the Azure resource they belong to.
package directory

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/emulator/state"
)

// Kind says what a service principal stands for.
type Kind string

// The kinds of service principal the emulator creates.
const (
	// SystemAssigned is a VM's system-assigned managed identity.
	SystemAssigned Kind = "SystemAssigned"
	// UserAssigned is a Microsoft.ManagedIdentity/userAssignedIdentities resource.
	UserAssigned Kind = "UserAssigned"
	// Application is an app registration with a client secret (the operator).
	Application Kind = "Application"
)

// Principal is one service principal of the tenant.
type Principal struct {
	ObjectID    string
	ClientID    string
	DisplayName string
	Kind        Kind
	// ResourceID is the Azure resource that owns a managed identity: the VM
	// for a system-assigned one, the identity resource for a user-assigned
	// one. It is the token's xms_mirid claim.
	ResourceID string
	// Secret is an application's client secret; empty for managed identities.
	Secret string
	// GraphRoles are the Microsoft Graph application permissions granted to
	// the principal (app role assignments to Graph's service principal),
	// such as "Directory.Read.All"; Entra lists them in the roles claim of
	// the principal's Graph tokens.
	GraphRoles []string `json:",omitempty"`
	// Created is when the principal was added to the tenant (Graph's
	// createdDateTime); Add sets it when zero.
	Created time.Time `json:",omitzero"`
}

// Directory is one tenant. It is safe for concurrent use.
type Directory struct {
	TenantID string

	mu    sync.RWMutex
	byOID map[string]Principal
	// log keeps the principals across restarts (nil: memory only).
	log *state.Log
}

// New makes an empty tenant.
func New(tenantID string) *Directory {
	return &Directory{TenantID: tenantID, byOID: map[string]Principal{}}
}

// Persist loads the principals l holds and records every later change in
// it, so the tenant survives a restart.
func (d *Directory) Persist(l *state.Log) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := l.Each(principalKey(""), func(_ string, v []byte) error {
		var p Principal
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		d.byOID[strings.ToLower(p.ObjectID)] = p
		return nil
	}); err != nil {
		return err
	}
	d.log = l
	// Memory changes only after the log took them, so a write the disk
	// refuses leaves nothing to undo and the log may go on.
	l.RecoverWrites()
	return nil
}

func principalKey(oid string) string { return "p/" + strings.ToLower(oid) }

// Add stores p, replacing any principal with the same object id. It returns
// once the change is durable, and panics with state.Failure if the state
// log cannot record it.
func (d *Directory) Add(p Principal) {
	if p.Created.IsZero() {
		p.Created = time.Now().UTC().Truncate(time.Second)
	}
	var b state.Batch
	state.Must(b.PutJSON(principalKey(p.ObjectID), p))
	d.mu.Lock()
	// The log first: a write the disk refuses never reaches memory.
	t, err := d.log.Write(&b)
	if err == nil {
		d.byOID[strings.ToLower(p.ObjectID)] = p
	}
	d.mu.Unlock()
	state.Must(err)
	state.Must(d.log.Wait(t))
}

// Remove deletes the principal with that object id, if any.
func (d *Directory) Remove(objectID string) {
	var b state.Batch
	b.Delete(principalKey(objectID))
	d.mu.Lock()
	t, err := d.log.Write(&b)
	if err == nil {
		delete(d.byOID, strings.ToLower(objectID))
	}
	d.mu.Unlock()
	state.Must(err)
	state.Must(d.log.Wait(t))
}

// ByObjectID finds a principal by object id (case-insensitive, as GUIDs are).
func (d *Directory) ByObjectID(id string) (Principal, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.byOID[strings.ToLower(id)]
	return p, ok
}

// ByClientID finds a principal by its application (client) id.
func (d *Directory) ByClientID(id string) (Principal, bool) {
	return d.find(func(p Principal) bool { return strings.EqualFold(p.ClientID, id) })
}

// ByResourceID finds the managed identity owned by an Azure resource id,
// compared case-insensitively as Resource Manager compares ids.
func (d *Directory) ByResourceID(id string) (Principal, bool) {
	return d.find(func(p Principal) bool { return p.ResourceID != "" && strings.EqualFold(p.ResourceID, id) })
}

func (d *Directory) find(match func(Principal) bool) (Principal, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, p := range d.byOID {
		if match(p) {
			return p, true
		}
	}
	return Principal{}, false
}

// List returns every principal ordered by display name, then object id.
func (d *Directory) List() []Principal {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Principal, 0, len(d.byOID))
	for _, p := range d.byOID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DisplayName != out[j].DisplayName {
			return out[i].DisplayName < out[j].DisplayName
		}
		return out[i].ObjectID < out[j].ObjectID
	})
	return out
}

// NewGUID returns a random RFC 4122 version 4 GUID in lower case, the form
// Azure uses for object, client, tenant and subscription ids.
func NewGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form
// (either case), as Azure writes object, tenant and assignment ids.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
