package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"strings"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/state"
)

// Persistence (--state-dir). Vaults are Resource Manager resources, so
// their settings come back from Resource Manager's own log; this log keeps
// each secret (all its versions, and its soft-deleted state) under
// "s/{vault}/{secret}" and the backup key, so backups taken before a
// restart restore after it.

const backupKeyRecord = "backup-key"

// secretRecord is a secret as the log keeps it.
type secretRecord struct {
	Name     string     `json:"name"`
	Versions []*version `json:"versions"`
	// Deleted is set while the secret is soft-deleted.
	Deleted *deletedRecord `json:"deleted,omitempty"`
}

type deletedRecord struct {
	DeletedDate  int64 `json:"deletedDate"`
	PurgeDateUTC int64 `json:"scheduledPurgeDate"`
}

func secretKey(vault, secret string) string {
	return "s/" + strings.ToLower(vault) + "/" + strings.ToLower(secret)
}

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
	err = l.Each("s/", func(k string, val []byte) error {
		var rec secretRecord
		if err := json.Unmarshal(val, &rec); err != nil {
			return err
		}
		vaultName, _, _ := strings.Cut(strings.TrimPrefix(k, "s/"), "/")
		v, ok := s.vaults[vaultName]
		if !ok || len(rec.Versions) == 0 {
			// The vault went with a crash before its secrets were dropped.
			gone.Delete(k)
			return nil
		}
		x := &secret{name: rec.Name, versions: rec.Versions}
		if rec.Deleted != nil {
			v.deleted[strings.ToLower(rec.Name)] = &deletedSecret{s: x, deletedDate: rec.Deleted.DeletedDate, purgeDateUTC: rec.Deleted.PurgeDateUTC}
		} else {
			v.secrets[strings.ToLower(rec.Name)] = x
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := l.Commit(&gone); err != nil {
		return err
	}
	s.log = l
	s.ARM.OnDelete(func(r arm.Resource) {
		if strings.EqualFold(r.Type, typeVault) {
			var b state.Batch
			b.DeletePrefix(secretKey(r.Name, ""))
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
	return &vault{
		info:    vaultInfo{ID: res.ID, Name: res.Name, ResourceGroup: res.ResourceGroup, Location: res.Location, Props: props},
		secrets: map[string]*secret{}, deleted: map[string]*deletedSecret{},
	}, nil
}

// record writes, under s.mu, the state an operation left its secret in
// (and the purges that expired), and returns the wait for durability.
func (s *Service) record(v *vault, op operation, status int, out any, purged []string) func() error {
	if s.log == nil {
		return func() error { return nil }
	}
	var b state.Batch
	for _, k := range purged {
		b.Delete(secretKey(v.info.Name, k))
	}
	if status != 0 {
		switch op.kind {
		case opSetSecret, opUpdateSecret, opDeleteSecret, opRecoverDeletedSecret, opPurgeDeletedSecret:
			s.recordSecret(&b, v, op.name)
		case opRestoreSecret:
			// The restored name comes from the backup: the answer's id
			// is {vault}/secrets/{name}/{version}.
			if bo, ok := out.(bundleOut); ok {
				_, rest, _ := strings.Cut(bo.ID, "/secrets/")
				name, _, _ := strings.Cut(rest, "/")
				s.recordSecret(&b, v, name)
			}
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

func (s *Service) recordSecret(b *state.Batch, v *vault, name string) {
	k := strings.ToLower(name)
	key := secretKey(v.info.Name, k)
	var rec secretRecord
	if x, ok := v.secrets[k]; ok {
		rec = secretRecord{Name: x.name, Versions: x.versions}
	} else if d, ok := v.deleted[k]; ok {
		rec = secretRecord{Name: d.s.name, Versions: d.s.versions, Deleted: &deletedRecord{DeletedDate: d.deletedDate, PurgeDateUTC: d.purgeDateUTC}}
	} else {
		b.Delete(key)
		return
	}
	if err := b.PutJSON(key, rec); err != nil {
		b.Delete(key) // cannot happen: versions are plain data
	}
}
