package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/miconform/miconform/env/cloud"
)

// Azure is the real VM the runner is on.
type Azure struct {
	cloud    cloud.Profile
	client   *http.Client
	facts    Facts
	operator azcore.TokenCredential
}

// AzureOptions override what discovery finds.
type AzureOptions struct {
	// Cloud overrides compute.azEnvironment.
	Cloud string
	// IMDSBase is IMDS's base URL (default http://169.254.169.254).
	IMDSBase string
	// Client is the HTTP client to use (default: a plain client).
	Client *http.Client
	// Facts fields that are set override the discovered ones.
	Facts Facts
}

// NewAzure discovers the VM from IMDS /metadata/instance and signs the
// operator in with azidentity's DefaultAzureCredential (workload identity in
// CI, `az login` on a laptop).
func NewAzure(ctx context.Context, o AzureOptions) (*Azure, error) {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	base := o.IMDSBase
	if base == "" {
		base = "http://169.254.169.254"
	}
	compute, err := discover(ctx, client, base)
	if err != nil {
		return nil, fmt.Errorf("target azure: discovery from IMDS: %w (is this an Azure VM?)", err)
	}
	cloudName := o.Cloud
	if cloudName == "" {
		cloudName = compute.AzEnvironment
	}
	c, err := cloud.Lookup(cloudName)
	if err != nil {
		return nil, err
	}
	f := Facts{
		TenantID: os.Getenv("AZURE_TENANT_ID"), SubscriptionID: compute.SubscriptionID, ResourceGroup: compute.ResourceGroupName,
		VMName: compute.Name, VMResourceID: compute.ResourceID, Location: compute.Location,
	}
	override(&f.TenantID, o.Facts.TenantID)
	override(&f.SubscriptionID, o.Facts.SubscriptionID)
	override(&f.ResourceGroup, o.Facts.ResourceGroup)
	override(&f.VMName, o.Facts.VMName)
	override(&f.VMResourceID, o.Facts.VMResourceID)
	override(&f.Location, o.Facts.Location)
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions: policy.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://" + c.LoginHost + "/"}},
		TenantID:      f.TenantID,
	})
	if err != nil {
		return nil, fmt.Errorf("target azure: operator credential: %w", err)
	}
	return &Azure{cloud: c, client: client, facts: f, operator: cred}, nil
}

func override(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// instanceCompute is the part of /metadata/instance discovery needs.
type instanceCompute struct {
	AzEnvironment     string `json:"azEnvironment"`
	Location          string `json:"location"`
	Name              string `json:"name"`
	ResourceGroupName string `json:"resourceGroupName"`
	ResourceID        string `json:"resourceId"`
	SubscriptionID    string `json:"subscriptionId"`
	VMID              string `json:"vmId"`
}

func discover(ctx context.Context, client *http.Client, base string) (instanceCompute, error) {
	var ic instanceCompute
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metadata/instance/compute?api-version=2021-02-01", nil)
	if err != nil {
		return ic, err
	}
	req.Header.Set("Metadata", "true")
	resp, err := client.Do(req)
	if err != nil {
		return ic, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ic, err
	}
	if resp.StatusCode != http.StatusOK {
		return ic, fmt.Errorf("GET /metadata/instance/compute: %s: %s", resp.Status, b)
	}
	if err := json.Unmarshal(b, &ic); err != nil {
		return ic, err
	}
	if ic.SubscriptionID == "" || ic.ResourceID == "" {
		return ic, fmt.Errorf("/metadata/instance/compute lacks subscriptionId or resourceId")
	}
	return ic, nil
}

// Name implements Target.
func (t *Azure) Name() string { return "azure" }

// Cloud implements Target.
func (t *Azure) Cloud() cloud.Profile { return t.cloud }

// HTTPClient implements Target.
func (t *Azure) HTTPClient() *http.Client { return t.client }

// Facts implements Target.
func (t *Azure) Facts() Facts { return t.facts }

// Operator implements Target.
func (t *Azure) Operator() azcore.TokenCredential { return t.operator }

// Close implements Target.
func (t *Azure) Close(context.Context) error { return nil }
