package keyvault

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tutorial on every cloud: vault, secret, Secret Management policy for
// the VM identity, GET /secrets/{name}?api-version=2016-10-01 with its token.
func TestTutorialReadOnEveryCloud(t *testing.T) {
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name)
			a := w.newVault("mi-lab-vault", nil).requireStatus(200)
			// The create's answer names the vault without the trailing
			// slash its GETs carry (recorded 2021-10-01 answers).
			assert.Equal(t, "https://mi-lab-vault."+w.c.VaultSuffix, a.get("properties.vaultUri").String())
			assert.Equal(t, "Microsoft.KeyVault/vaults", a.get("type").String())
			assert.Equal(t, w.dir.TenantID, a.get("properties.tenantId").String())
			assert.False(t, a.get("properties.enableRbacAuthorization").Bool())
			assert.True(t, a.get("properties.enableSoftDelete").Bool())
			// Settings the request left out are not shown (recorded
			// 2021-10-01 answers); soft delete is on with Azure's 90 days.
			assert.False(t, a.get("properties.softDeleteRetentionInDays").Exists())
			assert.EqualValues(t, 90, w.armCall("PUT", w.vaultPath("rg", "mi-lab-vault")+"?api-version=2023-07-01", map[string]any{"location": w.c.DefaultLocation,
				"properties": map[string]any{"tenantId": w.dir.TenantID, "sku": map[string]any{"family": "A", "name": "standard"}, "softDeleteRetentionInDays": 90}}).get("properties.softDeleteRetentionInDays").Int())
			w.setSecret("mi-lab-vault", "mi-test", "My Secret").requireStatus(200)
			w.addPolicy("mi-lab-vault", "add", w.policy(w.vm.ObjectID, secretManagement...)).requireStatus(200)

			r := w.kvCall(w.vaultToken(w.vm), "GET", "mi-lab-vault", "/secrets/mi-test?api-version=2016-10-01", nil).requireStatus(200)
			assert.Equal(t, "My Secret", r.get("value").String())
			assert.Regexp(t, "^https://mi-lab-vault\\."+regexp.QuoteMeta(w.c.VaultSuffix)+"/secrets/mi-test/[0-9a-f]{32}$", r.get("id").String())
			assert.True(t, r.get("attributes.enabled").Bool())
			assert.InDelta(t, time.Now().Unix(), r.get("attributes.created").Int(), 5)
			assert.Equal(t, "Recoverable+Purgeable", r.get("attributes.recoveryLevel").String())
			assert.False(t, r.get("attributes.recoverableDays").Exists(), "2016-10-01 answers have no recoverableDays")
			assert.Equal(t, "application/json; charset=utf-8", r.hdr.Get("Content-Type"))

			r = w.kvCall(w.vaultToken(w.vm), "GET", "mi-lab-vault", "/secrets/MI-TEST/?api-version=7.5", nil).requireStatus(200)
			assert.EqualValues(t, 90, r.get("attributes.recoverableDays").Int())
			assert.Contains(t, r.get("id").String(), "/secrets/mi-test/", "the id keeps the name's first casing")
		})
	}
}

func TestAuthentication(t *testing.T) {
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name)
			w.newVault("authvault", map[string]any{"accessPolicies": []any{w.policy(w.operator.ObjectID, "all"), w.policy(w.vm.ObjectID, "get")}}).requireStatus(200)
			w.setSecret("authvault", "s1", "value-one").requireStatus(200)
			challenge := `Bearer authorization="https://` + w.c.ChallengeLoginHost + "/" + w.dir.TenantID + `", resource="` + w.c.VaultResource + `"`

			// No token: the challenge the SDKs need, and the recorded body.
			for _, h := range []string{"", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer"} {
				hdr := map[string][]string{}
				if h != "" {
					hdr["Authorization"] = []string{h}
				}
				a := w.serve(w.kv, "GET", "https://authvault."+w.c.VaultSuffix+"/secrets/s1?api-version=7.5", hdr, nil)
				assert.Equal(t, 401, a.code, "Authorization %q", h)
				assert.JSONEq(t, `{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}`, string(a.body))
				assert.Equal(t, challenge, a.hdr.Get("WWW-Authenticate"))
			}
			// The challenge comes before anything else is looked at: a PUT
			// without body and without token (what the SDK sends first).
			a := w.kvCall("", "PUT", "authvault", "/secrets/new?api-version=2026-04-01", nil)
			assert.Equal(t, 401, a.code)
			assert.Equal(t, challenge, a.hdr.Get("WWW-Authenticate"))

			// Wrong audiences.
			arm, err := w.iss.ManagedIdentityToken(w.vm, w.c.ARMResource, w.vm.ResourceID)
			require.NoError(t, err)
			a = w.kvCall(arm.Raw, "GET", "authvault", "/secrets/s1?api-version=2016-10-01", nil)
			assert.Equal(t, 401, a.code)
			assert.Equal(t, "Unauthorized", errCode(a))
			assert.Equal(t, "AKV10022: Invalid audience. Expected "+w.c.VaultResource+", found: "+w.c.ARMResource+".", errMsg(a))
			assert.Equal(t, challenge, a.hdr.Get("WWW-Authenticate"))
			slash, err := w.iss.ManagedIdentityToken(w.vm, w.c.VaultResource+"/", w.vm.ResourceID)
			require.NoError(t, err)
			a = w.kvCall(slash.Raw, "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, "AKV10022: Invalid audience. Expected "+w.c.VaultResource+", found: "+w.c.VaultResource+"/.", errMsg(a))

			// Tampered signature, unknown key, malformed token.
			good := w.vaultToken(w.vm)
			parts := strings.Split(good, ".")
			sig := []byte(parts[2])
			if sig[10] == 'A' {
				sig[10] = 'B'
			} else {
				sig[10] = 'A'
			}
			a = w.kvCall(parts[0]+"."+parts[1]+"."+string(sig), "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, 401, a.code)
			assert.Equal(t, "Error validating token: IDX10511", errMsg(a))
			foreign, err := entra.NewIssuer(w.c, w.dir, entratest.Other()).ManagedIdentityToken(w.vm, w.c.VaultResource, w.vm.ResourceID)
			require.NoError(t, err)
			a = w.kvCall(foreign.Raw, "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, "AKV10046: Unable to resolve the key used for signature validation.", errMsg(a))
			a = w.kvCall("not-a-jwt", "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, 401, a.code)
			assert.Equal(t, "Error validating token: IDX14100", errMsg(a))

			// A token of another tenant, signed by the same authority key.
			otherDir := directory.New(directory.NewGUID())
			otherTok, err := entra.NewIssuer(w.c, otherDir, w.key).ManagedIdentityToken(w.vm, w.c.VaultResource, w.vm.ResourceID)
			require.NoError(t, err)
			a = w.kvCall(otherTok.Raw, "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, 401, a.code)
			assert.Equal(t, "AKV10032: Invalid issuer. Expected one of "+w.c.Issuer(w.dir.TenantID)+", found "+w.c.Issuer(otherDir.TenantID)+".", errMsg(a))

			// Expired and not yet valid.
			clk := w.useClock(time.Now())
			tok := w.vaultToken(w.operator)
			clk.t = clk.t.Add(3 * time.Hour)
			a = w.kvCall(tok, "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, 401, a.code)
			assert.Equal(t, "Error validating token: IDX10223", errMsg(a))
			assert.Equal(t, challenge, a.hdr.Get("WWW-Authenticate"))
			clk.t = clk.t.Add(-6 * time.Hour)
			a = w.kvCall(tok, "GET", "authvault", "/secrets/s1?api-version=7.5", nil)
			assert.Equal(t, "Error validating token: IDX10222", errMsg(a))
		})
	}
}

func TestAccessPolicies(t *testing.T) {
	w := newWorld(t, "AzureChinaCloud")
	w.newVault("policyvault", nil).requireStatus(200)
	w.setSecret("policyvault", "mi-test", "My Secret").requireStatus(200)
	vmTok := w.vaultToken(w.vm)
	who := "appid=" + w.vm.ClientID + ";oid=" + w.vm.ObjectID + ";iss=" + w.c.Issuer(w.dir.TenantID)
	denied := func(perm string) string {
		return "The user, group or application '" + who + "' does not have secrets " + perm + " permission on key vault 'policyvault;location=" + w.c.DefaultLocation + "'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
	}

	// No policy for the VM at all.
	a := w.kvCall(vmTok, "GET", "policyvault", "/secrets/mi-test?api-version=2016-10-01", nil)
	assert.Equal(t, 403, a.code)
	assert.Equal(t, "Forbidden", errCode(a))
	assert.Equal(t, "AccessDenied", innerCode(a))
	assert.Equal(t, denied("get"), errMsg(a))
	// Permission checks come before existence: no 404 leaks names.
	a = w.kvCall(vmTok, "GET", "policyvault", "/secrets/nope?api-version=7.5", nil)
	assert.Equal(t, 403, a.code)

	// A policy without get.
	w.addPolicy("policyvault", "add", w.policy(w.vm.ObjectID, "list")).requireStatus(200)
	a = w.kvCall(vmTok, "GET", "policyvault", "/secrets/mi-test?api-version=2016-10-01", nil)
	assert.Equal(t, denied("get"), errMsg(a))
	w.kvCall(vmTok, "GET", "policyvault", "/secrets?api-version=7.5", nil).requireStatus(200)
	a = w.kvCall(vmTok, "PUT", "policyvault", "/secrets/x?api-version=7.5", map[string]any{"value": "v"})
	assert.Equal(t, denied("set"), errMsg(a))
	a = w.kvCall(vmTok, "DELETE", "policyvault", "/secrets/mi-test?api-version=7.5", nil)
	assert.Equal(t, denied("delete"), errMsg(a))

	// add merges, replace sets, remove takes away (and drops an empty entry).
	r := w.addPolicy("policyvault", "add", w.policy(w.vm.ObjectID, "Get")).requireStatus(200)
	assert.Equal(t, "Microsoft.KeyVault/vaults/accessPolicies", r.get("type").String())
	assert.Equal(t, `["list","Get"]`, r.get(`properties.accessPolicies.#(objectId=="`+w.vm.ObjectID+`").permissions.secrets`).Raw)
	w.kvCall(vmTok, "GET", "policyvault", "/secrets/mi-test?api-version=2016-10-01", nil).requireStatus(200)
	w.addPolicy("policyvault", "replace", w.policy(w.vm.ObjectID, "set")).requireStatus(200)
	assert.Equal(t, 403, w.kvCall(vmTok, "GET", "policyvault", "/secrets/mi-test?api-version=7.5", nil).code)
	r = w.addPolicy("policyvault", "remove", w.policy(w.vm.ObjectID, "set")).requireStatus(200)
	assert.False(t, r.get(`properties.accessPolicies.#(objectId=="`+w.vm.ObjectID+`")`).Exists())
	g := w.armCall("GET", w.vaultPath("rg", "policyvault")+"?api-version=2023-07-01", nil).requireStatus(200)
	assert.EqualValues(t, 1, g.get("properties.accessPolicies.#").Int())

	// Bad policy input is refused and changes nothing.
	a = w.addPolicy("policyvault", "add", w.policy(w.vm.ObjectID, "fly"))
	assert.Equal(t, 400, a.code)
	a = w.addPolicy("policyvault", "merge", w.policy(w.vm.ObjectID, "get"))
	assert.Equal(t, 400, a.code)
	a = w.armCall("PUT", w.vaultPath("rg", "policyvault")+"/accessPolicies/add?api-version=2023-07-01", "{")
	assert.Equal(t, 400, a.code)
	g = w.armCall("GET", w.vaultPath("rg", "policyvault")+"?api-version=2023-07-01", nil).requireStatus(200)
	assert.EqualValues(t, 1, g.get("properties.accessPolicies.#").Int())

	// The "all" permission and a compound identity (applicationId).
	w.addPolicy("policyvault", "add", w.policy(w.vm.ObjectID, "all")).requireStatus(200)
	w.kvCall(vmTok, "GET", "policyvault", "/secrets/mi-test?api-version=7.5", nil).requireStatus(200)
	w.addPolicy("policyvault", "remove", w.policy(w.vm.ObjectID, "all")).requireStatus(200)
	compound := w.policy(w.vm.ObjectID, "get")
	compound["applicationId"] = directory.NewGUID()
	w.addPolicy("policyvault", "add", compound).requireStatus(200)
	assert.Equal(t, 403, w.kvCall(vmTok, "GET", "policyvault", "/secrets/mi-test?api-version=7.5", nil).code)
}

func TestRBACVault(t *testing.T) {
	w := newWorld(t, "AzureUSGovernment")
	a := w.armCall("PUT", w.vaultPath("rg", "rbacvault")+"?api-version=2026-02-01", map[string]any{
		"location": w.c.DefaultLocation, "properties": map[string]any{"tenantId": w.dir.TenantID, "sku": map[string]any{"family": "A", "name": "Standard"}},
	}).requireStatus(200)
	assert.True(t, a.get("properties.enableRbacAuthorization").Bool(), "2026-02-01 defaults new vaults to RBAC")
	assert.Equal(t, "standard", a.get("properties.sku.name").String())
	vaultID := a.get("id").String()
	grant := func(principal, role string) {
		r, ok := w.rb.RoleByName(role)
		require.True(t, ok, role)
		require.NoError(t, w.rb.Create(rbac.Assignment{Name: directory.NewGUID(), Scope: vaultID, RoleDefinitionID: rbac.RoleDefinitionID(w.sub, r.ID), PrincipalID: principal, PrincipalType: "ServicePrincipal"}))
	}
	// Owner of the subscription holds no data actions.
	a = w.setSecret("rbacvault", "mi-test", "My Secret")
	assert.Equal(t, 403, a.code)
	assert.Equal(t, "ForbiddenByRbac", innerCode(a))
	assert.Contains(t, errMsg(a), "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\n")
	grant(w.operator.ObjectID, "Key Vault Secrets Officer")
	w.setSecret("rbacvault", "mi-test", "My Secret").requireStatus(200)

	vmTok := w.vaultToken(w.vm)
	a = w.kvCall(vmTok, "GET", "rbacvault", "/secrets/mi-test?api-version=2016-10-01", nil)
	assert.Equal(t, 403, a.code)
	assert.Equal(t, "Forbidden", errCode(a))
	assert.Equal(t, "ForbiddenByRbac", innerCode(a))
	want := "Caller is not authorized to perform action on resource.\r\n" +
		"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
		"Caller: appid=" + w.vm.ClientID + ";oid=" + w.vm.ObjectID + ";iss=" + w.c.Issuer(w.dir.TenantID) + "\r\n" +
		"Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
		"Resource: '" + strings.ToLower(vaultID) + "/secrets/mi-test'\r\n" +
		"Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
		"Vault: rbacvault;location=" + w.c.DefaultLocation + "\r\n"
	assert.Equal(t, want, errMsg(a))
	// Access policies mean nothing to an RBAC vault.
	w.addPolicy("rbacvault", "add", w.policy(w.vm.ObjectID, "get")).requireStatus(200)
	assert.Equal(t, 403, w.kvCall(vmTok, "GET", "rbacvault", "/secrets/mi-test?api-version=7.5", nil).code)

	grant(w.vm.ObjectID, "Key Vault Secrets User")
	r := w.kvCall(vmTok, "GET", "rbacvault", "/secrets/mi-test?api-version=2016-10-01", nil).requireStatus(200)
	assert.Equal(t, "My Secret", r.get("value").String())
	w.kvCall(vmTok, "GET", "rbacvault", "/secrets?api-version=7.5", nil).requireStatus(200)
	a = w.kvCall(vmTok, "PUT", "rbacvault", "/secrets/other?api-version=7.5", map[string]any{"value": "v"})
	assert.Equal(t, 403, a.code)
	assert.Contains(t, errMsg(a), "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'")
}

func TestSecretLifecycle(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	w.newVault("lifevault", nil).requireStatus(200)
	tok := w.vaultToken(w.operator)
	call := func(method, path string, body any) answer { return w.kvCall(tok, method, "lifevault", path, body) }

	v1 := call("PUT", "/secrets/db-pass?api-version=7.5", map[string]any{"value": "first-value", "contentType": "text/plain", "tags": map[string]string{"env": "test"}}).requireStatus(200)
	assert.Equal(t, "first-value", v1.get("value").String())
	assert.Equal(t, "text/plain", v1.get("contentType").String())
	assert.Equal(t, "test", v1.get("tags.env").String())
	v2 := call("PUT", "/secrets/db-pass?api-version=7.5", map[string]any{"value": "second-value"}).requireStatus(200)
	id1, id2 := v1.get("id").String(), v2.get("id").String()
	require.NotEqual(t, id1, id2)
	ver1 := id1[strings.LastIndex(id1, "/")+1:]

	assert.Equal(t, "second-value", call("GET", "/secrets/db-pass?api-version=7.5", nil).requireStatus(200).get("value").String())
	assert.Equal(t, "first-value", call("GET", "/secrets/db-pass/"+ver1+"?api-version=7.5", nil).requireStatus(200).get("value").String())
	a := call("GET", "/secrets/db-pass/00000000000000000000000000000000?api-version=7.5", nil)
	assert.Equal(t, 404, a.code)
	assert.Equal(t, "A secret with (name/id) db-pass/00000000000000000000000000000000 was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", errMsg(a))

	vs := call("GET", "/secrets/db-pass/versions?api-version=7.5", nil).requireStatus(200)
	assert.EqualValues(t, 2, vs.get("value.#").Int())
	assert.False(t, vs.get("value.0.value").Exists(), "lists never carry values")

	// Disable the latest version: get is refused, list still shows it,
	// the older version still reads.
	u := call("PATCH", "/secrets/db-pass/?api-version=7.5", map[string]any{"attributes": map[string]any{"enabled": false}}).requireStatus(200)
	assert.False(t, u.get("attributes.enabled").Bool())
	assert.False(t, u.get("value").Exists())
	a = call("GET", "/secrets/db-pass?api-version=7.5", nil)
	assert.Equal(t, 403, a.code)
	assert.JSONEq(t, `{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}`, string(a.body))
	l := call("GET", "/secrets?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "https://lifevault."+w.c.VaultSuffix+"/secrets/db-pass", l.get("value.0.id").String())
	assert.False(t, l.get("value.0.attributes.enabled").Bool())
	call("GET", "/secrets/db-pass/"+ver1+"?api-version=7.5", nil).requireStatus(200)
	call("PATCH", "/secrets/db-pass?api-version=7.5", map[string]any{"attributes": map[string]any{"enabled": true}}).requireStatus(200)

	// nbf/exp are informational: expired and not-yet-valid secrets read.
	past, future := time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()
	call("PUT", "/secrets/expired?api-version=7.5", map[string]any{"value": "old", "attributes": map[string]any{"exp": past}}).requireStatus(200)
	r := call("GET", "/secrets/expired?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, past, r.get("attributes.exp").Int())
	call("PUT", "/secrets/early?api-version=7.5", map[string]any{"value": "new", "attributes": map[string]any{"nbf": future}}).requireStatus(200)
	call("GET", "/secrets/early?api-version=7.5", nil).requireStatus(200)

	// Soft delete, recover, delete again, purge.
	d := call("DELETE", "/secrets/db-pass?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "https://lifevault."+w.c.VaultSuffix+"/deletedsecrets/db-pass", d.get("recoveryId").String())
	assert.Equal(t, d.get("deletedDate").Int()+90*86400, d.get("scheduledPurgeDate").Int())
	assert.Equal(t, id2, d.get("id").String())
	assert.False(t, d.get("value").Exists())
	assert.Equal(t, 404, call("GET", "/secrets/db-pass?api-version=7.5", nil).code)
	call("GET", "/deletedsecrets/db-pass?api-version=7.5", nil).requireStatus(200)
	dl := call("GET", "/deletedsecrets?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "https://lifevault."+w.c.VaultSuffix+"/secrets/db-pass", dl.get("value.0.id").String())
	a = call("PUT", "/secrets/db-pass?api-version=7.5", map[string]any{"value": "again"})
	assert.Equal(t, 409, a.code)
	assert.Equal(t, "ObjectIsDeletedButRecoverable", innerCode(a))
	assert.Equal(t, "Secret db-pass is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", errMsg(a))
	call("POST", "/deletedsecrets/db-pass/recover?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "second-value", call("GET", "/secrets/db-pass?api-version=7.5", nil).requireStatus(200).get("value").String())
	call("DELETE", "/secrets/db-pass?api-version=7.5", nil).requireStatus(200)
	a = call("DELETE", "/deletedsecrets/db-pass?api-version=7.5", nil)
	assert.Equal(t, 204, a.code)
	assert.Empty(t, a.body)
	a = call("GET", "/deletedsecrets/db-pass?api-version=7.5", nil)
	assert.Equal(t, 404, a.code)
	assert.Equal(t, "Deleted Secret not found: db-pass", errMsg(a))
	a = call("DELETE", "/secrets/db-pass?api-version=7.5", nil)
	assert.Equal(t, "SecretNotFound", errCode(a))

	// Backup, delete, purge, restore: every version comes back.
	call("PUT", "/secrets/keep?api-version=7.5", map[string]any{"value": "v-one"}).requireStatus(200)
	call("PUT", "/secrets/keep?api-version=7.5", map[string]any{"value": "v-two"}).requireStatus(200)
	b := call("POST", "/secrets/keep/backup?api-version=7.5", nil).requireStatus(200)
	blob := b.get("value").String()
	raw, err := base64.RawURLEncoding.DecodeString(blob)
	require.NoError(t, err, "the blob is base64url")
	assert.NotContains(t, string(raw), "v-one", "the blob does not reveal the value")
	assert.Equal(t, 409, call("POST", "/secrets/restore?api-version=7.5", map[string]any{"value": blob}).code)
	call("DELETE", "/secrets/keep?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, 409, call("POST", "/secrets/restore?api-version=7.5", map[string]any{"value": blob}).code, "deleted but recoverable")
	call("DELETE", "/deletedsecrets/keep?api-version=7.5", nil).requireStatus(204)
	call("POST", "/secrets/restore?api-version=7.5", map[string]any{"value": blob}).requireStatus(200)
	assert.Equal(t, "v-two", call("GET", "/secrets/keep?api-version=7.5", nil).get("value").String())
	assert.EqualValues(t, 2, call("GET", "/secrets/keep/versions?api-version=7.5", nil).get("value.#").Int())
	tampered := []byte(blob)
	tampered[len(tampered)/2] ^= 2
	assert.Equal(t, 400, call("POST", "/secrets/restore?api-version=7.5", map[string]any{"value": string(tampered)}).code)
	// A blob of another emulator does not restore here.
	other := newWorld(t, "AzureCloud")
	other.newVault("lifevault", nil).requireStatus(200)
	assert.Equal(t, 400, other.kvCall(other.vaultToken(other.operator), "POST", "lifevault", "/secrets/restore?api-version=7.5", map[string]any{"value": blob}).code)
}

// Scheduled purge: a deleted secret goes for good after the retention days.
func TestRetentionPurges(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	clk := w.useClock(time.Now())
	w.newVault("shortvault", map[string]any{"softDeleteRetentionInDays": 7}).requireStatus(200)
	w.setSecret("shortvault", "s", "value-x").requireStatus(200)
	r := w.kvCall(w.vaultToken(w.operator), "GET", "shortvault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "CustomizedRecoverable+Purgeable", r.get("attributes.recoveryLevel").String())
	assert.EqualValues(t, 7, r.get("attributes.recoverableDays").Int())
	w.kvCall(w.vaultToken(w.operator), "DELETE", "shortvault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	clk.t = clk.t.Add(8 * 24 * time.Hour)
	assert.Equal(t, 404, w.kvCall(w.vaultToken(w.operator), "GET", "shortvault", "/deletedsecrets/s?api-version=7.5", nil).code)
	w.setSecret("shortvault", "s", "value-y").requireStatus(200)
}

func TestVaultWithoutSoftDeleteAndPurgeProtection(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	w.newVault("hardvault", map[string]any{"enableSoftDelete": false}).requireStatus(200)
	w.setSecret("hardvault", "s", "value-x").requireStatus(200)
	tok := w.vaultToken(w.operator)
	r := w.kvCall(tok, "GET", "hardvault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "Purgeable", r.get("attributes.recoveryLevel").String())
	assert.EqualValues(t, 0, r.get("attributes.recoverableDays").Int())
	d := w.kvCall(tok, "DELETE", "hardvault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	assert.False(t, d.get("recoveryId").Exists())
	assert.EqualValues(t, 0, w.kvCall(tok, "GET", "hardvault", "/deletedsecrets?api-version=7.5", nil).get("value.#").Int())
	a := w.newVault("hardvault", map[string]any{"enableSoftDelete": true}).requireStatus(200)
	assert.True(t, a.get("properties.enableSoftDelete").Bool())
	assert.Equal(t, 400, w.newVault("hardvault", map[string]any{"enableSoftDelete": false}).code, "soft delete cannot be turned off")

	w.newVault("lockedvault", map[string]any{"enablePurgeProtection": true}).requireStatus(200)
	w.setSecret("lockedvault", "s", "value-x").requireStatus(200)
	r = w.kvCall(tok, "GET", "lockedvault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "Recoverable", r.get("attributes.recoveryLevel").String())
	w.kvCall(tok, "DELETE", "lockedvault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	a = w.kvCall(tok, "DELETE", "lockedvault", "/deletedsecrets/s?api-version=7.5", nil)
	assert.Equal(t, 403, a.code)
	w.kvCall(tok, "GET", "lockedvault", "/deletedsecrets/s?api-version=7.5", nil).requireStatus(200)
}

func TestPaging(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	w.newVault("pagevault", nil).requireStatus(200)
	for _, n := range []string{"e", "a", "d", "b", "c"} {
		w.setSecret("pagevault", n, "value-"+n).requireStatus(200)
	}
	tok := w.vaultToken(w.operator)
	var names []string
	next := "https://pagevault." + w.c.VaultSuffix + "/secrets?api-version=7.5&maxresults=2"
	for pages := 0; next != ""; pages++ {
		require.Less(t, pages, 5)
		u, err := url.Parse(next)
		require.NoError(t, err)
		if pages > 0 {
			assert.Equal(t, "pagevault."+w.c.VaultSuffix+":443", u.Host, "nextLink names the vault with :443 as Key Vault does")
		}
		a := w.kvCall(tok, "GET", "pagevault", u.RequestURI(), nil).requireStatus(200)
		for _, it := range a.get("value").Array() {
			names = append(names, it.Get("id").String()[strings.LastIndex(it.Get("id").String(), "/")+1:])
		}
		next = a.get("nextLink").String()
		if next != "" {
			// A secret added mid-way does not shift the pages.
			w.setSecret("pagevault", "aa", "value-aa")
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, names)
	assert.Equal(t, 400, w.kvCall(tok, "GET", "pagevault", "/secrets?api-version=7.5&maxresults=26", nil).code)
	assert.Equal(t, 400, w.kvCall(tok, "GET", "pagevault", "/secrets?api-version=7.5&$skiptoken=bm90LWpzb24", nil).code)
}

func TestAPIVersions(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	w.newVault("apivault", nil).requireStatus(200)
	w.setSecret("apivault", "s", "value-x").requireStatus(200)
	tok := w.vaultToken(w.operator)
	for _, v := range []string{"2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "7.6-preview.2", "2025-07-01", "2026-04-01", "2026-04-01-preview"} {
		assert.Equal(t, 200, w.kvCall(tok, "GET", "apivault", "/secrets/s?api-version="+v, nil).code, v)
	}
	r := w.kvCall(tok, "GET", "apivault", "/secrets/s?api-version=2015-06-01", nil).requireStatus(200)
	assert.False(t, r.get("attributes.recoveryLevel").Exists())
	for _, v := range []string{"1.0", "7.9", "2016-10-02", "2099-01-01", "7.5-preview.x"} {
		a := w.kvCall(tok, "GET", "apivault", "/secrets/s?api-version="+v, nil)
		assert.Equal(t, 400, a.code, v)
		assert.Equal(t, "BadParameter", errCode(a))
		assert.Equal(t, "The specified version ("+v+") is not recognized. Consider using the latest supported version (2026-04-01).", errMsg(a))
	}
	a := w.kvCall(tok, "GET", "apivault", "/secrets/s", nil)
	assert.Equal(t, 400, a.code)
	assert.Equal(t, "BadParameter", errCode(a))
}

// Bad input gets Key Vault's error shape and loses nothing stored.
func TestBadInputKeepsData(t *testing.T) {
	w := newWorld(t, "AzureCloud")
	w.newVault("badvault", nil).requireStatus(200)
	w.setSecret("badvault", "keep", "kept-value").requireStatus(200)
	tok := w.vaultToken(w.operator)
	cases := []struct {
		method, path string
		body         any
		code         int
	}{
		{"PUT", "/secrets/keep?api-version=7.5", "{", 400},
		{"PUT", "/secrets/keep?api-version=7.5", "", 400},
		{"PUT", "/secrets/keep?api-version=7.5", `{"value": 5}`, 400},
		{"PUT", "/secrets/keep?api-version=7.5", `{"contentType":"x"}`, 400},
		{"PUT", "/secrets/keep?api-version=7.5", map[string]any{"value": strings.Repeat("x", 25*1024+1)}, 400},
		{"PUT", "/secrets/keep?api-version=7.5", strings.Repeat("x", 300<<10), 413},
		{"PUT", "/secrets/keep?api-version=7.5", map[string]any{"value": "v", "attributes": map[string]any{"nbf": 10, "exp": 5}}, 400},
		{"PUT", "/secrets/bad_name?api-version=7.5", map[string]any{"value": "v"}, 400},
		{"PUT", "/secrets/" + strings.Repeat("a", 128) + "?api-version=7.5", map[string]any{"value": "v"}, 400},
		{"PATCH", "/secrets/keep?api-version=7.5", "[]", 400},
		{"POST", "/secrets/restore?api-version=7.5", `{"value":"!!"}`, 400},
		{"POST", "/secrets/restore?api-version=7.5", `{}`, 400},
		{"GET", "/certificates?api-version=7.5", nil, 404},
		{"POST", "/secrets?api-version=7.5", nil, 405},
		{"GET", "/secrets/a%2Fb?api-version=7.5", nil, 400},
	}
	for _, c := range cases {
		a := w.kvCall(tok, c.method, "badvault", c.path, c.body)
		assert.Equal(t, c.code, a.code, "%s %s", c.method, c.path)
		assert.True(t, json.Valid(a.body), "%s %s: %s", c.method, c.path, a.body)
		assert.NotEmpty(t, errCode(a), "%s %s: %s", c.method, c.path, a.body)
	}
	r := w.kvCall(tok, "GET", "badvault", "/secrets/keep?api-version=7.5", nil).requireStatus(200)
	assert.Equal(t, "kept-value", r.get("value").String())
	assert.EqualValues(t, 1, w.kvCall(tok, "GET", "badvault", "/secrets/keep/versions?api-version=7.5", nil).get("value.#").Int())
}

func TestVaultResource(t *testing.T) {
	w := newWorld(t, "AzureChinaCloud")
	for _, bad := range []string{"ab", "1vault", "vault-", "va--ult", strings.Repeat("a", 25), "va_ult"} {
		a := w.newVault(bad, nil)
		assert.Equal(t, 400, a.code, bad)
		assert.Equal(t, "VaultNameNotValid", errCode(a), bad)
	}
	assert.Equal(t, 400, w.armCall("PUT", w.vaultPath("rg", "novault")+"?api-version=2023-07-01", map[string]any{"location": "chinanorth", "properties": map[string]any{"sku": map[string]any{"name": "standard"}}}).code)
	assert.Equal(t, 400, w.armCall("PUT", w.vaultPath("rg", "novault")+"?api-version=2023-07-01", map[string]any{"location": "chinanorth", "properties": map[string]any{"tenantId": w.dir.TenantID, "sku": map[string]any{"name": "gold"}}}).code)
	assert.Equal(t, 400, w.armCall("PUT", w.vaultPath("rg", "novault")+"?api-version=2023-07-01", map[string]any{"properties": map[string]any{}}).code)

	w.newVault("onevault", nil).requireStatus(200)
	w.setSecret("onevault", "s", "value-x").requireStatus(200)
	// Updating keeps the secrets and the location; names are global.
	w.newVault("onevault", map[string]any{"enabledForDeployment": true}).requireStatus(200)
	w.kvCall(w.vaultToken(w.operator), "GET", "onevault", "/secrets/s?api-version=7.5", nil).requireStatus(200)
	w.armCall("PUT", w.rgPath("rg2")+"?api-version=2021-04-01", map[string]any{"location": "chinanorth"}).requireStatus(201)
	a := w.armCall("PUT", w.vaultPath("rg2", "OneVault")+"?api-version=2023-07-01", map[string]any{"location": "chinanorth", "properties": map[string]any{"tenantId": w.dir.TenantID, "sku": map[string]any{"name": "standard"}}})
	assert.Equal(t, 409, a.code)
	assert.Equal(t, "VaultAlreadyExists", errCode(a))

	g := w.armCall("GET", w.vaultPath("rg", "onevault")+"?api-version=2023-07-01", nil).requireStatus(200)
	assert.True(t, g.get("properties.enabledForDeployment").Bool())
	assert.Equal(t, "https://onevault.vault.azure.cn/", g.get("properties.vaultUri").String())
	assert.EqualValues(t, 1, w.armCall("GET", w.rgPath("rg")+"/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01", nil).requireStatus(200).get("value.#").Int())
	assert.EqualValues(t, 1, w.armCall("GET", "/subscriptions/"+w.sub+"/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01", nil).requireStatus(200).get("value.#").Int())
	assert.Equal(t, 404, w.armCall("GET", w.vaultPath("rg", "nothere")+"?api-version=2023-07-01", nil).code)

	// The VM identity, without RBAC on the group, cannot read the vault resource.
	vmARM, err := w.iss.ManagedIdentityToken(w.vm, w.c.ARMResource, w.vm.ResourceID)
	require.NoError(t, err)
	assert.Equal(t, 403, w.serve(w.arm, "GET", "https://"+w.c.ARMHost+w.vaultPath("rg", "onevault")+"?api-version=2023-07-01", bearer(vmARM.Raw), nil).code)
	assert.EqualValues(t, 0, gjsonLen(w.serve(w.arm, "GET", "https://"+w.c.ARMHost+"/subscriptions/"+w.sub+"/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01", bearer(vmARM.Raw), nil)))

	// Deleting the resource group takes the vault and its secrets; the
	// host stops answering.
	assert.True(t, w.kv.Serves("onevault.vault.azure.cn"))
	w.armCall("DELETE", w.rgPath("rg")+"?api-version=2021-04-01", nil)
	assert.False(t, w.kv.Serves("onevault.vault.azure.cn"))
	assert.Equal(t, 404, w.kvCall(w.vaultToken(w.operator), "GET", "onevault", "/secrets/s?api-version=7.5", nil).code)
	// The name is free again (vault-level soft delete is not emulated).
	w.armCall("PUT", w.vaultPath("rg2", "onevault")+"?api-version=2023-07-01", map[string]any{"location": "chinanorth", "properties": map[string]any{"tenantId": w.dir.TenantID, "sku": map[string]any{"name": "standard"}}}).requireStatus(200)
	assert.Equal(t, 204, w.armCall("DELETE", w.vaultPath("rg2", "gone")+"?api-version=2023-07-01", nil).code)
	assert.Equal(t, 200, w.armCall("DELETE", w.vaultPath("rg2", "onevault")+"?api-version=2023-07-01", nil).code)
	assert.False(t, w.kv.Serves("onevault.vault.azure.cn"))
}

func gjsonLen(a answer) int64 { return a.get("value.#").Int() }
