package keyvault

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"sort"
	"strings"
)

// secret is a named secret and its versions, oldest first; deletedSecret
// is one soft-deleted (objects.go).
type (
	secret        = object[*version]
	deletedSecret = deletedObject[*version]
)

// version is one immutable value with its mutable metadata.
type version struct {
	ID          string  `json:"id"`
	Value       string  `json:"value"`
	ContentType *string `json:"contentType,omitempty"`
	versionMeta
}

func (ver *version) versionID() string { return ver.ID }

// Answers, with the field names and order of SecretBundle, SecretItem,
// DeletedSecretBundle and DeletedSecretItem (secrets.json).
type attributesOut struct {
	Enabled         bool   `json:"enabled"`
	NBF             *int64 `json:"nbf,omitempty"`
	Exp             *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
}

type bundleOut struct {
	Value              *string           `json:"value,omitempty"`
	ID                 string            `json:"id"`
	ContentType        *string           `json:"contentType,omitempty"`
	Attributes         attributesOut     `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        int64             `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate,omitempty"`
}

// listOut is SecretListResult, DeletedSecretListResult, KeyListResult and
// DeletedKeyListResult.
type listOut[T any] struct {
	Value    []T     `json:"value"`
	NextLink *string `json:"nextLink"`
}

func (s *Service) baseURL(v *vault) string { return "https://" + s.Host(v.info.Name) }

// render builds an answer for one version; id carries the version unless
// itemID is true (list items of /secrets and /deletedsecrets).
func (s *Service) render(v *vault, x *secret, ver *version, op operation, withValue, itemID bool) bundleOut {
	b := bundleOut{ID: s.baseURL(v) + "/secrets/" + x.name, ContentType: ver.ContentType, Tags: ver.Tags}
	if !itemID {
		b.ID += "/" + ver.ID
	}
	if withValue {
		val := ver.Value
		b.Value = &val
	}
	b.Attributes = ver.attributes(v, op)
	return b
}

func (s *Service) renderDeleted(v *vault, d *deletedSecret, op operation, itemID bool) bundleOut {
	b := s.render(v, d.obj, d.obj.latest(), op, false, itemID)
	b.RecoveryID = s.baseURL(v) + "/deletedsecrets/" + d.obj.name
	b.DeletedDate, b.ScheduledPurgeDate = d.deletedDate, d.purgeDateUTC
	return b
}

// do runs an authorized operation against the vault's secrets and answers
// once its change is durable (persist.go).
func (s *Service) do(v *vault, op operation, body []byte) reply {
	now := s.now().UTC().Unix()
	s.mu.Lock()
	purged := s.expirePurges(v, now)
	rep := op.h(s, v, op, body, now)
	wait := s.record(v, op, rep, purged)
	s.mu.Unlock()
	if err := wait(); err != nil {
		return fail(storeFailure(err))
	}
	return rep
}

func (s *Service) setSecret(v *vault, op operation, body []byte, now int64) reply {
	// SetSecret: https://learn.microsoft.com/rest/api/keyvault/secrets/set-secret
	p, e := parseSet(body)
	if e != nil {
		return fail(e)
	}
	if e := v.secrets.refuseDeleted(op.name); e != nil {
		return fail(e)
	}
	ver := &version{ID: newVersion(), Value: *p.Value, ContentType: p.ContentType, versionMeta: versionMeta{Tags: p.Tags, Enabled: true, Created: now, Updated: now}}
	ver.applyAttributes(p.Attributes)
	x := v.secrets.add(op.name, ver)
	return success(s.render(v, x, ver, op, true, false))
}

func (s *Service) getSecret(v *vault, op operation, body []byte, now int64) reply {
	// GetSecret. nbf and exp are informational for secrets: "A secret's
	// get operation works for not-yet-valid and expired secrets"
	// (https://learn.microsoft.com/azure/key-vault/secrets/about-secrets#date-time-controlled-operations).
	x, ver, e := v.secrets.lookup(op)
	if e != nil {
		return fail(e)
	}
	if !ver.Enabled {
		return fail(errSecretDisabled())
	}
	return success(s.render(v, x, ver, op, true, false))
}

func (s *Service) updateSecret(v *vault, op operation, body []byte, now int64) reply {
	// UpdateSecret: metadata only; the value never changes.
	p, e := parseUpdate(body)
	if e != nil {
		return fail(e)
	}
	x, ver, e := v.secrets.lookup(op)
	if e != nil {
		return fail(e)
	}
	if p.ContentType != nil {
		ver.ContentType = p.ContentType
	}
	if p.Tags != nil {
		ver.Tags = p.Tags
	}
	ver.applyAttributes(p.Attributes)
	ver.Updated = now
	return success(s.render(v, x, ver, op, false, false))
}

func (s *Service) deleteSecret(v *vault, op operation, body []byte, now int64) reply {
	// DeleteSecret: all versions; recoverable when soft delete is on.
	x, d, e := v.secrets.remove(op.name, v.info.Props, now)
	if e != nil {
		return fail(e)
	}
	if d == nil {
		return success(s.render(v, x, x.latest(), op, false, false))
	}
	return success(s.renderDeleted(v, d, op, false))
}

func (s *Service) getSecrets(v *vault, op operation, body []byte, now int64) reply {
	return list(s, v, op, "/secrets", sortedKeys(v.secrets.live), func(k string) bundleOut {
		x := v.secrets.live[k]
		return s.render(v, x, x.latest(), op, false, true)
	})
}

func (s *Service) getSecretVersions(v *vault, op operation, body []byte, now int64) reply {
	x, e := v.secrets.get(op.name)
	if e != nil {
		return fail(e)
	}
	ids, byID := x.sortedVersions()
	return list(s, v, op, "/secrets/"+x.name+"/versions", ids, func(id string) bundleOut {
		return s.render(v, x, byID[id], op, false, false)
	})
}

func (s *Service) getDeletedSecrets(v *vault, op operation, body []byte, now int64) reply {
	return list(s, v, op, "/deletedsecrets", sortedKeys(v.secrets.deleted), func(k string) bundleOut {
		return s.renderDeleted(v, v.secrets.deleted[k], op, true)
	})
}

func (s *Service) getDeletedSecret(v *vault, op operation, body []byte, now int64) reply {
	d, e := v.secrets.getDeleted(op.name)
	if e != nil {
		return fail(e)
	}
	return success(s.renderDeleted(v, d, op, false))
}

func (s *Service) recoverDeletedSecret(v *vault, op operation, body []byte, now int64) reply {
	x, e := v.secrets.recover(op.name)
	if e != nil {
		return fail(e)
	}
	return success(s.render(v, x, x.latest(), op, false, false))
}

func (s *Service) purgeDeletedSecret(v *vault, op operation, body []byte, now int64) reply {
	if e := v.secrets.purge(op.name, v.info.Props); e != nil {
		return fail(e)
	}
	return noContent()
}

func (s *Service) backupSecret(v *vault, op operation, body []byte, now int64) reply {
	x, e := v.secrets.get(op.name)
	if e != nil {
		return fail(e)
	}
	blob, err := s.seal(x)
	if err != nil {
		return fail(errorf(500, "InternalServerError", "The backup could not be created."))
	}
	return success(map[string]string{"value": blob})
}

func (s *Service) restoreSecret(v *vault, op operation, body []byte, now int64) reply {
	p, e := parseRestore(body)
	if e != nil {
		return fail(e)
	}
	x, ok := s.open(*p.Value)
	if !ok {
		return fail(errBadParameter("Backup blob contains invalid or corrupt version."))
	}
	k := strings.ToLower(x.name)
	if _, exists := v.secrets.live[k]; exists {
		return fail(errorf(409, "Conflict", "Secret %s already exists in this vault; restore requires that no secret of that name exists.", x.name))
	}
	if e := v.secrets.refuseDeleted(x.name); e != nil {
		return fail(e)
	}
	v.secrets.live[k] = x
	return success(s.render(v, x, x.latest(), op, false, false))
}

// expirePurges drops soft-deleted secrets and keys past their scheduled
// purge date, as the service does at the end of the retention period, and
// returns the prefixes of their records in the durable log.
func (s *Service) expirePurges(v *vault, now int64) []string {
	return append(v.secrets.expire(v.info.Name, now), v.keys.expire(v.info.Name, now)...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// list pages a sorted list of keys: at most maxresults items, then a
// nextLink whose $skiptoken is the last key returned (opaque, as Key
// Vault's base64 NextMarker is), so pages stay consistent while secrets
// are added or removed.
func list[T any](s *Service, v *vault, op operation, path string, keys []string, item func(string) T) reply {
	start := 0
	if op.skipToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(op.skipToken)
		var tok struct{ NextMarker string }
		if err != nil || json.Unmarshal(b, &tok) != nil {
			return fail(errBadParameter("The value of the '$skiptoken' parameter is invalid."))
		}
		start = sort.SearchStrings(keys, tok.NextMarker)
		if start < len(keys) && keys[start] == tok.NextMarker {
			start++
		}
	}
	out := listOut[T]{Value: []T{}}
	end := min(start+op.maxResults, len(keys))
	for _, k := range keys[start:end] {
		out.Value = append(out.Value, item(k))
	}
	if end < len(keys) {
		b, _ := json.Marshal(map[string]string{"NextMarker": keys[end-1]})
		q := url.Values{"api-version": {op.api.raw}, "$skiptoken": {base64.RawURLEncoding.EncodeToString(b)}, "maxresults": {itoa(op.maxResults)}}
		next := "https://" + s.Host(v.info.Name) + ":443" + path + "?" + q.Encode()
		out.NextLink = &next
	}
	return success(out)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// seal and open are backup blobs: the secret with all its versions,
// encrypted with the emulator's backup key, so the blob reveals nothing and
// restores only here.
func (s *Service) seal(x *secret) (string, error) {
	plain, err := json.Marshal(struct {
		Name     string     `json:"name"`
		Versions []*version `json:"versions"`
	}{x.name, x.versions})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.backupKey.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.backupKey.Seal(nonce, nonce, plain, []byte(backupMagic))), nil
}

const backupMagic = "miconform-keyvault-secret-backup-v1"

func (s *Service) open(blob string) (*secret, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(blob, "="))
	if err != nil || len(raw) < s.backupKey.NonceSize() {
		return nil, false
	}
	n := s.backupKey.NonceSize()
	plain, err := s.backupKey.Open(nil, raw[:n], raw[n:], []byte(backupMagic))
	if err != nil {
		return nil, false
	}
	var b struct {
		Name     string     `json:"name"`
		Versions []*version `json:"versions"`
	}
	if json.Unmarshal(plain, &b) != nil || b.Name == "" || len(b.Versions) == 0 {
		return nil, false
	}
	x := &secret{name: b.Name}
	for _, ver := range b.Versions {
		c := *ver
		c.Tags = maps.Clone(ver.Tags)
		x.versions = append(x.versions, &c)
	}
	return x, true
}
