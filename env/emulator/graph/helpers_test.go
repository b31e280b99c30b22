package graph

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
)

const (
	tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	rgID   = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/myResourceGroupVM"
	vmID   = rgID + "/providers/Microsoft.Compute/virtualMachines/myVM"
	uaiID  = rgID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
)

func signingKey() *entra.SigningKey { return entratest.Key() }

// fixture is Graph over a tenant with the operator application (granted
// Directory.Read.All, as the emulator grants it), a VM's system-assigned
// identity and a user-assigned identity.
type fixture struct {
	t        testing.TB
	c        cloud.Profile
	iss      *entra.Issuer
	g        *Service
	operator directory.Principal
	system   directory.Principal
	user     directory.Principal
}

func newFixture(t testing.TB, cloudName string) *fixture {
	c := cloud.MustLookup(cloudName)
	dir := directory.New(tenant)
	f := &fixture{t: t, c: c}
	f.operator = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "miconform-operator",
		Kind: directory.Application, Secret: "s3cr3t-value-of-forty-characters-long-xx", GraphRoles: []string{DirectoryRead}}
	f.system = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "myVM", Kind: directory.SystemAssigned, ResourceID: vmID}
	f.user = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "ID1", Kind: directory.UserAssigned, ResourceID: uaiID}
	for _, p := range []directory.Principal{f.operator, f.system, f.user} {
		dir.Add(p)
	}
	f.operator, _ = dir.ByObjectID(f.operator.ObjectID)
	f.system, _ = dir.ByObjectID(f.system.ObjectID)
	f.user, _ = dir.ByObjectID(f.user.ObjectID)
	f.iss = entra.NewIssuer(c, dir, signingKey())
	f.g = New(c, f.iss)
	return f
}

// operatorToken is a client-credentials token of the operator for Graph.
func (f *fixture) operatorToken() string {
	tok, err := f.iss.AppToken(f.operator, f.c.GraphResource)
	require.NoError(f.t, err)
	return tok.Raw
}

// miToken is an IMDS token of a managed identity for Graph.
func (f *fixture) miToken(p directory.Principal) string {
	tok, err := f.iss.ManagedIdentityToken(p, f.c.GraphResource, vmID)
	require.NoError(f.t, err)
	return tok.Raw
}

type answer struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

func (f *fixture) do(method, path, token string, body string) answer {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "https://"+f.c.GraphHost+path, rd)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.g.ServeHTTP(w, r)
	a := answer{code: w.Code, header: w.Header(), raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &a.body)
	return a
}

func (f *fixture) get(path, token string) answer { return f.do(http.MethodGet, path, token, "") }

func (a answer) errCode() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (a answer) errMessage() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (a answer) value() []map[string]any {
	var out []map[string]any
	v, _ := a.body["value"].([]any)
	for _, x := range v {
		out = append(out, x.(map[string]any))
	}
	return out
}

// recording is a recorded Graph answer in testdata (each file names its source).
type recording struct {
	Source  string            `json:"source"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    map[string]any    `json:"body"`
}

func loadRecording(t testing.TB, name string) recording {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var r recording
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

// assertLike compares an answer with a recording: the status, each
// recorded header (the same value, except the ids, which need only be
// there) and the body's field paths and JSON types. A field the recording
// has as null may be anything here and the other way round: Graph sends
// null for what the principal lacks (an app display name for a managed
// identity). Arrays are compared through their first elements.
func assertLike(t testing.TB, rec recording, a answer) {
	t.Helper()
	assert.Equal(t, rec.Status, a.code, "status (%s)", rec.Source)
	for k, v := range rec.Headers {
		got := a.header.Get(k)
		if strings.EqualFold(k, "request-id") || strings.EqualFold(k, "client-request-id") {
			assert.Regexp(t, `^[0-9a-f-]{36}$`, got, "header %s", k)
			continue
		}
		assert.Equal(t, v, got, "header %s (%s)", k, rec.Source)
	}
	want, got := shape(rec.Body, ""), shape(a.body, "")
	assert.Equal(t, comparable(want, got), comparable(got, want), "field paths (%s)", rec.Source)
	for p, wt := range want {
		if gt, ok := got[p]; ok && wt != "null" && gt != "null" {
			assert.Equal(t, wt, gt, "type of %s (%s)", p, rec.Source)
		}
	}
}

// shape maps each field path to its JSON type.
func shape(v any, path string) map[string]string {
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]any:
		if path != "" {
			out[path] = "object"
		}
		for k, v := range x {
			for p, t := range shape(v, strings.TrimPrefix(path+"."+k, ".")) {
				out[p] = t
			}
		}
	case []any:
		out[path] = "array"
		if len(x) > 0 {
			for p, t := range shape(x[0], path+"[]") {
				out[p] = t
			}
		}
	case string:
		out[path] = "string"
	case bool:
		out[path] = "bool"
	case float64:
		out[path] = "number"
	case nil:
		out[path] = "null"
	}
	return out
}

// comparable is m's paths, less those inside an array that is empty in
// other (a recorded empty list says nothing of its elements).
func comparable(m, other map[string]string) []string {
	var out []string
	for k := range m {
		skip := false
		for i := strings.Index(k, "[]"); i >= 0; i = nextArray(k, i) {
			if _, ok := other[k[:i+2]]; !ok && other[k[:i]] == "array" {
				skip = true
				break
			}
		}
		if !skip {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func nextArray(k string, i int) int {
	j := strings.Index(k[i+2:], "[]")
	if j < 0 {
		return -1
	}
	return i + 2 + j
}
