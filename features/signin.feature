@tutorial:signin
Feature: Sign in with the VM's managed identity from the Azure CLI and Azure PowerShell
  Tutorial: "How to use managed identities for Azure resources on an Azure VM for sign in"
  (features/tutorials/signin-vm-identity.md,
  https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-sign-in): `az login --identity` and `Add-AzAccount -identity`,
  `az resource list -n <VM-NAME> --query [*].identity.principalId`, `Get-AzVM`, and the "Error handling
  guidance". The CLI and PowerShell are not run: each scenario sends what they send, as HTTP.

  Claims checked: sign-in takes a token from the VM's endpoint (IMDS) for Resource Manager, and the
  subscription the identity can see is in the token's tenant (what `az login --identity` lists); the
  service principal ID `az resource list` and Get-AzVM print is the token's oid, i.e. the identity
  the VM signs in with; when the identity is not configured the token request fails (IMDS "Identity not found"; the
  retired endpoint refuses the connection). 003's remedies (Identity page "System assigned" =
  "Yes"; the Extensions page) are portal pages of the past: the extension part is checked against
  Azure in legacy_endpoint.feature [8]. Not checkable:
  the CLI's and PowerShell's own output formatting (`--out tsv`, echo), the "Prerequisites" about
  installing the latest CLI/PowerShell and the Az/AzureRM module note, the portal pages themselves
  (their state is checked through Resource Manager instead), and the CLI's exact error text
  "MSI: Failed to retrieve a token from http://localhost:50342/oauth2/token ..." (it is the old
  Python CLI's wording for the refused connection checked in legacy_endpoint.feature [2]).

  Background:
    Given the VM has a system-assigned managed identity
    And the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group

  @restated:signin-vm-identity:azure-cli/azurecli#1
  @restated:signin-vm-identity:azure-powershell/azurepowershell#1
  @claim:003-02 @claim:003-03 @claim:003-04 @claim:003-06
  Scenario: [1] az login --identity / Add-AzAccount -identity: a token from IMDS, then the subscriptions in the token's tenant
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "aud" claim is the requested resource
    When the VM sends GET "https://<ARM-HOST>/subscriptions?api-version=2022-12-01" with the access token
    Then the response status is 200
    And the subscriptions listed include <SUBSCRIPTION-ID> in the access token's tenant

  @restated:signin-vm-identity:azure-cli/azurecli#1
  @restated:signin-vm-identity:azure-powershell/azurepowershell#1
  @claim:003-05 @claim:003-07
  Scenario: [2] The service principal ID from az resource list and from Get-AzVM is the identity the VM signs in with
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    # spID=$(az resource list -n <VM-NAME> --query [*].identity.principalId --out tsv)
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resources?$filter=name%20eq%20'<VM-NAME>'&api-version=2021-04-01" with the access token
    Then the response status is 200
    And the response's "value.#.identity.principalId" is exactly the access token's "oid" claim
    # $vmInfoPs = Get-AzVM -ResourceGroupName <RESOURCE-GROUP> -Name <VM-NAME>; $spID = $vmInfoPs.Identity.PrincipalId
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Compute/virtualMachines/<VM-NAME>?api-version=2024-07-01" with the access token
    Then the response status is 200
    And the response's "identity.principalId" is exactly the access token's "oid" claim
    And the response field "identity.principalId" is "<VM-PRINCIPAL-ID>"

  # Disabling the nightly VM's identity would delete its service principal and its standing role
  # assignments, so this runs on the emulator, whose cleanup restores both identities and their access.
  @emulator-only @failure
  Scenario: [3] Error handling: with the VM's identities disabled, IMDS answers "Identity not found"
    Given the operator disables the VM's managed identities
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 400
    And the error code is "invalid_request"
    And the error message is "Identity not found"

  @failure
  @doc-discrepancy @claim:003-10:doc-discrepancy
  Scenario: [4] Error handling: the old CLI's MSI endpoint localhost:50342 cannot be reached
    # CLI: MSI: Failed to retrieve a token from http://localhost:50342/oauth2/token with an error of 'HTTPConnectionPool(host='localhost', port=50342)
    Given the VM has no managed identity VM extension
    When the VM sends POST "http://localhost:50342/oauth2/token" with header "Metadata: true" and the form body "resource=<ARM-RESOURCE>"
    Then the connection is refused
