@tutorial:snippets
Feature: The tutorials' own Linux commands, run unchanged on the VM
  The commands a reader types into the VM's terminal, quoted verbatim from the tutorial files and
  run as a shell script on the VM: on the emulator inside the sandbox (`go run ./runner sandbox`),
  on Azure directly on the VM the runner is on. Only the tutorials' <PLACEHOLDERS> are filled in
  from this run's world. The Resource Manager tutorial's commands name the China cloud's hosts; on
  another cloud its host names are replaced by that cloud's, as a reader there would type them.
  Output is compared with the tutorial's own sample output on its JSON structure and values.

  Sources:
    "Use a Windows VM system-assigned managed identity to access resource manager"
    (../shared/tutorials/001_560952d57c964946.txt, section "Get an access token"): the curl
    token request and the curl resource group read.
    "How to use managed identities for Azure resources on an Azure VM for sign in"
    (../shared/tutorials/003_829fbc9d3336e9a9.txt, section "Azure CLI"): az login --identity
    and az resource list.

  A scenario whose tool is not installed on the VM is skipped, with the reason in its log.

  # The sample's "refresh_token":"" is no longer in IMDS's answer (recorded live in
  # Azure/azure-sdk-for-python sdk/identity/azure-identity/tests/recordings/test_imds_credential.*.json).
  @snippets:rm-system-identity @doc-discrepancy
  Scenario: [1] The Resource Manager tutorial's curl token request and resource group read, as printed
    Given the tutorial's commands are written for the "AzureChinaCloud" cloud
    And the VM has "curl" installed
    And the VM has a system-assigned managed identity
    # "Select the Resource Group that you want to grant the VM's managed identity access ... select Reader"
    And a new resource group named like "DevTest"
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM runs the tutorial's command:
      """
      curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.chinacloudapi.cn/' -H Metadata:true
      """
    Then the command succeeds
    # The sample's "resource" lacks the trailing slash the command sent; IMDS echoes the resource
    # as requested (see rm_system_identity.feature [7], @doc-discrepancy).
    And in the tutorial's sample output below, these values differ by run:
      | expires_in | a string of digits     |
      | expires_on | a string of digits     |
      | not_before | a string of digits     |
      | resource   | the requested resource |
    And Azure's answer lacks these fields of the tutorial's sample output below:
      | refresh_token |
    And the command prints what the tutorial shows:
      """
      {
      "access_token":"eyJ0eXAiOi...",
      "refresh_token":"",
      "expires_in":"3599",
      "expires_on":"1504130527",
      "not_before":"1504126627",
      "resource":"https://management.chinacloudapi.cn",
      "token_type":"Bearer"
      }
      """
    When the VM takes the access token from the command's output
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "aud" claim is the requested resource
    # "Replace the values of <SUBSCRIPTION-ID>, <RESOURCE-GROUP>, and <ACCESS-TOKEN> with the ones you created earlier."
    When the VM runs the tutorial's command:
      """
      curl https://management.chinacloudapi.cn/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01 -H "Authorization: Bearer <ACCESS-TOKEN>"
      """
    Then the command succeeds
    # The sample's subscription, group and region are the tutorial's (aaaa0a0a-..., DevTest,
    # chinanorth); here they are this run's.
    And the command prints what the tutorial shows:
      """
      {
      "id":"/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>",
      "name":"<RESOURCE-GROUP>",
      "location":"<LOCATION>",
      "properties":
      {
      "provisioningState":"Succeeded"
      }
      }
      """

  @snippets:rm-system-identity @failure
  Scenario: [2] The same token request without -H Metadata:true prints IMDS's refusal
    Given the tutorial's commands are written for the "AzureChinaCloud" cloud
    And the VM has "curl" installed
    When the VM runs the tutorial's command:
      """
      curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.chinacloudapi.cn/'
      """
    Then the command succeeds
    And the command prints what the tutorial shows:
      """
      {"error":"invalid_request","error_description":"Required metadata header not specified"}
      """

  @snippets:sign-in
  Scenario: [3] Sign in with the VM's identity and print its service principal ID with the Azure CLI
    Given the tutorial's commands are written for the "AzureCloud" cloud
    And the VM has "az" installed
    And the VM has a system-assigned managed identity
    And the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    # The tutorial assumes the public cloud; a reader on another cloud runs `az cloud set` first.
    And the Azure CLI on the VM uses the run's cloud
    # "Be sure to substitute your virtual machine name for <VM-NAME>."
    When the VM runs the tutorial's command:
      """
      az login --identity

      spID=$(az resource list -n <VM-NAME> --query [*].identity.principalId --out tsv)
      echo The managed identity for Azure resources service principal ID is $spID
      """
    Then the command succeeds
    And the command's output starts with JSON that has:
      """
      [{"id":"<SUBSCRIPTION-ID>","tenantId":"<TENANT-ID>","isDefault":true,"state":"Enabled",
        "user":{"name":"systemAssignedIdentity","type":"servicePrincipal"}}]
      """
    And the command's last line is "The managed identity for Azure resources service principal ID is <VM-PRINCIPAL-ID>"
