package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/env/target/targettest"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/slowtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// world is an emulator standing in for Azure, the faults in front of it,
// and the operator's view of it for checking what a run left.
type world struct {
	t      *testing.T
	emu    *target.Emulator
	faults *targettest.Faults
	op     azcore.TokenCredential
	client *http.Client
	// adjust points a run's Azure target at the emulator.
	adjust func(*target.AzureOptions)
}

// standIn points `runner --target azure` at a fresh emulator of cloud c,
// for the runs given w.ctx (w.run does it).
func standIn(t *testing.T, c string) *world {
	t.Helper()
	// The stand-in's IMDS is unthrottled: one VM serves the whole run,
	// and what these tests check is what the run did; the harness's retry
	// of a 429 is checked with an injected one.
	emu := targettest.EmulatorWith(t, c, target.EmulatorOptions{Unthrottled: true})
	w := &world{t: t, emu: emu, faults: &targettest.Faults{}}
	o, err := targettest.Options(emu.E, w.faults, target.Provision)
	require.NoError(t, err)
	w.op, w.client = o.Operator, o.Client
	w.adjust = func(a *target.AzureOptions) {
		a.IMDSBase, a.Client, a.Operator, a.Shell = o.IMDSBase, o.Client, o.Operator, o.Shell
		a.TeardownTimeout = time.Minute
		a.RBACRetryBase, a.RBACRetryMax = emu.Policy().RBACRetryBase, emu.Policy().RBACRetryMax
	}
	return w
}

// ctx is parent for runs on the stand-in.
func (w *world) ctx(parent context.Context) context.Context {
	return withAzureOptions(parent, w.adjust)
}

// arm is a Resource Manager GET as the operator.
func (w *world) arm(path string) gjson.Result {
	w.t.Helper()
	c := w.emu.Cloud()
	tok, err := w.op.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(c.ARMResource, "/") + "/.default"}})
	require.NoError(w.t, err)
	req, _ := http.NewRequest(http.MethodGet, "https://"+c.ARMHost+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := w.emu.HTTPClient().Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(w.t, 200, resp.StatusCode, string(b))
	return gjson.ParseBytes(b)
}

// state is what a run must leave as it found: the resource groups, the
// role assignments on the VM's group, the VM's identities.
func (w *world) state() string {
	f := w.emu.Facts()
	sub := "/subscriptions/" + f.SubscriptionID
	var groups []string
	for _, g := range w.arm(sub + "/resourcegroups?api-version=2021-04-01").Get("value").Array() {
		groups = append(groups, g.Get("name").String()+" "+g.Get("tags").Raw)
	}
	var roles []string
	for _, a := range w.arm(sub + "/resourceGroups/" + f.ResourceGroup + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01").Get("value").Array() {
		roles = append(roles, a.Get("name").String())
	}
	vm := w.arm(f.VMResourceID + "?api-version=2024-07-01").Get("identity")
	var userIDs []string
	for k := range vm.Get("userAssignedIdentities").Map() {
		userIDs = append(userIDs, strings.ToLower(k))
	}
	b, _ := json.Marshal(map[string]any{"groups": groups, "roles": roles, "identity": vm.Get("type").String(), "user": userIDs})
	return string(b)
}

func (w *world) run(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runTutorials(w.ctx(ctx), append(args, rmFeatures...), &out, &errb)
	return code, out.String(), errb.String()
}

type junitDoc struct {
	Suites []struct {
		File       string `xml:"file,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Out string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, dir string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	require.NoError(t, err)
	var d junitDoc
	require.NoError(t, xml.Unmarshal(b, &d))
	require.NotEmpty(t, d.Suites)
	return d
}

func (d junitDoc) property(name string) string {
	for _, p := range d.Suites[0].Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// rmFeatures are the tutorials whose steps these tests exercise; other
// features are other engineers' work in progress and run in runner/suite.
var rmFeatures = []string{filepath.Join("..", "features", "rm_system_identity.feature"), filepath.Join("..", "features", "rm_user_identity.feature")}

var (
	authorizationFailed = `{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read'. If access was recently granted, please refresh your credentials."}}`
	// The VM reading a resource group it was just granted Reader on, as
	// rm-system-identity [1] does.
	vmReadsNewGroup = func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/resourceGroups/DevTest-") && r.URL.Query().Get("api-version") == "2016-09-01"
	}
)

// `runner --target azure --provision` end to end: discovery from the
// emulator's IMDS, the operator via client credentials, every tutorial
// provisioned and torn down, under injected 410, 429 and 403-then-200.
func TestAzureProvisionEndToEnd(t *testing.T) {
	t.Parallel()
	w := standIn(t, "AzureChinaCloud")
	w.faults.Add(&targettest.Fault{Name: "instance-410", Match: targettest.IMDSInstance, Status: 410, Times: 1})
	w.faults.Add(&targettest.Fault{Name: "token-410", Match: targettest.IMDSToken, Status: 410, Times: 1})
	w.faults.Add(&targettest.Fault{Name: "token-429", Match: targettest.IMDSToken, Status: 429, Times: 1})
	w.faults.Add(&targettest.Fault{Name: "rbac-403", Match: vmReadsNewGroup, Status: 403, Body: authorizationFailed, Times: 2})
	before := w.state()
	reports := winetest.TempDir(t)

	code, out, errs := w.run(context.Background(), "--target", "azure", "--provision", "--rbac-wait", "1m", "--reports", reports)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)

	for _, f := range []string{"instance-410", "token-410", "token-429"} {
		assert.Equal(t, 1, w.faults.Injected(f), f)
	}
	assert.Equal(t, 2, w.faults.Injected("rbac-403"))
	assert.Equal(t, before, w.state(), "the run leaves the subscription as it found it")

	d := readJUnit(t, reports)
	f := w.emu.Facts()
	assert.Equal(t, "azure", d.property("target"))
	assert.Equal(t, "AzureChinaCloud", d.property("cloud"))
	assert.Equal(t, f.VMName, d.property("vm"))
	assert.Equal(t, f.Location, d.property("region"))
	assert.Equal(t, "provision", d.property("mode"))
	assert.Regexp(t, `^1 waits, [0-9.]+m?s in all, longest [0-9.]+m?s$`, d.property("rbac-propagation-wait"))
	assert.NotEmpty(t, d.property("run-id"))
	var waited, cases int
	for _, s := range d.Suites {
		for _, c := range s.Cases {
			cases++
			assert.Nil(t, c.Failure, c.Name)
			if regexp.MustCompile(`RBAC propagation: waited [0-9.]+m?s \(3 attempts; final answer 200\)`).MatchString(c.Out) {
				waited++
			}
		}
	}
	assert.Equal(t, 1, waited, "the scenario that waited says so in its log")
	assert.Greater(t, cases, 5)
	sum, err := os.ReadFile(filepath.Join(reports, "summary.md"))
	require.NoError(t, err)
	assert.Contains(t, string(sum), "target azure, VM "+f.VMName+", region "+f.Location)
	assert.Contains(t, out, "RBAC propagation: 1 waits")
}

// --verify-only creates nothing, whatever a feature's Given steps do (the
// operator guard): a run over every feature writes nothing through
// Resource Manager. No scenario of any feature fails; in the Resource
// Manager tutorials, scenarios whose prerequisites stand run and pass, the
// others are reported skipped with the reason. (One run for what two tests checked with two runs.)
func TestAzureVerifyOnly(t *testing.T) {
	t.Parallel()
	w := standIn(t, "AzureCloud")
	var writes atomic.Int32
	w.faults.OnRequest = func(r *http.Request) {
		if r.Method != http.MethodGet && r.URL.Host == w.emu.Cloud().ARMHost {
			writes.Add(1)
		}
	}
	before := w.state()
	reports := winetest.TempDir(t)
	var out, errb bytes.Buffer
	args := []string{"--target", "azure", "--verify-only", "--reports", reports}
	if !slowtest.Enabled() {
		// The Azure CLI's start-up is most of this run's time; the
		// sign-in snippet runs here with the slow tests (.ci/run) and on
		// the emulator in runner/suite.
		args = append(args, "--tags", "not @snippets:sign-in")
	}
	code := runTutorials(w.ctx(context.Background()), args, &out, &errb)
	errs := errb.String()
	assert.Equal(t, int32(0), writes.Load(), "a verify-only run writes nothing through Resource Manager")
	assert.Equal(t, before, w.state())
	assert.Contains(t, errs, "verify-only run without names for fixtures")

	d := readJUnit(t, reports)
	assert.Equal(t, "verify-only", d.property("mode"))
	var passed, skipped int
	for _, s := range d.Suites {
		// No feature fails on a VM whose standing prerequisites hold:
		// what a verify-only run cannot check is skipped with the reason
		// (the snippets run in a sandbox around the stand-in, where
		// 169.254.169.254 is its IMDS).
		for _, c := range s.Cases {
			assert.Nil(t, c.Failure, "%s: %s\nexit code %d", s.File, c.Name, code)
		}
		if !strings.HasSuffix(s.File, "rm_system_identity.feature") && !strings.HasSuffix(s.File, "rm_user_identity.feature") {
			continue
		}
		for _, c := range s.Cases {
			if c.Skipped != nil {
				skipped++
				assert.Contains(t, c.Skipped.Message, "verify-only run: this scenario needs", c.Name)
			} else {
				passed++
			}
		}
	}
	assert.Greater(t, passed, 0, "scenarios on the VM's standing group run")
	assert.Greater(t, skipped, 0, "scenarios that create things are skipped")
}

// A verify-only run whose prerequisites are missing fails and says what is
// missing.
func TestAzureVerifyOnlyMissingRole(t *testing.T) {
	t.Parallel()
	w := standIn(t, "AzureCloud")
	reports := winetest.TempDir(t)
	// The VM's identity may no longer read role assignments: the run
	// cannot tell, so it skips rather than fails.
	w.faults.Add(&targettest.Fault{Name: "no-read", Status: 403, Body: authorizationFailed, Times: 1000, Match: func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/providers/Microsoft.Authorization/roleAssignments") && r.Method == http.MethodGet
	}})
	code, out, errs := w.run(context.Background(), "--target", "azure", "--verify-only", "--reports", reports, "--tags", "@tutorial:rm-system-identity")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	d := readJUnit(t, reports)
	found := false
	for _, c := range d.Suites[0].Cases {
		if c.Skipped != nil && strings.Contains(c.Skipped.Message, "may not read role assignments") {
			found = true
		}
	}
	assert.True(t, found, "a scenario is skipped because the VM cannot read role assignments")
}

// Ctrl-C in the middle of a scenario: the run stops, the scenarios left are
// skipped, and what was created is gone, even when the scenario's own
// cleanup failed (the run's teardown deletes it by its run tag).
func TestAzureInterruptTearsDown(t *testing.T) {
	t.Parallel()
	w := standIn(t, "AzureCloud")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var created atomic.Bool
	w.faults.OnRequest = func(r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/resourceGroups/DevTest-") {
			created.Store(true)
		}
		if created.Load() && targettest.IMDSToken(r) {
			cancel()
		}
	}
	// The scenario's own cleanup fails to delete its group.
	w.faults.Add(&targettest.Fault{Name: "delete-500", Status: 500, Times: 1, Body: `{"error":{"code":"InternalServerError","message":"injected"}}`,
		Match: func(r *http.Request) bool {
			return r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/resourceGroups/DevTest-") && !strings.Contains(r.URL.Path, "/providers/")
		}})
	before := w.state()
	reports := winetest.TempDir(t)
	code, out, errs := w.run(ctx, "--target", "azure", "--provision", "--reports", reports, "--tags", "@tutorial:rm-system-identity")
	assert.Equal(t, 130, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Equal(t, 1, w.faults.Injected("delete-500"))
	assert.Contains(t, errs, "teardown: deleting resource group DevTest-", out)
	assert.Contains(t, errs, "`go run ./runner sweep` removes what the run left", "on Azure the hint names the sweep")
	assert.Equal(t, before, w.state(), "nothing is left after the interrupt")
	d := readJUnit(t, reports)
	interrupted := 0
	for _, c := range d.Suites[0].Cases {
		if c.Skipped != nil && strings.Contains(c.Skipped.Message, "interrupted") {
			interrupted++
		}
	}
	assert.Greater(t, interrupted, 0, "scenarios after the interrupt are skipped, saying why")
}

func TestSweepCommand(t *testing.T) {
	t.Parallel()
	w := standIn(t, "AzureUSGovernment")
	c := w.emu.E.Cloud
	f := w.emu.Facts()
	tok, err := w.op.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(c.ARMResource, "/") + "/.default"}})
	require.NoError(t, err)
	put := func(name string, age time.Duration) {
		body := `{"location":"` + f.Location + `","tags":{"createdBy":"miconform","createdAt":"` + time.Now().Add(-age).UTC().Format(time.RFC3339) + `"}}`
		req, _ := http.NewRequest(http.MethodPut, "https://"+c.ARMHost+"/subscriptions/"+f.SubscriptionID+"/resourceGroups/"+name+"?api-version=2021-04-01", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := w.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 201, resp.StatusCode)
	}
	put("stale", 8*time.Hour)
	put("fresh", time.Minute)
	var out, errb bytes.Buffer
	code := sweepCmd(w.ctx(context.Background()), []string{"--older-than", "6h"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "deleted stale\n")
	assert.NotContains(t, out.String(), "deleted fresh")
	assert.Contains(t, out.String(), "1 resource group(s) older than 6h0m0s deleted in subscription "+f.SubscriptionID+" (AzureUSGovernment)")
	groups := w.state()
	assert.NotContains(t, groups, `"stale `)
	assert.Contains(t, groups, `"fresh `)
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--target", "azure", "--provision", "--verify-only"},
		{"--verify-only"},
		{"--target", "moon"},
		{"--no-such-flag"},
		{"--target", "azure", "--concurrency", "2"},
		{"--concurrency", "-1"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, runTutorials(emulatorCtx(), args, &out, &errb), "%v", args)
	}
	var out, errb bytes.Buffer
	assert.Equal(t, 2, sweepCmd(context.Background(), []string{"--older-than", "-1h"}, &out, &errb))
}

// A run that selects no scenario (a mistyped tag) is a usage error that says why.
func TestNothingSelectedFails(t *testing.T) {
	var out, errb bytes.Buffer
	code := runTutorials(emulatorCtx(), []string{"--tags", "@tutorial:no-such-tutorial", "--reports", winetest.TempDir(t)}, &out, &errb)
	assert.Equal(t, 2, code)
	assert.Contains(t, errb.String(), `no scenario matched (--tags "@tutorial:no-such-tutorial"`)
}

// A failing tutorial fails the run and is named in a GitHub annotation.
func TestFailingTutorialIsNamed(t *testing.T) {
	t.Parallel()
	w := standIn(t, "AzureCloud")
	w.faults.Add(&targettest.Fault{Name: "broken-imds", Match: targettest.IMDSToken, Status: 400, Times: 1 << 20,
		Body: `{"error":"invalid_request","error_description":"injected"}`})
	code, out, errs := w.run(context.Background(), "--target", "azure", "--provision", "--github-annotations", "--reports", winetest.TempDir(t), "--tags", "@tutorial:rm-user-identity")
	assert.Equal(t, 1, code, errs)
	assert.Regexp(t, `(?m)^::error file=[^,]*rm_user_identity.feature,title=tutorial failed%3A @tutorial%3Arm-user-identity::@tutorial:rm-user-identity \(Use a user-assigned .*\): [0-9]+ scenario\(s\) failed: \[1\] `, out)
}
