@tutorial:rm-system-identity
Feature: Use a Windows VM system-assigned managed identity to access Resource Manager
  Tutorial: "Use a Windows VM system-assigned managed identity to access resource manager", that
  section of features/tutorials/windows-vm-access.md
  (https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access),
  and its 2017 original "Use a Windows VM Managed Service Identity (MSI) to access Resource Manager"
  (features/tutorials/rm-msi-2017.md, Markdown source features/tutorials/rm-msi-2017-source.md;
  https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/tutorial-windows-vm-access-arm),
  which reads the resource group
  with api-version=2016-06-01. The 2017 text gets its token from the VM extension endpoint
  (localhost:50342); that endpoint is retired and has its own feature, so here the 2017 variant
  takes its token from IMDS as every VM must today.

  Claims checked: the token response's fields and their JSON types, token_type "Bearer", that
  "resource" is the requested one, against Azure the sample's refresh_token and 3599-second
  lifetime ([8]), that the token is the VM identity's, the resource group body
  the tutorial prints, and what happens when a reader skips a step.

  Background:
    Given the VM has a system-assigned managed identity

  @rm-system-identity:current
  @restated:windows-vm-access:get-an-access-token/bash#1
  @restated:windows-vm-access:get-an-access-token/json#1
  @restated:windows-vm-access:get-an-access-token/bash#2
  @restated:windows-vm-access:get-an-access-token/json#2
  @claim:001-GEN-02 @claim:001-RMS-01 @claim:001-RMS-04 @claim:001-RMS-10 @claim:001-RMS-11 @claim:001-SAS-07
  @claim:004-07
  Scenario: [1] Grant the VM Reader on a resource group, get a token from IMDS, read the resource group (api-version 2016-09-01)
    # "Navigate to the Resource Groups tab ... Access control (IAM) ... select Reader ... choose your VM"
    Given a new resource group named like "DevTest"
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    # curl 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.chinacloudapi.cn/' -H Metadata:true
    Given the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/bash#1" says "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the response has these fields, each a JSON string:
      | access_token | expires_in | expires_on | not_before | resource | token_type |
    And the response field "token_type" is "Bearer"
    And the response field "access_token" is a JWT
    And the response field "expires_in" is a string of digits
    And the token lifetime fields agree: not_before <= now < expires_on, and expires_in = expires_on - now
    And the response field "resource" echoes the requested resource
    When the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "aud" claim is the requested resource
    # curl https://management.chinacloudapi.cn/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01 -H "Authorization: Bearer <ACCESS-TOKEN>"
    Given the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/bash#2" says "/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01"
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token
    Then the response status is 200
    And in the tutorial's sample output below, these values differ by run:
      | id       | /subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP> |
      | name     | <RESOURCE-GROUP>                                                 |
      | location | <LOCATION>                                                       |
    And the response body has what the article's sample "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/json#2" shows

  @rm-system-identity:2017
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#4
  @restated:rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/json#1
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#4
  @restated:rm-msi-2017-source:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#5
  @claim:000-06 @claim:000-11 @claim:000-12 @claim:000-14 @claim:002-06 @claim:002-11 @claim:002-12
  @claim:002-14
  Scenario: [2] 2017 variant: Reader on the resource group the VM is in, read it with api-version 2016-06-01
    # "grant this VM's identity access to ... the Resource Group in which the VM is contained"
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    # (Invoke-WebRequest -Uri https://management.azure.com/subscriptions/<SUBSCRIPTION ID>/resourceGroups/<RESOURCE GROUP>?api-version=2016-06-01 ...).content
    Given the article's block "rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/powershell#4" says "/resourceGroups/<RESOURCE GROUP>?api-version=2016-06-01"
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-06-01" with the access token
    Then the response status is 200
    And in the tutorial's sample output below, these values differ by run:
      | id       | /subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP> |
      | name     | <RESOURCE-GROUP>                                                 |
      | location | <LOCATION>                                                       |
    And the response body has what the article's sample "rm-msi-2017:get-an-access-token-using-the-vm-identity-and-use-it-to-call-azure-resource-manager/json#1" shows

  @failure
  Scenario: [3] A token request without the Metadata header is refused
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" without the Metadata header
    Then the response status is 400
    And the error code is "invalid_request"
    And the error message is "Required metadata header not specified"

  @failure
  @claim:001-RMS-01
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
  @claim:001-RMS-09:doc-discrepancy @claim:000-13:doc-discrepancy @claim:002-13:doc-discrepancy
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
  @claim:001-RMS-05:doc-discrepancy @claim:001-RMS-08:doc-discrepancy @claim:001-SAS-08:doc-discrepancy
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

  # The sample response: "refresh_token":"", "expires_in":"3599" (a one-hour token).
  # Real IMDS answers carry no refresh_token and managed identity tokens live about 24 hours
  # (entra-docs managed-identities-faq.md: cached "for around 24 hours"; answers captured from VMs
  # show "expires_in":"86400", "ext_expires_in":"86399" and expires_on - not_before = 86700).
  @doc-discrepancy
  @restated:windows-vm-access:get-an-access-token/json#1
  @claim:001-RMS-06:doc-discrepancy @claim:001-RMS-07:doc-discrepancy
  Scenario: [8] The sample token response shows refresh_token "" and a 3599-second token; IMDS sends no refresh_token and a 24-hour token
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the response has no field "refresh_token"
    And the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-resource-manager/get-an-access-token/json#1" says:
      """
      "refresh_token":"",
      "expires_in":"3599",
      """
    And the token's lifetime, expires_on - not_before, is about 24 hours
    And the token lifetime fields agree: not_before <= now < expires_on, and expires_in = expires_on - now

  # "In the Role tab, select Reader. This role allows view all resources, but doesn't allow you to make any changes."
  @failure @claim:001-RMS-02
  Scenario: [9] Reader lets the VM read the resource group but not change it
    Given the article's claim "001-RMS-02" says "doesn't allow you to make any changes"
    And a new resource group named like "DevTest"
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token
    Then the response status is 200
    When the VM sends PATCH "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token and the JSON body '{"tags":{"changed-by":"reader"}}', expecting to be refused
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    And the error message is "The client '<VM-CLIENT-ID>' with object id '<VM-PRINCIPAL-ID>' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>' or the scope is invalid. If access was recently granted, please refresh your credentials."
