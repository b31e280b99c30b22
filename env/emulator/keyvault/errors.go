package keyvault

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Error is Key Vault's error body: {"error":{"code","message","innererror":{"code"}}}.
// Shape: specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/secrets.json
// (KeyVaultError, Error). Messages are the ones real vaults send, as seen in
// SDK test recordings and user reports; the source of each is beside it.
type Error struct {
	Status  int
	Code    string
	Message string
	// Inner is innererror.code (AccessDenied, ForbiddenByRbac, SecretDisabled...).
	Inner string
	// challenge marks a 401 that carries the WWW-Authenticate challenge.
	challenge bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// MarshalJSON writes the body Key Vault sends.
func (e *Error) MarshalJSON() ([]byte, error) {
	type inner struct {
		Code string `json:"code"`
	}
	type body struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *inner `json:"innererror,omitempty"`
	}
	b := body{Code: e.Code, Message: e.Message}
	if e.Inner != "" {
		b.InnerError = &inner{Code: e.Inner}
	}
	return json.Marshal(map[string]body{"error": b})
}

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Authentication failures: 401 "Unauthorized" with the challenge, so the
// SDKs' challenge flow (send without a token, read WWW-Authenticate, get a
// token for the named resource and tenant, resend) works.
// https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses#authentication-requirements

// errNoToken: recorded 401 bodies in azure-sdk-for-js test recordings
// ({"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}).
func errNoToken() *Error {
	return &Error{Status: 401, Code: "Unauthorized", Message: "AKV10000: Request is missing a Bearer or PoP token.", challenge: true}
}

// errAudience: "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com/."
// (reported verbatim in crossplane-contrib/provider-azure#346, MicrosoftDocs/azure-docs#57950).
func errAudience(want, got string) *Error {
	return &Error{Status: 401, Code: "Unauthorized", Message: fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", want, got), challenge: true}
}

// errIssuer: "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant}/, found https://sts.windows.net/{other}/."
// (MicrosoftDocs/azure-docs#75410).
func errIssuer(want, got string) *Error {
	return &Error{Status: 401, Code: "Unauthorized", Message: fmt.Sprintf("AKV10032: Invalid issuer. Expected one of %s, found %s.", want, got), challenge: true}
}

// errUnknownKey: "AKV10046: Unable to resolve the key used for signature validation."
// (vcsjones/AzureSignTool#330, hashicorp/terraform-provider-azurerm#30912).
func errUnknownKey() *Error {
	return &Error{Status: 401, Code: "Unauthorized", Message: "AKV10046: Unable to resolve the key used for signature validation.", challenge: true}
}

// errToken is a token the vault's validator (IdentityModel) rejects:
// "Error validating token: IDX10223" for an expired token
// (Azure/azure-sdk-for-python#12368); IDX10222 not yet valid, IDX10511 bad
// signature, IDX14100 not a well-formed JWT are IdentityModel's codes for
// the other failures.
func errToken(idx string) *Error {
	return &Error{Status: 401, Code: "Unauthorized", Message: "Error validating token: " + idx, challenge: true}
}

// errAccessDenied is an access-policy vault refusing a caller without the
// permission (turbot/steampipe-plugin-azure#127):
// "The user, group or application 'appid=...;oid=...;iss=...' does not have
// secrets list permission on key vault 'diskvault001;location=southindia'. For
// help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
// with innererror AccessDenied.
func errAccessDenied(c *caller, coll, perm string, v *vaultInfo) *Error {
	return &Error{Status: 403, Code: "Forbidden", Inner: "AccessDenied", Message: fmt.Sprintf(
		"The user, group or application '%s' does not have %s %s permission on key vault '%s;location=%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
		c.describe(), coll, perm, v.Name, v.Location)}
}

// errForbiddenByRbac is an RBAC vault refusing a caller without the data
// action (hashicorp/terraform-provider-azurerm#17015 shows the whole body;
// lines end in \r\n and the resource id is lower case).
func errForbiddenByRbac(c *caller, action, resource string, v *vaultInfo) *Error {
	msg := "Caller is not authorized to perform action on resource.\r\n" +
		"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
		"Caller: " + c.describe() + "\r\n" +
		"Action: '" + action + "'\r\n" +
		"Resource: '" + strings.ToLower(resource) + "'\r\n" +
		"Assignment: (not found)\r\n" +
		"DenyAssignmentId: null\r\n" +
		"DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
		"Vault: " + v.Name + ";location=" + v.Location + "\r\n"
	return &Error{Status: 403, Code: "Forbidden", Inner: "ForbiddenByRbac", Message: msg}
}

// errSecretNotFound: the 404 of azure-sdk-for-js#25489 and the recordings.
func errSecretNotFound(nameOrID string) *Error {
	return errorf(404, "SecretNotFound", "A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", nameOrID)
}

// errDeletedSecretNotFound: "Deleted Secret not found: {name}" (azure-sdk-for-js recordings).
func errDeletedSecretNotFound(name string) *Error {
	return errorf(404, "SecretNotFound", "Deleted Secret not found: %s", name)
}

// errSecretDisabled: 403 Forbidden, innererror SecretDisabled
// (azure-sdk-for-js#24756, ansible-collections/azure#1989).
func errSecretDisabled() *Error {
	return &Error{Status: 403, Code: "Forbidden", Inner: "SecretDisabled", Message: "Operation get is not allowed on a disabled secret."}
}

// errDeletedButRecoverable: setting a secret whose name is soft-deleted.
func errDeletedButRecoverable(name string) *Error {
	return &Error{Status: 409, Code: "Conflict", Inner: "ObjectIsDeletedButRecoverable", Message: fmt.Sprintf(
		"Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name)}
}

func errBadParameter(format string, args ...any) *Error {
	return errorf(400, "BadParameter", format, args...)
}

// errAPIVersion: "The specified version (7.3) is not recognized. Consider
// using the latest supported version (7.1)." (Azure/azure-sdk-for-python#28595).
func errAPIVersion(v string) *Error {
	return errBadParameter("The specified version (%s) is not recognized. Consider using the latest supported version (%s).", v, latestAPIVersion)
}

// write sends a Key Vault answer: JSON body and the headers every vault
// answer carries, successes and errors alike, as recorded live in
// Azure/azure-sdk-for-net sdk/keyvault/Azure.Security.KeyVault.Secrets/tests/SessionRecords/SecretClientLiveTests/GetDeletedSecretNonExisting.json
// (7.3-preview, 2021) and Azure/azure-sdk-for-python
// sdk/keyvault/azure-keyvault-secrets/tests/recordings/test_samples_secrets.pyTestExamplesKeyVaulttest_example_secret_crud_operations[7.3].json
// (2022): no-cache, HSTS, nosniff, X-Powered-By, the caller's address in
// x-ms-keyvault-network-info, the region, the service version, a request
// id and the echoed x-ms-client-request-id. Errors carry their code in the
// body only: no recorded Key Vault error has x-ms-error-code.
// RBAC vaults add x-ms-keyvault-rbac-assignment-id and -rbac-cache to the
// answers they authorized (rbacHeaders, auth.go, set before write).
func (s *Service) write(w http.ResponseWriter, r *http.Request, tenant string, rep reply) {
	status, body := rep.status, rep.body
	if rep.err != nil {
		body = rep.err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("x-ms-keyvault-region", s.Cloud.DefaultLocation)
	h.Set("x-ms-request-id", newRequestID())
	h.Set("x-ms-keyvault-service-version", serviceVersion)
	h.Set("x-ms-keyvault-network-info", networkInfo(r.RemoteAddr))
	h.Set("Strict-Transport-Security", "max-age=31536000;includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Powered-By", "ASP.NET")
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		h.Set("x-ms-client-request-id", id)
	}
	if e, ok := body.(*Error); ok {
		if e.challenge {
			h.Set("WWW-Authenticate", s.challenge(tenant))
		}
		status = e.Status
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		status, b = 500, []byte(`{"error":{"code":"InternalServerError","message":"The server encountered an internal error."}}`)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// challenge is the WWW-Authenticate value: the vault tenant's authority on
// the cloud's challenge login host, and the cloud's vault resource.
// Recorded: Bearer authorization="https://login.windows.net/{tenant}", resource="https://vault.azure.net".
func (s *Service) challenge(tenant string) string {
	return `Bearer authorization="https://` + s.Cloud.ChallengeLoginHost + "/" + tenant + `", resource="` + s.Cloud.VaultResource + `"`
}

// networkInfo is x-ms-keyvault-network-info: how the caller connected, as
// recorded "conn_type=Ipv4;addr=67.171.12.239;act_addr_fam=InterNetwork;".
// [unverified] The IPv6 form follows .NET's AddressFamily name.
func networkInfo(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.To4() == nil {
		return "conn_type=Ipv6;addr=" + ip.String() + ";act_addr_fam=InterNetworkV6;"
	}
	if ip != nil {
		host = ip.To4().String()
	}
	return "conn_type=Ipv4;addr=" + host + ";act_addr_fam=InterNetwork;"
}

// serviceVersion is what x-ms-keyvault-service-version says.
const serviceVersion = "1.9.2000.1"

// errKeyNotFound mirrors errSecretNotFound for keys [unverified: the wording
// of the keys 404 is assumed to follow the secrets one, code KeyNotFound].
func errKeyNotFound(nameOrID string) *Error {
	return errorf(404, "KeyNotFound", "A key with (name/id) %s was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", nameOrID)
}

// errDeletedKeyNotFound mirrors errDeletedSecretNotFound [unverified].
func errDeletedKeyNotFound(name string) *Error {
	return errorf(404, "KeyNotFound", "Deleted Key not found: %s", name)
}

// errKeyDeletedButRecoverable: creating a key whose name is soft-deleted
// [unverified: wording assumed to follow the secrets 409].
func errKeyDeletedButRecoverable(name string) *Error {
	return &Error{Status: 409, Code: "Conflict", Inner: "ObjectIsDeletedButRecoverable", Message: fmt.Sprintf(
		"Key %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.", name)}
}

// errKeyOperationForbidden: an operation the key's key_ops leave out
// (Azure/azure-sdk-for-net#11518: 403 {"code":"Forbidden","message":
// "Operation decrypt is not permitted on this key.","innererror":{"code":"KeyOperationForbidden"}}).
func errKeyOperationForbidden(op string) *Error {
	return &Error{Status: 403, Code: "Forbidden", Inner: "KeyOperationForbidden", Message: fmt.Sprintf("Operation %s is not permitted on this key.", op)}
}

// errKeyDisabled: "403 Forbidden: Operation X is not allowed on a disabled
// key (KeyDisabled)" (Azure/azure-sdk-for-python#45342, observed on a live
// vault for decrypt, sign and unwrapKey).
func errKeyDisabled(op string) *Error {
	return &Error{Status: 403, Code: "Forbidden", Inner: "KeyDisabled", Message: fmt.Sprintf("Operation %s is not allowed on a disabled key.", op)}
}

// errKeyNotInValidity: encrypt, wrapKey and sign outside the key's nbf/exp
// window are 403 (https://learn.microsoft.com/azure/key-vault/keys/about-keys-details#date-time-controlled-operations)
// [unverified: message and inner codes KeyExpired/KeyNotYetValid are
// modelled on the secrets' "Operation get is not allowed on a expired
// secret." (SecretExpired), Azure/AzureKeyVault#19].
func errKeyNotInValidity(op string, expired bool) *Error {
	if expired {
		return &Error{Status: 403, Code: "Forbidden", Inner: "KeyExpired", Message: fmt.Sprintf("Operation %s is not allowed on an expired key.", op)}
	}
	return &Error{Status: 403, Code: "Forbidden", Inner: "KeyNotYetValid", Message: fmt.Sprintf("Operation %s is not allowed on a not yet valid key.", op)}
}

// errDigestLength: "Invalid length of 'value': 10 bytes. RS256 requires 32
// bytes, encoded with base64url." (Azure/azure-sdk-for-js#12654,
// Azure/azure-cli#28027: BadParameter).
func errDigestLength(field string, got int, alg string, want int) *Error {
	return errBadParameter("Invalid length of '%s': %d bytes. %s requires %d bytes, encoded with base64url.", field, got, alg, want)
}

// errKeyOpsUnsupported: key_ops a key type cannot have (Azure/AzureKeyVault#22:
// BadParameter `Unsupported key operation(s): "wrapKey", "unwrapKey".
// Supported values are "sign", "verify".`).
func errKeyOpsUnsupported(bad, supported []string) *Error {
	return errBadParameter("Unsupported key operation(s): %s. Supported values are %s.", quoteList(bad), quoteList(supported))
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = `"` + x + `"`
	}
	return strings.Join(q, ", ")
}

// errPurgeProtected: purging from a vault with purge protection.
func errPurgeProtected() *Error {
	return &Error{Status: 403, Code: "Forbidden", Inner: "ForbiddenByPolicy", Message: "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed."}
}
