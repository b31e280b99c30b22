package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/miconform/miconform/internal/redact"
	"github.com/tidwall/gjson"
)

// Key Vault steps: the tutorial "Use a Windows VM system-assigned managed
// identity to access Azure Key Vault". Given steps are its portal steps
// (create the vault, add the secret, add the access policy), done through
// Resource Manager and the vault as the operator; the VM's part (token from
// IMDS, Invoke-RestMethod on /secrets/{name}) uses the generic IMDS and
// "with the access token" steps.
func registerKeyVault(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		s := from(ctx)
		c := s.t.Cloud()
		s.set("VAULT-RESOURCE", c.VaultResource)
		s.set("VAULT-RESOURCE-ENCODED", url.QueryEscape(c.VaultResource))
		s.set("TOKEN-ISSUER", c.Issuer(s.vars["TENANT-ID"]))
		return ctx, nil
	})
	sc.Step(re(`^the operator creates a key vault named like "([^"]*)" in the resource group with the "(Vault access policy|Azure role-based access control)" permission model$`), createVault)
	sc.Step(re(`^the operator creates a key vault named like "([^"]*)" in the resource group without choosing a permission model$`), createDefaultVault)
	sc.Step(re(`^the operator grants itself the "([^"]*)" role on the resource group$`), grantOperatorRole)
	sc.Step(re(`^the operator adds the secret "([^"]*)" with the value "([^"]*)" to the vault$`), addSecret)
	sc.Step(re(`^the operator adds an access policy for the VM's system-assigned identity from the "Secret Management" template$`), addSecretManagementPolicy)
	sc.Step(re(`^the operator adds an access policy for the VM's system-assigned identity with the secret permissions "([^"]*)"$`), addSecretPolicy)
	sc.Step(re(`^the response field "([^"]*)" is the JSON (true|false)$`), responseFieldBool)
	sc.Step(re(`^the response field "([^"]*)" is the secret's identifier: the vault URL, "secrets", its name and a 32-hex version$`), responseFieldSecretID)
	sc.Step(re(`^the response field "([^"]*)" is a Unix time in the past hour$`), responseFieldRecentUnix)
	sc.Step(re(`^the inner error code is "([^"]*)"$`), innerErrorCode)
	sc.Step(re(`^the error message starts with "([^"]*)" and names the action "([^"]*)"$`), errorMessageStartsAndAction)
	sc.Step(re(`^the response carries Key Vault's challenge: the tenant's authority and the cloud's vault resource$`), vaultChallenge)
}

// keyVaultAPI is the management api-version the Given steps use; from it
// on the permission model must be chosen, as the portal has the user do.
const keyVaultAPI = "2026-02-01"

// operatorOID is the operator's object id, read from its own token.
func (s *scenario) operatorOID(ctx context.Context) (string, error) {
	if v := s.vars["OPERATOR-OBJECT-ID"]; v != "" {
		return v, nil
	}
	scope := strings.TrimSuffix(s.t.Cloud().ARMResource, "/") + "/.default"
	tok, err := s.t.Operator().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", fmt.Errorf("operator sign-in: %w", err)
	}
	_, c, _, _, err := jwtParts(tok.Token)
	if err != nil {
		return "", err
	}
	s.set("OPERATOR-OBJECT-ID", c.Get("oid").String())
	return s.vars["OPERATOR-OBJECT-ID"], nil
}

func (s *scenario) vaultPath() (string, error) {
	return s.expand("/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.KeyVault/vaults/<VAULT-NAME>")
}

// secretManagement is the portal's "Secret Management" template.
var secretManagement = []string{"get", "list", "set", "delete", "recover", "backup", "restore"}

// createVault is "Create a resource > Key Vault > Create": a name, the
// scenario's subscription and resource group, the permission model. With
// access policies the portal adds one for the person creating the vault.
// The vault goes with the resource group.
func createVault(ctx context.Context, like, model string) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("a new key vault"); err != nil {
		return err
	}
	oid, err := s.operatorOID(ctx)
	if err != nil {
		return err
	}
	// Vault names are unique in a cloud: 3-24 characters.
	name := like
	if len(name) > 17 {
		name = name[:17]
	}
	name = strings.TrimRight(name, "-") + "-" + randomSuffix()
	s.set("VAULT-NAME", name)
	rbac := model == "Azure role-based access control"
	props := map[string]any{
		"tenantId": s.vars["TENANT-ID"], "sku": map[string]any{"family": "A", "name": "standard"},
	}
	if model != "" {
		props["enableRbacAuthorization"] = rbac
	}
	if model == "Vault access policy" {
		props["accessPolicies"] = []any{map[string]any{"tenantId": s.vars["TENANT-ID"], "objectId": oid, "permissions": map[string]any{
			"keys": []string{"get", "list", "update", "create", "import", "delete", "recover", "backup", "restore"}, "secrets": secretManagement,
			"certificates": []string{"get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "managecontacts", "manageissuers", "getissuers", "listissuers", "setissuers", "deleteissuers"},
		}}}
	}
	path, err := s.vaultPath()
	if err != nil {
		return err
	}
	x, err := s.operator(ctx, http.MethodPut, path+"?api-version="+keyVaultAPI, map[string]any{
		"location": s.vars["LOCATION"], "tags": s.t.Policy().Tags, "properties": props,
	})
	if err != nil {
		return err
	}
	// Azure answers 200 while the vault's DNS name registers
	// (provisioningState RegisteringDns); the vault is read until it is
	// Succeeded, as the portal's Overview page shows it.
	if x, err = s.awaitOperation(ctx, x, path+"?api-version="+keyVaultAPI); err != nil {
		return err
	}
	// "You'll need the URL of your Key Vault, which is in the Essentials
	// section of the Overview page": properties.vaultUri.
	uri := gjson.GetBytes(x.Body, "properties.vaultUri").String()
	if want := "https://" + name + "." + s.t.Cloud().VaultSuffix + "/"; !strings.EqualFold(uri, want) {
		return fmt.Errorf("the vault's properties.vaultUri is %q, want %q", uri, want)
	}
	if got := gjson.GetBytes(x.Body, "properties.enableRbacAuthorization").Bool(); model != "" && got != rbac {
		return fmt.Errorf("the vault's enableRbacAuthorization is %v, want %v", got, rbac)
	}
	s.last = x
	s.set("YOUR-KEY-VAULT-URL", strings.TrimSuffix(strings.TrimPrefix(uri, "https://"), "/"))
	return nil
}

// createDefaultVault is the vault a reader creates today, leaving the
// permission model as Resource Manager (api-version keyVaultAPI) and the
// portal default it; Resource Manager's answer becomes the last response.
func createDefaultVault(ctx context.Context, like string) error {
	return createVault(ctx, like, "")
}

func grantOperatorRole(ctx context.Context, role string) error {
	s := from(ctx)
	oid, err := s.operatorOID(ctx)
	if err != nil {
		return err
	}
	return s.grant(ctx, role, oid)
}

// addSecret is "Secrets > Generate/Import": manual upload, the name and
// value, no activation or expiration date, Enabled Yes. The portal calls
// the vault's Set Secret as the signed-in user. The value is a secret from
// here on: registered for redaction.
func addSecret(ctx context.Context, name, value string) error {
	s := from(ctx)
	redact.Register(value)
	host, err := s.expand("<YOUR-KEY-VAULT-URL>")
	if err != nil {
		return err
	}
	oid, err := s.operatorOID(ctx)
	if err != nil {
		return err
	}
	tok, err := s.t.Operator().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.t.Cloud().VaultResource + "/.default"}})
	if err != nil {
		return fmt.Errorf("operator token for the vault: %w", err)
	}
	h := http.Header{"Authorization": {"Bearer " + tok.Token}, "Content-Type": {"application/json"}}
	u := "https://" + host + "/secrets/" + url.PathEscape(name) + "?api-version=7.5"
	body := []byte(fmt.Sprintf(`{"value":%q}`, value))
	var x *azhttp.Exchange
	// A role the operator just gave itself applies eventually.
	if window := s.grantWindow(oid); window > 0 {
		x = azhttp.SendWithRetry(ctx, s.t.HTTPClient(), s.log, s.rbacRetry(window), http.MethodPut, u, h, body)
	} else {
		x = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodPut, u, h, body)
	}
	if x.Err != nil || x.Status != http.StatusOK {
		return fmt.Errorf("setting secret %s answered %d %v: %.400s", name, x.Status, x.Err, x.Body)
	}
	if !gjson.GetBytes(x.Body, "attributes.enabled").Bool() || gjson.GetBytes(x.Body, "attributes.nbf").Exists() || gjson.GetBytes(x.Body, "attributes.exp").Exists() {
		return fmt.Errorf("the new secret should be enabled with no activation or expiration date: %s", gjson.GetBytes(x.Body, "attributes").Raw)
	}
	s.set("SECRET-NAME", name)
	s.set("SECRET-VALUE", value)
	return nil
}

// grantWindow is what is left of the propagation window for a principal
// the operator granted a role in this scenario.
func (s *scenario) grantWindow(principal string) time.Duration {
	s.mu.Lock()
	at, ok := s.grants[strings.ToLower(principal)]
	s.mu.Unlock()
	if !ok {
		return 0
	}
	return s.t.Policy().RBACPropagation - time.Since(at)
}

func addSecretManagementPolicy(ctx context.Context) error {
	s := from(ctx)
	if err := s.addVMPolicy(ctx, secretManagement); err != nil {
		return err
	}
	// Access policies, like role assignments, apply eventually.
	s.granted(s.vars["VM-PRINCIPAL-ID"])
	return nil
}

func addSecretPolicy(ctx context.Context, perms string) error {
	var list []string
	for _, p := range strings.Split(perms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			list = append(list, p)
		}
	}
	return from(ctx).addVMPolicy(ctx, list)
}

// addVMPolicy is "Access policies > Add Access Policy > Select principal
// (the VM) > Add > Save": Vaults - Update Access Policy with kind add. The
// answer must list the VM's entry with the permissions.
func (s *scenario) addVMPolicy(ctx context.Context, perms []string) error {
	pid, err := s.expand("<VM-PRINCIPAL-ID>")
	if err != nil {
		return err
	}
	path, err := s.vaultPath()
	if err != nil {
		return err
	}
	x, err := s.operator(ctx, http.MethodPut, path+"/accessPolicies/add?api-version="+keyVaultAPI, map[string]any{
		"properties": map[string]any{"accessPolicies": []any{map[string]any{
			"tenantId": s.vars["TENANT-ID"], "objectId": pid, "permissions": map[string]any{"secrets": perms},
		}}},
	})
	if err != nil {
		return err
	}
	var got []string
	for _, p := range gjson.GetBytes(x.Body, "properties.accessPolicies").Array() {
		if strings.EqualFold(p.Get("objectId").String(), pid) {
			for _, q := range p.Get("permissions.secrets").Array() {
				got = append(got, strings.ToLower(q.String()))
			}
		}
	}
	for _, want := range perms {
		if !containsString(got, strings.ToLower(want)) {
			return fmt.Errorf("the vault's access policy for %s lists secret permissions %v, missing %q", pid, got, want)
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func responseFieldBool(ctx context.Context, path, want string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	f := j.Get(path)
	if (f.Type != gjson.True && f.Type != gjson.False) || f.Raw != want {
		return fmt.Errorf("%q is %s, want the JSON %s", path, orMissing(f), want)
	}
	return nil
}

func orMissing(f gjson.Result) string {
	if !f.Exists() {
		return "missing"
	}
	return f.Raw
}

// responseFieldSecretID checks the tutorial's id column:
// https://mi-lab-vault.vault.azure.cn/secrets/mi-test/50644e90b13249b584c44b9f712f2e51.
func responseFieldSecretID(ctx context.Context, path string) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	prefix, err := s.expand("https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>/")
	if err != nil {
		return err
	}
	id := j.Get(path).String()
	re := regexp.MustCompile("(?i)^" + regexp.QuoteMeta(prefix) + "[0-9a-f]{32}$")
	if !re.MatchString(id) {
		return fmt.Errorf("%q is %q, want %s followed by a 32-hex version", path, id, prefix)
	}
	return nil
}

// responseFieldRecentUnix is the tutorial's "created=16…": a Unix time,
// here one from the scenario's own minutes.
func responseFieldRecentUnix(ctx context.Context, path string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	f := j.Get(path)
	now := time.Now().Unix()
	if f.Type != gjson.Number || f.Int() > now+60 || f.Int() < now-3600 {
		return fmt.Errorf("%q is %s, want a Unix time in the past hour (now %d)", path, orMissing(f), now)
	}
	return nil
}

func innerErrorCode(ctx context.Context, want string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	if got := j.Get("error.innererror.code").String(); got != want {
		return fmt.Errorf("error.innererror.code is %q, want %q; body: %.600s", got, want, j.Raw)
	}
	return nil
}

// errorMessageStartsAndAction checks the RBAC refusal, whose message
// spans lines (\r\n) that a step cannot spell: its first line and the
// "Action: '...'" line.
func errorMessageStartsAndAction(ctx context.Context, start, action string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	msg := errorMessage(j)
	if !strings.HasPrefix(msg, start) || !strings.Contains(msg, "Action: '"+action+"'") {
		return fmt.Errorf("error message %q should start with %q and name action %q", msg, start, action)
	}
	return nil
}

// vaultChallenge is what lets a client find where to get a token:
// WWW-Authenticate: Bearer authorization="https://{login}/{tenant}", resource="https://vault.azure.net".
// https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses#authentication-requirements
func vaultChallenge(ctx context.Context) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	c := s.t.Cloud()
	want := `Bearer authorization="https://` + c.ChallengeLoginHost + "/" + s.vars["TENANT-ID"] + `", resource="` + c.VaultResource + `"`
	if got := s.last.Header.Get("WWW-Authenticate"); got != want {
		return fmt.Errorf("WWW-Authenticate is %q, want %q", got, want)
	}
	return nil
}
