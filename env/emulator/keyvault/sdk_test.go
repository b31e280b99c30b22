package keyvault_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is the SDK's transport: the emulator's client, with the status
// and challenge of each answer kept, to prove the challenge flow ran.
type recorder struct {
	c  *http.Client
	mu sync.Mutex
	// seen is "METHOD status" with ":challenge" when WWW-Authenticate came.
	seen []string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.c.Do(req)
	if err == nil {
		s := req.Method + " " + http.StatusText(resp.StatusCode)
		if resp.Header.Get("WWW-Authenticate") != "" {
			s += ":challenge"
		}
		r.mu.Lock()
		r.seen = append(r.seen, s)
		r.mu.Unlock()
	}
	return resp, err
}

func startEmulator(t testing.TB, c cloud.Profile) *emulator.Emulator {
	t.Helper()
	return emulatortest.Start(t, emulatortest.Options{Config: emulator.Config{Cloud: c, Seed: "tutorials"}})
}

// TestOfficialSDK drives the emulator with the official azsecrets client,
// default options apart from the transport that reaches the emulator: the
// VM reads the seeded secret with its managed identity (IMDS), the operator
// sets, gets, lists and deletes with a client-secret credential.
func TestOfficialSDK(t *testing.T) {
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := cloud.MustLookup(name)
			e := startEmulator(t, c)
			ctx := context.Background()
			vaultURL := "https://" + e.World.VaultName + "." + c.VaultSuffix + "/"
			rec := &recorder{c: emulatortest.Client(e)}
			opts := &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: rec}}

			mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: emulatortest.Client(e)}})
			require.NoError(t, err)
			vm, err := azsecrets.NewClient(vaultURL, mi, opts)
			require.NoError(t, err)
			got, err := vm.GetSecret(ctx, e.World.SecretName, "", nil)
			require.NoError(t, err)
			assert.Equal(t, "My Secret", *got.Value)
			assert.Equal(t, e.World.SecretName, got.ID.Name())
			assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), got.ID.Version())
			assert.True(t, *got.Attributes.Enabled)
			// First call unauthenticated, the challenge, then the answer.
			assert.Equal(t, []string{"GET Unauthorized:challenge", "GET OK"}, rec.seen)

			// The VM's Secret Management template has no purge.
			_, err = vm.PurgeDeletedSecret(ctx, e.World.SecretName, nil)
			var re *azcore.ResponseError
			require.True(t, errors.As(err, &re), "%v", err)
			assert.Equal(t, 403, re.StatusCode)
			assert.Equal(t, "Forbidden", re.ErrorCode)

			op, err := azidentity.NewClientSecretCredential(e.TenantID(), e.Operator.ClientID, e.Operator.Secret, &azidentity.ClientSecretCredentialOptions{
				ClientOptions: policy.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://" + c.LoginHost + "/"}, Transport: emulatortest.Client(e)},
			})
			require.NoError(t, err)
			rec.seen = nil
			client, err := azsecrets.NewClient(vaultURL, op, opts)
			require.NoError(t, err)
			ct := "text/plain"
			set, err := client.SetSecret(ctx, "sdk-secret", azsecrets.SetSecretParameters{Value: ptr("sdk-value-1"), ContentType: &ct, SecretAttributes: &azsecrets.SecretAttributes{Enabled: ptr(true)}}, nil)
			require.NoError(t, err)
			assert.Equal(t, "sdk-value-1", *set.Value)
			assert.Equal(t, "text/plain", *set.ContentType)
			// The body was held back for the unauthenticated first try and
			// re-sent with the token.
			assert.Equal(t, []string{"PUT Unauthorized:challenge", "PUT OK"}, rec.seen)

			read, err := client.GetSecret(ctx, "sdk-secret", set.ID.Version(), nil)
			require.NoError(t, err)
			assert.Equal(t, "sdk-value-1", *read.Value)

			names := map[string]bool{}
			pager := client.NewListSecretPropertiesPager(nil)
			for pager.More() {
				page, err := pager.NextPage(ctx)
				require.NoError(t, err)
				for _, p := range page.Value {
					names[p.ID.Name()] = true
					assert.Empty(t, p.ID.Version(), "list items name the secret, not a version")
				}
			}
			assert.Equal(t, map[string]bool{e.World.SecretName: true, "sdk-secret": true}, names)

			del, err := client.DeleteSecret(ctx, "sdk-secret", nil)
			require.NoError(t, err)
			assert.Equal(t, vaultURL+"deletedsecrets/sdk-secret", *del.RecoveryID)
			_, err = client.GetSecret(ctx, "sdk-secret", "", nil)
			require.True(t, errors.As(err, &re), "%v", err)
			assert.Equal(t, 404, re.StatusCode)
			assert.Equal(t, "SecretNotFound", re.ErrorCode)
			_, err = client.GetDeletedSecret(ctx, "sdk-secret", nil)
			require.NoError(t, err)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkGetSecretHTTPS is the tutorial's Invoke-RestMethod: GET
// /secrets/{name}?api-version=2016-10-01 with the VM's token, over the
// emulator's TLS listener on a kept-alive connection.
func BenchmarkGetSecretHTTPS(b *testing.B) {
	c := cloud.MustLookup("AzureCloud")
	e := startEmulator(b, c)
	client := emulatortest.Client(e)
	treq, _ := http.NewRequest("GET", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net", nil)
	treq.Header.Set("Metadata", "true")
	resp, err := client.Do(treq)
	require.NoError(b, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(b, jsonUnmarshal(body, &tok), "%s", body)
	url := "https://" + e.World.VaultName + "." + c.VaultSuffix + "/secrets/" + e.World.SecretName + "?api-version=2016-10-01"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// A vault that does not exist has no address, as in DNS: the request fails
// before any answer, for any vault name the seed did not create.
func TestUnknownVaultDoesNotResolve(t *testing.T) {
	c := cloud.MustLookup("AzureChinaCloud")
	e := startEmulator(t, c)
	client := emulatortest.Client(e)
	_, err := client.Get("https://no-such-vault." + c.VaultSuffix + "/secrets/mi-test?api-version=2016-10-01")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not an emulated")
	resp, err := client.Get("https://" + e.World.VaultName + "." + c.VaultSuffix + "/secrets/mi-test?api-version=2016-10-01")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
}
