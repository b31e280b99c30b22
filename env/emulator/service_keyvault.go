package emulator

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/miconform/miconform/env/emulator/keyvault"
)

// keyVaultService is Key Vault's data plane on {vault}.{VaultSuffix}, and
// its resource provider in Resource Manager (registered by keyvault.New).
func keyVaultService(e *Emulator) *service {
	e.KeyVault = keyvault.New(e.Cloud, e.ARM, e.Issuer, e.RBAC)
	return &service{
		name: "vault", title: "Key Vault", wildcard: "vault", hosts: []string{"*." + e.Cloud.VaultSuffix}, handler: e.KeyVault, fault: e.KeyVault.WriteFault,
		log: "keyvault", restore: e.KeyVault.Persist, seed: e.seedKeyVault,
	}
}

// The Key Vault tutorial's names: the vault and secret of its sample output
// (https://mi-lab-vault.vault.azure.cn/secrets/mi-test/...) and its value.
const (
	SeedVaultName   = "mi-lab-vault"
	SeedSecretName  = "mi-test"
	seedSecretValue = "My Secret"
)

// seedKeyVault is the Key Vault tutorial's portal steps: create a vault
// (access-policy model, the creator's policy added as the portal adds it),
// add the secret, and add an access policy for the VM's system-assigned
// identity from the "Secret Management" template.
func (e *Emulator) seedKeyVault(rg, vmPrincipalID string) error {
	secretMgmt := []string{"get", "list", "set", "delete", "recover", "backup", "restore"}
	policy := func(oid string) map[string]any {
		return map[string]any{"tenantId": e.ids.TenantID, "objectId": oid, "permissions": map[string]any{"secrets": secretMgmt}}
	}
	if _, err := e.operatorCall("PUT", rg+"/providers/Microsoft.KeyVault/vaults/"+SeedVaultName+"?api-version=2023-07-01", map[string]any{
		"location": e.Cloud.DefaultLocation,
		"properties": map[string]any{
			"tenantId": e.ids.TenantID, "sku": map[string]any{"family": "A", "name": "standard"},
			"enableRbacAuthorization": false, "accessPolicies": []any{policy(e.Operator.ObjectID)},
		},
	}); err != nil {
		return err
	}
	tok, err := e.Issuer.AppToken(e.Operator, e.Cloud.VaultResource)
	if err != nil {
		return err
	}
	req := httptest.NewRequest("PUT", "https://"+SeedVaultName+"."+e.Cloud.VaultSuffix+"/secrets/"+SeedSecretName+"?api-version=7.5", strings.NewReader(`{"value":"`+seedSecretValue+`"}`))
	req.Header.Set("Authorization", "Bearer "+tok.Raw)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 200 {
		return fmt.Errorf("set secret %s: %d %s", SeedSecretName, rec.Code, rec.Body.String())
	}
	if _, err := e.operatorCall("PUT", rg+"/providers/Microsoft.KeyVault/vaults/"+SeedVaultName+"/accessPolicies/add?api-version=2023-07-01", map[string]any{
		"properties": map[string]any{"accessPolicies": []any{policy(vmPrincipalID)}},
	}); err != nil {
		return err
	}
	e.World.VaultName, e.World.SecretName = SeedVaultName, SeedSecretName
	return nil
}
