package faults

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/emulator/rbac"
)

// fixture is an injector over a real issuer and role store, with a fake
// clock for fault windows.
type fixture struct {
	in    *Injector
	iss   *entra.Issuer
	store *rbac.Store
	now   time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	f.iss = entra.NewIssuer(cloud.MustLookup("AzureCloud"), directory.New(directory.NewGUID()), entratest.Key())
	f.store = rbac.NewStore()
	f.in = New(f.iss, f.store, "arm", "login", "vault", "blob", "graph")
	f.in.SetClock(func() time.Time { return f.now })
	return f
}

// okHandler stands for the service behind the middleware.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

func (f *fixture) imdsGet() *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.in.IMDS(okHandler).ServeHTTP(rec, httptest.NewRequest("GET", "http://169.254.169.254/metadata/identity/oauth2/token", nil))
	return rec
}

func identityErr(t *testing.T, rec *httptest.ResponseRecorder) (string, string) {
	t.Helper()
	var b struct{ Error, ErrorDescription string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &struct {
		E *string `json:"error"`
		D *string `json:"error_description"`
	}{&b.Error, &b.ErrorDescription}), rec.Body.String())
	return b.Error, b.ErrorDescription
}

// 410 for N seconds (IMDS's upgrade window): every request in the window
// is answered 410, the first one after it reaches IMDS.
func TestIMDSGoneWindow(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.Apply("imds", []byte(`{"status":410,"seconds":2}`)))
	for range 3 {
		rec := f.imdsGet()
		assert.Equal(t, 410, rec.Code)
		// IMDS's own headers, as recorded: no Cache-Control (imds.writeJSON).
		assert.Empty(t, rec.Header().Get("Cache-Control"))
		assert.Contains(t, rec.Header().Get("Server"), "IMDS/")
		_, desc := identityErr(t, rec)
		assert.Contains(t, desc, "70 seconds")
	}
	f.now = f.now.Add(1999 * time.Millisecond)
	assert.Equal(t, 410, f.imdsGet().Code)
	assert.InDelta(t, 0.0, f.in.Current().IMDS.RemainingSeconds, 0.1)
	f.now = f.now.Add(time.Millisecond)
	rec := f.imdsGet()
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, "ok", rec.Body.String())
	assert.Nil(t, f.in.Current().IMDS, "an ended window is not reported")
}

// 404 "IMDS endpoint is updating", bounded by count.
func TestIMDSUpdatingCount(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.SetIMDS(IMDS{Status: 404, Window: Window{Count: 2}}))
	assert.Equal(t, 2, f.in.Current().IMDS.RemainingCount)
	for range 2 {
		rec := f.imdsGet()
		require.Equal(t, 404, rec.Code)
		code, desc := identityErr(t, rec)
		assert.Equal(t, "not_found", code)
		assert.Equal(t, "IMDS endpoint is updating", desc)
	}
	assert.Equal(t, 200, f.imdsGet().Code, "the count is spent")
}

// 429 is the limiter's own answer: body and Retry-After.
func TestIMDSThrottled(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.SetIMDS(IMDS{Status: 429, Window: Window{Seconds: 1}}))
	rec := f.imdsGet()
	require.Equal(t, 429, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	code, desc := identityErr(t, rec)
	assert.Equal(t, "too_many_requests", code)
	assert.Equal(t, "IMDS Throttle limit reached. Retry with Exponential Backoff.", desc)
}

// 500 and 503, on a fraction of requests spread evenly.
func TestIMDSServerErrorsFraction(t *testing.T) {
	f := newFixture(t)
	for _, status := range []int{500, 503} {
		require.NoError(t, f.in.SetIMDS(IMDS{Status: status, Window: Window{Seconds: 5, Fraction: 0.25}}))
		var got []int
		for range 8 {
			got = append(got, f.imdsGet().Code)
		}
		assert.Equal(t, []int{200, 200, 200, status, 200, 200, 200, status}, got)
	}
	rec := f.imdsGet()
	_ = rec
	require.NoError(t, f.in.SetIMDS(IMDS{Status: 500, Window: Window{Count: 1}}))
	code, desc := identityErr(t, f.imdsGet())
	assert.Equal(t, "unknown", code)
	assert.Equal(t, "Failed to retrieve token from the Active directory.", desc)
}

// Added latency delays the answer, which still comes from IMDS.
func TestIMDSLatency(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.SetIMDS(IMDS{LatencyMS: 60, Window: Window{Seconds: 1}}))
	start := time.Now()
	rec := f.imdsGet()
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	assert.Equal(t, 200, rec.Code)
}

// Connection reset: the client gets a transport error, no answer.
func TestIMDSConnectionReset(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.in.IMDS(okHandler))
	defer srv.Close()
	require.NoError(t, f.in.SetIMDS(IMDS{Reset: true, Window: Window{Count: 1}}))
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := c.Get(srv.URL + "/metadata/identity/oauth2/token")
	require.Error(t, err, "the connection is dropped")
	resp, err := c.Get(srv.URL + "/metadata/identity/oauth2/token")
	require.NoError(t, err, "the count is spent")
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

// serviceHit is the services fault's decision for one request, 0 when
// the request passes.
func (f *fixture) serviceHit(service string) (status, retryAfter int) {
	status, retryAfter, hit := f.in.Service(service)
	if hit != (status != 0) {
		panic("a hit without a status, or a status without a hit")
	}
	return status, retryAfter
}

// A fraction of a service's requests fail with the status and
// Retry-After; other services untouched. (Each service's error shape is
// tested with the emulator, env/emulator/faults_test.go.)
func TestServicesFault(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.Apply("services", []byte(`{"status":503,"fraction":0.5,"retryAfterSeconds":2,"service":"arm","seconds":10}`)))
	hits := 0
	for range 10 {
		if status, retry := f.serviceHit("arm"); status != 0 {
			hits++
			assert.Equal(t, 503, status)
			assert.Equal(t, 2, retry)
		}
	}
	assert.Equal(t, 5, hits)
	st, _ := f.serviceHit("vault")
	assert.Zero(t, st, "another service")
	st, _ = f.serviceHit("")
	assert.Zero(t, st, "hosts outside the services")

	require.NoError(t, f.in.SetServices(Services{Status: 500, Window: Window{Count: 1}}))
	st, retry := f.serviceHit("blob")
	require.Equal(t, 500, st)
	assert.Equal(t, 1, retry, "Retry-After defaults to 1 s")
	st, _ = f.serviceHit("blob")
	assert.Zero(t, st, "the count is spent")

	f.now = f.now.Add(time.Minute)
	require.NoError(t, f.in.SetServices(Services{Status: 503, Window: Window{Seconds: 1}}))
	st, _ = f.serviceHit("blob")
	assert.Equal(t, 503, st)
	f.now = f.now.Add(time.Second)
	st, _ = f.serviceHit("blob")
	assert.Zero(t, st, "the window ended")

	err := f.in.SetServices(Services{Status: 503, Service: "table"})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "arm, login, vault, blob, graph", "the names the injector was made with")
}

// RBAC and token faults act on the store and issuer and are undone by reset.
func TestRBACAndTokenFaults(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.Apply("rbac", []byte(`{"grantDelaySeconds":2,"revokeDelaySeconds":3}`)))
	g, r := f.store.Propagation()
	assert.Equal(t, 2*time.Second, g)
	assert.Equal(t, 3*time.Second, r)

	before := time.Now()
	require.NoError(t, f.in.Apply("tokens", []byte(`{"lifetimeSeconds":5,"clockSkewSeconds":600}`)))
	assert.Equal(t, 5*time.Second, f.iss.Lifetime())
	assert.WithinDuration(t, before.Add(10*time.Minute), f.iss.Now(), 5*time.Second, "the emulated clock is 10 minutes ahead")
	assert.Equal(t, &Tokens{LifetimeSeconds: 5, ClockSkewSeconds: 600, Lasting: Lasting{Seconds: 600, RemainingSeconds: 600}}, f.in.Current().Tokens)

	require.NoError(t, f.in.Reset("rbac"))
	g, r = f.store.Propagation()
	assert.Zero(t, g+r)
	assert.NotNil(t, f.in.Current().Tokens, "resetting one kind leaves the others")
	require.NoError(t, f.in.Reset(""))
	assert.Zero(t, f.iss.Lifetime())
	assert.WithinDuration(t, time.Now(), f.iss.Now(), time.Second)
	assert.Equal(t, Set{}, f.in.Current())
}

// The rbac and tokens faults end by themselves after their seconds (at
// most 10 minutes), as every fault kind does.
func TestSettingsFaultsEnd(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.in.Apply("rbac", []byte(`{"grantDelaySeconds":600,"seconds":90}`)))
	require.NoError(t, f.in.Apply("tokens", []byte(`{"lifetimeSeconds":60,"clockSkewSeconds":300}`)))
	cur := f.in.Current()
	require.NotNil(t, cur.RBAC)
	assert.Equal(t, 90.0, cur.RBAC.RemainingSeconds)
	require.NotNil(t, cur.Tokens)
	assert.Equal(t, MaxWindow.Seconds(), cur.Tokens.Seconds, "no seconds given: the longest, 10 minutes")
	f.now = f.now.Add(91 * time.Second)
	assert.Nil(t, f.in.Current().RBAC)
	g, _ := f.store.Propagation()
	assert.Zero(t, g, "the delay is gone from the store")
	assert.NotNil(t, f.in.Current().Tokens)
	f.now = f.now.Add(MaxWindow)
	f.imdsGet() // a request notices the end too
	assert.Zero(t, f.iss.Lifetime())
	assert.WithinDuration(t, time.Now(), f.iss.Now(), time.Second)
	assert.Equal(t, Set{}, f.in.Current())
}

// A reset restores the issuer's clock only if a tokens fault moved it.
func TestResetKeepsForeignClock(t *testing.T) {
	f := newFixture(t)
	fixed := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f.iss.SetClock(func() time.Time { return fixed })
	require.NoError(t, f.in.SetTokens(Tokens{LifetimeSeconds: 60}))
	require.NoError(t, f.in.Reset(""))
	assert.Equal(t, fixed, f.iss.Now())
}

// Every fault is bounded; invalid ones are refused with ErrInvalid and
// change nothing.
func TestValidation(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ kind, body string }{
		{"imds", `{"status":410}`},                            // no end
		{"imds", `{"status":410,"seconds":601}`},              // too long
		{"imds", `{"status":418,"seconds":1}`},                // not an IMDS status
		{"imds", `{"status":410,"reset":true,"seconds":1}`},   // both
		{"imds", `{"latencyMs":30001,"seconds":1}`},           // too slow
		{"imds", `{"seconds":1}`},                             // nothing to do
		{"imds", `{"status":410,"seconds":1,"fraction":1.5}`}, // fraction
		{"imds", `{"status":410,"count":-1,"seconds":1}`},     // count
		{"imds", `{"status":"410"}`},                          // type
		{"services", `{"status":502,"seconds":1}`},            // status
		{"services", `{"status":503,"seconds":1,"service":"sql"}`},
		{"services", `{"status":503,"seconds":1,"retryAfterSeconds":121}`},
		{"rbac", `{"grantDelaySeconds":1801}`},
		{"rbac", `{"grantDelaySeconds":601}`},    // over the 10-minute bound
		{"rbac", `{"revokeDelaySeconds":600.5}`}, // over the 10-minute bound
		{"rbac", `{"grantDelaySeconds":1,"seconds":601}`},
		{"tokens", `{"lifetimeSeconds":60,"seconds":601}`},
		{"tokens", `{"lifetimeSeconds":60,"seconds":-1}`},
		{"rbac", `{"revokeDelaySeconds":-1}`},
		{"tokens", `{"lifetimeSeconds":0.5}`},
		{"tokens", `{"lifetimeSeconds":86401}`},
		{"tokens", `{"clockSkewSeconds":-86401}`},
		{"disks", `{}`},
	} {
		err := f.in.Apply(c.kind, []byte(c.body))
		assert.True(t, errors.Is(err, ErrInvalid), "%s %s: %v", c.kind, c.body, err)
	}
	assert.Equal(t, Set{}, f.in.Current())
	assert.Error(t, f.in.ApplySet(Set{IMDS: &IMDS{Status: 410, Window: Window{Seconds: 1}}, RBAC: &RBAC{GrantDelaySeconds: -1}}))
	assert.Equal(t, Set{}, f.in.Current(), "ApplySet sets nothing when one member is invalid")
	assert.Error(t, f.in.Reset("disks"))
}

// The control API: authorization first, then GET/PUT/DELETE per kind.
func TestControlAPI(t *testing.T) {
	f := newFixture(t)
	allow := true
	h := f.in.Control(func(r *http.Request) (int, string) {
		if !allow {
			return 403, "not the operator"
		}
		return 0, ""
	})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "https://management.azure.com"+path, strings.NewReader(body)))
		return rec
	}
	rec := do("PUT", "/_emulator/faults/imds", `{"status":410,"seconds":2}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"status":410,"seconds":2,"fraction":1,"remainingSeconds":2}`, rec.Body.String())
	rec = do("GET", "/_emulator/faults", "")
	assert.JSONEq(t, `{"imds":{"status":410,"seconds":2,"fraction":1,"remainingSeconds":2}}`, rec.Body.String())
	assert.Equal(t, 404, do("GET", "/_emulator/faults/rbac", "").Code)
	rec = do("PUT", "/_emulator/faults/imds", `{"status":410}`)
	assert.Equal(t, 400, rec.Code)
	assert.Contains(t, rec.Body.String(), `"code":"InvalidFault"`)
	assert.Equal(t, 404, do("PUT", "/_emulator/faults/disks", `{}`).Code)
	assert.Equal(t, 404, do("GET", "/_emulator/other", "").Code)
	assert.Equal(t, 405, do("PUT", "/_emulator/faults", `{}`).Code)

	allow = false
	rec = do("DELETE", "/_emulator/faults", "")
	assert.Equal(t, 403, rec.Code)
	assert.Contains(t, rec.Body.String(), "AuthorizationFailed")
	assert.NotNil(t, f.in.Current().IMDS, "a refused reset changes nothing")
	allow = true
	assert.Equal(t, 204, do("DELETE", "/_emulator/faults/imds", "").Code)
	assert.Nil(t, f.in.Current().IMDS)
	require.Equal(t, 200, do("PUT", "/_emulator/faults/services", `{"status":503,"count":3}`).Code)
	assert.Equal(t, 204, do("DELETE", "/_emulator/faults", "").Code)
	assert.Equal(t, Set{}, f.in.Current())
}

// A set (emulate --faults) is applied whole or not at all.
func TestApplySet(t *testing.T) {
	f := newFixture(t)
	err := f.in.ApplySet(Set{IMDS: &IMDS{Status: 410}, Services: &Services{Status: 503, Service: "queue"}})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, Set{}, f.in.Current(), "nothing set when one member is invalid")

	require.NoError(t, f.in.ApplySet(Set{
		IMDS: &IMDS{Status: 410, Window: Window{Count: 1}}, Services: &Services{Status: 503, Service: "graph", Window: Window{Count: 1}},
		RBAC: &RBAC{GrantDelaySeconds: 1}, Tokens: &Tokens{LifetimeSeconds: 60},
	}))
	cur := f.in.Current()
	require.NotNil(t, cur.IMDS)
	require.NotNil(t, cur.Services)
	require.NotNil(t, cur.RBAC)
	require.NotNil(t, cur.Tokens)
	assert.Equal(t, "graph", cur.Services.Service)
	st, _ := f.serviceHit("graph")
	assert.Equal(t, 503, st)
	for _, bad := range []Set{{IMDS: &IMDS{Status: 299}}, {RBAC: &RBAC{GrantDelaySeconds: -1}}, {Tokens: &Tokens{LifetimeSeconds: -1}}} {
		assert.ErrorIs(t, f.in.ApplySet(bad), ErrInvalid, "%+v", bad)
	}
}
