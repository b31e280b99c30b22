package azhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock advances only when slept on, so a 70-second budget is checked
// in microseconds.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) {
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
}

func useFakeClock(t *testing.T) *fakeClock {
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	old := clk
	clk = c
	t.Cleanup(func() { clk = old })
	return c
}

// fakeIMDS answers the token endpoint with the given statuses in turn, then
// 200 with a token body.
func fakeIMDS(t *testing.T, statuses []int, header http.Header) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if r.Header.Get("Metadata") != "true" {
			w.WriteHeader(400)
			return
		}
		if i < len(statuses) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(statuses[i])
			_, _ = w.Write([]byte(`{"error":"transient"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"eyJ0.eyJ0.sig","token_type":"Bearer"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func repeat(status, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = status
	}
	return s
}

type lines struct{ got []string }

func (l *lines) Printf(format string, args ...any) {
	l.got = append(l.got, format+" "+strings.TrimSpace(args[0].(string)))
}

func tokenRequest(t *testing.T, p Retry, srv *httptest.Server) *Exchange {
	t.Helper()
	return SendWithRetry(context.Background(), srv.Client(), nil, p, http.MethodGet,
		srv.URL+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/",
		http.Header{"Metadata": {"true"}}, nil)
}

func TestIMDSRetryTransientThen200(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
	}{
		{"410 upgrade", []int{410, 410, 410}},
		{"429 throttled", []int{429, 429}},
		{"404 updating", []int{404}},
		{"5xx", []int{500, 503}},
		{"mixed", []int{410, 429, 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := useFakeClock(t)
			srv, n := fakeIMDS(t, tc.statuses, nil)
			x := tokenRequest(t, IMDSRetry, srv)
			require.NoError(t, x.Err)
			assert.Equal(t, 200, x.Status)
			assert.Equal(t, len(tc.statuses)+1, x.Attempts)
			assert.Equal(t, int32(len(tc.statuses)+1), n.Load())
			assert.Len(t, c.slept, len(tc.statuses))
			var sum time.Duration
			for _, d := range c.slept {
				sum += d
			}
			assert.Equal(t, sum, x.Waited)
			assert.Equal(t, sum, x.Planned, "with a punctual clock the planned waits are the waits")
		})
	}
}

// A 410 is retried for the whole 70-second window Microsoft documents,
// well past the attempt limit that bounds other answers, and no longer.
func TestIMDSRetry410Budget(t *testing.T) {
	c := useFakeClock(t)
	srv, n := fakeIMDS(t, repeat(410, 100), nil)
	x := tokenRequest(t, IMDSRetry, srv)
	assert.Equal(t, 410, x.Status, "still upgrading after the budget: the 410 is the answer")
	assert.Equal(t, 70*time.Second, x.Waited, "waits add up to exactly the 70 s budget (the last one is shortened)")
	assert.Equal(t, 70*time.Second, x.Planned, "and so do the waits planned")
	assert.Greater(t, x.Attempts, IMDSRetry.Attempts, "410 is not bound by the attempt limit")
	assert.Equal(t, int32(x.Attempts), n.Load())
	for i, d := range c.slept {
		assert.LessOrEqual(t, d, IMDSRetry.Max, "wait %d", i)
	}
}

// 429 and 5xx stop after Attempts tries, well inside the budget.
func TestIMDSRetryAttemptLimit(t *testing.T) {
	useFakeClock(t)
	srv, n := fakeIMDS(t, repeat(429, 10), nil)
	x := tokenRequest(t, IMDSRetry, srv)
	assert.Equal(t, 429, x.Status)
	assert.Equal(t, IMDSRetry.Attempts, x.Attempts)
	assert.Equal(t, int32(IMDSRetry.Attempts), n.Load())
	assert.Less(t, x.Waited, IMDSRetry.Budget)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	c := useFakeClock(t)
	srv, _ := fakeIMDS(t, []int{429, 429}, http.Header{"Retry-After": {"3"}})
	x := tokenRequest(t, IMDSRetry, srv)
	assert.Equal(t, 200, x.Status)
	assert.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second}, c.slept)
}

func TestNoRetryOnAnswersThatAreFinal(t *testing.T) {
	for _, st := range []int{400, 401, 403} {
		c := useFakeClock(t)
		srv, n := fakeIMDS(t, []int{st, st}, nil)
		x := tokenRequest(t, IMDSRetry, srv)
		assert.Equal(t, st, x.Status)
		assert.Equal(t, int32(1), n.Load())
		assert.Empty(t, c.slept)
	}
}

func TestConnectionRefusedIsNotRetried(t *testing.T) {
	c := useFakeClock(t)
	srv, _ := fakeIMDS(t, nil, nil)
	srv.Close()
	x := tokenRequest(t, IMDSRetry, srv)
	require.Error(t, x.Err)
	assert.Equal(t, 1, x.Attempts)
	assert.Empty(t, c.slept)
}

func TestRBACPropagationRetries403WithinWindow(t *testing.T) {
	c := useFakeClock(t)
	srv, n := fakeIMDS(t, []int{403, 403, 403}, nil)
	x := tokenRequest(t, RBACPropagation(time.Minute), srv)
	assert.Equal(t, 200, x.Status)
	assert.Equal(t, 4, x.Attempts)
	assert.Equal(t, int32(4), n.Load())
	assert.Len(t, c.slept, 3)

	// A 403 that outlasts the window is the answer.
	useFakeClock(t)
	srv, _ = fakeIMDS(t, repeat(403, 100), nil)
	x = tokenRequest(t, RBACPropagation(30*time.Second), srv)
	assert.Equal(t, 403, x.Status)
	assert.Equal(t, 30*time.Second, x.Waited)

	// A zero window means no retry.
	c = useFakeClock(t)
	srv, _ = fakeIMDS(t, []int{403}, nil)
	x = tokenRequest(t, RBACPropagation(0), srv)
	assert.Equal(t, 403, x.Status)
	assert.Empty(t, c.slept)
}

// The scenario's context bounds the retries: a cancelled context stops them
// at once, with the real clock.
func TestRetryStopsWithContext(t *testing.T) {
	srv, n := fakeIMDS(t, []int{410, 410, 410, 410, 410, 410, 410, 410}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		once.Do(cancel)
		return resp, err
	})}
	x := SendWithRetry(ctx, client, nil, IMDSRetry, http.MethodGet, srv.URL+"/metadata/identity/oauth2/token", http.Header{"Metadata": {"true"}}, nil)
	assert.Equal(t, 1, x.Attempts)
	assert.Equal(t, int32(1), n.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetriesAreLogged(t *testing.T) {
	useFakeClock(t)
	srv, _ := fakeIMDS(t, []int{410}, nil)
	l := &lines{}
	SendWithRetry(context.Background(), srv.Client(), l, IMDSRetry, http.MethodGet, srv.URL+"/x", http.Header{"Metadata": {"true"}}, nil)
	require.Len(t, l.got, 1)
	assert.Contains(t, l.got[0], "(2 attempts,")
}
