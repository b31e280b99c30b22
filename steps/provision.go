package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// How steps follow the target's Policy: in a verify-only run a Given step
// that would create something skips the scenario with the reason
// (skipUnlessProvisioning), and one that needs something standing checks
// it through the VM's own identity (asVM); after a role assignment, a 403
// is retried for the policy's propagation window (sendAsVM).

// skipUnlessProvisioning skips the scenario on a verify-only run: what
// the step does can only be done by creating it.
func (s *scenario) skipUnlessProvisioning(what string) error {
	if s.t.Policy().Mode == target.Provision {
		return nil
	}
	return skipf("verify-only run: this scenario needs %s, which only a --provision run creates", what)
}

// skipf is a skip with its reason; godog reports the step skipped and the
// reports carry the text.
func skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", godog.ErrSkip, fmt.Sprintf(format, args...))
}

// granted records that the operator gave principal a role: its 403s are
// now possibly RBAC propagation, not answers.
func (s *scenario) granted(principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants == nil {
		s.grants = map[string]time.Time{}
	}
	s.grants[strings.ToLower(principal)] = time.Now()
}

// sendAsVM sends a request from the VM with the access token it extracted.
// If the token's principal was granted a role in this scenario, a 403 is
// retried until the policy's window since that grant has passed: Azure
// applies role assignments eventually. The wait is logged and counted in
// the run's RBACStats.
func (s *scenario) sendAsVM(ctx context.Context, method, u string, h http.Header, body []byte) *azhttp.Exchange {
	if h == nil {
		h = http.Header{}
	}
	if s.token != "" && h.Get("Authorization") == "" {
		h.Set("Authorization", "Bearer "+s.token)
	}
	window := s.rbacWindow()
	if window <= 0 {
		return azhttp.Send(ctx, s.t.HTTPClient(), s.log, method, u, h, body)
	}
	x := azhttp.SendWithRetry(ctx, s.t.HTTPClient(), s.log, s.rbacRetry(window), method, u, h, body)
	if x.Attempts > 1 {
		s.log.Printf("RBAC propagation: waited %s (%d attempts; final answer %d)", x.Waited.Round(100*time.Millisecond), x.Attempts, x.Status)
		statsFrom(ctx).add(x.Waited)
	}
	return x
}

// rbacRetry is the propagation retry for what is left of window, with the
// target's waits.
func (s *scenario) rbacRetry(window time.Duration) azhttp.Retry {
	p := azhttp.RBACPropagation(window)
	pol := s.t.Policy()
	if pol.RBACRetryBase > 0 {
		p.Base = pol.RBACRetryBase
	}
	if pol.RBACRetryMax > 0 {
		p.Max = pol.RBACRetryMax
	}
	return p
}

// rbacWindow is how much of the propagation window is left for the
// token's principal, or 0 when it was granted nothing in this scenario.
func (s *scenario) rbacWindow() time.Duration {
	c, err := s.claims()
	if err != nil {
		return 0
	}
	s.mu.Lock()
	at, ok := s.grants[strings.ToLower(c.Get("oid").String())]
	s.mu.Unlock()
	if !ok {
		return 0
	}
	return s.t.Policy().RBACPropagation - time.Since(at)
}

// vmToken gets a token for Resource Manager from IMDS as the VM's
// system-assigned identity, for verify-only checks; it does not touch the
// scenario's last response or token.
func (s *scenario) vmToken(ctx context.Context) (string, gjson.Result, error) {
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {s.t.Cloud().ARMResource}}
	x := azhttp.SendWithRetry(ctx, s.t.HTTPClient(), s.log, azhttp.IMDSRetry, http.MethodGet,
		"http://169.254.169.254/metadata/identity/oauth2/token?"+q.Encode(), http.Header{"Metadata": {"true"}}, nil)
	if x.Err != nil || x.Status != http.StatusOK {
		return "", gjson.Result{}, fmt.Errorf("the VM cannot get a token from IMDS: %v %d %.300s", x.Err, x.Status, x.Body)
	}
	tok := gjson.GetBytes(x.Body, "access_token").String()
	_, claims, _, _, err := jwtParts(tok)
	return tok, claims, err
}

// asVM reads a Resource Manager path with the VM's own token.
func (s *scenario) asVM(ctx context.Context, path string) (*azhttp.Exchange, error) {
	tok, _, err := s.vmToken(ctx)
	if err != nil {
		return nil, err
	}
	x := azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, "https://"+s.t.Cloud().ARMHost+path, http.Header{"Authorization": {"Bearer " + tok}}, nil)
	return x, x.Err
}

// verifySystemIdentity is "the VM has a system-assigned managed identity"
// on a verify-only run: IMDS gives the VM a token whose xms_mirid is the
// VM itself (a user-assigned identity's token names the identity).
func (s *scenario) verifySystemIdentity(ctx context.Context) error {
	_, c, err := s.vmToken(ctx)
	if err != nil {
		return fmt.Errorf("prerequisite missing: %w (enable the VM's system-assigned identity, see env/azure/README.md)", err)
	}
	mirid := c.Get("xms_mirid").String()
	if !strings.EqualFold(mirid, s.vars["VM-RESOURCE-ID"]) {
		return fmt.Errorf("prerequisite missing: IMDS's default identity is %q, not the VM's system-assigned identity (enable it, see env/azure/README.md)", mirid)
	}
	s.set("VM-PRINCIPAL-ID", c.Get("oid").String())
	s.set("TENANT-ID", c.Get("tid").String())
	return nil
}

// verifyRole is a role grant on a verify-only run: the role must already
// be assigned to principal at the scenario's resource group, or above it.
// The VM reads the assignments with its own token; if it may not, the run
// cannot tell and the scenario is skipped.
func (s *scenario) verifyRole(ctx context.Context, role, principal string) error {
	rg, err := s.rgPath()
	if err != nil {
		return err
	}
	q := url.Values{"api-version": {authorizationAPI}, "$filter": {"roleName eq '" + role + "'"}}
	x, err := s.asVM(ctx, rg+"/providers/Microsoft.Authorization/roleDefinitions?"+q.Encode())
	if err != nil {
		return err
	}
	if x.Status == http.StatusForbidden {
		return skipf("verify-only run: the VM's identity may not read role definitions at %s, so it cannot tell whether %s holds %q", rg, principal, role)
	}
	defs := gjson.GetBytes(x.Body, "value").Array()
	if x.Status != http.StatusOK || len(defs) != 1 {
		return fmt.Errorf("role %q: %d %d definitions found, want 1", role, x.Status, len(defs))
	}
	roleID := lastSegment(defs[0].Get("id").String())
	q = url.Values{"api-version": {authorizationAPI}, "$filter": {"atScope()"}}
	if x, err = s.asVM(ctx, rg+"/providers/Microsoft.Authorization/roleAssignments?"+q.Encode()); err != nil {
		return err
	}
	if x.Status == http.StatusForbidden {
		return skipf("verify-only run: the VM's identity may not read role assignments at %s, so it cannot tell whether %s holds %q", rg, principal, role)
	}
	for _, a := range gjson.GetBytes(x.Body, "value").Array() {
		if strings.EqualFold(a.Get("properties.principalId").String(), principal) &&
			strings.EqualFold(lastSegment(a.Get("properties.roleDefinitionId").String()), roleID) {
			return nil
		}
	}
	return fmt.Errorf("prerequisite missing: %s does not hold %q at %s or above (assign it, see env/azure/azuredeploy.json, or run with --provision)", principal, role, rg)
}

// RBACStats adds up a run's waits for role assignments to take effect; the
// reports show it. Safe for concurrent scenarios.
type RBACStats struct {
	mu         sync.Mutex
	waits      int
	total, max time.Duration
}

type statsKey struct{}

// WithRBACStats returns a context whose scenarios record their RBAC
// propagation waits in st (pass it as the run's default context).
func WithRBACStats(ctx context.Context, st *RBACStats) context.Context {
	return context.WithValue(ctx, statsKey{}, st)
}

func statsFrom(ctx context.Context) *RBACStats {
	st, _ := ctx.Value(statsKey{}).(*RBACStats)
	return st
}

func (st *RBACStats) add(d time.Duration) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.waits++
	st.total += d
	st.max = max(st.max, d)
}

// Summary is e.g. "2 waits, 14.2s in all, longest 12.3s", or "none".
func (st *RBACStats) Summary() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.waits == 0 {
		return "none"
	}
	return fmt.Sprintf("%d waits, %s in all, longest %s", st.waits, st.total.Round(100*time.Millisecond), st.max.Round(100*time.Millisecond))
}
