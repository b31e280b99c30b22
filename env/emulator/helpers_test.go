package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/wine/winetest"
)

// harness is a started emulator and a client that reaches it at the real
// Azure host names.
type harness struct {
	t      testing.TB
	E      *emulator.Emulator
	client *http.Client
	// stateDir holds the emulator's CA, signing key and ids.
	stateDir string
}

type opts struct {
	cloud    string
	seed     string
	throttle bool
	// stateDir keeps the emulator's state on disk; without it the
	// emulator is in memory and signs with the process's shared key
	// (each emulator still has its own tenant), which skips a key
	// generation and every fsync.
	stateDir bool
	// listen opens the listeners, and the client goes through them (TLS,
	// HTTP/2); without it the client is the in-process transport.
	listen bool
}

// start is the package's one way to start an emulator for a test, over
// the shared helper (emulatortest).
func start(t testing.TB, o opts) *harness {
	t.Helper()
	if o.cloud == "" {
		o.cloud = "AzureCloud"
	}
	cfg := emulator.Config{Cloud: cloud.MustLookup(o.cloud), Seed: o.seed, IMDSThrottle: o.throttle}
	dir := ""
	if o.stateDir {
		dir = winetest.TempDir(t)
		cfg.StateDir = dir
	}
	e := emulatortest.Start(t, emulatortest.Options{Config: cfg, Listen: o.listen})
	h := &harness{t: t, E: e, client: emulatortest.Client(e), stateDir: dir}
	if o.listen {
		h.client = e.HTTPClient()
	}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// reply is one HTTP answer with its body decoded when it is JSON.
type reply struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r reply) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (r reply) value() []map[string]any {
	var out []map[string]any
	v, _ := r.body["value"].([]any)
	for _, x := range v {
		out = append(out, x.(map[string]any))
	}
	return out
}

// get reads s[path...] from nested maps.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func (h *harness) do(method, rawURL string, header http.Header, body any) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	require.NoError(h.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	r := reply{code: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(h.t, json.Unmarshal(raw, &r.body), "%s %s: %s", method, rawURL, raw)
	}
	return r
}

// arm sends a Resource Manager request with a bearer token ("" for none).
func (h *harness) arm(method, path, token string, body any) reply {
	h.t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	return h.do(method, "https://"+h.E.Cloud.ARMHost+path, hdr, body)
}

// op sends a Resource Manager request as the operator (subscription Owner).
func (h *harness) op(method, path string, body any) reply {
	h.t.Helper()
	return h.arm(method, path, h.operatorToken(), body)
}

func (h *harness) operatorToken() string {
	h.t.Helper()
	tok, err := h.E.Issuer.AppToken(h.E.Operator, h.E.Cloud.ARMResource)
	require.NoError(h.t, err)
	return tok.Raw
}

// imds sends an IMDS GET with Metadata: true to 169.254.169.254.
func (h *harness) imds(path string, q url.Values) reply {
	h.t.Helper()
	u := "http://169.254.169.254" + path
	if q != nil {
		u += "?" + q.Encode()
	}
	return h.do("GET", u, http.Header{"Metadata": {"true"}}, nil)
}

func (h *harness) sub() string { return "/subscriptions/" + h.E.SubscriptionID() }

func (h *harness) rg(name string) string { return h.sub() + "/resourceGroups/" + name }

// newApp registers an application with a secret and no role assignments.
func (h *harness) newApp(name string) directory.Principal {
	p := directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: name, Kind: directory.Application, Secret: "secret-" + name}
	h.E.Dir.Add(p)
	return p
}

func (h *harness) appToken(p directory.Principal, resource string) string {
	h.t.Helper()
	tok, err := h.E.Issuer.AppToken(p, resource)
	require.NoError(h.t, err)
	return tok.Raw
}

// assignRole gives principal a built-in role at scope, through ARM as the
// operator.
func (h *harness) assignRole(principalID, roleGUID, scope string) string {
	h.t.Helper()
	name := directory.NewGUID()
	r := h.op("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01", map[string]any{
		"properties": map[string]any{"roleDefinitionId": h.sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + roleGUID, "principalId": principalID, "principalType": "ServicePrincipal"},
	})
	require.Equal(h.t, 201, r.code, "%s", r.raw)
	return name
}

const (
	readerRole      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	contributorRole = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ownerRole       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	miOperatorRole  = "f1a07417-d97a-45cb-824c-7a7467783830"
)

// vmPrincipalID reads a VM's system-assigned principal id through ARM.
func (h *harness) vmPrincipalID(vmID string) string {
	h.t.Helper()
	r := h.op("GET", vmID+"?api-version=2024-07-01", nil)
	require.Equal(h.t, 200, r.code, "%s", r.raw)
	return str(r.body, "identity", "principalId")
}

// sharedKey is the signing key of the package's in-memory emulators.
func sharedKey(testing.TB) *entra.SigningKey { return emulatortest.SharedKey() }

// otherKey is a signing key the emulator has never seen.
func otherKey(testing.TB) *entra.SigningKey { return entratest.Other() }

// fixedTime is a clock reading with a known Resource Manager rendering.
var fixedTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
