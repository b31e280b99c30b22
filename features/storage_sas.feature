@tutorial:storage-sas
Feature: Use a Windows VM system-assigned managed identity to access Azure Storage via a SAS credential
  Tutorial: "Use a Windows VM system-assigned managed identity to access Azure Storage via a SAS
  credential" (that section of features/tutorials/windows-vm-access.md,
  https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access): create a general purpose
  account and a container, grant the VM's identity Storage Account Contributor on the account, get a
  Resource Manager token from IMDS, POST listServiceSas (api-version 2017-06-01) with the tutorial's
  parameters, then upload test.txt as "testblob" with the SAS (Set-AzStorageBlobContent) and download
  it as test2.txt (Get-AzStorageBlobContent).

  Claims checked: the SAS's shape as the tutorial prints it (sv=2015-04-05, sr=c, spr=https, se
  URL-encoded, sp=rcw, sig), that the SAS uploads and downloads the file unchanged, BlobType
  BlockBlob, Length as Storage reports it, and ContentType application/octet-stream; the refusals:
  Reader instead of Storage Account Contributor, an expired SAS, a tampered signature, https-only over
  http, and a SAS signed with a key that was since regenerated; and, against Azure (@doc-discrepancy),
  the article's literal 2017 signedExpiry and its POST without -ContentType. Working calls send
  Content-Type application/json, which the article's command omits.
  Not run: the PowerShell itself (echo > test.txt, whose "Length : 56" is Windows PowerShell 5.1's
  UTF-16 encoding; New-AzStorageContext, Set/Get-AzStorageBlobContent and their output objects);
  "Order is important" for signedPermission (no recorded Azure answer to an out-of-order
  signedPermission sent to listServiceSas to judge it by).

  Background:
    Given the VM has a system-assigned managed identity
    And a new resource group named like "StorageSasTutorial"
    # "Be sure that Deployment model and Account kind are set to Resource Manager and General purpose."
    And the operator creates a storage account of kind "StorageV2" in the resource group
    And the response field "kind" is "StorageV2"
    # "Give the container a name, determine the access level, then Select OK."
    And the operator creates the blob container "mycontainer" in the storage account
    # "signedExpiry": "<EXPIRATION TIME>" (the tutorial's own 2017 date is long past)
    And the time 1 hour from now as <EXPIRATION-TIME>

  @restated:windows-vm-access:get-an-access-token-using-the-vms-identity-and-use-it-to-call-azure-resource-manager/powershell#1
  @restated:windows-vm-access:get-an-access-token-using-the-vms-identity-and-use-it-to-call-azure-resource-manager/powershell#2
  @restated:windows-vm-access:get-an-access-token-using-the-vms-identity-and-use-it-to-call-azure-resource-manager/powershell#3
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/json#1
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#2
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#3
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/output#1
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#4
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#5
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/output#2
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/output#3
  @claim:001-SAS-02 @claim:001-SAS-04 @claim:001-SAS-06 @claim:001-SAS-07 @claim:001-SAS-09 @claim:001-SAS-10
  @claim:001-SAS-11 @claim:001-SAS-14 @claim:001-SAS-15 @claim:001-SAS-17 @claim:001-SAS-20 @claim:001-SAS-21
  @claim:001-SAS-24 @claim:001-SAS-25 @claim:001-SAS-27 @claim:001-SAS-29 @claim:001-SAS-30
  Scenario: [1] Storage Account Contributor, an ARM token from IMDS, listServiceSas, upload and download with the SAS
    # "Role: Storage account contributor ... System-assigned ... <your Windows virtual machine>"
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    # Invoke-WebRequest -Uri 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.chinacloudapi.cn%2F' -Headers @{Metadata="true"}
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    When the VM extracts the access token from the response
    # $params = @{canonicalizedResource="/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>";signedResource="c";signedPermission="rcw";signedProtocol="https";signedExpiry="..."}
    Given the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage-via-a-sas-credential/get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#1" says:
      """
      canonicalizedResource="/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>";signedResource="c";signedPermission="rcw";signedProtocol="https"
      """
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage-via-a-sas-credential/get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#2" says "/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01"
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    Then the response status is 200
    # $sasCred = $sasContent.serviceSasToken
    When the VM extracts the SAS credential from the response
    # sv=2015-04-05&sr=c&spr=https&se=2017-09-23T00%3A00%3A00Z&sp=rcw&sig=JVhIWG48nmxqhTIuN0uiFBppdzhwHdehdYan1W%2F4O0E%3D
    Given the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage-via-a-sas-credential/get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/output#1" says "sv=2015-04-05&sr=c&spr=https&se="
    Then the SAS credential has these parameters:
      | sv  | 2015-04-05        |
      | sr  | c                 |
      | spr | https             |
      | se  | <EXPIRATION-TIME> |
      | sp  | rcw               |
    And the SAS credential has a signature
    # echo "This is a test text file." > test.txt (PowerShell, not run here: the file is the scenario's)
    Given a file "test.txt" on the VM with the line "This is a test text file."
    # Set-AzStorageBlobContent -File test.txt -Container <CONTAINER-NAME> -Blob testblob -Context $ctx
    When the VM uploads "test.txt" to the container as blob "testblob" with the SAS credential
    Then the response status is 201
    # Get-AzStorageBlobContent -Blob testblob -Container <CONTAINER-NAME> -Destination test2.txt -Context $ctx
    When the VM downloads blob "testblob" from the container to "test2.txt" with the SAS credential
    Then the response status is 200
    And "test2.txt" has the same bytes as "test.txt"
    # BlobType : BlockBlob  Length : 56  ContentType : application/octet-stream
    # (56 is what Windows PowerShell 5.1's echo writes; here Length is the uploaded file's size)
    And the response header "x-ms-blob-type" is "BlockBlob"
    And the response header "Content-Length" is the size of "test.txt"
    And the response header "Content-Type" is "application/octet-stream"

  @failure
  @claim:001-SAS-06
  Scenario: [2] With Reader instead of Storage Account Contributor, Resource Manager refuses listServiceSas
    Given the operator grants the VM's system-assigned identity the "Reader" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body, expecting to be refused:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    Then the response status is 403
    And the error code is "AuthorizationFailed"

  @failure
  @claim:001-SAS-01
  Scenario: [3] An expired SAS is refused with the time frame in the error detail
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    And the time 2 hours ago as <START-TIME>
    And the time 1 hour ago as <EXPIRATION-TIME>
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedStart":"<START-TIME>","signedExpiry":"<EXPIRATION-TIME>"}
      """
    And the VM extracts the SAS credential from the response
    Given a file "test.txt" on the VM with the line "This is a test text file."
    When the VM uploads "test.txt" to the container as blob "testblob" with the SAS credential
    Then the response status is 403
    And the storage error code is "AuthenticationFailed"
    And the storage error detail starts with "Signature not valid in the specified time frame"

  @failure
  Scenario: [4] A SAS whose signature was tampered with is refused, and the detail shows the string to sign
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    And the VM extracts the SAS credential from the response
    And the VM changes "sig=" to "sig=AAAA" in the SAS credential
    Given a file "test.txt" on the VM with the line "This is a test text file."
    When the VM uploads "test.txt" to the container as blob "testblob" with the SAS credential
    Then the response status is 403
    And the storage error code is "AuthenticationFailed"
    And the storage error detail starts with "Signature did not match. String to sign used was rcw"

  @failure
  @claim:001-SAS-13
  Scenario: [5] spr=https: over plain HTTP the SAS is refused with AuthorizationProtocolMismatch
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    # Without this the account refuses any HTTP request before looking at the SAS.
    And the operator turns off "Secure transfer required" on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    And the VM extracts the SAS credential from the response
    Given a file "test.txt" on the VM with the line "This is a test text file."
    When the VM uploads "test.txt" to the container as blob "testblob" with the SAS credential over http
    Then the response status is 403
    And the storage error code is "AuthorizationProtocolMismatch"

  @failure
  @claim:001-SAS-01
  Scenario: [6] Regenerating the key the SAS was signed with invalidates the SAS
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    And the VM extracts the SAS credential from the response
    Given the operator regenerates the storage account's "key1"
    And a file "test.txt" on the VM with the line "This is a test text file."
    When the VM uploads "test.txt" to the container as blob "testblob" with the SAS credential
    Then the response status is 403
    And the storage error code is "AuthenticationFailed"
    And the storage error detail starts with "Signature did not match."

  # "$params = @{...;signedExpiry="2017-09-23T00:00:00Z"}": the article's runnable command, as written.
  # Resource Manager signs what it is given; the Blob service then refuses the SAS as expired.
  @doc-discrepancy
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#1
  @claim:001-SAS-16:doc-discrepancy
  Scenario: [7] The article's command asks for a SAS that expired in 2017: Resource Manager signs it, Storage refuses it
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"2017-09-23T00:00:00Z"}
      """
    Then the response status is 200
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage-via-a-sas-credential/get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#1" says:
      """
      signedExpiry="2017-09-23T00:00:00Z"
      """
    When the VM extracts the SAS credential from the response
    Then the SAS credential has these parameters:
      | sp | rcw                  |
      | se | 2017-09-23T00:00:00Z |
    Given a file "test.txt" on the VM with the line "This is a test text file."
    When the VM uploads "test.txt" to the container as blob "testblob" with the SAS credential
    Then the response status is 403
    And the storage error code is "AuthenticationFailed"
    And the storage error detail starts with "Signature not valid in the specified time frame"

  # "$sasResponse = Invoke-WebRequest -Uri .../listServiceSas/?api-version=2017-06-01 -Method POST
  # -Body $jsonParams -Headers @{Authorization="Bearer $ArmToken"}": no -ContentType, so Invoke-WebRequest
  # sends application/x-www-form-urlencoded (Invoke-WebRequest reference, -ContentType). Resource Manager
  # accepts only application/json (Azure/azure-cli#10143, #13056). A reader needs -ContentType "application/json".
  @doc-discrepancy
  @restated:windows-vm-access:get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#2
  @claim:001-SAS-18:doc-discrepancy
  Scenario: [8] The article's listServiceSas POST sets no content type; Resource Manager refuses the form-encoded body
    Given the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/x-www-form-urlencoded" and this body, expecting to be refused:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    Then the response status is 415
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage-via-a-sas-credential/get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#2" says:
      """
      -Method POST -Body $jsonParams -Headers @{Authorization="Bearer $ArmToken"}
      """
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage-via-a-sas-credential/get-a-sas-credential-from-azure-resource-manager-to-make-storage-calls/powershell#2" does not say "-ContentType"
    And the error code is "UnsupportedMediaType"
    And the error message is "The content media type 'application/x-www-form-urlencoded' is not supported. Only 'application/json' is supported."

  # "Azure Storage doesn't natively support Microsoft Entra authentication. However, you can use a managed
  # identity to retrieve a storage SAS". The same tutorial set's Storage section says the opposite
  # ("Azure Storage natively supports Microsoft Entra authentication"), and so does Storage: with a data
  # role, the VM's own token lists the container (entra-docs includes/tutorial-vm-windows-access-storage.md).
  @doc-discrepancy @claim:001-SAS-05:doc-discrepancy
  Scenario: [9] The article says Storage does not support Microsoft Entra authentication; the container accepts the VM's token
    Given the article's claim "001-SAS-05" says "Azure Storage doesn't natively support Microsoft Entra authentication."
    And the operator grants the VM's system-assigned identity the "Storage Blob Data Reader" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<STORAGE-ACCOUNT-NAME>.blob.<STORAGE-SUFFIX>/<CONTAINER-NAME>?restype=container&comp=list" with the access token and header "x-ms-version: 2017-11-09"
    Then the response status is 200

  # "The URL is case-sensitive, so ensure that you use the exact same case used when you named the resource
  # group, including the uppercase "G" in resourceGroups." Resource Manager matches resource group names and
  # the resourceGroups segment without regard to case (as for the resource group read, rm_system_identity.feature [6]).
  @doc-discrepancy @claim:001-SAS-19:doc-discrepancy
  Scenario: [10] The article calls the listServiceSas URL case-sensitive; Resource Manager answers the lower-case URL
    Given the article's claim "001-SAS-19" says "The URL is case-sensitive"
    And the operator grants the VM's system-assigned identity the "Storage Account Contributor" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends POST "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourcegroups/<RESOURCE-GROUP-LOWER>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>/listServiceSas/?api-version=2017-06-01" with the access token, Content-Type "application/json" and this body:
      """
      {"canonicalizedResource":"/blob/<STORAGE-ACCOUNT-NAME>/<CONTAINER-NAME>","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"<EXPIRATION-TIME>"}
      """
    Then the response status is 200
    When the VM extracts the SAS credential from the response
    Then the SAS credential has a signature
