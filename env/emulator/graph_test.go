package emulator_test

import (
	"context"
	"crypto/tls"
	"net/http"
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

	"github.com/miconform/miconform/env/emulator/faults"
)

// graph sends a Microsoft Graph GET with a bearer token.
func (h *harness) graph(path, token string) reply {
	h.t.Helper()
	return h.do("GET", "https://"+h.E.Cloud.GraphHost+"/v1.0/"+path, http.Header{"Authorization": {"Bearer " + token}}, nil)
}

// The Go SDK's azidentity tokens for the Graph audience are accepted on
// every cloud's Graph host: the operator's client-credentials token reads
// the VM's principal; the VM's managed identity token is genuine but has
// no directory read permission (Graph's 403, not an authentication error).
func TestAzidentityGraphTokens(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ cloud, authority string }{
		{"AzureCloud", "https://login.microsoftonline.com/"},
		{"AzureChinaCloud", "https://login.chinacloudapi.cn/"},
		{"AzureUSGovernment", "https://login.microsoftonline.us/"},
	} {
		t.Run(c.cloud, func(t *testing.T) {
			t.Parallel()
			h := start(t, opts{cloud: c.cloud, seed: "tutorials"})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			scope := h.E.Cloud.GraphResource + ".default"
			op, err := azidentity.NewClientSecretCredential(h.E.TenantID(), h.E.Operator.ClientID, h.E.Operator.Secret, &azidentity.ClientSecretCredentialOptions{
				ClientOptions: azcore.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: c.authority}, Transport: h.client},
			})
			require.NoError(t, err)
			tok, err := op.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
			require.NoError(t, err)
			claims, err := h.E.Issuer.Verify(tok.Token)
			require.NoError(t, err)
			assert.Equal(t, []string{"Directory.Read.All"}, claims.Roles)

			pid := h.vmPrincipalID(h.E.World.VMResourceID)
			r := h.graph("servicePrincipals/"+pid, tok.Token)
			require.Equal(t, 200, r.code, "%s", r.raw)
			assert.Equal(t, "ManagedIdentity", str(r.body, "servicePrincipalType"))
			assert.Equal(t, "https://"+h.E.Cloud.GraphHost+"/v1.0/$metadata#servicePrincipals/$entity", str(r.body, "@odata.context"))
			r = h.graph("servicePrincipals?$filter="+url.QueryEscape("appId eq '"+h.E.World.UserIdentityClientID+"'"), tok.Token)
			require.Equal(t, 200, r.code, "%s", r.raw)
			require.Len(t, r.value(), 1)
			alt, _ := r.value()[0]["alternativeNames"].([]any)[1].(string)
			assert.True(t, strings.EqualFold(h.E.World.UserIdentityResourceID, alt), "the identity's resource id (compared without case): %s", alt)

			mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: h.client}})
			require.NoError(t, err)
			miTok, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
			require.NoError(t, err)
			miClaims, err := h.E.Issuer.Verify(miTok.Token)
			require.NoError(t, err)
			assert.Equal(t, pid, miClaims.OID, "the principal Graph shows is the one the token names")
			r = h.graph("servicePrincipals/"+pid, miTok.Token)
			assert.Equal(t, 403, r.code, "%s", r.raw)
			assert.Equal(t, "Authorization_RequestDenied", r.errCode())
		})
	}
}

// A system-assigned identity's principal disappears from Graph when the
// identity is disabled, and when its VM is deleted; a user-assigned
// identity's stays (it is a resource of its own).
func TestGraphFollowsIdentityLifecycle(t *testing.T) {
	t.Parallel()
	h := start(t, opts{seed: "tutorials"})
	tok := h.appToken(h.E.Operator, h.E.Cloud.GraphResource)
	vm := h.E.World.VMResourceID
	pid := h.vmPrincipalID(vm)
	require.Equal(t, 200, h.graph("servicePrincipals/"+pid, tok).code)

	r := h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "None"}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Equal(t, 404, h.graph("servicePrincipals/"+pid, tok).code, "disabled: the principal is gone")
	r = h.graph("servicePrincipals?$filter="+url.QueryEscape("appId eq '"+h.E.World.UserIdentityClientID+"'"), tok)
	assert.Len(t, r.value(), 1, "the user-assigned identity is still there")

	r = h.op("PATCH", vm+"?api-version=2024-07-01", map[string]any{"identity": map[string]any{"type": "SystemAssigned"}})
	require.Equal(t, 200, r.code, "%s", r.raw)
	again := h.vmPrincipalID(vm)
	assert.NotEqual(t, pid, again, "re-enabling makes a new principal")
	assert.Equal(t, 200, h.graph("servicePrincipals/"+again, tok).code)

	r = h.op("DELETE", vm+"?api-version=2024-07-01", nil)
	require.Contains(t, []int{200, 202, 204}, r.code, "%s", r.raw)
	assert.Equal(t, 404, h.graph("servicePrincipals/"+again, tok).code, "deleted with its VM")
}

// The HTTPS certificate covers each cloud's Graph host, and a sovereign
// cloud answers MSAL's worldwide instance discovery.
func TestGraphHostsAndWorldwideDiscovery(t *testing.T) {
	t.Parallel()
	h := start(t, opts{cloud: "AzureChinaCloud", listen: true})
	for _, host := range []string{"graph.microsoft.com", "microsoftgraph.chinacloudapi.cn", "graph.microsoft.us"} {
		conn, err := tls.Dial("tcp", h.E.HTTPSAddr(), &tls.Config{ServerName: host, RootCAs: h.E.CA.Pool()})
		require.NoError(t, err, host)
		require.NoError(t, conn.VerifyHostname(host))
		conn.Close()
	}
	assert.True(t, h.E.Serves("microsoftgraph.chinacloudapi.cn"))
	assert.False(t, h.E.Serves("graph.microsoft.com"), "another cloud's Graph is not this emulator's")

	r := h.do("GET", "https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize", nil, nil)
	require.Equal(t, 200, r.code, "%s", r.raw)
	assert.Contains(t, string(r.raw), `"login.chinacloudapi.cn"`)
	r = h.do("POST", "https://login.microsoftonline.com/"+h.E.TenantID()+"/oauth2/v2.0/token", nil, "grant_type=client_credentials")
	assert.Equal(t, 404, r.code, "tokens come from the cloud's own login host")
}

// The services fault can target Graph alone.
func TestGraphServiceFault(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	tok := h.appToken(h.E.Operator, h.E.Cloud.GraphResource)
	require.NoError(t, h.E.Faults.SetServices(faults.Services{Status: 503, Service: "graph", Window: faults.Window{Count: 1}}))
	assert.Equal(t, 503, h.graph("servicePrincipals", tok).code)
	assert.Equal(t, 200, h.graph("servicePrincipals", tok).code, "one failure, then Graph answers")
	require.NoError(t, h.E.Faults.SetServices(faults.Services{Status: 503, Service: "graph", Window: faults.Window{Count: 1}}))
	assert.Equal(t, 200, h.op("GET", h.sub()+"?api-version=2022-12-01", nil).code, "Resource Manager is not Graph")
}
