package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/cucumber/godog"
	"github.com/stretchr/testify/assert"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
)

// isolating is a target that hands itself out and counts what comes back.
type isolating struct {
	mu               sync.Mutex
	handed, released int
}

func (t *isolating) Name() string                     { return "fake" }
func (t *isolating) Cloud() cloud.Profile             { return cloud.MustLookup("AzureCloud") }
func (t *isolating) HTTPClient() *http.Client         { return http.DefaultClient }
func (t *isolating) Facts() target.Facts              { return target.Facts{} }
func (t *isolating) Operator() azcore.TokenCredential { return nil }
func (t *isolating) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}
func (t *isolating) RootCAs() *x509.CertPool     { return nil }
func (t *isolating) Policy() target.Policy       { return target.Policy{} }
func (t *isolating) Close(context.Context) error { return nil }

func (t *isolating) Isolate() (target.Target, func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.handed++
	return t, func() { t.mu.Lock(); t.released++; t.mu.Unlock() }, nil
}

// A scenario gives its isolated target back once it has cleaned up, and
// keeps it out of the pool when a cleanup failed, so no later scenario
// starts on its leftovers.
func TestScenarioReleasesOnlyACleanTarget(t *testing.T) {
	const feature = `Feature: release
  Scenario: cleans up
    Given a cleanup that works
  Scenario: leaves a mess
    Given a cleanup that fails
`
	tg := &isolating{}
	status := godog.TestSuite{
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			Register(sc, tg)
			sc.Step(`^a cleanup that (works|fails)$`, func(ctx context.Context, how string) error {
				from(ctx).onCleanup("the test's change", func(context.Context) error {
					if how == "fails" {
						return errors.New("could not undo it")
					}
					return nil
				})
				return nil
			})
		},
		Options: &godog.Options{Format: "progress", Output: io.Discard, Strict: true,
			FeatureContents: []godog.Feature{{Name: "release.feature", Contents: []byte(feature)}}},
	}.Run()
	assert.NotZero(t, status, "the failed cleanup fails its scenario")
	assert.Equal(t, 2, tg.handed)
	assert.Equal(t, 1, tg.released)
}
