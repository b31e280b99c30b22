package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
)

func TestARMAuthenticationFailures(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	tenant := h.E.TenantID()
	rgPath := h.rg("myResourceGroupVM") + "?api-version=2021-04-01"
	challenge := func(uri, desc string) string {
		return `Bearer authorization_uri="` + uri + `", error="invalid_token", error_description="` + desc + `"`
	}

	t.Run("no Authorization header", func(t *testing.T) {
		r := h.arm("GET", rgPath, "", nil)
		assert.Equal(t, 401, r.code)
		assert.Equal(t, "AuthenticationFailed", r.errCode())
		assert.Equal(t, "Authentication failed. The 'Authorization' header is missing.", r.errMessage())
		assert.Equal(t, challenge("https://login.windows.net/"+tenant, "The authentication failed because of missing 'Authorization' header."), r.header.Get("WWW-Authenticate"))
		assert.Equal(t, "gateway", r.header.Get("x-ms-failure-cause"))
		assert.NotEmpty(t, r.header.Get("x-ms-request-id"))
		assert.NotEmpty(t, r.header.Get("x-ms-correlation-request-id"))
	})
	t.Run("no Authorization header off the subscription", func(t *testing.T) {
		r := h.arm("GET", "/tenants?api-version=2020-01-01", "", nil)
		assert.Equal(t, 401, r.code)
		assert.Equal(t, challenge("https://login.windows.net/", "The authentication failed because of missing 'Authorization' header."), r.header.Get("WWW-Authenticate"))
	})
	for name, value := range map[string]string{
		"Basic scheme":         "Basic dXNlcjpwYXNz",
		"Bearer with no token": "Bearer",
		"Bearer and spaces":    "Bearer    ",
		"token without scheme": h.operatorToken(),
	} {
		t.Run(name, func(t *testing.T) {
			r := h.do("GET", "https://management.azure.com"+rgPath, http.Header{"Authorization": {value}}, nil)
			assert.Equal(t, 401, r.code)
			assert.Equal(t, "AuthenticationFailed", r.errCode())
			assert.Equal(t, "Authentication failed. The 'Authorization' header is provided in an invalid format.", r.errMessage())
			assert.Equal(t, challenge("https://login.windows.net/"+tenant, "The authentication failed because of invalid 'Authorization' header format."), r.header.Get("WWW-Authenticate"))
		})
	}
	t.Run("lower-case bearer is accepted", func(t *testing.T) {
		r := h.do("GET", "https://management.azure.com"+rgPath, http.Header{"Authorization": {"bearer " + h.operatorToken()}}, nil)
		assert.Equal(t, 200, r.code)
	})
	invalid := func(t *testing.T, token string) {
		t.Helper()
		r := h.arm("GET", rgPath, token, nil)
		assert.Equal(t, 401, r.code)
		assert.Equal(t, "InvalidAuthenticationToken", r.errCode())
		assert.Equal(t, "The access token is invalid.", r.errMessage())
		assert.Equal(t, challenge("https://login.windows.net/"+tenant, "The access token is invalid."), r.header.Get("WWW-Authenticate"))
	}
	t.Run("garbage token", func(t *testing.T) { invalid(t, "not-a-jwt") })
	t.Run("token signed by another key", func(t *testing.T) {
		forged := entra.NewIssuer(h.E.Cloud, h.E.Dir, otherKey(t))
		tok, err := forged.AppToken(h.E.Operator, "https://management.azure.com/")
		require.NoError(t, err)
		invalid(t, tok.Raw)
	})
	t.Run("wrong audience", func(t *testing.T) {
		r := h.arm("GET", rgPath, h.appToken(h.E.Operator, "https://vault.azure.net"), nil)
		assert.Equal(t, 401, r.code)
		assert.Equal(t, "InvalidAuthenticationTokenAudience", r.errCode())
		assert.Equal(t, "The access token has been obtained for wrong audience or resource 'https://vault.azure.net'. It should exactly match with one of the allowed audiences 'https://management.azure.com','https://management.azure.com/','https://management.core.windows.net','https://management.core.windows.net/'.", r.errMessage())
		assert.Equal(t, challenge("https://login.windows.net/"+tenant, "The access token has been obtained for wrong audience or resource 'https://vault.azure.net'."), r.header.Get("WWW-Authenticate"))
	})
	t.Run("audience case matters", func(t *testing.T) {
		r := h.arm("GET", rgPath, h.appToken(h.E.Operator, "https://MANAGEMENT.azure.com/"), nil)
		assert.Equal(t, "InvalidAuthenticationTokenAudience", r.errCode())
	})
	for _, aud := range []string{"https://management.azure.com", "https://management.azure.com/", "https://management.core.windows.net/", "https://management.core.windows.net"} {
		t.Run("accepted audience "+aud, func(t *testing.T) {
			r := h.arm("GET", rgPath, h.appToken(h.E.Operator, aud), nil)
			assert.Equal(t, 200, r.code, "%s", r.raw)
		})
	}
}

func TestARMExpiredAndNotYetValidTokens(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	rgPath := h.rg("myResourceGroupVM") + "?api-version=2021-04-01"
	now := fixedTime
	h.E.Issuer.SetClock(func() time.Time { return now })
	tok := h.operatorToken() // issued 3/4/2026 5:06:07 AM, expires an hour later

	now = fixedTime.Add(13 * time.Hour)
	r := h.arm("GET", rgPath, tok, nil)
	assert.Equal(t, 401, r.code)
	assert.Equal(t, "ExpiredAuthenticationToken", r.errCode())
	assert.Equal(t, "The access token expiry UTC time '3/4/2026 6:06:07 AM' is earlier than current UTC time '3/4/2026 6:06:07 PM'.", r.errMessage())
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `error_description="The access token expiry UTC time '3/4/2026 6:06:07 AM' is earlier than current UTC time '3/4/2026 6:06:07 PM'."`)

	now = fixedTime.Add(time.Hour + 4*time.Minute)
	r = h.arm("GET", rgPath, tok, nil)
	assert.Equal(t, 200, r.code, "five minutes of clock skew are tolerated")

	now = fixedTime.Add(-10 * time.Minute)
	r = h.arm("GET", rgPath, tok, nil)
	assert.Equal(t, 401, r.code)
	assert.Equal(t, "InvalidAuthenticationToken", r.errCode())
	assert.Equal(t, "The access token is not yet valid. Token validity starts at '3/4/2026 5:06:07 AM'.", r.errMessage())
}

func TestARMTokenFromAnotherTenant(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	// Same signing key, another tenant: the signature verifies, the
	// issuer does not.
	key := h.E.Issuer.SigningKey()
	otherTenant := "0000beef-0000-4000-8000-000000000000"
	dir := directory.New(otherTenant)
	dir.Add(h.E.Operator)
	tok, err := entra.NewIssuer(h.E.Cloud, dir, key).AppToken(h.E.Operator, "https://management.azure.com/")
	require.NoError(t, err)

	r := h.arm("GET", h.rg("myResourceGroupVM")+"?api-version=2021-04-01", tok.Raw, nil)
	assert.Equal(t, 401, r.code)
	assert.Equal(t, "InvalidAuthenticationTokenTenant", r.errCode())
	assert.Equal(t, "The access token is from the wrong issuer 'https://sts.windows.net/"+otherTenant+"/'. It must match the tenant 'https://sts.windows.net/"+h.E.TenantID()+"/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/"+h.E.TenantID()+"' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.", r.errMessage())
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `authorization_uri="https://login.windows.net/`+h.E.TenantID()+`"`)
}

func TestARMAuthorizationFailed(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	app := h.newApp("nobody")
	tok := h.appToken(app, "https://management.azure.com/")
	rg := h.rg("myResourceGroupVM")

	r := h.arm("GET", rg+"?api-version=2021-04-01", tok, nil)
	assert.Equal(t, 403, r.code)
	assert.Equal(t, "AuthorizationFailed", r.errCode())
	assert.Equal(t, "The client '"+app.ClientID+"' with object id '"+app.ObjectID+"' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '"+rg+"' or the scope is invalid. If access was recently granted, please refresh your credentials.", r.errMessage())

	vm := rg + "/providers/Microsoft.Compute/virtualMachines/myVM"
	r = h.arm("PATCH", vm+"?api-version=2024-07-01", tok, map[string]any{"tags": map[string]string{"a": "b"}})
	assert.Equal(t, 403, r.code)
	assert.Contains(t, r.errMessage(), "perform action 'Microsoft.Compute/virtualMachines/write' over scope '"+vm+"'")

	// Reader on the group: reads pass, writes do not.
	h.assignRole(app.ObjectID, readerRole, rg)
	r = h.arm("GET", rg+"?api-version=2021-04-01", tok, nil)
	assert.Equal(t, 200, r.code)
	r = h.arm("GET", vm+"?api-version=2024-07-01", tok, nil)
	assert.Equal(t, 200, r.code)
	r = h.arm("PATCH", vm+"?api-version=2024-07-01", tok, map[string]any{"tags": map[string]string{"a": "b"}})
	assert.Equal(t, 403, r.code)
	r = h.arm("PUT", h.rg("elsewhere")+"?api-version=2021-04-01", tok, map[string]any{"location": "westus"})
	assert.Equal(t, 403, r.code)
	assert.Contains(t, r.errMessage(), "'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '"+h.rg("elsewhere")+"'")

	// Contributor cannot hand out roles; the message names the action.
	h.assignRole(app.ObjectID, contributorRole, rg)
	r = h.arm("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", tok, map[string]any{
		"properties": map[string]any{"roleDefinitionId": h.sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRole, "principalId": app.ObjectID},
	})
	assert.Equal(t, 403, r.code)
	assert.Contains(t, r.errMessage(), "'Microsoft.Authorization/roleAssignments/write'")
}
