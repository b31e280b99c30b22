@tutorial:rm-system-identity
Feature: Use a Windows VM system-assigned managed identity to access Resource Manager
  Tutorial: "Use a Windows VM system-assigned managed identity to access resource manager"
  (../shared/tutorials/001_560952d57c964946.txt, that section), and its 2017 original
  "Use a Windows VM Managed Service Identity (MSI) to access Resource Manager"
  (000_a2a6880d01567f7a.txt, markdown 002_aae3b096479708fc.txt), which reads the resource group
  with api-version=2016-06-01. The 2017 text gets its token from the VM extension endpoint
  (localhost:50342); that endpoint is retired and has its own feature, so here the 2017 variant
  takes its token from IMDS as every VM must today.

  Claims checked: the token response's fields and their JSON types, token_type "Bearer", that
  "resource" is the requested one, that the token is the VM identity's, the resource group body
  the tutorial prints, and what happens when a reader skips a step.

  Background:
    Given the VM has a system-assigned managed identity

  # The tutorial's sample token response shows "refresh_token":""; IMDS answers recorded live since
  # 2020 (Azure/azure-sdk-for-python sdk/identity/azure-identity/tests/recordings/test_imds_credential.*.json)
  # have client_id and ext_expires_in and no refresh_token.
  @rm-system-identity:current @doc-discrepancy
  Scenario: [1] Grant the VM Reader on a resource group, get a token from IMDS, read the resource group (api-version 2016-09-01)
    # "Navigate to the Resource Groups tab ... Access control (IAM) ... select Reader ... choose your VM"
    Given a new resource group named like "DevTest"
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    # curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/' -H Metadata:true
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the response has these fields, each a JSON string:
      | access_token | client_id | expires_in | expires_on | ext_expires_in | not_before | resource | token_type |
    And the response field "token_type" is "Bearer"
    And the response field "access_token" is a JWT
    And the response has no field "refresh_token"
    And the response field "expires_in" is a string of digits
    And the token lifetime fields agree: not_before <= now < expires_on, and expires_in = expires_on - now
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "aud" claim is the requested resource
    # curl https://management.azure.com/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01 -H "Authorization: Bearer <ACCESS-TOKEN>"
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token
    Then the response status is 200
    And the response body has what the tutorial shows:
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

  @rm-system-identity:2017
  Scenario: [2] 2017 variant: Reader on the resource group the VM is in, read it with api-version 2016-06-01
    # "grant this VM's identity access to ... the Resource Group in which the VM is contained"
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-06-01" with the access token
    Then the response status is 200
    And the response body has what the tutorial shows:
      """
      {"id":"/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>","name":"<RESOURCE-GROUP>","location":"<LOCATION>","properties":{"provisioningState":"Succeeded"}}
      """

  @failure
  Scenario: [3] A token request without the Metadata header is refused
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" without the Metadata header
    Then the response status is 400
    And the error code is "invalid_request"
    And the error message is "Required metadata header not specified"

  @failure
  Scenario: [4] Reading the resource group before Reader is granted is refused with AuthorizationFailed
    Given a new resource group named like "DevTest"
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    And the error message is "The client '<VM-CLIENT-ID>' with object id '<VM-PRINCIPAL-ID>' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>' or the scope is invalid. If access was recently granted, please refresh your credentials."

  @failure
  Scenario: [5] Calling Resource Manager without the token is refused with AuthenticationFailed and a challenge
    Given the resource group the VM is in
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" without a token
    Then the response status is 401
    And the error code is "AuthenticationFailed"
    And the error message is "Authentication failed. The 'Authorization' header is missing."
    And the "WWW-Authenticate" header starts with "Bearer authorization_uri="

  @doc-discrepancy
  Scenario: [6] The tutorial calls the URL case-sensitive; Resource Manager matches it without regard to case
    # "The URL is case-sensitive, so ensure if you are using the exact case as you used earlier when
    #  you named the resource group, and the uppercase "G" in "resourceGroup"."
    Given a new resource group named like "DevTest"
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourcegroups/<RESOURCE-GROUP-LOWER>?api-version=2016-09-01" with the access token
    Then the response status is 200
    And the response field "name" is "<RESOURCE-GROUP>"

  @doc-discrepancy
  Scenario: [7] The tutorial says the trailing slash is required; a resource without it works too and is echoed as sent
    # "In the case of the Resource Manager's resource ID, you must include the trailing slash on the URI."
    # The tutorial's own sample response shows the resource without the slash it requested.
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE-NO-SLASH>" with header "Metadata: true"
    Then the response status is 200
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "aud" claim is the requested resource
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token
    Then the response status is 200
