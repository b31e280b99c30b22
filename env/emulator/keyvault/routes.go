package keyvault

import "strings"

// handler runs one authorized operation on a vault under s.mu and returns
// its answer; do makes the change durable and write sends it.
type handler func(s *Service, v *vault, op operation, body []byte, now int64) reply

// reply is what a handler answers: a status and a JSON body, or an error
// in Key Vault's shape. One writer (write, errors.go) turns it into bytes,
// so every answer carries the vault's headers, as Resource Manager's
// Response does.
type reply struct {
	status int
	body   any
	err    *Error
}

// success is a 200 answer with a JSON body.
func success(body any) reply { return reply{status: 200, body: body} }

// noContent is a 204 answer.
func noContent() reply { return reply{status: 204} }

// fail is an error answer.
func fail(e *Error) reply { return reply{err: e} }

// route is one data-plane operation: method, path pattern ({name} and
// {version} match any segment, an empty one too: the SDKs send
// "/secrets/{name}/" and "/keys/{name}//sign" for the latest version;
// literal segments match without regard to case), what it needs
// (access-policy permission and RBAC data action) and its handler.
type route struct {
	method  string
	pattern []string
	kind    opKind
	access  access
	h       handler
}

// routes lists every operation this Key Vault serves, as Resource
// Manager's routes.go does. Literal segments come before {version} at the
// same place, so /secrets/{name}/versions is not read as a version. A path
// some route has but not for the method is 405, a path none has 404.
// Operations: specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/secrets.json
// and keys.json. Permissions and actions:
// https://learn.microsoft.com/azure/key-vault/general/rbac-abac#azure-key-vault-actions;
// the keys actions are those of the Key Vault Crypto User and Officer roles,
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security.
// Reading a deleted key takes keys/read like reading a live one
// [unverified: Azure may check a deletedKeys action].
var routes = []route{
	r("GET", "/secrets", opGetSecrets, "list", "secrets/readMetadata/action", (*Service).getSecrets),
	r("POST", "/secrets/restore", opRestoreSecret, "restore", "secrets/restore/action", (*Service).restoreSecret),
	r("PUT", "/secrets/{name}", opSetSecret, "set", "secrets/setSecret/action", (*Service).setSecret),
	r("GET", "/secrets/{name}", opGetSecret, "get", "secrets/getSecret/action", (*Service).getSecret),
	r("PATCH", "/secrets/{name}", opUpdateSecret, "set", "secrets/update/action", (*Service).updateSecret),
	r("DELETE", "/secrets/{name}", opDeleteSecret, "delete", "secrets/delete", (*Service).deleteSecret),
	r("GET", "/secrets/{name}/versions", opGetSecretVersions, "list", "secrets/readMetadata/action", (*Service).getSecretVersions),
	r("POST", "/secrets/{name}/backup", opBackupSecret, "backup", "secrets/backup/action", (*Service).backupSecret),
	r("GET", "/secrets/{name}/{version}", opGetSecret, "get", "secrets/getSecret/action", (*Service).getSecret),
	r("PATCH", "/secrets/{name}/{version}", opUpdateSecret, "set", "secrets/update/action", (*Service).updateSecret),

	r("GET", "/deletedsecrets", opGetDeletedSecrets, "list", "secrets/readMetadata/action", (*Service).getDeletedSecrets),
	r("GET", "/deletedsecrets/{name}", opGetDeletedSecret, "get", "secrets/readMetadata/action", (*Service).getDeletedSecret),
	r("DELETE", "/deletedsecrets/{name}", opPurgeDeletedSecret, "purge", "secrets/purge/action", (*Service).purgeDeletedSecret),
	r("POST", "/deletedsecrets/{name}/recover", opRecoverDeletedSecret, "recover", "secrets/recover/action", (*Service).recoverDeletedSecret),

	r("GET", "/keys", opGetKeys, "list", "keys/read", (*Service).getKeys),
	r("GET", "/keys/{name}", opGetKey, "get", "keys/read", (*Service).getKey),
	r("PATCH", "/keys/{name}", opUpdateKey, "update", "keys/update/action", (*Service).updateKey),
	r("DELETE", "/keys/{name}", opDeleteKey, "delete", "keys/delete", (*Service).deleteKey),
	r("POST", "/keys/{name}/create", opCreateKey, "create", "keys/create/action", (*Service).createKey),
	r("GET", "/keys/{name}/versions", opGetKeyVersions, "list", "keys/read", (*Service).getKeyVersions),
	r("POST", "/keys/{name}/encrypt", opEncrypt, "encrypt", "keys/encrypt/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/decrypt", opDecrypt, "decrypt", "keys/decrypt/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/wrapkey", opWrapKey, "wrapKey", "keys/wrap/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/unwrapkey", opUnwrapKey, "unwrapKey", "keys/unwrap/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/sign", opSign, "sign", "keys/sign/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/verify", opVerify, "verify", "keys/verify/action", (*Service).cryptoOp),
	r("GET", "/keys/{name}/{version}", opGetKey, "get", "keys/read", (*Service).getKey),
	r("PATCH", "/keys/{name}/{version}", opUpdateKey, "update", "keys/update/action", (*Service).updateKey),
	r("POST", "/keys/{name}/{version}/encrypt", opEncrypt, "encrypt", "keys/encrypt/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/{version}/decrypt", opDecrypt, "decrypt", "keys/decrypt/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/{version}/wrapkey", opWrapKey, "wrapKey", "keys/wrap/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/{version}/unwrapkey", opUnwrapKey, "unwrapKey", "keys/unwrap/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/{version}/sign", opSign, "sign", "keys/sign/action", (*Service).cryptoOp),
	r("POST", "/keys/{name}/{version}/verify", opVerify, "verify", "keys/verify/action", (*Service).cryptoOp),

	r("GET", "/deletedkeys", opGetDeletedKeys, "list", "keys/read", (*Service).getDeletedKeys),
	r("GET", "/deletedkeys/{name}", opGetDeletedKey, "get", "keys/read", (*Service).getDeletedKey),
	r("DELETE", "/deletedkeys/{name}", opPurgeDeletedKey, "purge", "keys/purge/action", (*Service).purgeDeletedKey),
	r("POST", "/deletedkeys/{name}/recover", opRecoverDeletedKey, "recover", "keys/recover/action", (*Service).recoverDeletedKey),
}

// r is one line of the table; action is under Microsoft.KeyVault/vaults/.
func r(method, pattern string, kind opKind, perm, action string, h handler) route {
	return route{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), kind: kind,
		access: access{perm: perm, action: "Microsoft.KeyVault/vaults/" + action}, h: h}
}

// match reports whether segs (unescaped) fit the pattern, and the name and
// version they give.
func (rt route) match(segs []string) (name, version string, ok bool) {
	if len(segs) != len(rt.pattern) {
		return "", "", false
	}
	for i, p := range rt.pattern {
		switch p {
		case "{name}":
			name = segs[i]
		case "{version}":
			version = segs[i]
		default:
			if !strings.EqualFold(p, segs[i]) {
				return "", "", false
			}
		}
	}
	return name, version, true
}

// lookup finds the route of a request: the first whose pattern and method
// fit; Key Vault's 405 when only the method is wrong, 404 otherwise.
func lookup(method string, segs []string) (route, string, string, *Error) {
	pathKnown := false
	for _, rt := range routes {
		name, version, ok := rt.match(segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, name, version, nil
		}
		pathKnown = true
	}
	if pathKnown {
		return route{}, "", "", errorf(405, "MethodNotAllowed", "The requested resource does not support http method '%s'.", method)
	}
	return route{}, "", "", errorf(404, "NotFound", "The requested resource was not found.")
}
