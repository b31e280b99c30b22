@tutorial:storage-direct
Feature: Use a Windows VM system-assigned managed identity to access Azure Storage
  Tutorial: "Use a Windows VM system-assigned managed identity to access Azure Storage"
  (that section of features/tutorials/windows-vm-access.md,
  https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access): create a general purpose v1 storage
  account and a private container, upload "hello world.txt" containing "Hello world!", grant the VM's
  identity Storage Blob Data Reader on the account, get a token for https://storage.azure.com/ from
  IMDS, and read the blob with it (the .NET sample's CloudBlockBlob.DownloadText with a
  TokenCredential, which sends the token and an x-ms-version of 2017-11-09 or later).

  Claims checked: the account's blob endpoint, the container's default (private) access level, the
  token's audience and identity, that the token alone reads the blob, what the blob holds, and what
  happens without the data role, with a control-plane role only, with an older service version, and
  with a token for another audience.

  Background:
    Given the VM has a system-assigned managed identity
    And a new resource group named like "StorageTutorial"
    # "Deployment model and Account kind should be set to Resource manager and Storage (general purpose v1)."
    And the operator creates a storage account of kind "Storage" in the resource group
    Then the response field "kind" is "Storage"
    And the response field "properties.provisioningState" is "Succeeded"
    And the response field "properties.primaryEndpoints.blob" is "https://<STORAGE-ACCOUNT-NAME>.blob.<STORAGE-SUFFIX>/"
    # "In the New container field, enter a name ... in the Public access level option, keep the default value."
    Given the operator creates the blob container "mycontainer" in the storage account
    Then the response field "properties.publicAccess" is "None"
    # "create a file titled hello world.txt ... add the text Hello world!, then save it ... Upload"
    Given the operator uploads "hello world.txt" with the text "Hello world!" to the container

  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage/access-data/csharp#1
  @claim:001-STO-01 @claim:001-STO-03 @claim:001-STO-04 @claim:001-STO-06 @claim:001-STO-07 @claim:001-STO-10
  @claim:001-STO-11 @claim:001-STO-12 @claim:001-STO-13 @claim:004-15
  Scenario: [1] Grant Storage Blob Data Reader on the account, get a token for Storage from IMDS, read the blob with it
    # "Role: Storage Blob Data Reader; Assign access to: Managed identity; System-assigned: Virtual Machine"
    Given the operator grants the VM's system-assigned identity the "Storage Blob Data Reader" role on the storage account
    # GetMSIToken("https://storage.azure.com/") sends this request with Metadata: true
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" with header "Metadata: true"
    Then the response status is 200
    # Dictionary<string, string> list = (Dictionary<string, string>)j.Deserialize(stringResponse, ...)
    And every field of the response is a JSON string
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "aud" claim is "https://storage.azure.com/"
    And the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    # new CloudBlockBlob(new Uri("<URI to blob file>"), storageCredentials).DownloadText()
    When the VM sends GET "<URI-TO-BLOB-FILE>" with the access token and header "x-ms-version: 2017-11-09"
    Then the response status is 200
    And the response body is the text "Hello world!"
    And the response header "x-ms-blob-type" is "BlockBlob"
    And the response header "Content-Length" is "12"

  @doc-discrepancy
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage/access-data/output#1
  @claim:001-STO-14:doc-discrepancy
  Scenario: [2] The tutorial writes "Hello world!" into the file but shows "Hello world! :)" as the output; the blob holds what was written
    # "add the text Hello world!" ... "The response contains the contents of the file: Hello world! :)"
    Given the operator grants the VM's system-assigned identity the "Storage Blob Data Reader" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "<URI-TO-BLOB-FILE>" with the access token and header "x-ms-version: 2017-11-09"
    Then the response status is 200
    And the response body is the text "Hello world!"
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-storage/access-data/output#1" says "Hello world! :)"

  @failure
  @claim:001-STO-06
  Scenario: [3] Reading the blob before any role is granted is refused with AuthorizationPermissionMismatch
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "<URI-TO-BLOB-FILE>" with the access token and header "x-ms-version: 2017-11-09", expecting to be refused
    Then the response status is 403
    And the storage error code is "AuthorizationPermissionMismatch"

  @failure
  @claim:001-STO-06
  Scenario: [4] Reader on the resource group is a control-plane role: it grants no access to blob data
    Given the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "<URI-TO-BLOB-FILE>" with the access token and header "x-ms-version: 2017-11-09", expecting to be refused
    Then the response status is 403
    And the storage error code is "AuthorizationPermissionMismatch"

  @failure
  Scenario: [5] A token is refused with a service version older than 2017-11-09
    Given the operator grants the VM's system-assigned identity the "Storage Blob Data Reader" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "<URI-TO-BLOB-FILE>" with the access token and header "x-ms-version: 2017-07-29", expecting to be refused
    Then the response status is 403
    And the storage error code is "AuthenticationFailed"
    And the storage error detail starts with "Authentication scheme Bearer is not supported in this version."

  @failure
  Scenario: [6] A token for Resource Manager is refused by Storage with InvalidAuthenticationInfo and a challenge naming Storage
    Given the operator grants the VM's system-assigned identity the "Storage Blob Data Reader" role on the storage account
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "<URI-TO-BLOB-FILE>" with the access token and header "x-ms-version: 2017-11-09", expecting to be refused
    Then the response status is 401
    And the storage error code is "InvalidAuthenticationInfo"
    And the storage error detail starts with "Audience validation failed."
    And the "WWW-Authenticate" header starts with "Bearer authorization_uri=https://<LOGIN-HOST>/<TENANT-ID>/oauth2/authorize resource_id=https://storage.azure.com"
