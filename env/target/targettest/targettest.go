// Package targettest runs the Azure target against an in-process emulator
// standing in for Azure, with transient faults injected in the HTTP client,
// so the Azure code paths (discovery, the operator's sign-in, retries,
// provisioning and teardown) are tested offline.
package targettest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/target"
)

// Emulator is an emulator target of the named cloud, signing with the test
// process's key (entratest.Key) and closed when the test ends.
func Emulator(t testing.TB, cloudName string) *target.Emulator {
	t.Helper()
	return EmulatorWith(t, cloudName, target.EmulatorOptions{})
}

// EmulatorWith is Emulator with options; a nil SigningKey is the test
// process's key.
func EmulatorWith(t testing.TB, cloudName string, o target.EmulatorOptions) *target.Emulator {
	t.Helper()
	c, err := cloud.Lookup(cloudName)
	if err != nil {
		t.Fatal(err)
	}
	if o.SigningKey == nil {
		o.SigningKey = entratest.Key()
	}
	tg, err := target.NewEmulatorWith(c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close(context.Background()) })
	return tg
}

// Fault answers requests that Match with Status (and Header, Body) instead
// of passing them on, for the first Times matches.
type Fault struct {
	Name   string
	Match  func(*http.Request) bool
	Status int
	Header http.Header
	Body   string
	Times  int

	hits int
}

// Faults is an http.RoundTripper that injects Faults in front of Base.
type Faults struct {
	Base http.RoundTripper
	// OnRequest, if set, sees every request before the faults do.
	OnRequest func(*http.Request)

	mu     sync.Mutex
	faults []*Fault
}

// Add installs a fault.
func (f *Faults) Add(x *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, x)
}

// Injected counts how often the named fault answered.
func (f *Faults) Injected(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, x := range f.faults {
		if x.Name == name {
			n += x.hits
		}
	}
	return n
}

// RoundTrip implements http.RoundTripper.
func (f *Faults) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.OnRequest != nil {
		f.OnRequest(r)
	}
	f.mu.Lock()
	var hit *Fault
	for _, x := range f.faults {
		if x.hits < x.Times && x.Match(r) {
			x.hits++
			hit = x
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return f.Base.RoundTrip(r)
	}
	if r.Body != nil {
		_ = r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for k, v := range hit.Header {
		h[k] = v
	}
	return &http.Response{
		Status: http.StatusText(hit.Status), StatusCode: hit.Status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(hit.Body)), ContentLength: int64(len(hit.Body)), Request: r,
	}, nil
}

// IMDSToken matches the VM's token requests to IMDS.
func IMDSToken(r *http.Request) bool {
	return r.URL.Host == "169.254.169.254" && strings.HasPrefix(r.URL.Path, "/metadata/identity/oauth2/token")
}

// IMDSInstance matches /metadata/instance requests.
func IMDSInstance(r *http.Request) bool {
	return r.URL.Host == "169.254.169.254" && strings.HasPrefix(r.URL.Path, "/metadata/instance")
}

// Options are the Azure target's options with e standing in for Azure:
// every request goes through faults (whose Base is e's in-process
// transport when unset: these tests are about the target's steps, not the
// wire), IMDS is e's, and the operator signs in with client credentials
// (the official azidentity flow) against e's login host, and the
// tutorials' commands run in a sandbox around e (Linux; elsewhere the
// scenarios that need one are skipped with the reason).
func Options(e *emulator.Emulator, faults *Faults, mode target.Mode) (target.AzureOptions, error) {
	if faults.Base == nil {
		faults.Base = e.InProcessTransport()
	}
	client := &http.Client{Transport: faults}
	cred, err := azidentity.NewClientSecretCredential(e.TenantID(), e.Operator.ClientID, e.Operator.Secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: policy.ClientOptions{
			Cloud:     azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://" + e.Cloud.LoginHost + "/"},
			Transport: client,
		}})
	if err != nil {
		return target.AzureOptions{}, err
	}
	return target.AzureOptions{Mode: mode, IMDSBase: "http://169.254.169.254", Client: client, Operator: cred, Shell: target.SandboxShell(e)}, nil
}
