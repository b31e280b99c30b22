@tutorial:keyvault
Feature: Use a Windows VM system-assigned managed identity to access Azure Key Vault
  Tutorial: "Use a Windows VM system-assigned managed identity to access Azure Key Vault"
  (that section of features/tutorials/windows-vm-access.md,
  https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access): create a Key Vault, add a secret,
  grant the VM's identity access with an access policy from the "Secret Management" template, get
  a token from IMDS for the cloud's vault resource (https://vault.azure.cn in the text,
  https://vault.usgovcloudapi.net for Azure Government), and GET
  https://<your-key-vault-URL>/secrets/<secret-name>?api-version=2016-10-01 with it.

  Claims checked: the vault URL the portal shows (properties.vaultUri), the token response's
  resource and the token's audience, and the answer the tutorial prints (value, id with the vault
  URL, name and version, attributes with enabled and created). Failure scenarios show what a
  reader gets for each skipped or wrong step, including the same read on a vault that uses Azure
  RBAC instead of access policies. Against Azure (@doc-discrepancy, [9]): a vault created today
  without choosing a permission model uses Azure RBAC, where the article's access policy grants
  nothing. Not run: the PowerShell itself (Invoke-RestMethod is restated as HTTP); the US Government
  variant of the token request runs on --cloud AzureUSGovernment.

  Background:
    Given the VM has a system-assigned managed identity
    And a new resource group named like "mi-test"

  @keyvault:tutorial
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/powershell#1
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/powershell#3
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/powershell#4
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/output#1
  @claim:001-KV-01 @claim:001-KV-03 @claim:001-KV-04 @claim:001-KV-08 @claim:001-KV-09 @claim:001-KV-11
  @claim:001-KV-12 @claim:001-KV-13
  Scenario: [1] Create a vault, add a secret, grant the VM Secret Management, read the secret with a token from IMDS
    # "Provide a Name for the new key vault ... choose the subscription and resource group"
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Vault access policy" permission model
    # "Enter a name and value for the secret. The value can be anything you want."
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    # "Add Access Policy ... Configure from template ... Secret Management ... Select Principal ... the VM"
    And the operator adds an access policy for the VM's system-assigned identity from the "Secret Management" template
    # Invoke-RestMethod -Uri 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.cn' -Method GET -Headers @{Metadata="true"}
    Given the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/powershell#1" says "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.cn'"
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    Then the response status is 200
    And the response field "resource" echoes the requested resource
    # $KeyVaultToken = $Response.access_token
    When the VM extracts the access token from the response
    Then the access token's "aud" claim is "<VAULT-RESOURCE>"
    And the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    # Invoke-RestMethod -Uri https://<your-key-vault-URL>/secrets/<secret-name>?api-version=2016-10-01 -Method GET -Headers @{Authorization="Bearer $KeyVaultToken"}
    Given the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/powershell#4" says "https://<your-key-vault-URL>/secrets/<secret-name>?api-version=2016-10-01"
    When the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token
    Then the response status is 200
    # value: 'My Secret'   id: https://mi-lab-vault.vault.azure.cn/secrets/mi-test/50644e90b13249b584c44b9f712f2e51   attributes: @{enabled=True; created=16…
    And the response field "value" is "<SECRET-VALUE>"
    And the response field "id" is the secret's identifier: the vault URL, "secrets", its name and a 32-hex version
    And the response field "attributes.enabled" is the JSON true
    And the response field "attributes.created" is a Unix time in the past hour
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-key-vault/access-data/output#1" says "@{enabled=True; created="

  @failure
  @claim:001-KV-04
  Scenario: [2] Without an access policy for the VM the read is refused with AccessDenied
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Vault access policy" permission model
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token
    Then the response status is 403
    And the error code is "Forbidden"
    And the inner error code is "AccessDenied"
    And the error message is "The user, group or application 'appid=<VM-CLIENT-ID>;oid=<VM-PRINCIPAL-ID>;iss=<TOKEN-ISSUER>' does not have secrets get permission on key vault '<VAULT-NAME>;location=<LOCATION>'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"

  @failure
  @claim:001-KV-04
  Scenario: [3] An access policy without the get permission lets the VM list secrets but not read one
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Vault access policy" permission model
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    And the operator adds an access policy for the VM's system-assigned identity with the secret permissions "list"
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets?api-version=2016-10-01" with the access token
    Then the response status is 200
    And the response field "value.0.id" is "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>"
    When the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token
    Then the response status is 403
    And the inner error code is "AccessDenied"
    And the error message is "The user, group or application 'appid=<VM-CLIENT-ID>;oid=<VM-PRINCIPAL-ID>;iss=<TOKEN-ISSUER>' does not have secrets get permission on key vault '<VAULT-NAME>;location=<LOCATION>'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"

  @failure
  Scenario: [4] A token for Resource Manager is refused with AKV10022 and the vault's challenge
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Vault access policy" permission model
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    And the operator adds an access policy for the VM's system-assigned identity from the "Secret Management" template
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token
    Then the response status is 401
    And the error code is "Unauthorized"
    And the error message is "AKV10022: Invalid audience. Expected <VAULT-RESOURCE>, found: <ARM-RESOURCE>."
    And the response carries Key Vault's challenge: the tenant's authority and the cloud's vault resource

  @failure
  Scenario: [5] A secret that does not exist is SecretNotFound
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Vault access policy" permission model
    And the operator adds an access policy for the VM's system-assigned identity from the "Secret Management" template
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/mi-test?api-version=2016-10-01" with the access token
    Then the response status is 404
    And the error code is "SecretNotFound"
    And the error message is "A secret with (name/id) mi-test was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"

  @failure
  Scenario: [6] Without a token the vault answers 401 with the challenge the SDKs follow
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Vault access policy" permission model
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    When the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" without a token
    Then the response status is 401
    And the error code is "Unauthorized"
    And the error message is "AKV10000: Request is missing a Bearer or PoP token."
    And the response carries Key Vault's challenge: the tenant's authority and the cloud's vault resource

  @failure
  Scenario: [7] On a vault that uses Azure RBAC, the same read without a role is refused with ForbiddenByRbac
    # Access policies are "legacy"; the portal now creates RBAC vaults, where the tutorial's
    # "Access policies" blade does not apply.
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Azure role-based access control" permission model
    And the operator grants itself the "Key Vault Secrets Officer" role on the resource group
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token
    Then the response status is 403
    And the error code is "Forbidden"
    And the inner error code is "ForbiddenByRbac"
    And the error message starts with "Caller is not authorized to perform action on resource." and names the action "Microsoft.KeyVault/vaults/secrets/getSecret/action"

  Scenario: [8] On a vault that uses Azure RBAC, Key Vault Secrets User lets the VM read the secret
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group with the "Azure role-based access control" permission model
    And the operator grants itself the "Key Vault Secrets Officer" role on the resource group
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    And the operator grants the VM's system-assigned identity the "Key Vault Secrets User" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token
    Then the response status is 200
    And the response field "value" is "<SECRET-VALUE>"
    And the response field "id" is the secret's identifier: the vault URL, "secrets", its name and a 32-hex version

  # "Select Access Policy from the menu on the left side. Select Add Access Policy ... Secret Management".
  # A vault created today without choosing a permission model uses Azure RBAC (Key Vault API
  # 2026-02-01 and later, "consistent with the Azure portal experience":
  # learn.microsoft.com/azure/key-vault/general/access-control-default), where access policies do not
  # authorize data access (learn.microsoft.com/azure/key-vault/general/rbac-access-policy).
  @doc-discrepancy
  @claim:001-KV-02:doc-discrepancy
  Scenario: [9] The article grants access with an access policy; a vault created today uses Azure RBAC and the read is refused
    Given the operator creates a key vault named like "mi-lab-vault" in the resource group without choosing a permission model
    Then the response field "properties.enableRbacAuthorization" is the JSON true
    Given the operator grants itself the "Key Vault Secrets Officer" role on the resource group
    And the operator adds the secret "mi-test" with the value "My Secret" to the vault
    And the operator adds an access policy for the VM's system-assigned identity from the "Secret Management" template
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token, expecting to be refused
    Then the response status is 403
    And the error code is "Forbidden"
    And the inner error code is "ForbiddenByRbac"
