// Package azhttp is how steps (and the Azure target, discovering its VM)
// talk to Azure: one request, one recorded Exchange (logged with secrets
// redacted), and the retry policy Microsoft documents for IMDS token
// requests. It lives in internal/ so env/ and steps/ both may use it.
package azhttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miconform/miconform/env/oserr"
	"github.com/miconform/miconform/internal/redact"
)

// Exchange is one request and its answer (or the transport error).
type Exchange struct {
	Method    string
	URL       string
	ReqHeader http.Header
	ReqBody   []byte
	Status    int
	Header    http.Header
	Body      []byte
	// Err is the transport error when no answer came (connection refused...).
	Err error
	// Attempts counts tries, retries included; Waited is the time spent
	// backing off between them, Planned the waits the policy asked for (the
	// same, but for the scheduler's lateness: what a budget bounds).
	Attempts int
	Waited   time.Duration
	Planned  time.Duration
}

// Logger receives the exchange log; steplog.Log satisfies it.
type Logger interface {
	Printf(format string, args ...any)
}

// maxBody bounds what is kept of a response body.
const maxBody = 8 << 20

// Send performs one request and records it.
func Send(ctx context.Context, client *http.Client, log Logger, method, url string, header http.Header, body []byte) *Exchange {
	x := &Exchange{Method: method, URL: url, ReqHeader: header, ReqBody: body, Attempts: 1}
	x.do(ctx, client)
	x.log(log)
	return x
}

func (x *Exchange) do(ctx context.Context, client *http.Client) {
	var rd io.Reader
	if x.ReqBody != nil {
		rd = bytes.NewReader(x.ReqBody)
	}
	req, err := http.NewRequestWithContext(ctx, x.Method, x.URL, rd)
	if err != nil {
		x.Err = err
		return
	}
	for k, v := range x.ReqHeader {
		req.Header[k] = v
	}
	// Go's client sets Host from the URL; a header named Host is honoured
	// as the request's Host, as curl -H "Host: ..." would do.
	if h := x.ReqHeader.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := client.Do(req)
	if err != nil {
		x.Err = err
		x.Status, x.Header, x.Body = 0, nil, nil
		return
	}
	defer resp.Body.Close()
	x.Status, x.Header, x.Err = resp.StatusCode, resp.Header, nil
	x.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		x.Err = err
	}
}

func (x *Exchange) log(log Logger) {
	if log == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "> %s %s\n", x.Method, x.URL)
	for k, v := range x.ReqHeader {
		fmt.Fprintf(&b, "> %s: %s\n", k, strings.Join(v, ", "))
	}
	if len(x.ReqBody) > 0 {
		fmt.Fprintf(&b, ">\n%s\n", clip(x.ReqBody))
	}
	if x.Err != nil {
		fmt.Fprintf(&b, "< error: %v", x.Err)
	} else {
		fmt.Fprintf(&b, "< %d %s", x.Status, http.StatusText(x.Status))
		for _, k := range []string{"Content-Type", "WWW-Authenticate", "Retry-After", "Location", "x-ms-request-id", "x-ms-error-code"} {
			if v := x.Header.Get(k); v != "" {
				fmt.Fprintf(&b, "\n< %s: %s", k, v)
			}
		}
		if len(x.Body) > 0 {
			fmt.Fprintf(&b, "\n<\n%s", clip(x.Body))
		}
	}
	if x.Attempts > 1 {
		fmt.Fprintf(&b, "\n(%d attempts, %s backing off)", x.Attempts, x.Waited.Round(time.Millisecond))
	}
	log.Printf("%s", redact.String(b.String()))
}

func clip(b []byte) string {
	const max = 4096
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}

// Retry is a bounded exponential backoff.
type Retry struct {
	// Attempts is the most tries in all for an answer Persistent does not
	// cover; 0 leaves only Budget as the bound.
	Attempts int
	// Base and Max bound each wait before jitter.
	Base, Max time.Duration
	// Budget bounds the total time from the first try (e.g. 70 s for
	// IMDS's 410 window); the last wait is shortened to fit it.
	Budget time.Duration
	// Retryable decides from an exchange whether to try again.
	Retryable func(*Exchange) bool
	// Persistent marks answers that are retried until Budget is spent,
	// however many tries that takes (nil: none).
	Persistent func(*Exchange) bool
}

// IMDSRetry is Microsoft's guidance for IMDS token requests: retry 404
// (endpoint updating), 410 (upgrade in progress: keep trying for up to
// 70 s), 429 and 5xx with exponential backoff.
// https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#retry-guidance
var IMDSRetry = Retry{
	Attempts: 6, Base: 250 * time.Millisecond, Max: 16 * time.Second, Budget: 70 * time.Second,
	Retryable: func(x *Exchange) bool {
		if x.Err != nil {
			return false // connection refused is an answer the tutorials discuss
		}
		return x.Status == 404 || x.Status == 410 || x.Status == 429 || x.Status >= 500
	},
	Persistent: func(x *Exchange) bool { return x.Err == nil && x.Status == 410 },
}

// RBACPropagation retries a 403 for up to window: Azure RBAC documents
// that a new role assignment can take up to 10 minutes to take effect.
// https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected
func RBACPropagation(window time.Duration) Retry {
	forbidden := func(x *Exchange) bool { return x.Err == nil && x.Status == http.StatusForbidden }
	return Retry{Base: time.Second, Max: 15 * time.Second, Budget: window, Retryable: forbidden, Persistent: forbidden}
}

// clock is the time source of retries; tests replace it to check budgets
// of a minute without waiting for one.
type clock interface {
	now() time.Time
	// sleep waits d or until ctx is done.
	sleep(ctx context.Context, d time.Duration)
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

var clk clock = realClock{}

// SendWithRetry is Send under a retry policy; the exchange records the
// tries and the time spent waiting between them. The context bounds it all.
func SendWithRetry(ctx context.Context, client *http.Client, log Logger, p Retry, method, url string, header http.Header, body []byte) *Exchange {
	x := &Exchange{Method: method, URL: url, ReqHeader: header, ReqBody: body}
	start := clk.now()
	for {
		x.Attempts++
		x.do(ctx, client)
		if !p.Retryable(x) || ctx.Err() != nil {
			break
		}
		persistent := p.Persistent != nil && p.Persistent(x)
		if !persistent && p.Attempts > 0 && x.Attempts >= p.Attempts {
			break
		}
		left := p.Budget - clk.now().Sub(start)
		if left <= 0 {
			break
		}
		wait := min(backoff(p, x), left)
		x.Planned += wait
		before := clk.now()
		clk.sleep(ctx, wait)
		x.Waited += clk.now().Sub(before)
		if ctx.Err() != nil {
			break
		}
	}
	x.log(log)
	return x
}

// backoff is the wait before the next try: the server's Retry-After when
// it sends one, else exponential with full jitter.
func backoff(p Retry, x *Exchange) time.Duration {
	if ra := x.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s > 0 {
			return min(time.Duration(s)*time.Second, p.Max)
		}
		if t, err := http.ParseTime(ra); err == nil {
			if d := t.Sub(clk.now()); d > 0 {
				return min(d, p.Max)
			}
		}
	}
	shift := min(x.Attempts-1, 30)
	d := p.Base << shift
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	// Full jitter keeps many VMs from retrying in step.
	return d/2 + rand.N(d/2+1)
}

// Refused reports whether the exchange failed because nothing listened.
func (x *Exchange) Refused() bool {
	return oserr.Refused(x.Err)
}
