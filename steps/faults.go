package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/miconform/miconform/internal/redact"
	"github.com/tidwall/gjson"
)

// Fault steps drive the emulator's control API (/_emulator/faults, see
// env/emulator/faults) as the operator, so a scenario can show the harness
// and the official SDK riding through what real Azure does to clients.
// Scenarios that use them are @emulator-only. Every fault set in a
// scenario is reset after it.
func registerFaults(sc *godog.ScenarioContext) {
	sc.Step(re(`^IMDS answers (\d+) to every request for (\d+(?:\.\d+)?) seconds?$`), imdsFaultFor)
	sc.Step(re(`^IMDS answers (\d+) to the next (\d+) requests?$`), imdsFaultCount)
	sc.Step(re(`^IMDS drops the next (\d+) connections?$`), imdsResets)
	sc.Step(re(`^IMDS takes (\d+) ms longer to answer for (\d+) seconds?$`), imdsLatency)
	sc.Step(re(`^(Resource Manager|Blob storage|Key Vault|the login host) answers (500|503) with "Retry-After: (\d+)" to the next (\d+) requests?$`), serviceFault)
	sc.Step(re(`^new role assignments take (\d+(?:\.\d+)?) seconds? to take effect$`), rbacGrantDelay)
	sc.Step(re(`^removed role assignments keep granting for (\d+(?:\.\d+)?) seconds?$`), rbacRevokeDelay)
	sc.Step(re(`^tokens are issued for (\d+) seconds$`), tokenLifetime)
	sc.Step(re(`^the cloud's clock runs (\d+) minutes? ahead$`), clockAhead)
	sc.Step(re(`^the VM requests a token for Resource Manager from IMDS, giving up after (\d+(?:\.\d+)?) seconds?$`), tokenWithBudget)
	sc.Step(re(`^the VM reads "([^"]*)" with the access token through the Azure SDK for Go$`), readWithSDK)
	sc.Step(re(`^the answer came after (\d+) tries$`), answerAfterTries)
	sc.Step(re(`^the VM tried (\d+) times?$`), answerAfterTries)
	sc.Step(re(`^the VM retried before the answer came$`), retriedBeforeAnswer)
	sc.Step(re(`^the VM got no answer$`), gotNoAnswer)
	sc.Step(re(`^the token expires in at most (\d+) seconds$`), expiresWithin)
	sc.Step(re(`^extracting the access token fails, naming the status (\d+) and the retries$`), extractFailsAfterRetries)
}

// setFault PUTs one kind of fault and arranges for every fault to be reset
// after the scenario.
func (s *scenario) setFault(ctx context.Context, kind string, body map[string]any) error {
	if _, err := s.operator(ctx, http.MethodPut, "/_emulator/faults/"+kind, body); err != nil {
		return fmt.Errorf("injecting the %s fault (the emulator's control API): %w", kind, err)
	}
	if s.vars["FAULTS-SET"] == "" {
		s.vars["FAULTS-SET"] = "yes"
		s.onCleanup("reset the emulator's faults", func(ctx context.Context) error {
			_, err := s.operator(ctx, http.MethodDelete, "/_emulator/faults", nil)
			return err
		})
	}
	return nil
}

// currentFault reads the fault of a kind in force ({} when none).
func (s *scenario) currentFault(ctx context.Context, kind string) (map[string]any, error) {
	x, err := s.operator(ctx, http.MethodGet, "/_emulator/faults", nil)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if v := gjson.GetBytes(x.Body, kind); v.Exists() {
		if err := json.Unmarshal([]byte(v.Raw), &m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func imdsFaultFor(ctx context.Context, status int, secs float64) error {
	return from(ctx).setFault(ctx, "imds", map[string]any{"status": status, "seconds": secs})
}

func imdsFaultCount(ctx context.Context, status, n int) error {
	return from(ctx).setFault(ctx, "imds", map[string]any{"status": status, "count": n})
}

func imdsResets(ctx context.Context, n int) error {
	return from(ctx).setFault(ctx, "imds", map[string]any{"reset": true, "count": n})
}

func imdsLatency(ctx context.Context, ms, secs int) error {
	return from(ctx).setFault(ctx, "imds", map[string]any{"latencyMs": ms, "seconds": secs})
}

var serviceKeys = map[string]string{"Resource Manager": "arm", "Blob storage": "blob", "Key Vault": "vault", "the login host": "login"}

func serviceFault(ctx context.Context, service string, status, retryAfter, n int) error {
	return from(ctx).setFault(ctx, "services", map[string]any{
		"service": serviceKeys[service], "status": status, "retryAfterSeconds": retryAfter, "count": n,
	})
}

// rbacGrantDelay and rbacRevokeDelay each keep the other delay.
func rbacGrantDelay(ctx context.Context, secs float64) error {
	return setRBACDelay(ctx, "grantDelaySeconds", secs)
}

func rbacRevokeDelay(ctx context.Context, secs float64) error {
	return setRBACDelay(ctx, "revokeDelaySeconds", secs)
}

func setRBACDelay(ctx context.Context, field string, secs float64) error {
	s := from(ctx)
	f, err := s.currentFault(ctx, "rbac")
	if err != nil {
		return err
	}
	f[field] = secs
	return s.setFault(ctx, "rbac", f)
}

func tokenLifetime(ctx context.Context, secs int) error {
	return setTokenFault(ctx, "lifetimeSeconds", secs)
}

func clockAhead(ctx context.Context, minutes int) error {
	return setTokenFault(ctx, "clockSkewSeconds", minutes*60)
}

func setTokenFault(ctx context.Context, field string, v int) error {
	s := from(ctx)
	f, err := s.currentFault(ctx, "tokens")
	if err != nil {
		return err
	}
	f[field] = v
	return s.setFault(ctx, "tokens", f)
}

// tokenWithBudget is a token request under Microsoft's IMDS retry guidance
// with a client that gives up sooner than the guidance's 70 s (a timeout
// the caller chose): the budget, not the number of tries, ends it.
func tokenWithBudget(ctx context.Context, secs float64) error {
	s := from(ctx)
	u, err := s.expand("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>")
	if err != nil {
		return err
	}
	p := azhttp.IMDSRetry
	p.Budget = time.Duration(secs * float64(time.Second))
	s.requested = s.t.Cloud().ARMResource
	s.last = azhttp.SendWithRetry(ctx, s.t.HTTPClient(), s.log, p, http.MethodGet, u, http.Header{"Metadata": {"true"}}, nil)
	s.set("RETRY-BUDGET", p.Budget.String())
	return nil
}

// readWithSDK reads a URL through the official Azure SDK for Go's HTTP
// pipeline (azcore), whose retry policy retries 408, 429, 500, 502, 503
// and 504 and honours Retry-After, as every Azure SDK does. Delays are
// shortened so scenarios stay fast; Retry-After is followed as sent.
// https://learn.microsoft.com/azure/architecture/best-practices/retry-service-specific
func readWithSDK(ctx context.Context, rawURL string) error {
	s := from(ctx)
	u, err := s.tokenURL(rawURL)
	if err != nil {
		return err
	}
	tries := 0
	pl := runtime.NewPipeline("miconform", "v0", runtime.PipelineOptions{}, &policy.ClientOptions{
		Transport:        s.t.HTTPClient(),
		Retry:            policy.RetryOptions{MaxRetries: 4, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: 10 * time.Second},
		PerRetryPolicies: []policy.Policy{countTries{&tries}},
	})
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Authorization", "Bearer "+s.token)
	x := &azhttp.Exchange{Method: http.MethodGet, URL: u}
	resp, err := pl.Do(req)
	x.Attempts = tries
	if err != nil {
		x.Err = err
	} else {
		defer resp.Body.Close()
		x.Status, x.Header = resp.StatusCode, resp.Header
		x.Body, x.Err = io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	}
	s.last = x
	s.log.Printf("%s", redact.String(fmt.Sprintf("Azure SDK for Go pipeline: GET %s -> %d after %d tries%s", u, x.Status, tries, errSuffix(x.Err))))
	return nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// countTries is a per-try pipeline policy counting the tries.
type countTries struct{ n *int }

func (c countTries) Do(req *policy.Request) (*http.Response, error) {
	*c.n++
	return req.Next()
}

func answerAfterTries(ctx context.Context, n int) error {
	s := from(ctx)
	if s.last == nil {
		return fmt.Errorf("no request has been sent yet")
	}
	if s.last.Attempts != n {
		return fmt.Errorf("%s %s: %d tries (last answer %d, error %v), want %d", s.last.Method, s.last.URL, s.last.Attempts, s.last.Status, s.last.Err, n)
	}
	return nil
}

func retriedBeforeAnswer(ctx context.Context) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	if s.last.Attempts < 2 {
		return fmt.Errorf("the answer (%d) came at the first try; the fault did not make the VM retry", s.last.Status)
	}
	s.log.Printf("retried: %d tries, %s backing off", s.last.Attempts, s.last.Waited.Round(time.Millisecond))
	return nil
}

// expiresWithin checks the token answer's expires_in: positive and at
// most n (IMDS counts from its own clock, so a second may have passed).
func expiresWithin(ctx context.Context, n int) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	v := gjson.GetBytes(s.last.Body, "expires_in")
	secs, err := strconv.Atoi(v.String())
	if err != nil || v.Type != gjson.String {
		return fmt.Errorf("expires_in is %s, want a string of digits", v.Raw)
	}
	if secs <= 0 || secs > n {
		return fmt.Errorf("expires_in is %d, want 1 to %d", secs, n)
	}
	return nil
}

func gotNoAnswer(ctx context.Context) error {
	s := from(ctx)
	if s.last == nil {
		return fmt.Errorf("no request has been sent yet")
	}
	if s.last.Err == nil {
		return fmt.Errorf("%s %s answered %d; want the connection to have failed", s.last.Method, s.last.URL, s.last.Status)
	}
	s.log.Printf("as expected, no answer: %v", s.last.Err)
	return nil
}

// extractFailsAfterRetries: when the fault outlasts the retry budget, the
// harness says so plainly: the status, the tries and the time spent.
func extractFailsAfterRetries(ctx context.Context, status int) error {
	s := from(ctx)
	err := vmExtractsToken(ctx)
	if err == nil {
		return fmt.Errorf("the VM extracted an access token; want the request to have failed")
	}
	msg := err.Error()
	for _, want := range []string{fmt.Sprintf("answered %d", status), "attempts"} {
		if !strings.Contains(msg, want) {
			return fmt.Errorf("the failure %q does not say %q", msg, want)
		}
	}
	if b := s.vars["RETRY-BUDGET"]; b != "" {
		d, _ := time.ParseDuration(b)
		// The budget bounds the waits the client plans; how late a timer
		// fires on a loaded machine is the scheduler's, not the client's.
		if s.last.Planned > d {
			return fmt.Errorf("the VM planned %s of back-off (waited %s), beyond its %s budget", s.last.Planned, s.last.Waited, d)
		}
	}
	s.log.Printf("as expected: %v", err)
	return nil
}

// retryNote is what a failure message adds about retries: how many tries
// and how long the client backed off before giving up.
func retryNote(x *azhttp.Exchange) string {
	if x == nil || x.Attempts < 2 {
		return ""
	}
	return fmt.Sprintf(" (still, after %d attempts and %s backing off under Microsoft's IMDS retry guidance)", x.Attempts, x.Waited.Round(100*time.Millisecond))
}
