package arm_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/emulatortest"
)

// world is a started, seeded emulator reached at Azure's real host names.
type world struct {
	t      testing.TB
	e      *emulator.Emulator
	client *http.Client
}

// startWorld starts an emulator of AzureCloud with the given pacing of
// long-running operations (nil: the default), in memory and reached in
// process (emulatortest).
func startWorld(t testing.TB, lro *arm.LROTiming) *world {
	t.Helper()
	e := emulatortest.Start(t, emulatortest.Options{Config: emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), LRO: lro}})
	return &world{t: t, e: e, client: emulatortest.Client(e)}
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
}

func (a answer) json(t testing.TB) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(a.raw, &v), "%s", a.raw)
	return v
}

// call sends a Resource Manager request as the operator; u is a path or
// an absolute URL (a polling URL).
func (w *world) call(method, u string, body any) answer {
	w.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = "https://" + w.e.Cloud.ARMHost + u
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(w.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(w.t, err)
	tok, err := w.e.Issuer.AppToken(w.e.Operator, w.e.Cloud.ARMResource)
	require.NoError(w.t, err)
	req.Header.Set("Authorization", "Bearer "+tok.Raw)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(w.t, err)
	return answer{status: resp.StatusCode, header: resp.Header, raw: raw}
}

func (w *world) rg() string {
	return "/subscriptions/" + w.e.SubscriptionID() + "/resourceGroups/" + emulator.SeedResourceGroup
}

// recording reads a testdata file: an excerpt of a recorded exchange.
func recording(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	src, _ := m["source"].(map[string]any)
	require.NotEmpty(t, src["repo"], "%s names the repository it was recorded in", name)
	require.NotEmpty(t, src["path"], "%s names the recording's path", name)
	return m
}

// shape flattens a JSON value into its field paths and JSON types
// ("properties.osProfile.secrets": "array"); array elements share the
// path "name[]". Values are ignored: ids, names and times differ between
// any two real answers too.
func shape(v any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if path != "" {
				out[path] = "object"
			}
			for k, c := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, c)
			}
		case []any:
			out[path] = "array"
			for _, c := range x {
				walk(path+"[]", c)
			}
		case string:
			out[path] = "string"
		case float64:
			out[path] = "number"
		case bool:
			out[path] = "boolean"
		case nil:
			out[path] = "null"
		}
	}
	walk("", v)
	return out
}

// sameShape requires the emulator's answer to have exactly the recorded
// field paths with the recorded JSON types, except paths under skipRecorded
// (present in the recording because of what that request asked for) and
// under extra (what the emulator's answer has for a reason given beside
// the call: a newer api-version's field, a request of its own).
func sameShape(t testing.TB, what string, recorded, got any, skipRecorded, extra []string) {
	t.Helper()
	under := func(p string, list []string) bool {
		for _, x := range list {
			if p == x || strings.HasPrefix(p, x+".") || strings.HasPrefix(p, x+"[]") {
				return true
			}
		}
		return false
	}
	rec, emu := shape(recorded), shape(got)
	var problems []string
	for p, typ := range rec {
		if under(p, skipRecorded) {
			continue
		}
		switch g, ok := emu[p]; {
		case !ok:
			problems = append(problems, "missing "+p+" ("+typ+")")
		case g != typ:
			problems = append(problems, p+" is "+g+", recorded "+typ)
		}
	}
	for p := range emu {
		if _, ok := rec[p]; !ok && !under(p, extra) && !under(p, skipRecorded) {
			problems = append(problems, "not recorded: "+p)
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("%s differs from the recording:\n  %s", what, strings.Join(problems, "\n  "))
	}
}

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

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }
