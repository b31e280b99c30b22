package keyvault

import (
	"sort"
	"strings"
)

// Secrets and keys share one lifecycle: named objects with versions, soft
// deleted into a deleted collection (or gone at once when the vault has soft
// delete off), then recovered, purged, or dropped at their scheduled purge
// date (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview).
// What tells the two apart here is only their errors and where their
// records live (objectKind); their answers and their own operations stay
// in secrets.go and keys.go.

// versionMeta is what secret and key versions have in common. Embedded
// last in both, it keeps their JSON field order.
type versionMeta struct {
	Tags    map[string]string `json:"tags,omitempty"`
	Enabled bool              `json:"enabled"`
	NBF     *int64            `json:"nbf,omitempty"`
	Exp     *int64            `json:"exp,omitempty"`
	Created int64             `json:"created"`
	Updated int64             `json:"updated"`
}

// applyAttributes sets the attributes a request names.
func (m *versionMeta) applyAttributes(a *secretAttributes) {
	if a == nil {
		return
	}
	if a.Enabled != nil {
		m.Enabled = *a.Enabled
	}
	if a.NBF != nil {
		m.NBF = a.NBF
	}
	if a.Exp != nil {
		m.Exp = a.Exp
	}
}

// attributes renders SecretAttributes and KeyAttributes; recoveryLevel and
// recoverableDays appear in the API versions that have them.
func (m *versionMeta) attributes(v *vault, op operation) attributesOut {
	a := attributesOut{Enabled: m.Enabled, NBF: m.NBF, Exp: m.Exp, Created: m.Created, Updated: m.Updated}
	if op.api.softDelete {
		a.RecoveryLevel = v.info.Props.recoveryLevel()
	}
	if op.api.recoverableDays {
		d := v.info.Props.recoverableDays()
		a.RecoverableDays = &d
	}
	return a
}

// versioned is a secret or a key version (*version, *keyVersion).
type versioned interface {
	comparable
	versionID() string
}

// object is a named secret or key and its versions, oldest first.
type object[V versioned] struct {
	name     string // the casing it was first set with
	versions []V
}

// deletedObject is a soft-deleted object and when it goes for good.
type deletedObject[V versioned] struct {
	obj                       *object[V]
	deletedDate, purgeDateUTC int64
}

func (x *object[V]) latest() V { return x.versions[len(x.versions)-1] }

func (x *object[V]) find(id string) (V, bool) {
	for _, v := range x.versions {
		if strings.EqualFold(v.versionID(), id) {
			return v, true
		}
	}
	var none V
	return none, false
}

// sortedVersions are the version ids in the order the versions lists page
// them, and the versions by id.
func (x *object[V]) sortedVersions() ([]string, map[string]V) {
	ids := make([]string, len(x.versions))
	byID := make(map[string]V, len(x.versions))
	for i, ver := range x.versions {
		ids[i] = ver.versionID()
		byID[ids[i]] = ver
	}
	sort.Strings(ids)
	return ids, byID
}

// objectKind is what differs between the secrets and the keys lifecycle.
type objectKind struct {
	noun string // in load errors
	root string // of the durable log's records (persist.go)
	// notFound, deletedNotFound and deletedButRecoverable are the
	// collection's 404s and its 409 for a soft-deleted name.
	notFound, deletedNotFound, deletedButRecoverable func(name string) *Error
}

var (
	secretKind = &objectKind{"secret", "s/", errSecretNotFound, errDeletedSecretNotFound, errDeletedButRecoverable}
	keyKind    = &objectKind{"key", "k/", errKeyNotFound, errDeletedKeyNotFound, errKeyDeletedButRecoverable}
)

// recordPrefix is the prefix of an object's records (of a vault's, with
// name "").
func (k *objectKind) recordPrefix(vault, name string) string {
	p := k.root + strings.ToLower(vault) + "/"
	if name != "" {
		p += strings.ToLower(name) + "/"
	}
	return p
}

// collection is a vault's secrets or keys, live and soft-deleted, each
// keyed by lower-case name. Its methods take names as sent and answer with
// the collection's own errors.
type collection[V versioned] struct {
	kind    *objectKind
	live    map[string]*object[V]
	deleted map[string]*deletedObject[V]
}

func newCollection[V versioned](kind *objectKind) collection[V] {
	return collection[V]{kind: kind, live: map[string]*object[V]{}, deleted: map[string]*deletedObject[V]{}}
}

// get finds a live object.
func (c *collection[V]) get(name string) (*object[V], *Error) {
	x, ok := c.live[strings.ToLower(name)]
	if !ok {
		return nil, c.kind.notFound(name)
	}
	return x, nil
}

// lookup finds the latest or the named version of a live object.
func (c *collection[V]) lookup(op operation) (*object[V], V, *Error) {
	var none V
	x, e := c.get(op.name)
	if e != nil {
		return nil, none, e
	}
	if op.version == "" {
		return x, x.latest(), nil
	}
	ver, ok := x.find(op.version)
	if !ok {
		return nil, none, c.kind.notFound(op.name + "/" + op.version)
	}
	return x, ver, nil
}

// refuseDeleted is the 409 for a name that is soft-deleted: it can only be
// recovered or purged.
func (c *collection[V]) refuseDeleted(name string) *Error {
	if d, ok := c.deleted[strings.ToLower(name)]; ok {
		return c.kind.deletedButRecoverable(d.obj.name)
	}
	return nil
}

// add appends a new version, making the object with its first.
func (c *collection[V]) add(name string, ver V) *object[V] {
	k := strings.ToLower(name)
	x, ok := c.live[k]
	if !ok {
		x = &object[V]{name: name}
		c.live[k] = x
	}
	x.versions = append(x.versions, ver)
	return x
}

// remove deletes an object with all its versions; with soft delete on it
// stays recoverable until its retention period ends (d), otherwise it is
// gone (d nil).
func (c *collection[V]) remove(name string, p vaultProperties, now int64) (x *object[V], d *deletedObject[V], e *Error) {
	if x, e = c.get(name); e != nil {
		return nil, nil, e
	}
	k := strings.ToLower(name)
	delete(c.live, k)
	if !p.softDelete() {
		return x, nil, nil
	}
	d = &deletedObject[V]{obj: x, deletedDate: now, purgeDateUTC: now + int64(p.retentionDays())*86400}
	c.deleted[k] = d
	return x, d, nil
}

// getDeleted finds a soft-deleted object.
func (c *collection[V]) getDeleted(name string) (*deletedObject[V], *Error) {
	d, ok := c.deleted[strings.ToLower(name)]
	if !ok {
		return nil, c.kind.deletedNotFound(name)
	}
	return d, nil
}

// recover brings a soft-deleted object back with all its versions.
func (c *collection[V]) recover(name string) (*object[V], *Error) {
	d, e := c.getDeleted(name)
	if e != nil {
		return nil, e
	}
	k := strings.ToLower(name)
	delete(c.deleted, k)
	c.live[k] = d.obj
	return d.obj, nil
}

// purge drops a soft-deleted object for good, unless the vault has purge
// protection.
func (c *collection[V]) purge(name string, p vaultProperties) *Error {
	if _, e := c.getDeleted(name); e != nil {
		return e
	}
	if p.purgeProtected() {
		return errPurgeProtected()
	}
	delete(c.deleted, strings.ToLower(name))
	return nil
}

// expire drops the soft-deleted objects past their scheduled purge date and
// returns the prefixes of their records.
func (c *collection[V]) expire(vault string, now int64) []string {
	var purged []string
	for k, d := range c.deleted {
		if d.purgeDateUTC <= now {
			delete(c.deleted, k)
			purged = append(purged, c.kind.recordPrefix(vault, k))
		}
	}
	return purged
}

// dropEmpty forgets the objects a load left without versions.
func (c *collection[V]) dropEmpty() {
	for k, x := range c.live {
		if len(x.versions) == 0 {
			delete(c.live, k)
		}
	}
	for k, d := range c.deleted {
		if len(d.obj.versions) == 0 {
			delete(c.deleted, k)
		}
	}
}
