package blob_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/emulator/rbac"
	"github.com/stretchr/testify/require"
)

// fixture is a started emulator seeded with the tutorials' world, and a
// client that reaches it at the real Azure host names.
type fixture struct {
	t    testing.TB
	e    *emulator.Emulator
	c    *http.Client
	acct string
	// base is the seeded account's blob endpoint.
	base string
	// acctID is the seeded account's resource id.
	acctID string
	vmOID  string
}

func newFixture(t testing.TB, cloudName string) *fixture {
	t.Helper()
	f := startFixture(t, emulator.Config{Cloud: cloud.MustLookup(cloudName)})
	t.Cleanup(f.close)
	return f
}

// startFixture starts and seeds an emulator, in memory unless cfg has a
// StateDir, reached in process (emulatortest); the caller closes it (the
// test's end does too). One started again on the same StateDir is the
// first one restarted.
func startFixture(t testing.TB, cfg emulator.Config) *fixture {
	t.Helper()
	e := emulatortest.Start(t, emulatortest.Options{Config: cfg})
	a, ok := e.Blob.Account(emulator.SeedStorageAccount)
	require.True(t, ok)
	vm, ok := e.ARM.VirtualMachine(e.World.VMResourceID)
	require.True(t, ok)
	return &fixture{t: t, e: e, c: emulatortest.Client(e), acct: a.Name, base: e.Blob.Endpoint(a.Name), acctID: a.ResourceID, vmOID: vm.Identity.PrincipalID}
}

// close stops the emulator (which closes its clients' idle connections
// first).
func (f *fixture) close() { f.e.Close() }

// res is one answer, read whole.
type res struct {
	status int
	header http.Header
	body   []byte
}

func (r res) code() string { return r.header.Get("x-ms-error-code") }

func (f *fixture) do(method, u string, h http.Header, body []byte) res {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(f.t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := f.c.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return res{resp.StatusCode, resp.Header, b}
}

// arm sends a Resource Manager request as the operator.
func (f *fixture) arm(method, path string, body any) res {
	f.t.Helper()
	tok, err := f.e.Issuer.AppToken(f.e.Operator, f.e.Cloud.ARMResource)
	require.NoError(f.t, err)
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	return f.do(method, "https://"+f.e.Cloud.ARMHost+path, http.Header{"Authorization": {"Bearer " + tok.Raw}, "Content-Type": {"application/json"}}, b)
}

// sas asks Resource Manager for a service SAS on the seeded container.
func (f *fixture) sas(params map[string]any) string {
	f.t.Helper()
	p := map[string]any{
		"canonicalizedResource": "/blob/" + f.acct + "/" + emulator.SeedContainer, "signedResource": "c",
		"signedPermission": "rcw", "signedProtocol": "https", "signedExpiry": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}
	for k, v := range params {
		p[k] = v
	}
	r := f.arm("POST", f.acctID+"/listServiceSas/?api-version=2017-06-01", p)
	require.Equal(f.t, 200, r.status, string(r.body))
	var out struct{ ServiceSasToken string }
	require.NoError(f.t, json.Unmarshal(r.body, &out))
	return out.ServiceSasToken
}

// key1 is the seeded account's first key, from listKeys.
func (f *fixture) key(i int) string {
	f.t.Helper()
	r := f.arm("POST", f.acctID+"/listKeys?api-version=2023-01-01", nil)
	require.Equal(f.t, 200, r.status, string(r.body))
	var out struct{ Keys []struct{ Value string } }
	require.NoError(f.t, json.Unmarshal(r.body, &out))
	return out.Keys[i].Value
}

// token is an access token for the VM's system-assigned identity.
func (f *fixture) vmToken(resource string) string {
	f.t.Helper()
	p, ok := f.e.Dir.ByObjectID(f.vmOID)
	require.True(f.t, ok)
	tok, err := f.e.Issuer.ManagedIdentityToken(p, resource, f.e.World.VMResourceID)
	require.NoError(f.t, err)
	return tok.Raw
}

// grant assigns a built-in role to a principal at a scope, directly, and
// returns the assignment's name.
func (f *fixture) grant(role, principal, scope string) string {
	f.t.Helper()
	def, ok := f.e.RBAC.RoleByName(role)
	require.True(f.t, ok, role)
	name := directory.NewGUID()
	require.NoError(f.t, f.e.RBAC.Create(rbac.Assignment{
		Name: name, Scope: scope, RoleDefinitionID: rbac.RoleDefinitionID(f.e.SubscriptionID(), def.ID),
		PrincipalID: principal, PrincipalType: "ServicePrincipal",
	}))
	return name
}

// blobURL is a blob of the seeded container.
func (f *fixture) blobURL(name string) string {
	return f.base + emulator.SeedContainer + "/" + url.PathEscape(name)
}

func bearer(tok, version string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}, "x-ms-version": {version}}
}

// withSAS appends a SAS to a URL.
func withSAS(u, sas string) string {
	if strings.Contains(u, "?") {
		return u + "&" + sas
	}
	return u + "?" + sas
}
