package keyvault

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// world is one cloud with Resource Manager, Entra and Key Vault in process:
// an operator (Owner of the subscription) and a VM-like managed identity.
type world struct {
	t        testing.TB
	c        cloud.Profile
	dir      *directory.Directory
	key      *entra.SigningKey
	iss      *entra.Issuer
	rb       *rbac.Store
	arm      *arm.Server
	kv       *Service
	sub      string
	operator directory.Principal
	vm       directory.Principal
}

const ownerRole = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"

func newWorld(t testing.TB, cloudName string) *world {
	t.Helper()
	c := cloud.MustLookup(cloudName)
	key := entratest.Key()
	w := &world{t: t, c: c, key: key, sub: directory.NewGUID(), dir: directory.New(directory.NewGUID()), rb: rbac.NewStore()}
	w.iss = entra.NewIssuer(c, w.dir, key)
	w.arm = arm.New(c, w.sub, w.dir, w.iss, w.rb)
	w.kv = New(c, w.arm, w.iss, w.rb)
	w.operator = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "operator", Kind: directory.Application, Secret: "s"}
	w.vm = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "myVM", Kind: directory.SystemAssigned, ResourceID: "/subscriptions/" + w.sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/myVM"}
	w.dir.Add(w.operator)
	w.dir.Add(w.vm)
	require.NoError(t, w.rb.Create(rbac.Assignment{Name: directory.NewGUID(), Scope: "/subscriptions/" + w.sub, RoleDefinitionID: rbac.RoleDefinitionID(w.sub, ownerRole), PrincipalID: w.operator.ObjectID, PrincipalType: "ServicePrincipal"}))
	w.armCall("PUT", w.rgPath("rg")+"?api-version=2021-04-01", map[string]any{"location": c.DefaultLocation}).requireStatus(201)
	return w
}

func (w *world) rgPath(rg string) string { return "/subscriptions/" + w.sub + "/resourceGroups/" + rg }

func (w *world) vaultPath(rg, name string) string {
	return w.rgPath(rg) + "/providers/Microsoft.KeyVault/vaults/" + name
}

type answer struct {
	t    testing.TB
	code int
	hdr  http.Header
	body []byte
}

func (a answer) requireStatus(code int) answer {
	a.t.Helper()
	require.Equal(a.t, code, a.code, "body: %s", a.body)
	return a
}

func (a answer) get(path string) gjson.Result { return gjson.GetBytes(a.body, path) }

func (w *world) serve(h http.Handler, method, url string, hdr http.Header, body any) answer {
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(w.t, err)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, url, rd)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{t: w.t, code: rec.Code, hdr: rec.Header(), body: rec.Body.Bytes()}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func (w *world) armCall(method, path string, body any) answer {
	tok, err := w.iss.AppToken(w.operator, w.c.ARMResource)
	require.NoError(w.t, err)
	h := bearer(tok.Raw)
	if body != nil {
		// Resource Manager refuses a body not declared JSON (415).
		h.Set("Content-Type", "application/json")
	}
	return w.serve(w.arm, method, "https://"+w.c.ARMHost+path, h, body)
}

// vaultToken is a token for the cloud's vault resource.
func (w *world) vaultToken(p directory.Principal) string {
	w.t.Helper()
	var tok entra.Token
	var err error
	if p.Kind == directory.Application {
		tok, err = w.iss.AppToken(p, w.c.VaultResource)
	} else {
		tok, err = w.iss.ManagedIdentityToken(p, w.c.VaultResource, p.ResourceID)
	}
	require.NoError(w.t, err)
	return tok.Raw
}

// kvCall sends a data-plane request to a vault with a raw token ("" sends none).
func (w *world) kvCall(tok, method, vault, pathAndQuery string, body any) answer {
	h := http.Header{}
	if tok != "" {
		h = bearer(tok)
	}
	return w.serve(w.kv, method, "https://"+vault+"."+w.c.VaultSuffix+pathAndQuery, h, body)
}

func (w *world) policy(oid string, secrets ...string) map[string]any {
	return map[string]any{"tenantId": w.dir.TenantID, "objectId": oid, "permissions": map[string]any{"secrets": secrets}}
}

var secretManagement = []string{"get", "list", "set", "delete", "recover", "backup", "restore"}

// newVault creates an access-policy vault in rg where the operator has
// every secret permission, as the portal grants the creator.
func (w *world) newVault(name string, extra map[string]any) answer {
	props := map[string]any{
		"tenantId": w.dir.TenantID, "sku": map[string]any{"family": "A", "name": "standard"},
		"accessPolicies": []any{w.policy(w.operator.ObjectID, "all")},
	}
	for k, v := range extra {
		props[k] = v
	}
	return w.armCall("PUT", w.vaultPath("rg", name)+"?api-version=2023-07-01", map[string]any{"location": w.c.DefaultLocation, "properties": props})
}

func (w *world) addPolicy(vault, kind string, pol map[string]any) answer {
	return w.armCall("PUT", w.vaultPath("rg", vault)+"/accessPolicies/"+kind+"?api-version=2023-07-01", map[string]any{"properties": map[string]any{"accessPolicies": []any{pol}}})
}

func (w *world) setSecret(vault, name, value string) answer {
	return w.kvCall(w.vaultToken(w.operator), "PUT", vault, "/secrets/"+name+"?api-version=7.5", map[string]any{"value": value})
}

// clock is a settable clock for both the issuer and the vault.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (w *world) useClock(start time.Time) *clock {
	c := &clock{t: start}
	w.iss.SetClock(c.now)
	w.kv.SetClock(c.now)
	return c
}

func errCode(a answer) string   { return a.get("error.code").String() }
func errMsg(a answer) string    { return a.get("error.message").String() }
func innerCode(a answer) string { return a.get("error.innererror.code").String() }
