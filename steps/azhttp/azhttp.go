// Package azhttp is how steps talk to Azure: one request, one recorded
// Exchange (logged with secrets redacted), and the retry policy Microsoft
// documents for IMDS token requests.
package azhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miconform/miconform/runner/redact"
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
	// backing off between them.
	Attempts int
	Waited   time.Duration
}

// Logger receives the exchange log; report.Log satisfies it.
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
	// Attempts is the most tries in all.
	Attempts int
	// Base and Max bound each wait before jitter.
	Base, Max time.Duration
	// Budget bounds the total waiting (e.g. 70 s for IMDS's 410 window).
	Budget time.Duration
	// Retryable decides from an exchange whether to try again.
	Retryable func(*Exchange) bool
}

// IMDSRetry is Microsoft's guidance for IMDS token requests: retry 404
// (endpoint updating), 410 (upgrade, up to 70 s), 429 and 5xx with
// exponential backoff.
// https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#retry-guidance
var IMDSRetry = Retry{
	Attempts: 6, Base: 250 * time.Millisecond, Max: 16 * time.Second, Budget: 70 * time.Second,
	Retryable: func(x *Exchange) bool {
		if x.Err != nil {
			return false // connection refused is an answer the tutorials discuss
		}
		return x.Status == 404 || x.Status == 410 || x.Status == 429 || x.Status >= 500
	},
}

// SendWithRetry is Send under a retry policy; the exchange records the tries.
func SendWithRetry(ctx context.Context, client *http.Client, log Logger, p Retry, method, url string, header http.Header, body []byte) *Exchange {
	x := &Exchange{Method: method, URL: url, ReqHeader: header, ReqBody: body}
	start := time.Now()
	for {
		x.Attempts++
		x.do(ctx, client)
		if !p.Retryable(x) || x.Attempts >= p.Attempts || ctx.Err() != nil {
			break
		}
		wait := backoff(p, x)
		if time.Since(start)+wait > p.Budget {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		x.Waited += wait
		if ctx.Err() != nil {
			break
		}
	}
	x.log(log)
	return x
}

func backoff(p Retry, x *Exchange) time.Duration {
	if s, err := strconv.Atoi(x.Header.Get("Retry-After")); err == nil && s >= 0 {
		d := time.Duration(s) * time.Second
		if d > 0 {
			return min(d, p.Max)
		}
	}
	d := p.Base << (x.Attempts - 1)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	// Full jitter keeps many VMs from retrying in step.
	return d/2 + rand.N(d/2+1)
}

// Refused reports whether the exchange failed because nothing listened.
func (x *Exchange) Refused() bool {
	return x.Err != nil && errors.Is(x.Err, syscall.ECONNREFUSED)
}
