@tutorial:snippets
Feature: The tutorials' own Linux commands, run unchanged on the VM
  The commands a reader types into the VM's terminal, taken verbatim from the articles and
  run as a shell script on the VM: on the emulator inside the sandbox (`go run ./runner sandbox`),
  on Azure directly on the VM the runner is on. Only the tutorials' <PLACEHOLDERS> are filled in
  from this run's world. The Resource Manager tutorial's commands name the China cloud's hosts; on
  another cloud its host names are replaced by that cloud's, as a reader there would type them.
  Output is compared with the tutorial's own sample output on its JSON structure and values.

  The commands and sample outputs are read from the articles at run time (features/tutorials/, or a
  docs writer's copies with --articles), so editing an article changes what runs.

  Sources:
    "Use a Windows VM system-assigned managed identity to access resource manager", section "Get an
    access token" of features/tutorials/windows-vm-access.md
    (https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access):
    the curl token request and the curl resource group read.
    "How to use managed identities for Azure resources on an Azure VM for sign in", section "Azure
    CLI" of features/tutorials/signin-vm-identity.md
    (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-sign-in):
    az login --identity and az resource list.

  A scenario whose tool is not installed on the VM is skipped, with the reason in its log.

  @snippets:rm-system-identity
  @verbatim:windows-vm-access:get-an-access-token/bash#1
  @verbatim:windows-vm-access:get-an-access-token/bash#2
  @restated:windows-vm-access:get-an-access-token/json#1
  @restated:windows-vm-access:get-an-access-token/json#2
  @claim:001-RMS-01 @claim:001-RMS-04 @claim:001-RMS-10 @claim:001-RMS-11
  Scenario: [1] The Resource Manager tutorial's curl token request and resource group read, as printed
    Given the tutorial's commands are written for the "AzureChinaCloud" cloud
    And the VM has "curl" installed
    And the VM has a system-assigned managed identity
    # "Select the Resource Group that you want to grant the VM's managed identity access ... select Reader"
    And a new resource group named like "DevTest"
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM runs the article's command "windows-vm-access:get-an-access-token/bash#1"
    Then the command succeeds
    # The sample's "resource" lacks the trailing slash the command sent; IMDS echoes the resource
    # as requested (see rm_system_identity.feature [7], @doc-discrepancy). Its refresh_token and its
    # "3599" are not what IMDS sends (rm_system_identity.feature [8], @doc-discrepancy).
    And in the tutorial's sample output below, these values differ by run:
      | expires_in | a string of digits     |
      | expires_on | a string of digits     |
      | not_before | a string of digits     |
      | resource   | the requested resource |
    And in the tutorial's sample output below, Azure's answer differs from the article in:
      | refresh_token | absent |
    And the command prints what the article's sample "windows-vm-access:get-an-access-token/json#1" shows
    When the VM takes the access token from the command's output
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "aud" claim is the requested resource
    # "Replace the values of <SUBSCRIPTION-ID>, <RESOURCE-GROUP>, and <ACCESS-TOKEN> with the ones you created earlier."
    When the VM runs the article's command "windows-vm-access:get-an-access-token/bash#2"
    Then the command succeeds
    # The sample's subscription, group and region are the tutorial's (aaaa0a0a-..., DevTest,
    # chinanorth); here they are this run's.
    And in the tutorial's sample output below, these values differ by run:
      | id       | /subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP> |
      | name     | <RESOURCE-GROUP>                                                 |
      | location | <LOCATION>                                                       |
    And the command prints what the article's sample "windows-vm-access:get-an-access-token/json#2" shows

  @restated:windows-vm-access:get-an-access-token/bash#1
  @snippets:rm-system-identity @failure
  Scenario: [2] The same token request without -H Metadata:true prints IMDS's refusal
    Given the tutorial's commands are written for the "AzureChinaCloud" cloud
    And the VM has "curl" installed
    And the article's block "windows-vm-access:get-an-access-token/bash#1" says "curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.chinacloudapi.cn/' -H Metadata:true"
    When the VM runs the tutorial's command:
      """
      curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.chinacloudapi.cn/'
      """
    Then the command succeeds
    And the command prints what the tutorial shows:
      """
      {"error":"invalid_request","error_description":"Required metadata header not specified"}
      """

  @verbatim:signin-vm-identity:azure-cli/azurecli#1
  @snippets:sign-in
  @claim:003-02 @claim:003-04 @claim:003-05
  Scenario: [3] Sign in with the VM's identity and print its service principal ID with the Azure CLI
    Given the tutorial's commands are written for the "AzureCloud" cloud
    And the VM has "az" installed
    And the VM has a system-assigned managed identity
    And the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    # The tutorial assumes the public cloud; a reader on another cloud runs `az cloud set` first.
    And the Azure CLI on the VM uses the run's cloud
    # "Be sure to substitute your virtual machine name for <VM-NAME>."
    When the VM runs the article's command "signin-vm-identity:azure-cli/azurecli#1"
    Then the command succeeds
    And the command's output starts with JSON that has:
      """
      [{"id":"<SUBSCRIPTION-ID>","tenantId":"<TENANT-ID>","isDefault":true,"state":"Enabled",
        "user":{"name":"systemAssignedIdentity","type":"servicePrincipal"}}]
      """
    And the command's last line is "The managed identity for Azure resources service principal ID is <VM-PRINCIPAL-ID>"
