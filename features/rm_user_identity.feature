@tutorial:rm-user-identity
Feature: Use a user-assigned managed identity on a Windows VM to access Azure Resource Manager
  Tutorial: "Use a user-assigned managed identity on a Windows VM to access Azure Resource Manager"
  (that section of features/tutorials/windows-vm-access.md,
  https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access): create ID1 with
  New-AzUserAssignedIdentity, assign it to the VM with Update-AzVM, grant it Reader on the
  resource group with New-AzRoleAssignment, get a token with client_id= from IMDS and read the
  resource group with api-version=2016-06-01.

  Claims checked: the identity's Id (compared as Azure compares ids, without regard to case), Name,
  Location, TenantId, PrincipalId and ClientId; that the client_id selects ID1 (the token is ID1's,
  not the VM's system identity's); the resource group body; against Azure (@doc-discrepancy): the
  sample's ClientSecretUrl ([5]) and what the article's Update-AzVM -IdentityType "UserAssigned" does
  to the VM's system-assigned identity ([6]). Not run: the PowerShell cmdlets themselves
  (New-AzUserAssignedIdentity now requires -Location, which the article's command lacks; each
  scenario sends the cmdlet's REST request, with a location).

  Background:
    Given the VM has a system-assigned managed identity
    And a new resource group named like "myResourceGroupVM"

  @restated:windows-vm-access:create-identity/powershell#1
  @restated:windows-vm-access:create-identity/output#1
  @restated:windows-vm-access:grant-access/powershell#1
  @restated:windows-vm-access:get-an-access-token/powershell#1
  @restated:windows-vm-access:read-properties/powershell#1
  @restated:windows-vm-access:read-properties/json#1
  @claim:001-RMU-01 @claim:001-RMU-06 @claim:001-RMU-09 @claim:001-RMU-08 @claim:001-RMU-12 @claim:001-RMU-14
  @claim:001-RMU-16 @claim:001-RMU-17
  Scenario: [1] Create ID1, assign it to the VM, grant Reader, get a token with client_id and read the resource group
    # New-AzUserAssignedIdentity -ResourceGroupName myResourceGroupVM -Name ID1
    Given the article's block "windows-vm-access:use-a-user-assigned-managed-identity-on-a-windows-vm-to-access-azure-resource-manager/enable/create-identity/powershell#1" says "New-AzUserAssignedIdentity -ResourceGroupName myResourceGroupVM -Name ID1"
    When the operator creates the user-assigned identity "ID1" in the resource group
    Then the response status is 201
    And the response field "id" is the Azure id "/subscriptions/<SUBSCRIPTION-ID>/resourcegroups/<RESOURCE-GROUP>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
    And the response field "name" is "ID1"
    And the response field "type" is "Microsoft.ManagedIdentity/userAssignedIdentities"
    And the response field "location" is "<LOCATION>"
    And the response field "properties.tenantId" is "<TENANT-ID>"
    And the response field "properties.principalId" is a GUID
    And the response field "properties.clientId" is a GUID
    # Update-AzVM ... -IdentityType "UserAssigned" -IdentityID ".../userAssignedIdentities/ID1" would drop the
    # system-assigned identity ([6]); the other tutorials need it, so this keeps it (SystemAssignedUserAssigned).
    Given the operator assigns the user-assigned identity to the VM, keeping its system-assigned identity
    Then the VM's identity in the response lists the user-assigned identity
    # New-AzRoleAssignment -ObjectId $spID -RoleDefinitionName "Reader" -Scope ".../resourcegroups/myResourceGroupVM/"
    And the operator grants the user-assigned identity the "Reader" role on the resource group
    # Invoke-WebRequest -Uri 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=...&resource=https://management.azure.com/' -Headers @{Metadata="true"}
    Given the article's block "windows-vm-access:use-a-user-assigned-managed-identity-on-a-windows-vm-to-access-azure-resource-manager/access-data/get-an-access-token/powershell#1" says "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id="
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=<CLIENT-ID>&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the response has these fields, each a JSON string:
      | access_token | expires_in | expires_on | not_before | resource | token_type |
    And the response field "token_type" is "Bearer"
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<UAI-PRINCIPAL-ID>"
    And the access token's "appid" claim is "<CLIENT-ID>"
    And the access token's "xms_mirid" claim is "<UAI-ID>"
    # (Invoke-WebRequest -Uri https://management.azure.com/subscriptions/.../resourceGroups/myResourceGroupVM?api-version=2016-06-01 ...).content
    Given the article's block "windows-vm-access:use-a-user-assigned-managed-identity-on-a-windows-vm-to-access-azure-resource-manager/access-data/read-properties/powershell#1" says "/resourceGroups/myResourceGroupVM?api-version=2016-06-01"
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-06-01" with the access token
    Then the response status is 200
    And in the tutorial's sample output below, these values differ by run:
      | id       | /subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP> |
      | name     | <RESOURCE-GROUP>                                                 |
      | location | <LOCATION>                                                       |
    And the response body has what the article's sample "windows-vm-access:use-a-user-assigned-managed-identity-on-a-windows-vm-to-access-azure-resource-manager/access-data/read-properties/json#1" shows

  @failure
  @claim:001-RMU-14
  Scenario: [2] A client_id that is not assigned to the VM gets "Identity not found"
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=00001111-aaaa-2222-bbbb-3333cccc4444&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 400
    And the error code is "invalid_request"
    And the error message is "Identity not found"

  @failure
  @claim:001-RMU-14
  Scenario: [3] ID1 created but not yet assigned to the VM: its client_id is unknown to IMDS
    When the operator creates the user-assigned identity "ID1" in the resource group
    And the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=<CLIENT-ID>&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 400
    And the error message is "Identity not found"

  @failure
  @claim:001-RMU-12
  Scenario: [4] ID1 assigned but without Reader: reading the resource group is refused
    When the operator creates the user-assigned identity "ID1" in the resource group
    And the operator assigns the user-assigned identity to the VM, keeping its system-assigned identity
    And the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=<CLIENT-ID>&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-06-01" with the access token
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    And the error message is "The client '<CLIENT-ID>' with object id '<UAI-PRINCIPAL-ID>' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>' or the scope is invalid. If access was recently granted, please refresh your credentials."

  # The sample output of New-AzUserAssignedIdentity lists "ClientSecretUrl: https://control-chinanorth.identity...".
  # Only the 2015-08-31-preview API had clientSecretUrl; the answer at 2023-01-31 has id, name, type,
  # location, tags and tenantId/principalId/clientId (Azure/azure-rest-api-specs
  # specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/examples/UserAssignedIdentities_CreateOrUpdate.json).
  @doc-discrepancy
  @claim:001-RMU-07:doc-discrepancy
  Scenario: [5] The article's identity output shows ClientSecretUrl; Resource Manager's answer has none
    When the operator creates the user-assigned identity "ID1" in the resource group
    Then the response status is 201
    And the response has no field "properties.clientSecretUrl"
    And the article's block "windows-vm-access:use-a-user-assigned-managed-identity-on-a-windows-vm-to-access-azure-resource-manager/enable/create-identity/output#1" says "ClientSecretUrl:"
    And the response field "properties.clientId" is a GUID

  # "Update-AzVM -ResourceGroupName TestRG -VM $vm -IdentityType "UserAssigned" -IdentityID ".../ID1"" on
  # the prerequisite VM, which has a system-assigned identity. The identity type is the VM's whole set:
  # "UserAssigned" removes the system-assigned identity (entra-docs qs-configure-powershell-windows-vm.md
  # uses exactly this command to remove it; keeping both takes "SystemAssignedUserAssigned").
  @doc-discrepancy @emulator-only
  @restated:windows-vm-access:assign-identity/powershell#1
  @claim:001-RMU-09 @claim:001-RMU-10:doc-discrepancy
  Scenario: [6] The article's Update-AzVM -IdentityType "UserAssigned" adds ID1 and removes the VM's system-assigned identity
    When the operator creates the user-assigned identity "ID1" in the resource group
    And the operator sets the VM's identity type to "UserAssigned" with the user-assigned identity, as Update-AzVM -IdentityType "UserAssigned" does
    Then the response status is 200
    And the article's block "windows-vm-access:use-a-user-assigned-managed-identity-on-a-windows-vm-to-access-azure-resource-manager/enable/assign-identity/powershell#1" says:
      """
      -IdentityType "UserAssigned"
      """
    And the response field "identity.type" is "UserAssigned"
    And the VM's identity in the response lists the user-assigned identity
    And the response has no field "identity.principalId"

  # "For the assignment to a virtual machine or virtual machine scale set to work properly, the name is
  # limited to 24 characters." The sister page says names are "limited from 3 to 128 character length for
  # the assignment to VM/VMSS" (entra-docs includes/qs-configure-powershell-windows-vm.md).
  @doc-discrepancy @claim:001-RMU-04:doc-discrepancy
  Scenario: [7] The article limits names to 24 characters for a VM; a 33-character identity is assigned and gives tokens
    Given the article's claim "001-RMU-04" says "the name is limited to 24 characters"
    When the operator creates the user-assigned identity "ID1-longer-than-twenty-four-chars" in the resource group
    Then the response status is 201
    When the operator assigns the user-assigned identity to the VM, keeping its system-assigned identity
    Then the VM's identity in the response lists the user-assigned identity
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=<CLIENT-ID>&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<UAI-PRINCIPAL-ID>"
