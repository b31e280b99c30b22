package target

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/internal/azhttp"
)

// Azure is the real VM the runner is on.
type Azure struct {
	cloud    cloud.Profile
	client   *http.Client
	facts    Facts
	operator azcore.TokenCredential
	policy   Policy
	runID    string
	arm      *armClient
	log      io.Writer
	teardown time.Duration
	// shell, when set, runs the VM's programs instead of this machine.
	shell Shell
	// Unnamed lists the fixture keys a verify-only run has no name for;
	// scenarios that need them are skipped.
	Unnamed []string
}

// AzureOptions say how to reach and describe the VM. The zero value is
// production: IMDS at 169.254.169.254, a plain HTTP client, the operator
// signed in by operatorCredential, provisioning.
type AzureOptions struct {
	// Config overrides discovery and names fixtures (file, env, flags
	// already merged).
	Config Config
	// Mode is Provision or VerifyOnly.
	Mode Mode
	// IMDSBase is IMDS's base URL (default http://169.254.169.254).
	IMDSBase string
	// Client sends every request: IMDS, Resource Manager, data planes, and
	// the operator's sign-in when Operator is nil (default: a plain client).
	Client *http.Client
	// Operator replaces DefaultAzureCredential (tests sign in with client
	// credentials against the emulator).
	Operator azcore.TokenCredential
	// Log receives teardown and sweep progress (nil discards it).
	Log io.Writer
	// TeardownTimeout bounds Close's deletion of what the run left
	// (default 30 minutes: deleting a resource group takes minutes).
	TeardownTimeout time.Duration
	// Shell runs the tutorials' commands on the VM (default: this machine,
	// the runner being on the VM). A test standing the emulator in for
	// Azure passes SandboxShell, where 169.254.169.254 is the emulator's.
	Shell Shell
	// RBACRetryBase and RBACRetryMax bound the waits between retries of a
	// 403 in the propagation window (0: 1 s and 15 s, for Azure's
	// minutes). A test standing the emulator in for Azure, whose delays
	// are injected, passes the emulator's (Emulator.Policy).
	RBACRetryBase, RBACRetryMax time.Duration
}

// defaultRBACPropagation is Azure RBAC's documented worst case for a role
// assignment to take effect.
// https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected
const defaultRBACPropagation = 10 * time.Minute

// NewAzure discovers the VM from IMDS /metadata/instance (fields the config
// sets are taken as given; with all of them set IMDS is not asked) and signs
// the operator in (operatorCredential, unless o.Operator is set).
func NewAzure(ctx context.Context, o AzureOptions) (*Azure, error) {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	base := o.IMDSBase
	if base == "" {
		base = "http://169.254.169.254"
	}
	c := o.Config
	if c.Cloud == "" || c.SubscriptionID == "" || c.ResourceGroup == "" || c.VMName == "" || c.Location == "" {
		ic, err := discover(ctx, client, base)
		if err != nil {
			return nil, fmt.Errorf("target azure: discovery from IMDS: %w (is this an Azure VM? off a VM, set cloud, subscriptionId, resourceGroup, vmName and location by flag, MICONFORM_* or config)", err)
		}
		fill(&c.Cloud, ic.AzEnvironment)
		fill(&c.SubscriptionID, ic.SubscriptionID)
		fill(&c.ResourceGroup, ic.ResourceGroupName)
		fill(&c.VMName, ic.Name)
		fill(&c.VMResourceID, ic.ResourceID)
		fill(&c.Location, ic.Location)
	}
	fill(&c.VMResourceID, "/subscriptions/"+c.SubscriptionID+"/resourceGroups/"+c.ResourceGroup+"/providers/Microsoft.Compute/virtualMachines/"+c.VMName)
	prof, err := cloud.Lookup(c.Cloud)
	if err != nil {
		return nil, fmt.Errorf("target azure: %w", err)
	}
	rbacWait := defaultRBACPropagation
	if c.RBACPropagation != "" {
		if rbacWait, err = time.ParseDuration(c.RBACPropagation); err != nil || rbacWait < 0 {
			return nil, fmt.Errorf("target azure: rbac propagation window %q is not a non-negative duration", c.RBACPropagation)
		}
	}
	cred := o.Operator
	if cred == nil {
		if cred, err = operatorCredential(prof, c.TenantID); err != nil {
			return nil, fmt.Errorf("target azure: operator credential: %w", err)
		}
	}
	runID := newRunID()
	t := &Azure{
		cloud: prof, client: client, operator: cred, runID: runID, log: o.Log, teardown: o.TeardownTimeout, shell: o.Shell,
		arm: &armClient{cloud: prof, client: client, cred: cred},
		policy: Policy{
			Mode: o.Mode, Tags: runTags(runID, time.Now()), RBACPropagation: rbacWait,
			RBACRetryBase: o.RBACRetryBase, RBACRetryMax: o.RBACRetryMax,
		},
	}
	if t.log == nil {
		t.log = io.Discard
	}
	if t.teardown <= 0 {
		t.teardown = 30 * time.Minute
	}
	fx, unnamed := resolveFixtures(c.Fixtures, o.Mode)
	t.Unnamed = unnamed
	if c.TenantID == "" && o.Mode == Provision {
		// The operator can read its subscription.
		if c.TenantID, err = t.arm.tenantOf(ctx, c.SubscriptionID); err != nil {
			return nil, fmt.Errorf("target azure: the operator cannot read subscription %s: %w", c.SubscriptionID, err)
		}
	}
	if c.TenantID == "" && c.SubscriptionID != "" {
		// A verify-only run may have no operator that can read the
		// subscription; Resource Manager names the subscription's tenant
		// to anyone in its challenge. Failing that, steps learn it from
		// the VM's token (<TENANT-ID>).
		c.TenantID = t.arm.challengeTenant(ctx, c.SubscriptionID)
	}
	t.facts = Facts{
		TenantID: c.TenantID, SubscriptionID: c.SubscriptionID, ResourceGroup: c.ResourceGroup,
		VMName: c.VMName, VMResourceID: c.VMResourceID, Location: c.Location, Fixtures: fx,
	}
	return t, nil
}

// operatorCredential is DefaultAzureCredential without its managed
// identity link: on the VM that link would sign the operator in as the very
// identity the tutorials test, which holds none of the operator's rights.
// What is left is what a person or CI uses: service principal variables,
// workload identity, `az login` (what azure/login sets up) and `azd auth
// login`. AZURE_TOKEN_CREDENTIALS, when set, selects the chain as
// azidentity documents.
func operatorCredential(prof cloud.Profile, tenant string) (azcore.TokenCredential, error) {
	co := policy.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://" + prof.LoginHost + "/"}}
	if os.Getenv("AZURE_TOKEN_CREDENTIALS") != "" {
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co, TenantID: tenant})
	}
	var chain []azcore.TokenCredential
	if c, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: co}); err == nil {
		chain = append(chain, c)
	}
	if os.Getenv("AZURE_FEDERATED_TOKEN_FILE") != "" {
		if c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co, TenantID: tenant}); err == nil {
			chain = append(chain, c)
		}
	}
	if c, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: tenant}); err == nil {
		chain = append(chain, c)
	}
	if c, err := azidentity.NewAzureDeveloperCLICredential(&azidentity.AzureDeveloperCLICredentialOptions{TenantID: tenant}); err == nil {
		chain = append(chain, c)
	}
	return azidentity.NewChainedTokenCredential(chain, nil)
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// instanceCompute is the part of /metadata/instance discovery needs.
// https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#instance-metadata
type instanceCompute struct {
	AzEnvironment     string `json:"azEnvironment"`
	Location          string `json:"location"`
	Name              string `json:"name"`
	ResourceGroupName string `json:"resourceGroupName"`
	ResourceID        string `json:"resourceId"`
	SubscriptionID    string `json:"subscriptionId"`
	VMID              string `json:"vmId"`
}

// discover reads GET /metadata/instance (IMDS's transient answers retried
// as for tokens).
func discover(ctx context.Context, client *http.Client, base string) (instanceCompute, error) {
	var doc struct {
		Compute instanceCompute `json:"compute"`
	}
	x := azhttp.SendWithRetry(ctx, client, nil, azhttp.IMDSRetry, http.MethodGet, base+"/metadata/instance?api-version=2021-02-01", http.Header{"Metadata": {"true"}}, nil)
	if x.Err != nil {
		return doc.Compute, x.Err
	}
	if x.Status != http.StatusOK {
		return doc.Compute, fmt.Errorf("GET /metadata/instance: %d: %.300s", x.Status, x.Body)
	}
	if err := json.Unmarshal(x.Body, &doc); err != nil {
		return doc.Compute, fmt.Errorf("GET /metadata/instance: %w", err)
	}
	ic := doc.Compute
	if ic.SubscriptionID == "" || ic.ResourceID == "" || ic.AzEnvironment == "" {
		return ic, errors.New("/metadata/instance lacks compute.subscriptionId, resourceId or azEnvironment")
	}
	return ic, nil
}

// Name implements Target.
func (t *Azure) Name() string { return "azure" }

// Cloud implements Target.
func (t *Azure) Cloud() cloud.Profile { return t.cloud }

// HTTPClient implements Target.
func (t *Azure) HTTPClient() *http.Client { return t.client }

// Dial implements Target: the network, or the dialer of the HTTP client the
// target was given (Options.Client), so both reach the same places.
func (t *Azure) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if tr, ok := t.client.Transport.(*http.Transport); ok && tr.DialContext != nil {
		return tr.DialContext(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// RootCAs implements Target: the given client's, else the system's (nil).
func (t *Azure) RootCAs() *x509.CertPool {
	if tr, ok := t.client.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		return tr.TLSClientConfig.RootCAs
	}
	return nil
}

// Facts implements Target.
func (t *Azure) Facts() Facts { return t.facts }

// Operator implements Target.
func (t *Azure) Operator() azcore.TokenCredential { return t.operator }

// Policy implements Target.
func (t *Azure) Policy() Policy { return t.policy }

// RunID names this run; its resource groups carry it in the TagRun tag.
func (t *Azure) RunID() string { return t.runID }

// Close implements Target. A provisioning run deletes every resource group
// tagged with its run id that is still there: the scenarios' own cleanups
// should have removed them, but a crash, a cleanup error or an interrupted
// run must not leave them to cost money. It is bounded by TeardownTimeout,
// not by ctx's cancellation (Close runs after Ctrl-C).
func (t *Azure) Close(ctx context.Context) error {
	if t.policy.Mode != Provision {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.teardown)
	defer cancel()
	_, err := t.deleteGroups(ctx, func(tags map[string]string) (bool, string) {
		if tags[TagRun] != t.runID {
			return false, ""
		}
		return true, "left by this run"
	})
	return err
}

// Sweep deletes resource groups miconform created (tag createdBy=miconform)
// more than olderThan ago, from any run; it returns their names. Groups
// without a readable createdAt tag are left alone and reported.
func (t *Azure) Sweep(ctx context.Context, olderThan time.Duration) ([]string, error) {
	cutoff := time.Now().Add(-olderThan)
	return t.deleteGroups(ctx, func(tags map[string]string) (bool, string) {
		if tags[TagCreatedBy] != CreatedBy {
			return false, ""
		}
		at, err := time.Parse(time.RFC3339, tags[TagCreatedAt])
		if err != nil {
			return false, fmt.Sprintf("tagged %s=%s but its %s tag %q is not RFC 3339: left alone", TagCreatedBy, CreatedBy, TagCreatedAt, tags[TagCreatedAt])
		}
		if at.After(cutoff) {
			return false, fmt.Sprintf("created %s, newer than %s: kept", at.Format(time.RFC3339), olderThan)
		}
		return true, "created " + at.Format(time.RFC3339)
	})
}

// deleteGroups deletes the subscription's resource groups that match says
// yes to, all at once, and waits for each deletion to finish.
func (t *Azure) deleteGroups(ctx context.Context, match func(map[string]string) (bool, string)) ([]string, error) {
	groups, err := t.arm.groups(ctx, t.facts.SubscriptionID)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, g := range groups {
		ok, why := match(g.Tags)
		if why != "" && !ok {
			fmt.Fprintf(t.log, "sweep: resource group %s %s\n", g.Name, why)
		}
		if ok {
			fmt.Fprintf(t.log, "teardown: deleting resource group %s (%s)\n", g.Name, why)
			names = append(names, g.Name)
		}
	}
	errs := make(chan error, len(names))
	for _, n := range names {
		go func() { errs <- t.arm.deleteGroup(ctx, t.facts.SubscriptionID, n) }()
	}
	var all []error
	for range names {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return names, errors.Join(all...)
}

// armClient is the operator's Resource Manager client for teardown and
// sweep.
type armClient struct {
	cloud  cloud.Profile
	client *http.Client
	cred   azcore.TokenCredential
}

const resourcesAPI = "2021-04-01"

type armGroup struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	Tags map[string]string `json:"tags"`
}

func (a *armClient) do(ctx context.Context, method, url string) (int, http.Header, []byte, error) {
	tok, err := a.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(a.cloud.ARMResource, "/") + "/.default"}})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("operator sign-in: %w", err)
	}
	if strings.HasPrefix(url, "/") {
		url = "https://" + a.cloud.ARMHost + url
	}
	x := azhttp.Send(ctx, a.client, nil, method, url, http.Header{"Authorization": {"Bearer " + tok.Token}}, nil)
	return x.Status, x.Header, x.Body, x.Err
}

// tenantOf is Subscriptions - Get's tenantId.
// https://learn.microsoft.com/rest/api/resources/subscriptions/get
func (a *armClient) tenantOf(ctx context.Context, sub string) (string, error) {
	st, _, body, err := a.do(ctx, http.MethodGet, "/subscriptions/"+sub+"?api-version=2022-12-01")
	if err != nil {
		return "", err
	}
	if st != http.StatusOK {
		return "", fmt.Errorf("%d %.300s", st, body)
	}
	var s struct {
		TenantID string `json:"tenantId"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.TenantID == "" {
		return "", fmt.Errorf("no tenantId in the subscription")
	}
	return s.TenantID, nil
}

// challengeTenant is the tenant Resource Manager names in its 401 challenge
// to an unauthenticated request on a subscription path
// (WWW-Authenticate: Bearer authorization_uri="https://login.../{tenant}"),
// the way tools discover a subscription's tenant before signing in; "" when
// the answer names none.
func (a *armClient) challengeTenant(ctx context.Context, sub string) string {
	x := azhttp.Send(ctx, a.client, nil, http.MethodGet, "https://"+a.cloud.ARMHost+"/subscriptions/"+url.PathEscape(sub)+"?api-version=2022-12-01", nil, nil)
	if x.Err != nil || x.Status != http.StatusUnauthorized {
		return ""
	}
	return ChallengeTenant(x.Header.Get("WWW-Authenticate"))
}

// ChallengeTenant reads the tenant from a Bearer challenge's
// authorization_uri: its first path segment when that is a GUID.
func ChallengeTenant(challenge string) string {
	m := challengeURI.FindStringSubmatch(challenge)
	if m == nil {
		return ""
	}
	u, err := url.Parse(m[1])
	if err != nil {
		return ""
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !directory.IsGUID(seg) {
		return ""
	}
	return strings.ToLower(seg)
}

var (
	challengeURI = regexp.MustCompile(`(?i)\bauthorization_uri="([^"]*)"`)
)

// groups is Resource Groups - List, every page, narrowed server-side to
// miconform's tag (Azure supports tagName/tagValue filters on this list;
// callers filter again on the tags they get).
// https://learn.microsoft.com/rest/api/resources/resource-groups/list
func (a *armClient) groups(ctx context.Context, sub string) ([]armGroup, error) {
	url := "/subscriptions/" + sub + "/resourcegroups?api-version=" + resourcesAPI +
		"&%24filter=tagName+eq+%27" + TagCreatedBy + "%27+and+tagValue+eq+%27" + CreatedBy + "%27"
	var all []armGroup
	for url != "" {
		st, _, body, err := a.do(ctx, http.MethodGet, url)
		if err != nil {
			return nil, fmt.Errorf("listing resource groups: %w", err)
		}
		if st != http.StatusOK {
			return nil, fmt.Errorf("listing resource groups: %d %.300s", st, body)
		}
		var page struct {
			Value    []armGroup `json:"value"`
			NextLink string     `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("listing resource groups: %w", err)
		}
		all = append(all, page.Value...)
		url = page.NextLink
	}
	return all, nil
}

// deleteGroup is Resource Groups - Delete: 202 and a Location to poll
// until it answers 200 (done); 404 means already gone.
// https://learn.microsoft.com/rest/api/resources/resource-groups/delete
func (a *armClient) deleteGroup(ctx context.Context, sub, name string) error {
	st, h, body, err := a.do(ctx, http.MethodDelete, "/subscriptions/"+sub+"/resourcegroups/"+name+"?api-version="+resourcesAPI)
	switch {
	case err != nil:
		return fmt.Errorf("deleting resource group %s: %w", name, err)
	case st == http.StatusOK || st == http.StatusNotFound:
		return nil
	case st != http.StatusAccepted:
		return fmt.Errorf("deleting resource group %s: %d %.300s", name, st, body)
	}
	for loc := h.Get("Location"); loc != ""; {
		wait := 10 * time.Second
		if s, err := time.ParseDuration(h.Get("Retry-After") + "s"); err == nil && s >= 0 {
			wait = min(s, time.Minute)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deleting resource group %s: gave up waiting: %w", name, ctx.Err())
		case <-time.After(wait):
		}
		st, h, body, err = a.do(ctx, http.MethodGet, loc)
		switch {
		case err != nil:
			return fmt.Errorf("deleting resource group %s: polling: %w", name, err)
		case st == http.StatusOK || st == http.StatusNoContent || st == http.StatusNotFound:
			return nil
		case st != http.StatusAccepted:
			return fmt.Errorf("deleting resource group %s: %d %.300s", name, st, body)
		}
	}
	return nil
}
