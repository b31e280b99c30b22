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

// keyAccess is what each keys operation needs. Reading a deleted key
// takes keys/read like reading a live one [unverified: Azure may check a
// deletedKeys action].
var keyAccess = map[opKind]access{
	opCreateKey:         {"create", "Microsoft.KeyVault/vaults/keys/create/action"},
	opGetKey:            {"get", "Microsoft.KeyVault/vaults/keys/read"},
	opUpdateKey:         {"update", "Microsoft.KeyVault/vaults/keys/update/action"},
	opDeleteKey:         {"delete", "Microsoft.KeyVault/vaults/keys/delete"},
	opGetKeys:           {"list", "Microsoft.KeyVault/vaults/keys/read"},
	opGetKeyVersions:    {"list", "Microsoft.KeyVault/vaults/keys/read"},
	opGetDeletedKey:     {"get", "Microsoft.KeyVault/vaults/keys/read"},
	opGetDeletedKeys:    {"list", "Microsoft.KeyVault/vaults/keys/read"},
	opRecoverDeletedKey: {"recover", "Microsoft.KeyVault/vaults/keys/recover/action"},
	opPurgeDeletedKey:   {"purge", "Microsoft.KeyVault/vaults/keys/purge/action"},
	opEncrypt:           {"encrypt", "Microsoft.KeyVault/vaults/keys/encrypt/action"},
	opDecrypt:           {"decrypt", "Microsoft.KeyVault/vaults/keys/decrypt/action"},
	opWrapKey:           {"wrapKey", "Microsoft.KeyVault/vaults/keys/wrap/action"},
	opUnwrapKey:         {"unwrapKey", "Microsoft.KeyVault/vaults/keys/unwrap/action"},
	opSign:              {"sign", "Microsoft.KeyVault/vaults/keys/sign/action"},
	opVerify:            {"verify", "Microsoft.KeyVault/vaults/keys/verify/action"},
}

func init() {
	for k, a := range keyAccess {
		opAccess[k] = a
	}
}

var opAccess = map[opKind]access{
	opSetSecret:            {"set", "Microsoft.KeyVault/vaults/secrets/setSecret/action"},
	opGetSecret:            {"get", "Microsoft.KeyVault/vaults/secrets/getSecret/action"},
	opUpdateSecret:         {"set", "Microsoft.KeyVault/vaults/secrets/update/action"},
	opDeleteSecret:         {"delete", "Microsoft.KeyVault/vaults/secrets/delete"},
	opGetSecrets:           {"list", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
	opGetSecretVersions:    {"list", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
	opBackupSecret:         {"backup", "Microsoft.KeyVault/vaults/secrets/backup/action"},
	opRestoreSecret:        {"restore", "Microsoft.KeyVault/vaults/secrets/restore/action"},
	opGetDeletedSecret:     {"get", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
	opGetDeletedSecrets:    {"list", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
	opRecoverDeletedSecret: {"recover", "Microsoft.KeyVault/vaults/secrets/recover/action"},
	opPurgeDeletedSecret:   {"purge", "Microsoft.KeyVault/vaults/secrets/purge/action"},
}

// operation is a parsed data-plane request.
type operation struct {
	kind    opKind
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
	kind, name, version, e := route(method, segs)
	if e != nil {
		return op, e
	}
	op.kind, op.name, op.version = kind, name, version
	if name != "" && !secretNameRE.MatchString(name) {
		return op, errBadParameter("The request URI contains an invalid name: %s", name)
	}
	api, e := parseAPIVersion(q)
	if e != nil {
		return op, e
	}
	op.api = api
	switch kind {
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

// route is the secrets surface of the REST API: /secrets, /secrets/{name},
// /secrets/{name}/{version}, /secrets/{name}/versions, /secrets/{name}/backup,
// /secrets/restore, /deletedsecrets, /deletedsecrets/{name},
// /deletedsecrets/{name}/recover. Collection names match without regard to
// case; "/secrets/{name}/" with an empty version is the latest version (the
// SDKs send it that way).
func route(method string, segs []string) (opKind, string, string, *Error) {
	notFound := errorf(404, "NotFound", "The requested resource was not found.")
	if len(segs) == 0 {
		return 0, "", "", notFound
	}
	allow := func(k opKind, name, version string, methods ...string) (opKind, string, string, *Error) {
		for _, m := range methods {
			if m == method {
				return k, name, version, nil
			}
		}
		return 0, "", "", errorf(405, "MethodNotAllowed", "The requested resource does not support http method '%s'.", method)
	}
	switch {
	case strings.EqualFold(segs[0], "secrets"):
		switch len(segs) {
		case 1:
			return allow(opGetSecrets, "", "", "GET")
		case 2:
			if strings.EqualFold(segs[1], "restore") && method == "POST" {
				return opRestoreSecret, "", "", nil
			}
			switch method {
			case "PUT":
				return opSetSecret, segs[1], "", nil
			case "GET":
				return opGetSecret, segs[1], "", nil
			case "PATCH":
				return opUpdateSecret, segs[1], "", nil
			case "DELETE":
				return opDeleteSecret, segs[1], "", nil
			}
			return allow(0, "", "")
		case 3:
			if strings.EqualFold(segs[2], "versions") && method == "GET" {
				return opGetSecretVersions, segs[1], "", nil
			}
			if strings.EqualFold(segs[2], "backup") && method == "POST" {
				return opBackupSecret, segs[1], "", nil
			}
			if method == "PATCH" {
				return opUpdateSecret, segs[1], segs[2], nil
			}
			return allow(opGetSecret, segs[1], segs[2], "GET")
		}
	case strings.EqualFold(segs[0], "deletedsecrets"):
		return routeDeleted(method, segs, deletedSecretOps, allow, notFound)
	case strings.EqualFold(segs[0], "keys"):
		return routeKeys(method, segs, allow, notFound)
	case strings.EqualFold(segs[0], "deletedkeys"):
		return routeDeleted(method, segs, deletedKeyOps, allow, notFound)
	}
	return 0, "", "", notFound
}

// deletedOps are the operations of a deleted collection.
type deletedOps struct{ list, get, purge, recover opKind }

var (
	deletedSecretOps = deletedOps{opGetDeletedSecrets, opGetDeletedSecret, opPurgeDeletedSecret, opRecoverDeletedSecret}
	deletedKeyOps    = deletedOps{opGetDeletedKeys, opGetDeletedKey, opPurgeDeletedKey, opRecoverDeletedKey}
)

// routeDeleted is a deleted collection, /deletedsecrets or /deletedkeys:
// the list, /{collection}/{name} (GET; DELETE purges) and
// /{collection}/{name}/recover.
func routeDeleted(method string, segs []string, ops deletedOps, allow allowFunc, notFound *Error) (opKind, string, string, *Error) {
	switch len(segs) {
	case 1:
		return allow(ops.list, "", "", "GET")
	case 2:
		if method == "DELETE" {
			return ops.purge, segs[1], "", nil
		}
		return allow(ops.get, segs[1], "", "GET")
	case 3:
		if strings.EqualFold(segs[2], "recover") {
			return allow(ops.recover, segs[1], "", "POST")
		}
	}
	return 0, "", "", notFound
}

// keyOps are the crypto operations' last path segments (keys.json:
// /keys/{key-name}/{key-version}/encrypt ...). The SDKs send an empty
// version ("/keys/k//sign") for the latest.
var keyOps = map[string]opKind{"encrypt": opEncrypt, "decrypt": opDecrypt, "wrapkey": opWrapKey, "unwrapkey": opUnwrapKey, "sign": opSign, "verify": opVerify}

type allowFunc func(k opKind, name, version string, methods ...string) (opKind, string, string, *Error)

// routeKeys is the keys surface: /keys, /keys/{name}, /keys/{name}/{version},
// /keys/{name}/create, /keys/{name}/versions and
// /keys/{name}/{version}/{operation}.
func routeKeys(method string, segs []string, allow allowFunc, notFound *Error) (opKind, string, string, *Error) {
	switch len(segs) {
	case 1:
		return allow(opGetKeys, "", "", "GET")
	case 2:
		switch method {
		case "GET":
			return opGetKey, segs[1], "", nil
		case "PATCH":
			return opUpdateKey, segs[1], "", nil
		case "DELETE":
			return opDeleteKey, segs[1], "", nil
		}
		return allow(0, "", "")
	case 3:
		if strings.EqualFold(segs[2], "create") && method == "POST" {
			return opCreateKey, segs[1], "", nil
		}
		if strings.EqualFold(segs[2], "versions") && method == "GET" {
			return opGetKeyVersions, segs[1], "", nil
		}
		if k, ok := keyOps[strings.ToLower(segs[2])]; ok && method == "POST" {
			return k, segs[1], "", nil
		}
		if method == "PATCH" {
			return opUpdateKey, segs[1], segs[2], nil
		}
		return allow(opGetKey, segs[1], segs[2], "GET")
	case 4:
		if k, ok := keyOps[strings.ToLower(segs[3])]; ok {
			return allow(k, segs[1], segs[2], "POST")
		}
	}
	return 0, "", "", notFound
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
