package target

import (
	"context"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/runner/redact"
)

// Emulator is a target backed by an in-process emulator seeded with the
// tutorials' world.
type Emulator struct {
	E        *emulator.Emulator
	client   *http.Client
	operator azcore.TokenCredential
	policy   Policy
}

// emulatorRBACPropagation is the emulator's RBAC retry window: its role
// assignments take effect at once unless a test injects a delay.
const emulatorRBACPropagation = 30 * time.Second

// NewEmulator starts an emulator of the given cloud on loopback ports.
func NewEmulator(c cloud.Profile) (*Emulator, error) {
	e, err := emulator.New(emulator.Config{Cloud: c, Seed: "tutorials", IMDSThrottle: true})
	if err != nil {
		return nil, err
	}
	if err := e.Start(); err != nil {
		return nil, err
	}
	// The operator's secret must never reach a report or log.
	redact.Register(e.Operator.Secret)
	t := &Emulator{E: e, client: e.HTTPClient(), policy: Policy{
		Mode: Provision, Tags: runTags(newRunID(), time.Now()), RBACPropagation: emulatorRBACPropagation,
	}}
	// The operator signs in as a real client would: the official
	// azidentity client-credentials flow against the emulated login host.
	t.operator, err = azidentity.NewClientSecretCredential(e.TenantID(), e.Operator.ClientID, e.Operator.Secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{
			Cloud:     azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://" + c.LoginHost + "/"},
			Transport: t.client,
		}})
	if err != nil {
		e.Close()
		return nil, err
	}
	return t, nil
}

// Name implements Target.
func (t *Emulator) Name() string { return "emulator" }

// Cloud implements Target.
func (t *Emulator) Cloud() cloud.Profile { return t.E.Cloud }

// HTTPClient implements Target.
func (t *Emulator) HTTPClient() *http.Client { return t.client }

// Operator implements Target.
func (t *Emulator) Operator() azcore.TokenCredential { return t.operator }

// Facts implements Target.
func (t *Emulator) Facts() Facts {
	w := t.E.World
	return Facts{
		TenantID: t.E.TenantID(), SubscriptionID: t.E.SubscriptionID(), ResourceGroup: w.ResourceGroup,
		VMName: w.VMName, VMResourceID: w.VMResourceID, Location: w.Location,
		Fixtures: nonEmpty(map[string]string{
			FixtureStorageAccount: w.StorageAccount, FixtureContainer: w.Container, FixtureBlob: w.Blob,
			FixtureKeyVault: w.VaultName, FixtureSecret: w.SecretName, FixtureUserIdentity: w.UserIdentityName,
		}),
	}
}

// Policy implements Target: the emulator is always provisioned.
func (t *Emulator) Policy() Policy { return t.policy }

func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// Close implements Target.
func (t *Emulator) Close(context.Context) error {
	// The client closes its idle connections first: the emulator's
	// HTTP/2 server otherwise keeps each one for a second after its GOAWAY
	// before Shutdown returns.
	t.client.CloseIdleConnections()
	return t.E.Close()
}
