package target

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/internal/redact"
)

// Emulator is a target backed by an in-process emulator seeded with the
// tutorials' world. It is an Isolator: scenarios running at once each get
// an emulator of their own from its pool.
type Emulator struct {
	E        *emulator.Emulator
	client   *http.Client
	operator azcore.TokenCredential
	policy   Policy
	// pool is shared by the emulator NewEmulator made and the ones Isolate
	// started beside it.
	pool *emulatorPool
}

// emulatorPool holds the emulators of one run: the first (the one
// NewEmulator returned, whose facts the run reports) and those Isolate
// started when every one was in use.
type emulatorPool struct {
	mu      sync.Mutex
	idle    []*Emulator
	members []*Emulator // every emulator, the first one first
	closed  bool
}

// emulatorRBACPropagation is the emulator's RBAC retry window: its role
// assignments take effect at once unless a test injects a delay.
const emulatorRBACPropagation = 30 * time.Second

// emulatorRBACRetryBase and emulatorRBACRetryMax bound the emulator's
// waits before retrying a 403 in that window: its delays are injected, a
// second or so.
const (
	emulatorRBACRetryBase = 100 * time.Millisecond
	emulatorRBACRetryMax  = 400 * time.Millisecond
)

// NewEmulator starts an emulator of the given cloud on loopback ports.
func NewEmulator(c cloud.Profile) (*Emulator, error) {
	return NewEmulatorWith(c, EmulatorOptions{})
}

// EmulatorOptions are what tests change of an emulator target.
type EmulatorOptions struct {
	// SigningKey signs every token of the pool's emulators (nil: a key
	// the first one makes). Tests pass their process's (entratest.Key)
	// rather than generate one per run.
	SigningKey *entra.SigningKey
	// Unthrottled turns IMDS's request limits off. A test standing the
	// emulator in for Azure, one VM serving a whole run, is about what the
	// run does, not how fast IMDS lets it; the limits have tests of their
	// own, and a 429 is injected where the harness's retry is the subject.
	Unthrottled bool
}

// NewEmulatorWith is NewEmulator with options.
func NewEmulatorWith(c cloud.Profile, o EmulatorOptions) (*Emulator, error) {
	t, err := startEmulator(c, o.SigningKey, !o.Unthrottled, Policy{
		Mode: Provision, Tags: runTags(newRunID(), time.Now()), RBACPropagation: emulatorRBACPropagation,
		RBACRetryBase: emulatorRBACRetryBase, RBACRetryMax: emulatorRBACRetryMax,
	})
	if err != nil {
		return nil, err
	}
	t.pool = &emulatorPool{idle: []*Emulator{t}, members: []*Emulator{t}}
	return t, nil
}

// startEmulator starts one emulator seeded with the tutorials' world,
// signing with key (nil: a key of its own).
func startEmulator(c cloud.Profile, key *entra.SigningKey, throttle bool, pol Policy) (*Emulator, error) {
	// Long-running creates answer Retry-After: 0 here, so the steps poll
	// at once: the harness judges tutorials, not how long Azure takes.
	e, err := emulator.New(emulator.Config{Cloud: c, Seed: "tutorials", IMDSThrottle: throttle, SigningKey: key,
		LRO: &arm.LROTiming{Polls: arm.DefaultLROTiming.Polls}})
	if err != nil {
		return nil, err
	}
	if err := e.Start(); err != nil {
		return nil, err
	}
	// The operator's secret must never reach a report or log.
	redact.Register(e.Operator.Secret)
	t := &Emulator{E: e, client: e.HTTPClient(), policy: pol}
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

// Dial implements Target: the emulator's dialer, which sends the cloud's
// names to its listeners and refuses anything else.
func (t *Emulator) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return t.E.DialContext(ctx, network, addr)
}

// RootCAs implements Target: the emulator's CA.
func (t *Emulator) RootCAs() *x509.CertPool { return t.E.CA.Pool() }

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

// Isolate implements Isolator. The emulator is a whole cloud with one VM,
// and scenarios change it (they inject faults, enable and disable the VM's
// identity, assign roles on its resource group), so a scenario running
// beside others gets an emulator no other scenario uses until it releases
// it: an idle one of the pool, or a new one started now, seeded with the
// same tutorials' world in a tenant and subscription of its own (and, as
// one Azure VM is, throttled by its own IMDS). Scenarios leave their
// emulator as they found it (they undo their changes), so one run after
// another on the same emulator is what a sequential run does.
func (t *Emulator) Isolate() (Target, func(), error) {
	p := t.pool
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, errors.New("target: the emulator is closed")
	}
	var e *Emulator
	if n := len(p.idle); n > 0 {
		e, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	first := p.members[0]
	p.mu.Unlock()
	if e == nil {
		var err error
		if e, err = startEmulator(first.E.Cloud, first.E.Issuer.SigningKey(), first.E.IMDS.Throttle, first.policy); err != nil {
			return nil, nil, fmt.Errorf("target: starting another emulator: %w", err)
		}
		e.pool = p
		p.mu.Lock()
		if p.closed { // Close ran while this one started
			p.mu.Unlock()
			_ = e.closeOne()
			return nil, nil, errors.New("target: the emulator is closed")
		}
		p.members = append(p.members, e)
		p.mu.Unlock()
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			p.mu.Lock()
			p.idle = append(p.idle, e)
			p.mu.Unlock()
		})
	}
	return e, release, nil
}

// Pooled is every emulator of the run: this one's pool, the first one
// first. Tests scan all of them (their secrets, their tokens).
func (t *Emulator) Pooled() []*Emulator {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	return slices.Clone(t.pool.members)
}

// Close implements Target: it closes every emulator of the pool.
func (t *Emulator) Close(context.Context) error {
	p := t.pool
	p.mu.Lock()
	p.closed = true
	members := p.members
	p.mu.Unlock()
	var errs []error
	for _, m := range members {
		errs = append(errs, m.closeOne())
	}
	return errors.Join(errs...)
}

// closeOne closes one emulator of the pool (which closes the idle
// connections of t.client, over its Transport, first).
func (t *Emulator) closeOne() error {
	return t.E.Close()
}
