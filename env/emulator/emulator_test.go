package emulator_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/wine/winetest"
)

var tokenQuery = url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}}

// TestTokenVerifiesWithPublishedKeys checks a token against nothing but
// what the login host publishes, the way a relying party does: discovery
// document -> jwks_uri -> RSA key from n and e -> RS256 signature.
func TestTokenVerifiesWithPublishedKeys(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	tenant := h.E.TenantID()

	cfg := h.do("GET", "https://login.microsoftonline.com/"+tenant+"/.well-known/openid-configuration", nil, nil)
	require.Equal(t, 200, cfg.code)
	assert.Equal(t, "https://sts.windows.net/"+tenant+"/", cfg.body["issuer"])
	assert.Equal(t, "https://login.microsoftonline.com/"+tenant+"/oauth2/token", cfg.body["token_endpoint"])
	jwksURI := cfg.body["jwks_uri"].(string)
	assert.Equal(t, "https://login.microsoftonline.com/common/discovery/keys", jwksURI)

	cfg2 := h.do("GET", "https://login.microsoftonline.com/"+tenant+"/v2.0/.well-known/openid-configuration", nil, nil)
	require.Equal(t, 200, cfg2.code)
	assert.Equal(t, "https://login.microsoftonline.com/"+tenant+"/v2.0", cfg2.body["issuer"])
	assert.Equal(t, "https://login.microsoftonline.com/"+tenant+"/oauth2/v2.0/token", cfg2.body["token_endpoint"])
	assert.Equal(t, "https://login.microsoftonline.com/"+tenant+"/discovery/v2.0/keys", cfg2.body["jwks_uri"])

	jwks := h.do("GET", jwksURI, nil, nil)
	require.Equal(t, 200, jwks.code)
	var set struct {
		Keys []struct {
			Kty, Use, Kid, X5t, N, E string
			X5c                      []string
		}
	}
	require.NoError(t, json.Unmarshal(jwks.raw, &set))
	require.NotEmpty(t, set.Keys)

	tok := h.imds("/metadata/identity/oauth2/token", tokenQuery)
	require.Equal(t, 200, tok.code)
	raw := tok.body["access_token"].(string)
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	var hdr struct{ Alg, Kid, X5t, Typ string }
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(hb, &hdr))
	assert.Equal(t, "RS256", hdr.Alg)
	assert.Equal(t, hdr.Kid, hdr.X5t)

	var verified bool
	for _, k := range set.Keys {
		if k.Kid != hdr.Kid {
			continue
		}
		assert.Equal(t, "RSA", k.Kty)
		assert.Equal(t, "sig", k.Use)
		assert.Equal(t, k.Kid, k.X5t)
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		require.NoError(t, err)
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		require.NoError(t, err)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}

		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		require.NoError(t, err)
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig), "signature verifies with the published key")
		tampered := sha256.Sum256([]byte(parts[0] + "." + parts[1] + "x"))
		require.Error(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, tampered[:], sig))

		require.Len(t, k.X5c, 1)
		der, err := base64.StdEncoding.DecodeString(k.X5c[0])
		require.NoError(t, err)
		cert, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		assert.True(t, pub.Equal(cert.PublicKey), "x5c carries the same public key")
		thumb := sha1Thumbprint(cert.Raw)
		assert.Equal(t, thumb, k.X5t, "x5t is the certificate's base64url SHA-1 thumbprint")
		verified = true
	}
	assert.True(t, verified, "no published key has kid %q", hdr.Kid)
}

func TestAzidentityClientSecretCredential(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	cred, err := azidentity.NewClientSecretCredential(h.E.TenantID(), h.E.Operator.ClientID, h.E.Operator.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://login.microsoftonline.com/"},
			Transport: h.client,
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	require.NoError(t, err)
	c, err := h.E.Issuer.Verify(tok.Token)
	require.NoError(t, err)
	assert.Equal(t, h.E.Operator.ClientID, c.AppID)
	assert.Equal(t, "https://management.azure.com", c.Aud)
	assert.Equal(t, h.E.TenantID(), c.TID)
	assert.WithinDuration(t, time.Unix(c.Exp, 0), tok.ExpiresOn, time.Second)

	// The token works against Resource Manager.
	r := h.arm("GET", h.rg("myResourceGroupVM")+"?api-version=2021-04-01", tok.Token, nil)
	assert.Equal(t, 200, r.code)

	// A wrong secret surfaces Entra's error through the SDK.
	bad, err := azidentity.NewClientSecretCredential(h.E.TenantID(), h.E.Operator.ClientID, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://login.microsoftonline.com/"}, Transport: h.client},
	})
	require.NoError(t, err)
	_, err = bad.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AADSTS7000215")
}

func TestAzidentityManagedIdentityCredential(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: h.client},
	})
	require.NoError(t, err)
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	require.NoError(t, err)
	c, err := h.E.Issuer.Verify(tok.Token)
	require.NoError(t, err)
	assert.Equal(t, h.vmPrincipalID(h.E.World.VMResourceID), c.OID, "the system-assigned identity by default")
	assert.Equal(t, "https://management.azure.com", c.Aud, "azidentity strips /.default")
	r := h.arm("GET", h.rg("myResourceGroupVM")+"?api-version=2021-04-01", tok.Token, nil)
	assert.Equal(t, 200, r.code, "the seeded Reader lets the VM read its group")

	uai, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: h.client},
		ID:            azidentity.ClientID(h.E.World.UserIdentityClientID),
	})
	require.NoError(t, err)
	tok, err = uai.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	require.NoError(t, err)
	c, err = h.E.Issuer.Verify(tok.Token)
	require.NoError(t, err)
	assert.Equal(t, h.E.World.UserIdentityClientID, c.AppID)
	assert.Equal(t, strings.Replace(h.E.World.VMResourceID, "/resourceGroups/", "/resourcegroups/", 1), c.XMSAZRID)
}

// sha1Thumbprint is the base64url SHA-1 certificate thumbprint Entra uses
// as x5t.
func sha1Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestIMDSSeveralUserAssignedIdentities builds, through Resource Manager, a
// VM with no system identity and two user-assigned ones.
func TestIMDSSeveralUserAssignedIdentities(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "none"})
	rg := h.rg("rg")
	require.Equal(t, 201, h.op("PUT", rg+"?api-version=2021-04-01", map[string]any{"location": "westus"}).code)
	var ids, clients, objects []string
	for _, n := range []string{"one", "two"} {
		id := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + n
		r := h.op("PUT", id+"?api-version=2023-01-31", map[string]any{"location": "westus"})
		require.Equal(t, 201, r.code)
		ids = append(ids, id)
		clients = append(clients, str(r.body, "properties", "clientId"))
		objects = append(objects, str(r.body, "properties", "principalId"))
	}
	vm := rg + "/providers/Microsoft.Compute/virtualMachines/vm"
	r := h.op("PUT", vm+"?api-version=2024-07-01", map[string]any{
		"location": "westus",
		"identity": map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{ids[0]: map[string]any{}, ids[1]: map[string]any{}}},
	})
	require.Equal(t, 201, r.code, "%s", r.raw)
	assert.Equal(t, "UserAssigned", str(r.body, "identity", "type"))
	assert.Empty(t, str(r.body, "identity", "principalId"))
	h.E.SetVM(vm)

	tok := h.imds("/metadata/identity/oauth2/token", tokenQuery)
	assert.Equal(t, 400, tok.code)
	assert.JSONEq(t, `{"error":"invalid_request","error_description":"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}`, string(tok.raw))

	for i := range ids {
		for _, sel := range [][2]string{{"client_id", clients[i]}, {"object_id", objects[i]}, {"msi_res_id", ids[i]}} {
			q := url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}, sel[0]: {sel[1]}}
			tok := h.imds("/metadata/identity/oauth2/token", q)
			require.Equal(t, 200, tok.code, "%s: %s", sel[0], tok.raw)
			c, err := h.E.Issuer.Verify(tok.body["access_token"].(string))
			require.NoError(t, err)
			assert.Equal(t, objects[i], c.OID, sel[0])
			assert.Equal(t, clients[i], tok.body["client_id"])
			assert.Equal(t, strings.Replace(ids[i], "/resourceGroups/", "/resourcegroups/", 1), c.XMSMIRID)
			assert.Equal(t, strings.Replace(vm, "/resourceGroups/", "/resourcegroups/", 1), c.XMSAZRID)
		}
	}

	// Detach one with a null entry: the other becomes the default.
	r = h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{ids[0]: nil}}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	tok = h.imds("/metadata/identity/oauth2/token", tokenQuery)
	require.Equal(t, 200, tok.code, "%s", tok.raw)
	assert.Equal(t, clients[1], tok.body["client_id"])
}

func TestIMDSWithoutVM(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "none"})
	tok := h.imds("/metadata/identity/oauth2/token", tokenQuery)
	assert.Equal(t, 400, tok.code)
	assert.JSONEq(t, `{"error":"invalid_request","error_description":"Identity not found"}`, string(tok.raw))
}

func TestIMDSThrottleOverHTTP(t *testing.T) {
	t.Parallel()
	h := start(t, opts{throttle: true})
	h.E.Issuer.SetClock(func() time.Time { return fixedTime })
	var ok, throttled int
	for i := 0; i < 30; i++ {
		r := h.imds("/metadata/identity/oauth2/token", tokenQuery)
		switch r.code {
		case 200:
			ok++
		case 429:
			throttled++
			assert.Equal(t, "too_many_requests", r.body["error"])
		default:
			t.Fatalf("unexpected %d %s", r.code, r.raw)
		}
	}
	assert.Equal(t, 20, ok)
	assert.Equal(t, 10, throttled)
}

func TestIMDSInstancePerCloud(t *testing.T) {
	t.Parallel()
	for name, env := range map[string]string{"AzureCloud": "AzurePublicCloud", "AzureChinaCloud": "AzureChinaCloud"} {
		t.Run(name, func(t *testing.T) {
			h := start(t, opts{cloud: name})
			r := h.imds("/metadata/instance", url.Values{"api-version": {"2021-02-01"}})
			require.Equal(t, 200, r.code)
			assert.Equal(t, env, str(r.body, "compute", "azEnvironment"))
			assert.Equal(t, "myVM", str(r.body, "compute", "name"))
			assert.Equal(t, h.E.SubscriptionID(), str(r.body, "compute", "subscriptionId"))
			assert.Equal(t, h.E.World.VMResourceID, str(r.body, "compute", "resourceId"))
			assert.Equal(t, cloud.MustLookup(name).DefaultLocation, str(r.body, "compute", "location"))
			assert.Regexp(t, `^[0-9a-f-]{36}$`, str(r.body, "compute", "vmId"))
		})
	}
}

func TestChinaCloud(t *testing.T) {
	t.Parallel()
	h := start(t, opts{cloud: "AzureChinaCloud"})
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.chinacloudapi.cn/"}}
	tok := h.imds("/metadata/identity/oauth2/token", q)
	require.Equal(t, 200, tok.code, "%s", tok.raw)
	c, err := entra.ParseUnverified(tok.body["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, "https://sts.chinacloudapi.cn/"+h.E.TenantID()+"/", c.Iss)
	assert.Equal(t, "https://management.chinacloudapi.cn/", c.Aud)

	r := h.do("GET", "https://management.chinacloudapi.cn"+h.rg("myResourceGroupVM")+"?api-version=2021-04-01",
		http.Header{"Authorization": {"Bearer " + tok.body["access_token"].(string)}}, nil)
	assert.Equal(t, 200, r.code, "%s", r.raw)

	r = h.do("GET", "https://management.chinacloudapi.cn"+h.rg("myResourceGroupVM")+"?api-version=2021-04-01", nil, nil)
	assert.Equal(t, 401, r.code)
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `authorization_uri="https://login.chinacloudapi.cn/`+h.E.TenantID()+`"`)

	pub := url.Values{"api-version": {"2018-02-01"}, "resource": {"https://management.azure.com/"}}
	r = h.imds("/metadata/identity/oauth2/token", pub)
	assert.Equal(t, 400, r.code, "the public cloud's Resource Manager is unknown in China")
	assert.Equal(t, "invalid_resource", r.body["error"])

	cfg := h.do("GET", "https://login.chinacloudapi.cn/"+h.E.TenantID()+"/.well-known/openid-configuration", nil, nil)
	require.Equal(t, 200, cfg.code)
	assert.Equal(t, "https://sts.chinacloudapi.cn/"+h.E.TenantID()+"/", cfg.body["issuer"])
}

func TestHostRoutingAndDialing(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	assert.True(t, h.E.Serves("management.azure.com"))
	assert.True(t, h.E.Serves("MANAGEMENT.AZURE.COM"))
	assert.True(t, h.E.Serves("login.microsoftonline.com"))
	assert.False(t, h.E.Serves("example.com"))
	assert.False(t, h.E.Serves("azure.com"))

	_, err := h.client.Get("https://example.com/")
	require.Error(t, err, "nothing outside the emulated cloud is dialed")
	assert.Contains(t, err.Error(), "is not an emulated AzureCloud address")
	_, err = h.client.Get("http://management.azure.com/")
	require.Error(t, err, "port 80 of an Azure host is not the emulator")

	// A host that reaches the listener but that no service answers.
	rec := httptest.NewRecorder()
	h.E.ServeHTTP(rec, httptest.NewRequest("GET", "https://management.chinacloudapi.cn/subscriptions", nil))
	assert.Equal(t, http.StatusMisdirectedRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), `no AzureCloud service answers for host "management.chinacloudapi.cn"`)
	rec = httptest.NewRecorder()
	h.E.ServeHTTP(rec, httptest.NewRequest("GET", "https://Login.MicrosoftOnline.com:443/common/discovery/keys", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "host names route without case and port")
}

func TestStateDirPersists(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	require.NoError(t, entra.SeedSigningKey(dir, sharedKey(t)))
	a, err := emulator.New(emulator.Config{StateDir: dir, Seed: "none"})
	require.NoError(t, err)
	tok, err := a.Issuer.AppToken(a.Operator, "https://management.azure.com/")
	require.NoError(t, err)
	// A restart: one emulator holds a state dir at a time (state.LockDir).
	require.NoError(t, a.Close())
	b, err := emulator.New(emulator.Config{StateDir: dir, Seed: "none"})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	assert.Equal(t, a.TenantID(), b.TenantID())
	assert.Equal(t, a.SubscriptionID(), b.SubscriptionID())
	assert.Equal(t, a.Operator, b.Operator)
	_, err = b.Issuer.Verify(tok.Raw)
	assert.NoError(t, err, "tokens survive a restart")

	// Without a state dir or a key, an emulator makes a key of its own.
	c, err := emulator.New(emulator.Config{Seed: "none"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	assert.NotEqual(t, a.TenantID(), c.TenantID())
	_, err = c.Issuer.Verify(tok.Raw)
	assert.ErrorIs(t, err, entra.ErrUnknownKey)

	_, err = emulator.New(emulator.Config{Seed: "bogus"})
	assert.Error(t, err)
}

func TestEnvLines(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	kv, err := h.E.Env()
	require.NoError(t, err)
	m := map[string]string{}
	for _, x := range kv {
		m[x.Key] = x.Value
	}
	assert.Equal(t, h.E.TenantID(), m["AZURE_TENANT_ID"])
	assert.Equal(t, h.E.SubscriptionID(), m["AZURE_SUBSCRIPTION_ID"])
	assert.Equal(t, "http://"+h.E.IMDSAddr(), m["MICONFORM_IMDS_URL"])
	assert.Equal(t, h.E.Operator.Secret, m["MICONFORM_OPERATOR_CLIENT_SECRET"])
	assert.FileExists(t, m["MICONFORM_CA_FILE"])
}
