@tutorial:legacy-endpoint
Feature: The 2017 MSI VM extension endpoint (localhost:50342), and what a VM answers today
  Tutorial: "Use a Windows VM Managed Service Identity (MSI) to access Resource Manager" (2017,
  features/tutorials/rm-msi-2017.md, Markdown source features/tutorials/rm-msi-2017-source.md;
  https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/tutorial-windows-vm-access-arm),
  sections "Enable MSI on your VM" and "Get an access token using the VM identity and use it to call
  Azure Resource Manager"; error handling from "How to use managed identities for Azure resources on
  an Azure VM for sign in" (features/tutorials/signin-vm-identity.md, "Error handling guidance"). The
  endpoint's contract is the 2017 "How to use an Azure VM MSI to acquire an access token using HTTP"
  (HTTP response reference).

  The extension was retired in January 2019: no real VM has it, so scenario [1] and the extension's
  own answers run on the emulator only; [2] is what every real VM does today and runs on both.

  Claims checked: (against Azure, scenario [8]) enabling the identity installs no extension today,
  although 000 says it does and that ManagedIdentityExtensionforWindows appears in the list; Reader on the VM's resource group; the Invoke-WebRequest GET to
  http://localhost:50342/oauth2/token with resource=https://management.azure.com/ and Metadata: true
  gives a JSON body whose access_token is a Bearer token for the VM's identity; the resource group read
  with api-version=2016-06-01 gives the body the tutorial prints; the endpoint refusing connections
  where 003 shows PowerShell's "Unable to connect to the remote server" (PowerShell's own wording is not
  observable here: no PowerShell runs). Not checkable: the portal screenshots
  and the "Configuration" blade's layout; the Remote Desktop steps (Connect, user name, password);
  PowerShell's own rendering of $response.Content; the trailing-slash and case-sensitivity notes are
  checked against IMDS in rm_system_identity.feature (the extension is gone, so its own behaviour there
  cannot be observed on Azure).

  Background:
    Given the VM has a system-assigned managed identity

  @emulator-only
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#1
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#2
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#3
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#4
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/json#1
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#1
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#2
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#3
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#4
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#5
  @claim:000-06 @claim:000-07 @claim:000-09 @claim:000-10 @claim:000-11 @claim:000-12 @claim:000-14
  @claim:002-06 @claim:002-07 @claim:002-09 @claim:002-10 @claim:002-11 @claim:002-12 @claim:002-14
  Scenario: [1] Enable MSI (the extension), grant Reader, get a token from localhost:50342, read the resource group
    # The extension as the 2017 portal installed it; no VM gets it today (scenario [8]).
    Given the operator installs the "ManagedIdentityExtensionForWindows" VM extension on the VM
    # "Add a new role assignment for your Windows VM. Choose Role as Reader."
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    # $response = Invoke-WebRequest -Uri http://localhost:50342/oauth2/token -Method GET -Body @{resource="https://management.azure.com/"} -Headers @{Metadata="true"}
    Given the article's block "rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#1" says:
      """
      -Uri http://localhost:50342/oauth2/token -Method GET -Body @{resource="https://management.azure.com/"} -Headers @{Metadata="true"}
      """
    When the VM sends GET "http://localhost:50342/oauth2/token?resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the response has these fields, each a JSON string:
      | access_token | refresh_token | expires_in | expires_on | not_before | resource | token_type |
    And the response field "token_type" is "Bearer"
    And the response field "access_token" is a JWT
    And the response field "refresh_token" is an empty string
    And the token lifetime fields agree: not_before <= now < expires_on, and expires_in = expires_on - now
    And the response field "resource" echoes the requested resource
    # $content = $response.Content | ConvertFrom-Json; $ArmToken = $content.access_token
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "aud" claim is the requested resource
    # (Invoke-WebRequest -Uri https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourceGroups/<RESOURCE GROUP>?api-version=2016-06-01 ... -Headers @{ Authorization ="Bearer $ArmToken"}).content
    Given the article's block "rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#4" says "/resourceGroups/<RESOURCE GROUP>?api-version=2016-06-01"
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-06-01" with the access token
    Then the response status is 200
    And in the tutorial's sample output below, these values differ by run:
      | id       | /subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP> |
      | name     | <RESOURCE-GROUP>                                                 |
      | location | <LOCATION>                                                       |
    And the response body has what the article's sample "rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/json#1" shows

  # 003: "PowerShell: Invoke-WebRequest : Unable to connect to the remote server" is PowerShell's
  # wording for a refused connection; PowerShell does not run here, so only the refusal is checked.
  @failure
  @doc-discrepancy @claim:003-08:doc-discrepancy
  Scenario: [2] Today's VM has no extension: localhost:50342 refuses the connection and IMDS answers instead
    Given the VM has no managed identity VM extension
    When the VM sends GET "http://localhost:50342/oauth2/token?resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the connection is refused
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"

  @emulator-only
  Scenario: [3] The older CLIs' POST with a form body gets the same token answer
    Given the operator installs the "ManagedIdentityExtensionForWindows" VM extension on the VM
    When the VM sends POST "http://localhost:50342/oauth2/token" with header "Metadata: true" and the form body "resource=<ARM-RESOURCE>"
    Then the response status is 200
    And the response has these fields, each a JSON string:
      | access_token | refresh_token | expires_in | expires_on | not_before | resource | token_type |
    And the response field "token_type" is "Bearer"
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "aud" claim is the requested resource

  @emulator-only @failure
  @claim:000-07 @claim:002-07
  Scenario: [4] A request without the Metadata header is refused with bad_request_102
    Given the operator installs the "ManagedIdentityExtensionForWindows" VM extension on the VM
    When the VM sends GET "http://localhost:50342/oauth2/token?resource=<ARM-RESOURCE>" without the Metadata header
    Then the response status is 400
    And the error code is "bad_request_102"
    And the error message is "Required metadata header not specified"

  @emulator-only @failure
  Scenario: [5] A mistyped path is an unknown source
    Given the operator installs the "ManagedIdentityExtensionForWindows" VM extension on the VM
    When the VM sends GET "http://localhost:50342/oauth2/tokens?resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 401
    And the error code is "unknown_source"
    And the error message is "Unknown Source http://localhost:50342/oauth2/tokens?resource=<ARM-RESOURCE>"

  @emulator-only @failure
  Scenario: [6] Extension installed but the identity disabled: "Failed to retrieve token"
    Given the operator installs the "ManagedIdentityExtensionForWindows" VM extension on the VM
    And the operator disables the VM's managed identities
    When the VM sends GET "http://localhost:50342/oauth2/token?resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 500
    And the error code is "unknown"

  @emulator-only
  Scenario: [7] Removing the extension closes the endpoint
    Given the operator installs the "ManagedIdentityExtensionForWindows" VM extension on the VM
    When the VM sends GET "http://localhost:50342/oauth2/token?resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    When the operator removes the "ManagedIdentityExtensionForWindows" VM extension from the VM
    And the VM sends GET "http://localhost:50342/oauth2/token?resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the connection is refused

  # 000 "Enable MSI on your VM": "Under the covers, enabling MSI does two things: it installs the MSI
  # VM extension on your VM, and it enables MSI in Azure Resource Manager." and step 5: "If MSI is
  # enabled, then ManagedIdentityExtensionforWindows will appear in the list." 003 "Error handling
  # guidance": "ensure the managed identities for Azure resources extension ... deployed successfully".
  # Azure today: the extension was retired in January 2019; enabling the identity installs nothing,
  # tokens come from IMDS (entra-docs how-managed-identities-work-vm.md).
  @doc-discrepancy
  @claim:000-04:doc-discrepancy @claim:000-05:doc-discrepancy @claim:002-04:doc-discrepancy
  @claim:002-05:doc-discrepancy @claim:003-12:doc-discrepancy
  Scenario: [8] The articles say enabling the identity installs the MSI extension; Azure installs none
    When the operator lists the VM's extensions
    Then the response status is 200
    And none of the VM's extensions is from publisher "Microsoft.ManagedIdentity"
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
