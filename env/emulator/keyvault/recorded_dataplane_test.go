package keyvault

import (
	"crypto/sha256"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/miconform/miconform/env/emulator/recording"
)

// exchange is one request whose answer is held against a recorded one.
type exchange struct {
	file   string
	method string
	path   string
	body   any
	// clientID is sent as x-ms-client-request-id (the .NET recordings
	// carry its echo).
	clientID string
	// ignore names headers a recording lacks for reasons of the recorder,
	// not of Key Vault (the Python test proxy drops x-ms-request-id; the
	// service stopped sending X-Powered-By in April 2022 and again sends
	// it in later recordings; IIS's Server and X-AspNet-Version were gone
	// by 2021).
	ignore []string
}

// pyProxy is what the Python recordings lack: x-ms-request-id, which their
// test proxy keeps out (the .NET recordings of the same months have it).
var pyProxy = []string{"x-ms-request-id"}

// pyApril2022 adds X-Powered-By, absent from the service's answers of
// April 2022 only (March 2022 recordings have it).
var pyApril2022 = []string{"x-ms-request-id", "X-Powered-By"}

// iis2019 are the IIS headers of 2019 recordings that later recordings
// (2021, 2022) no longer have.
var iis2019 = []string{"Server", "X-AspNet-Version"}

// hold sends x to the vault and compares the answer with x.file: status,
// header names (both ways, but for x.ignore), body field paths and types.
func (w *world) hold(t *testing.T, tok, vault string, x exchange) answer {
	t.Helper()
	want, err := recording.Load(x.file)
	require.NoError(t, err)
	h := bearer(tok)
	if x.clientID != "" {
		h.Set("x-ms-client-request-id", x.clientID)
	}
	a := w.serve(w.kv, x.method, "https://"+vault+"."+w.c.VaultSuffix+x.path, h, x.body)
	assert.Equal(t, want.Status, a.code, "%s %s: %s", x.method, x.path, a.body)
	assert.Empty(t, want.HeaderDiffs(a.hdr, true, x.ignore...), "%s %s (%s)", x.method, x.path, want.Source)
	if len(want.Body) == 0 {
		assert.Empty(t, a.body, "%s %s: recorded without a body", x.method, x.path)
	} else {
		assert.Empty(t, want.JSONDiffs(a.body), "%s %s (%s)", x.method, x.path, want.Source)
	}
	return a
}

// lastSegment is the version at the end of a secret id or key kid.
func lastSegment(id string) string { return path.Base(id) }

// rbacWorld is a world with an RBAC vault where the operator holds Key
// Vault Administrator at the vault's scope, as the Python and .NET live
// tests of 2022 ran, and an access-policy vault as the 2019 ones did.
func rbacWorld(t *testing.T) (*world, string) {
	w := newWorld(t, "AzureCloud")
	require.Less(t, w.newVault("recrbac", map[string]any{"enableRbacAuthorization": true, "accessPolicies": []any{}}).code, 300)
	require.NoError(t, w.rb.Create(rbac.Assignment{
		Name: directory.NewGUID(), Scope: w.vaultPath("rg", "recrbac"),
		RoleDefinitionID: rbac.RoleDefinitionID(w.sub, "00482a5a-887f-4fb3-b363-3b7fe8e74483"), // Key Vault Administrator
		PrincipalID:      w.operator.ObjectID, PrincipalType: "ServicePrincipal",
	}))
	require.Less(t, w.newVault("recpolicy", map[string]any{"accessPolicies": []any{map[string]any{
		"tenantId": w.dir.TenantID, "objectId": w.operator.ObjectID,
		"permissions": map[string]any{"secrets": []string{"all"}, "keys": []string{"all"}},
	}}}).code, 300)
	return w, w.vaultToken(w.operator)
}

// TestSecretsAnswerAsRecorded walks every secrets operation on an RBAC
// vault in an order that gives each the object the recording had (an
// expiry, a content type and tags where the recorded one had them), and
// holds each answer against the live recording.
func TestSecretsAnswerAsRecorded(t *testing.T) {
	w, tok := rbacWorld(t)
	const v = "recrbac"
	q := "?api-version=7.3"
	w.kvCall(tok, "PUT", v, "/secrets/plain"+q, map[string]any{"value": "value0"}).requireStatus(200)
	w.hold(t, tok, v, exchange{file: "testdata/list_secrets_7.3_recorded.json", method: "GET", path: "/secrets" + q, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/list_secret_versions_7.3_recorded.json", method: "GET", path: "/secrets/plain/versions" + q, ignore: pyProxy})

	set := w.hold(t, tok, v, exchange{file: "testdata/set_secret_7.3_recorded.json", method: "PUT", path: "/secrets/rec1" + q,
		body: map[string]any{"value": "secret-value", "attributes": map[string]any{"exp": 2527401600}}, ignore: pyProxy})
	ver := lastSegment(set.get("id").String())
	require.NotEmpty(t, ver)
	w.hold(t, tok, v, exchange{file: "testdata/get_secret_7.3_recorded.json", method: "GET", path: "/secrets/rec1" + q, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/get_secret_7.3_recorded.json", method: "GET", path: "/secrets/rec1/" + ver + q, ignore: pyProxy})
	upd := map[string]any{"contentType": "text/plain", "tags": map[string]string{"foo": "updated tag"}}
	w.hold(t, tok, v, exchange{file: "testdata/update_secret_7.3_recorded.json", method: "PATCH", path: "/secrets/rec1" + q, body: upd, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/update_secret_7.3_recorded.json", method: "PATCH", path: "/secrets/rec1/" + ver + q, body: upd, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/delete_secret_7.3_recorded.json", method: "DELETE", path: "/secrets/rec1" + q, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/get_deleted_secret_7.3_recorded.json", method: "GET", path: "/deletedsecrets/rec1" + q, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/list_deleted_secrets_7.3_recorded.json", method: "GET", path: "/deletedsecrets" + q, ignore: pyProxy})

	w.kvCall(tok, "DELETE", v, "/secrets/plain"+q, nil).requireStatus(200)
	w.hold(t, tok, v, exchange{file: "testdata/recover_deleted_secret_7.3_recorded.json", method: "POST", path: "/deletedsecrets/plain/recover" + q, ignore: pyProxy})
	bak := w.hold(t, tok, v, exchange{file: "testdata/backup_secret_7.3_recorded.json", method: "POST", path: "/secrets/plain/backup" + q, ignore: pyProxy})
	w.kvCall(tok, "DELETE", v, "/secrets/plain"+q, nil).requireStatus(200)
	w.hold(t, tok, v, exchange{file: "testdata/purge_deleted_secret_7.3_recorded.json", method: "DELETE", path: "/deletedsecrets/plain" + q, ignore: pyProxy})
	w.hold(t, tok, v, exchange{file: "testdata/restore_secret_7.3_recorded.json", method: "POST", path: "/secrets/restore" + q,
		body: map[string]any{"value": bak.get("value").String()}, ignore: pyProxy})
}

// TestKeysAnswerAsRecorded does the same for keys and the cryptographic
// operations, each under both of its routes (with a version, and without
// one, which the route table serves as the latest version).
func TestKeysAnswerAsRecorded(t *testing.T) {
	w, tok := rbacWorld(t)
	const v = "recrbac"
	q := "?api-version=7.3"
	ec := w.hold(t, tok, v, exchange{file: "testdata/create_ec_key_7.3_recorded.json", method: "POST", path: "/keys/ec1/create" + q,
		body: map[string]any{"kty": "EC", "crv": "P-256"}, ignore: pyApril2022})
	ver := lastSegment(ec.get("key.kid").String())
	require.NotEmpty(t, ver)
	w.kvCall(tok, "POST", v, "/keys/rsa1/create"+q, map[string]any{"kty": "RSA"}).requireStatus(200)
	w.hold(t, tok, v, exchange{file: "testdata/list_keys_7.3_recorded.json", method: "GET", path: "/keys" + q + "&maxresults=1", ignore: pyApril2022})
	w.hold(t, tok, v, exchange{file: "testdata/list_key_versions_7.3_recorded.json", method: "GET", path: "/keys/rsa1/versions" + q, ignore: pyApril2022})
	w.hold(t, tok, v, exchange{file: "testdata/get_key_7.3_recorded.json", method: "GET", path: "/keys/ec1" + q, ignore: pyApril2022})
	w.hold(t, tok, v, exchange{file: "testdata/get_key_7.3_recorded.json", method: "GET", path: "/keys/ec1/" + ver + q, ignore: pyApril2022})
	upd := map[string]any{"attributes": map[string]any{"exp": 2524723200}, "tags": map[string]string{"foo": "updated tag"}}
	w.hold(t, tok, v, exchange{file: "testdata/update_key_7.3_recorded.json", method: "PATCH", path: "/keys/ec1" + q, body: upd, ignore: pyApril2022})
	w.hold(t, tok, v, exchange{file: "testdata/update_key_7.3_recorded.json", method: "PATCH", path: "/keys/ec1/" + ver + q, body: upd, ignore: pyApril2022})

	// Crypto on rsa1 (RBAC vault, the .NET recordings of March 2022).
	digest := sha256.Sum256([]byte("recorded"))
	rsa := w.kvCall(tok, "GET", v, "/keys/rsa1"+q, nil).requireStatus(200)
	rver := lastSegment(rsa.get("key.kid").String())
	for _, p := range []string{"/keys/rsa1/" + rver, "/keys/rsa1"} {
		wr := w.hold(t, tok, v, exchange{file: "testdata/wrapkey_7.3_recorded.json", method: "POST", path: p + "/wrapkey" + q, clientID: "6ae40bfc67c0ab4d4167f5567b5dd770",
			body: map[string]any{"alg": "RSA-OAEP", "value": b64(digest[:])}})
		w.hold(t, tok, v, exchange{file: "testdata/unwrapkey_7.3_recorded.json", method: "POST", path: p + "/unwrapkey" + q, clientID: "0adbe2ec4f040f0465b111cae356b195",
			body: map[string]any{"alg": "RSA-OAEP", "value": wr.get("value").String()}})
		sg := w.hold(t, tok, v, exchange{file: "testdata/sign_7.3_recorded.json", method: "POST", path: p + "/sign" + q, clientID: "2e6f1e3de745e526cf46d6f51151efe4",
			body: map[string]any{"alg": "RS256", "value": b64(digest[:])}})
		ok := w.hold(t, tok, v, exchange{file: "testdata/verify_7.3_recorded.json", method: "POST", path: p + "/verify" + q, clientID: "92fe753f1603054872db20a8487895da",
			body: map[string]any{"alg": "RS256", "digest": b64(digest[:]), "value": sg.get("value").String()}})
		assert.True(t, ok.get("value").Bool())
	}

	w.hold(t, tok, v, exchange{file: "testdata/delete_key_7.3_recorded.json", method: "DELETE", path: "/keys/ec1" + q, ignore: pyApril2022})
	w.hold(t, tok, v, exchange{file: "testdata/get_deleted_key_7.3_recorded.json", method: "GET", path: "/deletedkeys/ec1" + q, ignore: pyApril2022})
	w.kvCall(tok, "POST", v, "/deletedkeys/ec1/recover"+q, nil).requireStatus(200)
	// The recorded deleted-keys page lists keys without expiry or tags:
	// list two such, one a page.
	w.kvCall(tok, "POST", v, "/keys/rsa2/create"+q, map[string]any{"kty": "RSA"}).requireStatus(200)
	w.kvCall(tok, "DELETE", v, "/keys/rsa1"+q, nil).requireStatus(200)
	w.kvCall(tok, "DELETE", v, "/keys/rsa2"+q, nil).requireStatus(200)
	w.hold(t, tok, v, exchange{file: "testdata/list_deleted_keys_7.3_recorded.json", method: "GET", path: "/deletedkeys" + q + "&maxresults=1", ignore: pyApril2022})
	w.hold(t, tok, v, exchange{file: "testdata/recover_deleted_key_7.3_recorded.json", method: "POST", path: "/deletedkeys/rsa1/recover" + q, ignore: pyApril2022})

	// Encrypt, decrypt and purge as recorded in 2019 on an access-policy
	// vault (api-version 7.0): no RBAC headers.
	const pv = "recpolicy"
	q0 := "?api-version=7.0"
	k := w.kvCall(tok, "POST", pv, "/keys/rsa0/create"+q0, map[string]any{"kty": "RSA"}).requireStatus(200)
	kver := lastSegment(k.get("key.kid").String())
	for _, p := range []string{"/keys/rsa0/" + kver, "/keys/rsa0"} {
		enc := w.hold(t, tok, pv, exchange{file: "testdata/encrypt_7.0_recorded.json", method: "POST", path: p + "/encrypt" + q0,
			body: map[string]any{"alg": "RSA-OAEP", "value": b64(digest[:])}, ignore: iis2019})
		dec := w.hold(t, tok, pv, exchange{file: "testdata/decrypt_7.0_recorded.json", method: "POST", path: p + "/decrypt" + q0,
			body: map[string]any{"alg": "RSA-OAEP", "value": enc.get("value").String()}, ignore: iis2019})
		assert.Equal(t, b64(digest[:]), dec.get("value").String())
	}
	w.kvCall(tok, "DELETE", pv, "/keys/rsa0"+q0, nil).requireStatus(200)
	w.hold(t, tok, pv, exchange{file: "testdata/purge_deleted_key_7.0_recorded.json", method: "DELETE", path: "/deletedkeys/rsa0" + q0, ignore: iis2019})
}

// TestRBACHeadersOnlyWhenRBACAuthorized: the assignment header names the
// granting assignment (stable per assignment), and neither RBAC header is
// on access-policy answers or on answers refused before authorization.
func TestRBACHeadersOnlyWhenRBACAuthorized(t *testing.T) {
	w, tok := rbacWorld(t)
	a1 := w.kvCall(tok, "PUT", "recrbac", "/secrets/a?api-version=7.5", map[string]any{"value": "x"}).requireStatus(200)
	a2 := w.kvCall(tok, "GET", "recrbac", "/secrets/a?api-version=7.5", nil).requireStatus(200)
	id := a1.hdr.Get("x-ms-keyvault-rbac-assignment-id")
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	assert.Equal(t, id, a2.hdr.Get("x-ms-keyvault-rbac-assignment-id"))
	assert.Regexp(t, `^ra_age=\d+;da_age=\d+;rd_age=\d+;brd_age=\d+;ra_notif_age=\d+;dec_lev=1;$`, a1.hdr.Get("x-ms-keyvault-rbac-cache"))

	p := w.kvCall(tok, "PUT", "recpolicy", "/secrets/a?api-version=7.5", map[string]any{"value": "x"}).requireStatus(200)
	none := w.kvCall("", "GET", "recrbac", "/secrets/a?api-version=7.5", nil).requireStatus(401)
	other := w.vaultToken(w.vm) // no role on the vault: 403 ForbiddenByRbac
	denied := w.kvCall(other, "GET", "recrbac", "/secrets/a?api-version=7.5", nil).requireStatus(403)
	for _, a := range []answer{p, none, denied} {
		for k := range a.hdr {
			assert.False(t, strings.HasPrefix(strings.ToLower(k), "x-ms-keyvault-rbac-"), "%s on a %d", k, a.code)
		}
	}
}
