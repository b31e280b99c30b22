package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
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

// secretRecord is a secret's meta record.
type secretRecord struct {
	Name string `json:"name"`
	// Deleted is set while the secret is soft-deleted.
	Deleted *deletedRecord `json:"deleted,omitempty"`
}

type deletedRecord struct {
	DeletedDate  int64 `json:"deletedDate"`
	PurgeDateUTC int64 `json:"scheduledPurgeDate"`
}

// secretKey is the prefix of a secret's records (of a vault's, with
// secret "").
func secretKey(vault, secret string) string {
	k := "s/" + strings.ToLower(vault) + "/"
	if secret != "" {
		k += strings.ToLower(secret) + "/"
	}
	return k
}

// keyRecordPrefix is the prefix of a key's records (of a vault's, with key "").
func keyRecordPrefix(vault, key string) string {
	k := "k/" + strings.ToLower(vault) + "/"
	if key != "" {
		k += strings.ToLower(key) + "/"
	}
	return k
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
	var cur *secret
	err = s.loadObjects(l, "s/", &gone, func(v *vault, name string, rec secretRecord) {
		cur = &secret{name: rec.Name}
		if rec.Deleted != nil {
			v.deleted[name] = &deletedSecret{s: cur, deletedDate: rec.Deleted.DeletedDate, purgeDateUTC: rec.Deleted.PurgeDateUTC}
		} else {
			v.secrets[name] = cur
		}
	}, func(k, name string, val []byte) error {
		if cur == nil || !strings.EqualFold(cur.name, name) {
			return fmt.Errorf("keyvault: version record %s without its secret", k)
		}
		var ver version
		if err := json.Unmarshal(val, &ver); err != nil {
			return err
		}
		cur.versions = append(cur.versions, &ver)
		return nil
	})
	if err != nil {
		return err
	}
	var curKey *key
	err = s.loadObjects(l, "k/", &gone, func(v *vault, name string, rec secretRecord) {
		curKey = &key{name: rec.Name}
		if rec.Deleted != nil {
			v.deletedKeys[name] = &deletedKey{k: curKey, deletedDate: rec.Deleted.DeletedDate, purgeDateUTC: rec.Deleted.PurgeDateUTC}
		} else {
			v.keys[name] = curKey
		}
	}, func(k, name string, val []byte) error {
		if curKey == nil || !strings.EqualFold(curKey.name, name) {
			return fmt.Errorf("keyvault: version record %s without its key", k)
		}
		var ver keyVersion
		if err := json.Unmarshal(val, &ver); err != nil {
			return err
		}
		if err := ver.load(); err != nil {
			// Never the record itself: it holds the private key.
			return fmt.Errorf("keyvault: key version record %s is unreadable", k)
		}
		curKey.versions = append(curKey.versions, &ver)
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range s.vaults {
		for k, x := range v.secrets {
			if len(x.versions) == 0 {
				delete(v.secrets, k)
			}
		}
		for k, d := range v.deleted {
			if len(d.s.versions) == 0 {
				delete(v.deleted, k)
			}
		}
		for k, x := range v.keys {
			if len(x.versions) == 0 {
				delete(v.keys, k)
			}
		}
		for k, d := range v.deletedKeys {
			if len(d.k.versions) == 0 {
				delete(v.deletedKeys, k)
			}
		}
	}
	if err := l.Commit(&gone); err != nil {
		return err
	}
	s.log = l
	s.ARM.OnDelete(func(r arm.Resource) {
		if strings.EqualFold(r.Type, typeVault) {
			var b state.Batch
			b.DeletePrefix(secretKey(r.Name, ""))
			b.DeletePrefix(keyRecordPrefix(r.Name, ""))
			state.Must(l.Commit(&b))
		}
	})
	return nil
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

// loadObjects walks the records under root ("s/" or "k/"): keys sort as
// meta, then versions in order, object by object. Records of a vault that
// no longer exists (it went with a crash before they were dropped) are
// removed through gone.
func (s *Service) loadObjects(l *state.Log, root string, gone *state.Batch, meta func(*vault, string, secretRecord), version func(k, name string, val []byte) error) error {
	return l.Each(root, func(k string, val []byte) error {
		vaultName, rest, _ := strings.Cut(strings.TrimPrefix(k, root), "/")
		name, field, _ := strings.Cut(rest, "/")
		v, ok := s.vaults[vaultName]
		if !ok {
			gone.DeletePrefix(root + vaultName + "/")
			return nil
		}
		if field == "meta" {
			var rec secretRecord
			if err := json.Unmarshal(val, &rec); err != nil {
				return err
			}
			meta(v, name, rec)
			return nil
		}
		return version(k, name, val)
	})
}

// record writes, under s.mu, the state an operation left its secret in
// (and the purges that expired), and returns the wait for durability.
func (s *Service) record(v *vault, op operation, status int, out any, purged []string) func() error {
	if s.log == nil {
		return func() error { return nil }
	}
	var b state.Batch
	for _, prefix := range purged {
		b.DeletePrefix(prefix)
	}
	if status != 0 {
		switch op.kind {
		case opSetSecret:
			s.recordSecret(&b, v, op.name, -1)
		case opUpdateSecret:
			if x, ver, e := lookupVersion(v, op); e == nil {
				for i, y := range x.versions {
					if y == ver {
						s.recordSecret(&b, v, op.name, i)
					}
				}
			}
		case opDeleteSecret, opRecoverDeletedSecret, opPurgeDeletedSecret:
			s.recordSecret(&b, v, op.name, -2)
		case opRestoreSecret:
			// The restored name comes from the backup: the answer's id
			// is {vault}/secrets/{name}/{version}.
			if bo, ok := out.(bundleOut); ok {
				_, rest, _ := strings.Cut(bo.ID, "/secrets/")
				name, _, _ := strings.Cut(rest, "/")
				s.recordSecret(&b, v, name, -3)
			}
		case opCreateKey:
			s.recordKey(&b, v, op.name, -1)
		case opUpdateKey:
			if x, ver, e := lookupKey(v, op); e == nil {
				for i, y := range x.versions {
					if y == ver {
						s.recordKey(&b, v, op.name, i)
					}
				}
			}
		case opDeleteKey, opRecoverDeletedKey, opPurgeDeletedKey:
			s.recordKey(&b, v, op.name, -2)
		}
	}
	t, err := s.log.Write(&b)
	return func() error {
		if err != nil {
			return err
		}
		return s.log.Wait(t)
	}
}

// recordSecret writes a secret's meta record and version n (-1 the
// latest, -2 none, -3 all, replacing what the log had), or removes it all
// when the secret is gone.
func (s *Service) recordSecret(b *state.Batch, v *vault, name string, n int) {
	k := strings.ToLower(name)
	prefix := secretKey(v.info.Name, k)
	if live, ok := v.secrets[k]; ok {
		recordObject(b, prefix, secretRecord{Name: live.name}, live.versions, n)
	} else if d, ok := v.deleted[k]; ok {
		rec := secretRecord{Name: d.s.name, Deleted: &deletedRecord{DeletedDate: d.deletedDate, PurgeDateUTC: d.purgeDateUTC}}
		recordObject(b, prefix, rec, d.s.versions, n)
	} else {
		b.DeletePrefix(prefix)
	}
}

// recordKey is recordSecret for keys.
func (s *Service) recordKey(b *state.Batch, v *vault, name string, n int) {
	k := strings.ToLower(name)
	prefix := keyRecordPrefix(v.info.Name, k)
	if live, ok := v.keys[k]; ok {
		recordObject(b, prefix, secretRecord{Name: live.name}, live.versions, n)
	} else if d, ok := v.deletedKeys[k]; ok {
		rec := secretRecord{Name: d.k.name, Deleted: &deletedRecord{DeletedDate: d.deletedDate, PurgeDateUTC: d.purgeDateUTC}}
		recordObject(b, prefix, rec, d.k.versions, n)
	} else {
		b.DeletePrefix(prefix)
	}
}

func recordObject[V any](b *state.Batch, prefix string, rec secretRecord, versions []V, n int) {
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
