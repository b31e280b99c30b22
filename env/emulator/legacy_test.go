package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/oserr"
)

func startLegacy(t *testing.T, cfg Config) *Emulator {
	t.Helper()
	if cfg.StateDir == "" && cfg.SigningKey == nil {
		cfg.SigningKey = entratest.Key()
	}
	e, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start())
	t.Cleanup(func() { e.Close() })
	return e
}

const extAPI = "?api-version=2024-07-01"

func miExtension(typ string, port int) map[string]any {
	return map[string]any{"location": "westus", "properties": map[string]any{
		"publisher": "Microsoft.ManagedIdentity", "type": typ, "typeHandlerVersion": "1.0", "settings": map[string]any{"port": port},
	}}
}

// armCall is an operator request that may fail, with its status.
func armCall(t *testing.T, e *Emulator, method, path string, body any) (int, map[string]any) {
	t.Helper()
	tok, err := e.Issuer.AppToken(e.Operator, e.Cloud.ARMResource)
	require.NoError(t, err)
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, "https://"+e.Cloud.ARMHost+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok.Raw)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.InProcessClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func legacyToken(e *Emulator, client *http.Client, host string) (*http.Response, error) {
	req, _ := http.NewRequest("GET", "http://"+host+"/oauth2/token?resource="+url.QueryEscape(e.Cloud.ARMResource), nil)
	req.Header.Set("Metadata", "true")
	return client.Do(req)
}

func assertRefused(t *testing.T, e *Emulator, host string) {
	t.Helper()
	_, err := e.DialContext(context.Background(), "tcp", host)
	require.Error(t, err, "%s should refuse", host)
	assert.True(t, oserr.Refused(err), "%s: %v is not connection refused", host, err)
	_, err = legacyToken(e, e.HTTPClient(), host)
	assert.True(t, oserr.Refused(err), "%s: %v", host, err)
}

// TestLegacyExtensionLifecycle: without the extension localhost:50342 is
// refused; installing it through Resource Manager opens the endpoint,
// removing it closes the endpoint and its open connections.
func TestLegacyExtensionLifecycle(t *testing.T) {
	t.Parallel()
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			e := startLegacy(t, Config{Cloud: cloud.MustLookup(name)})
			ext := e.World.VMResourceID + "/extensions/ManagedIdentityExtensionForWindows"
			assert.False(t, e.LegacyListening(), "the seed leaves the extension uninstalled")
			assert.NotEmpty(t, e.LegacyAddr())
			for _, h := range []string{"localhost:50342", "127.0.0.1:50342"} {
				assertRefused(t, e, h)
			}

			code, body := armCall(t, e, "PUT", ext+extAPI, miExtension("ManagedIdentityExtensionForWindows", 50342))
			require.Equal(t, 201, code, "%v", body)
			assert.Equal(t, "ManagedIdentityExtensionForWindows", body["name"])
			assert.Equal(t, "Microsoft.Compute/virtualMachines/extensions", body["type"])
			assert.Equal(t, ext, body["id"])
			// Compute accepts the install and works on it (Azure-AsyncOperation);
			// the emulator's extension is listening at once.
			assert.Equal(t, "Creating", body["properties"].(map[string]any)["provisioningState"])
			assert.True(t, e.LegacyListening())

			client := e.HTTPClient()
			for _, h := range []string{"localhost:50342", "127.0.0.1:50342"} {
				resp, err := legacyToken(e, client, h)
				require.NoError(t, err)
				var tok map[string]string
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
				resp.Body.Close()
				require.Equal(t, 200, resp.StatusCode, "%v", tok)
				c, err := e.Issuer.Verify(tok["access_token"])
				require.NoError(t, err)
				assert.Equal(t, e.Cloud.ARMResource, c.Aud)
			}
			// The VM extension endpoint is also reachable directly.
			resp, err := legacyToken(e, http.DefaultClient, e.LegacyAddr())
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)

			code, list := armCall(t, e, "GET", e.World.VMResourceID+"/extensions"+extAPI, nil)
			require.Equal(t, 200, code)
			require.Len(t, list["value"], 1)
			assert.Equal(t, "ManagedIdentityExtensionForWindows", list["value"].([]any)[0].(map[string]any)["name"])
			code, all := armCall(t, e, "GET", "/subscriptions/"+e.SubscriptionID()+"/resources?api-version=2021-04-01&$filter="+url.QueryEscape("resourceType eq 'Microsoft.Compute/virtualMachines/extensions'"), nil)
			require.Equal(t, 200, code)
			require.Len(t, all["value"], 1)
			assert.Equal(t, "myVM/ManagedIdentityExtensionForWindows", all["value"].([]any)[0].(map[string]any)["name"])

			code, _ = armCall(t, e, "DELETE", ext+extAPI, nil)
			assert.Equal(t, 202, code, "accepted, as Compute accepts a removal")
			assert.False(t, e.LegacyListening())
			// The client's pooled keep-alive connection died with the listener.
			_, err = legacyToken(e, client, "localhost:50342")
			assert.True(t, oserr.Refused(err), "%v", err)
			assertRefused(t, e, "localhost:50342")
			code, _ = armCall(t, e, "DELETE", ext+extAPI, nil)
			assert.Equal(t, 204, code)
			code, body = armCall(t, e, "GET", ext+extAPI, nil)
			assert.Equal(t, 404, code)
			assert.Equal(t, "ResourceNotFound", body["error"].(map[string]any)["code"])

			// Reinstalled: open again at the same address.
			addr := e.LegacyAddr()
			code, _ = armCall(t, e, "PUT", ext+extAPI, miExtension("ManagedIdentityExtensionForWindows", 50342))
			require.Equal(t, 201, code)
			assert.True(t, e.LegacyListening())
			assert.Equal(t, addr, e.LegacyAddr())
			resp, err = legacyToken(e, e.HTTPClient(), "localhost:50342")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
		})
	}
}

// TestLegacyExtensionAtStart is `emulate --legacy-extension`.
func TestLegacyExtensionAtStart(t *testing.T) {
	t.Parallel()
	e := startLegacy(t, Config{LegacyExtension: true})
	assert.True(t, e.LegacyListening())
	env, err := e.Env()
	require.NoError(t, err)
	found := false
	for _, kv := range env {
		if kv.Key == "MICONFORM_LEGACY_URL" {
			found = true
			assert.Equal(t, "http://"+e.LegacyAddr(), kv.Value)
		}
	}
	assert.True(t, found, "MICONFORM_LEGACY_URL is printed")
	resp, err := legacyToken(e, e.HTTPClient(), "localhost:50342")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	_, err = New(Config{Seed: "none", LegacyExtension: true})
	assert.Error(t, err, "no VM to install it on")
}

// TestLegacyExtensionGoesWithItsVM: deleting the VM or its group removes
// the extension and closes the endpoint; a Linux extension on another port
// moves the endpoint there.
func TestLegacyExtensionGoesWithItsVM(t *testing.T) {
	t.Parallel()
	e := startLegacy(t, Config{Seed: "none"})
	rg := "/subscriptions/" + e.SubscriptionID() + "/resourceGroups/rg"
	vm := rg + "/providers/Microsoft.Compute/virtualMachines/vm"
	put := func() {
		code, _ := armCall(t, e, "PUT", rg+"?api-version=2021-04-01", map[string]any{"location": "westus"})
		require.Contains(t, []int{200, 201}, code)
		code, _ = armCall(t, e, "PUT", vm+extAPI, map[string]any{"location": "westus", "identity": map[string]any{"type": "SystemAssigned"}})
		require.Equal(t, 201, code)
		code, _ = armCall(t, e, "PUT", vm+"/extensions/msi"+extAPI, miExtension("ManagedIdentityExtensionForLinux", 50343))
		require.Equal(t, 201, code)
	}
	put()
	assert.False(t, e.LegacyListening(), "the emulator plays no VM yet")
	e.SetVM(vm)
	assert.True(t, e.LegacyListening())
	assertRefused(t, e, "localhost:50342")
	resp, err := legacyToken(e, e.HTTPClient(), "localhost:50343")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	code, _ := armCall(t, e, "DELETE", vm+extAPI, nil)
	require.Equal(t, 202, code, "Compute deletes a VM in the background")
	assert.False(t, e.LegacyListening())
	assert.Empty(t, e.ARM.VMExtensions(vm))
	assertRefused(t, e, "localhost:50342")

	put()
	assert.True(t, e.LegacyListening())
	code, _ = armCall(t, e, "DELETE", rg+"?api-version=2021-04-01", nil)
	require.Equal(t, 202, code)
	assert.False(t, e.LegacyListening())
	assert.Empty(t, e.ARM.Resources("Microsoft.Compute/virtualMachines/extensions"))
}

func TestVMExtensionErrors(t *testing.T) {
	t.Parallel()
	e := startLegacy(t, Config{})
	vm := e.World.VMResourceID
	rgDir := vm[:strings.Index(vm, "/providers/")]
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, message      string
	}{
		{"no such VM", "PUT", rgDir + "/providers/Microsoft.Compute/virtualMachines/nope/extensions/x" + extAPI, miExtension("ManagedIdentityExtensionForWindows", 50342), 404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource 'nope' not found."},
		{"list on no such VM", "GET", rgDir + "/providers/Microsoft.Compute/virtualMachines/nope/extensions" + extAPI, nil, 404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource 'nope' not found."},
		{"no properties", "PUT", vm + "/extensions/x" + extAPI, map[string]any{"location": "westus"}, 400, "InvalidParameter", "Required parameter 'properties' is missing (null)."},
		{"no typeHandlerVersion", "PUT", vm + "/extensions/x" + extAPI, map[string]any{"properties": map[string]any{"publisher": "p", "type": "t"}}, 400, "InvalidParameter", "Required parameter 'typeHandlerVersion' is missing (null)."},
		{"PATCH of a missing extension", "PATCH", vm + "/extensions/x" + extAPI, map[string]any{"properties": map[string]any{}}, 404, "ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachines/extensions/myVM/x' under resource group 'myResourceGroupVM' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"},
		{"bad JSON", "PUT", vm + "/extensions/x" + extAPI, json.RawMessage(`{"properties":`), 400, "InvalidRequestContent", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := armCall(t, e, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.status, code)
			er, _ := body["error"].(map[string]any)
			require.NotNil(t, er, "%v", body)
			assert.Equal(t, tc.code, er["code"])
			if tc.message != "" {
				assert.Equal(t, tc.message, er["message"])
			}
		})
	}
	ext := vm + "/extensions/ManagedIdentityExtensionForWindows" + extAPI
	code, _ := armCall(t, e, "PUT", ext, miExtension("ManagedIdentityExtensionForWindows", 50342))
	require.Equal(t, 201, code)
	code, body := armCall(t, e, "PUT", ext, miExtension("ManagedIdentityExtensionForLinux", 50342))
	assert.Equal(t, 400, code)
	assert.Equal(t, "OperationNotAllowed", body["error"].(map[string]any)["code"])
	code, body = armCall(t, e, "PATCH", ext, map[string]any{"properties": map[string]any{"typeHandlerVersion": "1.1"}})
	require.Equal(t, 200, code)
	assert.Equal(t, "1.1", body["properties"].(map[string]any)["typeHandlerVersion"])
	assert.Equal(t, map[string]any{"port": float64(50342)}, body["properties"].(map[string]any)["settings"])

	// The VM's own identity holds Reader on the group: it may list the
	// extensions but not install one.
	vmState, _ := e.currentVM()
	tok, err := e.Issuer.ManagedIdentityToken(*vmState.System, e.Cloud.ARMResource, vm)
	require.NoError(t, err)
	for _, m := range []struct {
		method string
		status int
	}{{"GET", 200}, {"PUT", 403}, {"DELETE", 403}} {
		req, _ := http.NewRequest(m.method, "https://"+e.Cloud.ARMHost+ext, strings.NewReader(`{"properties":{"publisher":"Microsoft.ManagedIdentity","type":"ManagedIdentityExtensionForWindows","typeHandlerVersion":"1.0"}}`))
		req.Header.Set("Authorization", "Bearer "+tok.Raw)
		resp, err := e.InProcessClient().Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, m.status, resp.StatusCode, "%s: %s", m.method, b)
		if m.status == 403 {
			assert.Contains(t, string(b), "Microsoft.Compute/virtualMachines/extensions/")
		}
	}
}

// TestLegacyVMEndpoint: the sandbox's 127.0.0.1:50342 is active only while
// the extension is installed, and serves the extension's endpoint.
func TestLegacyVMEndpoint(t *testing.T) {
	t.Parallel()
	e := startLegacy(t, Config{})
	var ep *VMEndpoint
	for _, x := range e.VMEndpoints() {
		if x.Addr == "127.0.0.1:50342" {
			ep = &x
		}
	}
	require.NotNil(t, ep)
	assert.False(t, ep.Active())
	code, _ := armCall(t, e, "PUT", e.World.VMResourceID+"/extensions/ManagedIdentityExtensionForLinux"+extAPI, miExtension("ManagedIdentityExtensionForLinux", 50342))
	require.Equal(t, 201, code)
	assert.True(t, ep.Active())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go ep.Serve(ln)
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/oauth2/token", strings.NewReader("resource=https://unknown.example/"))
	req.Header.Set("Metadata", "true")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_resource", body["error"], "the Linux extension's answer")

	code, _ = armCall(t, e, "DELETE", e.World.VMResourceID+"/extensions/ManagedIdentityExtensionForLinux"+extAPI, nil)
	require.Equal(t, 202, code)
	assert.False(t, ep.Active())
	_, err = http.DefaultClient.Do(req)
	assert.Error(t, err, "an endpoint opened earlier drops connections once the extension is gone")
}
