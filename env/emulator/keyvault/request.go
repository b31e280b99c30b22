package keyvault

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// opKind is one Key Vault secrets operation, named as the REST reference
// names it (specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/secrets.json).
type opKind int

const (
	opSetSecret opKind = iota + 1
	opGetSecret
	opUpdateSecret
	opDeleteSecret
	opGetSecrets
	opGetSecretVersions
	opBackupSecret
	opRestoreSecret
	opGetDeletedSecret
	opGetDeletedSecrets
	opRecoverDeletedSecret
	opPurgeDeletedSecret

	// The keys surface (specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/keys.json).
	opCreateKey
	opGetKey
	opUpdateKey
	opDeleteKey
	opGetKeys
	opGetKeyVersions
	opGetDeletedKey
	opGetDeletedKeys
	opRecoverDeletedKey
	opPurgeDeletedKey
	opEncrypt
	opDecrypt
	opWrapKey
	opUnwrapKey
	opSign
	opVerify
)

// isKeyOp tells the keys operations from the secrets ones.
func (k opKind) isKeyOp() bool { return k >= opCreateKey }

// access says what an operation needs: the access-policy permission of
// its collection (the spec's "This operation requires the secrets/... (or
// keys/...) permission") and the RBAC data action
// (https://learn.microsoft.com/azure/key-vault/general/rbac-abac#azure-key-vault-actions;
// the keys actions are those of the Key Vault Crypto User and Officer roles,
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
type access struct{ perm, action string }

// operation is a parsed data-plane request.
type operation struct {
	kind opKind
	// access is what the operation needs; h runs it (routes.go).
	access  access
	h       handler
	name    string // secret name, as sent
	version string // secret version; empty is the latest
	api     apiVersion
	// maxResults and skipToken page the lists.
	maxResults int
	skipToken  string
}

// secretNameRE is the spec's pattern for secret names; Key Vault also caps
// them at 127 characters.
var secretNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// parseOperation maps method, escaped path and query to an operation. It
// reads untrusted bytes, so it never panics and answers every malformed
// request with Key Vault's 400/404/405.
func parseOperation(method, escapedPath string, q url.Values) (operation, *Error) {
	var op operation
	p := strings.Trim(escapedPath, "/")
	var segs []string
	if p != "" {
		for _, raw := range strings.Split(p, "/") {
			seg, err := url.PathUnescape(raw)
			if err != nil || !utf8.ValidString(seg) {
				return op, errBadParameter("The request URI contains an invalid name: %s", raw)
			}
			segs = append(segs, seg)
		}
	}
	rt, name, version, e := lookup(method, segs)
	if e != nil {
		return op, e
	}
	op.kind, op.access, op.h, op.name, op.version = rt.kind, rt.access, rt.h, name, version
	if name != "" && !secretNameRE.MatchString(name) {
		return op, errBadParameter("The request URI contains an invalid name: %s", name)
	}
	api, e := parseAPIVersion(q)
	if e != nil {
		return op, e
	}
	op.api = api
	switch op.kind {
	case opGetSecrets, opGetSecretVersions, opGetDeletedSecrets, opGetKeys, opGetKeyVersions, opGetDeletedKeys:
		op.maxResults = maxPage
		if v, ok := q["maxresults"]; ok {
			n, err := strconv.Atoi(firstOf(v))
			if err != nil || n < 1 || n > maxPage {
				return op, errBadParameter("The value %q of the 'maxresults' parameter is invalid; it must be between 1 and %d.", firstOf(v), maxPage)
			}
			op.maxResults = n
		}
		op.skipToken = q.Get("$skiptoken")
	}
	return op, nil
}

// maxPage is the spec's maximum (and default) page size.
const maxPage = 25

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// apiVersion is a parsed api-version with what it changes in answers.
type apiVersion struct {
	raw string
	// recoverableDays: attributes.recoverableDays appears from 7.1 on.
	recoverableDays bool
	// softDelete: recoveryLevel and the deleted-secret operations appear
	// from 2016-10-01 on.
	softDelete bool
}

// latestAPIVersion is what Key Vault suggests in its unknown-version error.
const latestAPIVersion = "2026-04-01"

// knownAPIVersions are the data-plane versions Key Vault has shipped
// (specification/keyvault/data-plane/Microsoft.KeyVault/{stable,preview}).
var knownAPIVersions = []string{"2015-06-01", "2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"}

var previewRE = regexp.MustCompile(`^(7\.[0-6])-preview(\.[0-9]{1,2})?$|^(\d{4}-\d{2}-\d{2})-preview$`)

// parseAPIVersion accepts the shipped versions, their previews, and
// date-named versions newer than the last one known here that are not in
// the future (newer SDKs keep working).
func parseAPIVersion(q url.Values) (apiVersion, *Error) {
	vs, ok := q["api-version"]
	v := firstOf(vs)
	if !ok || v == "" {
		// Key Vault has no default version ("Clients must use the api-version
		// query string parameter ... as there is no default").
		return apiVersion{}, errBadParameter("The 'api-version' query parameter is missing. Consider using the latest supported version (%s).", latestAPIVersion)
	}
	base := v
	if m := previewRE.FindStringSubmatch(v); m != nil {
		base = m[1] + m[3]
	}
	known := false
	for _, k := range knownAPIVersions {
		if base == k {
			known = true
		}
	}
	if !known && len(base) == 10 && base > latestAPIVersion {
		if t, err := time.Parse("2006-01-02", base); err == nil && !t.After(time.Now().UTC()) {
			known = true
		}
	}
	if !known {
		return apiVersion{}, errAPIVersion(v)
	}
	a := apiVersion{raw: v, softDelete: base != "2015-06-01"}
	a.recoverableDays = base != "2015-06-01" && base != "2016-10-01" && base != "7.0"
	return a, nil
}

// secretAttributes is the attributes object of requests.
type secretAttributes struct {
	Enabled *bool  `json:"enabled"`
	NBF     *int64 `json:"nbf"`
	Exp     *int64 `json:"exp"`
}

// setParameters is SecretSetParameters.
type setParameters struct {
	Value       *string           `json:"value"`
	ContentType *string           `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  *secretAttributes `json:"attributes"`
}

// updateParameters is SecretUpdateParameters.
type updateParameters struct {
	ContentType *string           `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  *secretAttributes `json:"attributes"`
}

// restoreParameters is SecretRestoreParameters.
type restoreParameters struct {
	Value *string `json:"value"`
}

// Limits from https://learn.microsoft.com/azure/key-vault/secrets/about-secrets
// (25k-byte values, 255-character content types, 15 tags of 512 characters).
const (
	maxValueBytes   = 25 * 1024
	maxContentType  = 255
	maxTags         = 15
	maxTagLen       = 512
	maxRequestBytes = 200 << 10
)

// decodeBody parses a JSON request body into v.
func decodeBody(b []byte, v any) *Error {
	if len(strings.TrimSpace(string(b))) == 0 {
		return errBadParameter("The request body is empty; a JSON object is required.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadParameter("The request body is not valid JSON: %s", err.Error())
	}
	return nil
}

func parseSet(b []byte) (setParameters, *Error) {
	var p setParameters
	if e := decodeBody(b, &p); e != nil {
		return p, e
	}
	if p.Value == nil {
		return p, errBadParameter("The secret value is required.")
	}
	if len(*p.Value) > maxValueBytes {
		return p, errBadParameter("The secret value exceeds the maximum size of %d bytes.", maxValueBytes)
	}
	return p, checkMetadata(p.ContentType, p.Tags, p.Attributes)
}

func parseUpdate(b []byte) (updateParameters, *Error) {
	var p updateParameters
	if e := decodeBody(b, &p); e != nil {
		return p, e
	}
	return p, checkMetadata(p.ContentType, p.Tags, p.Attributes)
}

func parseRestore(b []byte) (restoreParameters, *Error) {
	var p restoreParameters
	if e := decodeBody(b, &p); e != nil {
		return p, e
	}
	if p.Value == nil || *p.Value == "" {
		return p, errBadParameter("The backup blob is required.")
	}
	return p, nil
}

func checkMetadata(ct *string, tags map[string]string, a *secretAttributes) *Error {
	if ct != nil && utf8.RuneCountInString(*ct) > maxContentType {
		return errBadParameter("The content type exceeds the maximum length of %d characters.", maxContentType)
	}
	if len(tags) > maxTags {
		return errBadParameter("The number of tags (%d) exceeds the maximum of %d.", len(tags), maxTags)
	}
	for k, v := range tags {
		if utf8.RuneCountInString(k) > maxTagLen || utf8.RuneCountInString(v) > maxTagLen {
			return errBadParameter("Tag names and values are limited to %d characters.", maxTagLen)
		}
	}
	if a != nil && a.NBF != nil && a.Exp != nil && *a.NBF > *a.Exp {
		return errBadParameter("The attribute nbf (not before) must be earlier than exp (expiry).")
	}
	return nil
}
