// Package target is what a run points at: the in-process emulator or the
// Azure VM the runner is on. Steps get a Target and never ask which one it
// is; the differences (how hosts are dialed, who the operator is, how facts
// are discovered) live here.
package target

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"time"

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
	// Fixtures names what the tutorials name (a storage account, a vault,
	// ...), keyed by the tutorials' placeholder (the Fixture* constants);
	// steps see each as <KEY>.
	Fixtures map[string]string
}

// Fixture keys: the tutorials' own placeholders for the names they leave to
// the reader.
const (
	FixtureStorageAccount = "STORAGE-ACCOUNT-NAME"
	FixtureContainer      = "CONTAINER-NAME"
	FixtureBlob           = "BLOB-NAME"
	FixtureKeyVault       = "KEY-VAULT-NAME"
	FixtureSecret         = "SECRET-NAME"
	FixtureSQLServer      = "AZURE-SQL-SERVERNAME"
	FixtureSQLDatabase    = "DATABASE"
	FixtureSQLTable       = "TABLE"
	FixtureUserIdentity   = "USER-ASSIGNED-IDENTITY-NAME"
)

// Mode is how Given steps treat what a tutorial creates in the portal.
type Mode int

const (
	// Provision: Given steps create it through Resource Manager as the
	// operator, tagged (Policy.Tags), and delete it after the scenario.
	Provision Mode = iota
	// VerifyOnly: Given steps create nothing. They check that what the
	// tutorial needs already exists, through the VM's identity where it
	// can read it, and skip the scenario with the reason where they cannot
	// tell or where the scenario needs something created.
	VerifyOnly
)

func (m Mode) String() string {
	if m == VerifyOnly {
		return "verify-only"
	}
	return "provision"
}

// Policy is how steps behave on a target. Steps read it instead of asking
// which target they have.
type Policy struct {
	Mode Mode
	// Tags go on every resource group a Given step creates; the run's
	// teardown and `runner sweep` find leftovers by them.
	Tags map[string]string
	// RBACPropagation bounds how long a call that gets 403 is retried when
	// the same scenario granted its caller a role.
	RBACPropagation time.Duration
	// RBACRetryBase is the first wait before retrying such a 403, doubled
	// each try up to RBACRetryMax (0: 1 s and 15 s, for Azure's minutes).
	// The emulator applies role assignments when a fault says, a second or
	// so, so its runs poll every 100-400 ms.
	RBACRetryBase, RBACRetryMax time.Duration
}

// Tag names on what a run creates.
const (
	TagCreatedBy = "createdBy" // value "miconform"
	TagCreatedAt = "createdAt" // RFC 3339, UTC
	TagRun       = "miconformRun"
	CreatedBy    = "miconform"
)

// Target is one place the tutorials can run.
type Target interface {
	// Name is "emulator" or "azure".
	Name() string
	// Cloud is the cloud profile of the run.
	Cloud() cloud.Profile
	// HTTPClient sends requests to the tutorials' URLs verbatim
	// (http://169.254.169.254/..., https://management.azure.com/...).
	HTTPClient() *http.Client
	// Dial connects to the tutorials' addresses that are not HTTP (Azure
	// SQL's {server}.database.windows.net:1433) the way HTTPClient reaches
	// the HTTP ones, so a step never digs into a transport for them.
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs are the authorities the target's TLS servers chain to (the
	// emulator's CA); nil means the system's.
	RootCAs() *x509.CertPool
	// Facts describes the VM and its subscription.
	Facts() Facts
	// Operator is the credential of the person following the tutorial in
	// the portal; Given steps act as the operator through Resource Manager.
	Operator() azcore.TokenCredential
	// Policy says how steps provision and retry on this target.
	Policy() Policy
	// Close releases what the target holds; a provisioning target deletes
	// what its run left behind first.
	Close(ctx context.Context) error
}

// Isolator is a target that can give a scenario a VM and cloud of its own,
// so that scenarios may run at once without seeing each other's faults,
// role assignments and identity changes. The emulator is one; an Azure VM
// is not (its scenarios run one at a time).
type Isolator interface {
	Target
	// Isolate returns a target only the caller uses until it calls
	// release (once the scenario has undone its changes; a caller that
	// could not undo them does not release it, and the target is never
	// handed out again). The caller does not Close it: closing the
	// Isolator closes it.
	Isolate() (t Target, release func(), err error)
}
