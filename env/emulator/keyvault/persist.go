package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/state"
)

// Persistence (--state-dir). Vaults are Resource Manager resources, so
// their settings come back from Resource Manager's own log; this log keeps
// the backup key (so backups taken before a restart restore after it) and
// each secret as "s/{vault}/{secret}/meta" (its name and soft-deleted
// state) and one "s/{vault}/{secret}/v/{n}" per version, n its place in
// the version history, so a new version writes one record, not the whole
// history. Secret names hold no "/". Keys are kept the same way under
// "k/{vault}/{key}/", their versions with the private key (PKCS#8): the
// log is the only place besides memory that ever holds it.

const backupKeyRecord = "backup-key"

// objectRecord is a secret's or key's meta record.
type objectRecord struct {
	Name string `json:"name"`
	// Deleted is set while the object is soft-deleted.
	Deleted *deletedRecord `json:"deleted,omitempty"`
}

type deletedRecord struct {
	DeletedDate  int64 `json:"deletedDate"`
	PurgeDateUTC int64 `json:"scheduledPurgeDate"`
}

func versionKey(prefix string, n int) string { return fmt.Sprintf("%sv/%08d", prefix, n) }

// Persist rebuilds the vaults from Resource Manager (whose log must be
// loaded first), loads the secrets l holds and records every later change
// in it.
func (s *Service) Persist(l *state.Log) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, ok, err := l.Get(backupKeyRecord)
	if err != nil {
		return err
	}
	if !ok {
		raw = make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		var b state.Batch
		b.Put(backupKeyRecord, raw)
		if err := l.Commit(&b); err != nil {
			return err
		}
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return err
	}
	if s.backupKey, err = cipher.NewGCM(block); err != nil {
		return err
	}
	for _, res := range s.ARM.Resources(typeVault) {
		v, err := vaultFromResource(res)
		if err != nil {
			return err
		}
		s.vaults[strings.ToLower(res.Name)] = v
	}
	var gone state.Batch
	if err := s.loadAllObjects(l, &gone); err != nil {
		return err
	}
	if !l.Reconciles() {
		// Another service's state was damaged: keep the records of
		// vaults Resource Manager may have lost.
		gone = state.Batch{}
	}
	if err := l.Commit(&gone); err != nil {
		return err
	}
	s.log = l
	// A refused write is undone in memory (reload), so the log may go on.
	l.RecoverWrites()
	s.ARM.OnDelete(func(r arm.Resource) {
		if strings.EqualFold(r.Type, typeVault) {
			// Resource Manager has deleted the vault: records a full disk
			// keeps are unreachable, and go at the next start (no vault
			// in Resource Manager) or when a vault of the name is created
			// (dropVaultRecords there).
			_ = s.dropVaultRecords(r.Name)
		}
	})
	return nil
}

// dropVaultRecords deletes the secrets and keys of the vault name from the
// log; a log holding none (or no state dir) is not written to.
func (s *Service) dropVaultRecords(name string) error {
	secrets, keys := secretKind.recordPrefix(name, ""), keyKind.recordPrefix(name, "")
	if len(s.log.Keys(secrets)) == 0 && len(s.log.Keys(keys)) == 0 {
		return nil
	}
	var b state.Batch
	b.DeletePrefix(secrets)
	b.DeletePrefix(keys)
	return s.log.Commit(&b)
}

// loadAllObjects loads every vault's secrets and keys from l (under s.mu);
// records of vaults Resource Manager lacks go to gone.
func (s *Service) loadAllObjects(l *state.Log, gone *state.Batch) error {
	var err error
	err = loadObjects(s, l, secretKind, gone, func(v *vault) *collection[*version] { return &v.secrets }, func(k string, val []byte) (*version, error) {
		var ver version
		if err := json.Unmarshal(val, &ver); err != nil {
			return nil, err
		}
		return &ver, nil
	})
	if err != nil {
		return err
	}
	err = loadObjects(s, l, keyKind, gone, func(v *vault) *collection[*keyVersion] { return &v.keys }, func(k string, val []byte) (*keyVersion, error) {
		var ver keyVersion
		if err := json.Unmarshal(val, &ver); err != nil {
			return nil, err
		}
		if err := ver.load(); err != nil {
			// Never the record itself: it holds the private key.
			return nil, fmt.Errorf("keyvault: key version record %s is unreadable", k)
		}
		return &ver, nil
	})
	if err != nil {
		return err
	}
	for _, v := range s.vaults {
		v.secrets.dropEmpty()
		v.keys.dropEmpty()
	}
	return nil
}

// reload makes the vaults' secrets and keys what the log holds again,
// after a change memory took could not be logged (a full disk), so
// nothing unrecorded is served or built on. Under s.mu.
func (s *Service) reload() {
	for _, v := range s.vaults {
		v.secrets = newCollection[*version](secretKind)
		v.keys = newCollection[*keyVersion](keyKind)
	}
	var gone state.Batch
	_ = s.loadAllObjects(s.log, &gone)
}

// storeFailure is the answer to a change the state dir refused, in Key
// Vault's error shape, naming the cause.
func storeFailure(err error) *Error {
	next := "Restart the emulator."
	var we *state.WriteError
	if errors.As(err, &we) && !we.Sticky {
		next = "Nothing was changed; retry the request."
		if state.IsNoSpace(err) {
			next = "Nothing was changed; retry once the disk has space."
		}
	}
	return errorf(500, "InternalServerError", "The change could not be saved: the emulator's state directory refused it (%v). %s", err, next)
}

func vaultFromResource(res arm.Resource) (*vault, error) {
	var props vaultProperties
	b, err := json.Marshal(res.Properties)
	if err == nil {
		err = json.Unmarshal(b, &props)
	}
	if err != nil {
		return nil, err
	}
	return newVault(vaultInfo{ID: res.ID, Name: res.Name, ResourceGroup: res.ResourceGroup, Location: res.Location, Props: props}), nil
}

// loadObjects walks the records of one kind (under "s/" or "k/"): keys
// sort as meta, then versions in order, object by object. Records of a
// vault that no longer exists (it went with a crash before they were
// dropped) are removed through gone.
func loadObjects[V versioned](s *Service, l *state.Log, kind *objectKind, gone *state.Batch, pick func(*vault) *collection[V], decode func(k string, val []byte) (V, error)) error {
	root := kind.root
	var cur *object[V]
	return l.Each(root, func(k string, val []byte) error {
		vaultName, rest, _ := strings.Cut(strings.TrimPrefix(k, root), "/")
		name, field, _ := strings.Cut(rest, "/")
		v, ok := s.vaults[vaultName]
		if !ok {
			gone.DeletePrefix(root + vaultName + "/")
			return nil
		}
		if field == "meta" {
			var rec objectRecord
			if err := json.Unmarshal(val, &rec); err != nil {
				return err
			}
			c := pick(v)
			cur = &object[V]{name: rec.Name}
			if rec.Deleted != nil {
				c.deleted[name] = &deletedObject[V]{obj: cur, deletedDate: rec.Deleted.DeletedDate, purgeDateUTC: rec.Deleted.PurgeDateUTC}
			} else {
				c.live[name] = cur
			}
			return nil
		}
		if cur == nil || !strings.EqualFold(cur.name, name) {
			return fmt.Errorf("keyvault: version record %s without its %s", k, kind.noun)
		}
		ver, err := decode(k, val)
		if err != nil {
			return err
		}
		cur.versions = append(cur.versions, ver)
		return nil
	})
}

// record writes, under s.mu, the state an operation left its secret in
// (and the purges that expired), and returns the wait for durability.
func (s *Service) record(v *vault, op operation, rep reply, purged []string) func() error {
	if s.log == nil {
		return func() error { return nil }
	}
	var b state.Batch
	for _, prefix := range purged {
		b.DeletePrefix(prefix)
	}
	if rep.err == nil {
		out := rep.body
		var c recorder = &v.secrets
		if op.kind.isKeyOp() {
			c = &v.keys
		}
		switch op.kind {
		case opSetSecret, opCreateKey:
			c.record(&b, v.info.Name, op.name, -1)
		case opUpdateSecret, opUpdateKey:
			c.recordUpdate(&b, v.info.Name, op)
		case opDeleteSecret, opRecoverDeletedSecret, opPurgeDeletedSecret, opDeleteKey, opRecoverDeletedKey, opPurgeDeletedKey:
			c.record(&b, v.info.Name, op.name, -2)
		case opRestoreSecret:
			// The restored name comes from the backup: the answer's id
			// is {vault}/secrets/{name}/{version}.
			if bo, ok := out.(bundleOut); ok {
				_, rest, _ := strings.Cut(bo.ID, "/secrets/")
				name, _, _ := strings.Cut(rest, "/")
				c.record(&b, v.info.Name, name, -3)
			}
		}
	}
	t, err := s.log.Write(&b)
	if err != nil {
		s.reload()
	}
	return func() error {
		if err != nil {
			return err
		}
		return s.log.Wait(t)
	}
}

// recorder is a vault's secrets or keys as record writes them.
type recorder interface {
	record(b *state.Batch, vault, name string, n int)
	recordUpdate(b *state.Batch, vault string, op operation)
}

// record writes an object's meta record and version n (-1 the latest, -2
// none, -3 all, replacing what the log had), or removes it all when the
// object is gone.
func (c *collection[V]) record(b *state.Batch, vault, name string, n int) {
	k := strings.ToLower(name)
	prefix := c.kind.recordPrefix(vault, k)
	if live, ok := c.live[k]; ok {
		recordObject(b, prefix, objectRecord{Name: live.name}, live.versions, n)
	} else if d, ok := c.deleted[k]; ok {
		rec := objectRecord{Name: d.obj.name, Deleted: &deletedRecord{DeletedDate: d.deletedDate, PurgeDateUTC: d.purgeDateUTC}}
		recordObject(b, prefix, rec, d.obj.versions, n)
	} else {
		b.DeletePrefix(prefix)
	}
}

// recordUpdate writes the version an update changed.
func (c *collection[V]) recordUpdate(b *state.Batch, vault string, op operation) {
	if x, ver, e := c.lookup(op); e == nil {
		for i, y := range x.versions {
			if y == ver {
				c.record(b, vault, op.name, i)
			}
		}
	}
}

func recordObject[V any](b *state.Batch, prefix string, rec objectRecord, versions []V, n int) {
	put := func(key string, val any) {
		j, _ := json.Marshal(val) // plain data: cannot fail
		b.Put(key, j)
	}
	switch n {
	case -3:
		b.DeletePrefix(prefix)
		for i, ver := range versions {
			put(versionKey(prefix, i), ver)
		}
	case -1:
		n = len(versions) - 1
		fallthrough
	default:
		if n >= 0 {
			put(versionKey(prefix, n), versions[n])
		}
	}
	put(prefix+"meta", rec)
}
