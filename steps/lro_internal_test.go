package steps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/azhttp"
)

// fakeAzure is Resource Manager as a test scripts it: each path answers
// its next scripted reply.
type fakeAzure struct {
	mu      sync.Mutex
	replies map[string][]fakeReply
	seen    []string
}

type fakeReply struct {
	status int
	header map[string]string
	body   string
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, r.Method+" "+r.URL.RequestURI())
	key := r.Method + " " + r.URL.Path
	q := f.replies[key]
	if len(q) == 0 {
		http.Error(w, "unscripted "+key, 500)
		return
	}
	rep := q[0]
	if len(q) > 1 {
		f.replies[key] = q[1:]
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write([]byte(rep.body))
}

// fakeTarget reaches fakeAzure at management.azure.com.
type fakeTarget struct {
	client *http.Client
}

func (fakeTarget) Name() string                     { return "fake" }
func (fakeTarget) Cloud() cloud.Profile             { return cloud.MustLookup("AzureCloud") }
func (t fakeTarget) HTTPClient() *http.Client       { return t.client }
func (fakeTarget) Facts() target.Facts              { return target.Facts{} }
func (fakeTarget) Operator() azcore.TokenCredential { return fakeCred{} }
func (fakeTarget) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}
func (fakeTarget) RootCAs() *x509.CertPool     { return nil }
func (fakeTarget) Policy() target.Policy       { return target.Policy{Mode: target.Provision} }
func (fakeTarget) Close(context.Context) error { return nil }
func (fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type fakeCred struct{}

type discard struct{}

func (discard) Printf(string, ...any) {}

func fakeScenario(t *testing.T, f *fakeAzure) *scenario {
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a test server
	}
	// Polls without a Retry-After back off from a millisecond, not a
	// quarter second: the order of requests is what these tests check.
	return &scenario{t: fakeTarget{client: &http.Client{Transport: tr}}, log: discard{}, vars: map[string]string{}, pollBackoff: time.Millisecond}
}

func TestAwaitOperationFollowsLocation(t *testing.T) {
	// Storage's pattern: 202 + Location (with Azure's signed query) until
	// the Location answers 200 with the account.
	loc := "https://management.azure.com/subscriptions/s/providers/Microsoft.Storage/locations/westus/asyncoperations/op?monitor=true&api-version=2023-01-01&t=1&c=x&s=y&h=z"
	f := &fakeAzure{replies: map[string][]fakeReply{
		"GET /subscriptions/s/providers/Microsoft.Storage/locations/westus/asyncoperations/op": {
			{status: 202, header: map[string]string{"Location": loc, "Retry-After": "0"}},
			{status: 200, body: `{"properties":{"provisioningState":"Succeeded"}}`},
		},
	}}
	s := fakeScenario(t, f)
	x, err := s.awaitOperation(context.Background(), fakeExchange(202, map[string]string{"Location": loc, "Retry-After": "0"}), "/acct?api-version=2023-01-01")
	require.NoError(t, err)
	assert.Equal(t, 200, x.Status)
	assert.Len(t, f.seen, 2)
	assert.Contains(t, f.seen[0], "&t=1&c=x&s=y&h=z", "the polling URL is used as given")
}

func TestAwaitOperationFollowsAzureAsyncOperation(t *testing.T) {
	async := "https://management.azure.com/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/locations/westus/serverAzureAsyncOperation/op?api-version=2023-08-01"
	f := &fakeAzure{replies: map[string][]fakeReply{
		"GET /subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/locations/westus/serverAzureAsyncOperation/op": {
			{status: 200, header: map[string]string{"Retry-After": "0"}, body: `{"name":"op","status":"InProgress"}`},
			{status: 200, body: `{"name":"op","status":"Succeeded"}`},
		},
		"GET /srv": {{status: 200, body: `{"properties":{"fullyQualifiedDomainName":"x.database.windows.net","state":"Ready"}}`}},
	}}
	s := fakeScenario(t, f)
	x, err := s.awaitOperation(context.Background(), fakeExchange(202, map[string]string{"Azure-AsyncOperation": async, "Retry-After": "0"}), "/srv?api-version=2023-08-01")
	require.NoError(t, err)
	assert.Contains(t, string(x.Body), "fullyQualifiedDomainName")
	assert.Equal(t, "GET /srv?api-version=2023-08-01", f.seen[len(f.seen)-1], "the resource is read when the operation is done")

	// A failed operation is reported with its status body.
	f.replies["GET /subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/locations/westus/serverAzureAsyncOperation/op"] = []fakeReply{
		{status: 200, body: `{"name":"op","status":"Failed","error":{"code":"ServerQuotaExceeded"}}`},
	}
	_, err = s.awaitOperation(context.Background(), fakeExchange(202, map[string]string{"Azure-AsyncOperation": async, "Retry-After": "0"}), "/srv?api-version=2023-08-01")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ServerQuotaExceeded")
}

func TestAwaitOperationReadsUntilProvisioningStateIsFinal(t *testing.T) {
	// Key Vault's pattern: 200 RegisteringDns, GETs until Succeeded.
	f := &fakeAzure{replies: map[string][]fakeReply{
		"GET /vault": {
			{status: 200, body: `{"properties":{"provisioningState":"RegisteringDns"}}`},
			{status: 200, body: `{"properties":{"provisioningState":"Succeeded","vaultUri":"https://v.vault.azure.net/"}}`},
		},
	}}
	s := fakeScenario(t, f)
	x := fakeExchange(200, nil)
	x.Body = []byte(`{"properties":{"provisioningState":"RegisteringDns","vaultUri":"https://v.vault.azure.net"}}`)
	x, err := s.awaitOperation(context.Background(), x, "/vault?api-version=2023-07-01")
	require.NoError(t, err)
	assert.Contains(t, string(x.Body), `"Succeeded"`)
	assert.Len(t, f.seen, 2)
}

func TestAwaitOperationRefusesPollingURLsOffResourceManager(t *testing.T) {
	s := fakeScenario(t, &fakeAzure{})
	_, err := s.awaitOperation(context.Background(), fakeExchange(202, map[string]string{"Location": "https://evil.example/poll"}), "/acct")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "not on https://management.azure.com"), err.Error())
}

func fakeExchange(status int, header map[string]string) *azhttp.Exchange {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return &azhttp.Exchange{Status: status, Header: h}
}
