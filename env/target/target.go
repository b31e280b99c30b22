// Package target is what a run points at: the in-process emulator or the
// Azure VM the runner is on. Steps get a Target and never ask which one it
// is; the differences (how hosts are dialed, who the operator is, how facts
// are discovered) live here.
package target

import (
	"context"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/miconform/miconform/env/cloud"
)

// Facts are what a run knows about the VM it plays and its surroundings.
type Facts struct {
	TenantID       string
	SubscriptionID string
	// ResourceGroup is the VM's resource group.
	ResourceGroup string
	VMName        string
	VMResourceID  string
	Location      string
}

// Target is one place the tutorials can run.
type Target interface {
	// Name is "emulator" or "azure".
	Name() string
	// Cloud is the cloud profile of the run.
	Cloud() cloud.Profile
	// HTTPClient sends requests to the tutorials' URLs verbatim
	// (http://169.254.169.254/..., https://management.azure.com/...).
	HTTPClient() *http.Client
	// Facts describes the VM and its subscription.
	Facts() Facts
	// Operator is the credential of the person following the tutorial in
	// the portal; Given steps act as the operator through Resource Manager.
	Operator() azcore.TokenCredential
	// Close releases what the target holds.
	Close(ctx context.Context) error
}
