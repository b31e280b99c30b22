@tutorial:identity-concepts
Feature: What happens when a VM's identity is enabled, what its token is, and how RBAC grants access
  Tutorial: "Use managed identities with Azure virtual machines" (Microsoft Learn unit,
  features/tutorials/how-managed-identities-work-vm.md,
  https://learn.microsoft.com/training/modules/authenticate-apps-with-managed-identities/4-use-managed-identities-with-vms):
  "Managed identity within Azure virtual machines",
  "Access control and authentication" and "Use managed identity in an application".

  Claims checked: enabling a system-assigned identity creates a service principal in the tenant
  the subscription trusts (a new principal id on the VM, which is the token's oid, in that tenant);
  the VM gets a JSON Web Token whose signature verifies with the keys the authority publishes, whose
  aud is the requested resource, iss the tenant's token issuer, appid the service principal's client
  id (a GUID), xms_mirid the VM; RBAC is principal + role definition + scope: an assignment grants
  at its scope and below, not above it or beside it, and removing it takes the access away; a VM
  whose identity is disabled gets no token ("Identity not found"). Not checkable: the internal steps
  1, 3 and 5 of "what happens" (the VM's request for an identity, Resource Manager updating IMDS with
  the client id and certificate, the certificate exchange with Entra ID), which are not observable
  from the VM or through any API; the stock-tracking story; the portal's Identity section itself;
  the C# AzureServiceTokenProvider sample (a .NET library, and the sample passes an empty resource).

  Background:
    Given the VM has a system-assigned managed identity

  @emulator-only
  @claim:004-03 @claim:003-01 @claim:000-02 @claim:000-03 @claim:002-02 @claim:002-03
  Scenario: [1] Enabling the system-assigned identity creates a new service principal in the subscription's tenant
    # "In Microsoft Entra ID, a service principal is created for the VM within the tenant that the subscription trusts."
    When the operator disables and re-enables the VM's system-assigned identity
    Then the VM's new principal id differs from the one before
    And the response field "identity.tenantId" is "<SUBSCRIPTION-TENANT-ID>"
    # "Microsoft Entra ID returns a JSON Web Token access token."
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    Then the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "tid" claim is "<SUBSCRIPTION-TENANT-ID>"

  @claim:004-07 @claim:004-08
  Scenario: [2] The access token is a JWT from the authority, for the requested resource, about the VM
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    Then the access token is a JWT signed with a key the authority publishes
    And the access token's "aud" claim is the requested resource
    And the access token's "iss" claim is "<TOKEN-ISSUER>"
    And the access token's "tid" claim is "<TENANT-ID>"
    And the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    And the access token's "appid" claim is a GUID
    And the access token's "xms_mirid" claim is "<VM-RESOURCE-ID>"

  @claim:004-05a @claim:004-09 @claim:004-10 @claim:004-12
  Scenario: [3] A Reader assignment on a resource group grants reading inside it, not beside it; removing it takes the access away
    Given a new resource group named like "rbac-scope"
    And a second new resource group named like "rbac-beside"
    And the operator creates the user-assigned identity "rbac-probe" in the resource group
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    # at its scope
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token
    Then the response status is 200
    # and below: a resource in the group
    When the VM sends GET "https://<ARM-HOST><UAI-ID>?api-version=2023-01-31" with the access token
    Then the response status is 200
    And the response field "name" is "rbac-probe"
    # not beside: another group
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<OTHER-RESOURCE-GROUP>?api-version=2016-09-01" with the access token, expecting to be refused
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    When the operator removes that role assignment
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token, expecting to be refused
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    When the VM sends GET "https://<ARM-HOST><UAI-ID>?api-version=2023-01-31" with the access token, expecting to be refused
    Then the response status is 403

  @claim:004-10
  Scenario: [4] A Reader assignment on one resource grants that resource, not its resource group above it
    Given a new resource group named like "rbac-resource"
    And the operator creates the user-assigned identity "rbac-probe" in the resource group
    And the operator grants the VM's system-assigned identity the "Reader" role on the user-assigned identity
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST><UAI-ID>?api-version=2023-01-31" with the access token
    Then the response status is 200
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2016-09-01" with the access token, expecting to be refused
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    And the error message is "The client '<VM-CLIENT-ID>' with object id '<VM-PRINCIPAL-ID>' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>' or the scope is invalid. If access was recently granted, please refresh your credentials."

  @emulator-only @failure
  @claim:001-STO-15
  Scenario: [5] With the identity disabled, IMDS has no identity to give a token for
    Given the operator disables the VM's managed identities
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 400
    And the error code is "invalid_request"
    And the error message is "Identity not found"

  # Step 4: "To give your app access to the key vault, use role-based access control (RBAC) in Microsoft
  # Entra ID. Assign the required role to the VM's service principal. For example, you could assign the
  # Reader or Contributor roles." Reader and Contributor are control-plane roles with no data actions:
  # reading a secret needs a Key Vault data role (Key Vault Secrets User) or, on an access-policy vault,
  # an access policy (learn.microsoft.com/azure/key-vault/general/rbac-guide, rbac-access-policy).
  @doc-discrepancy
  @claim:004-05b:doc-discrepancy
  Scenario: [6] The unit says Reader or Contributor gives the app access to the key vault; neither lets it read a secret
    Given a new resource group named like "kv-roles"
    And the operator creates a key vault named like "kv-roles" in the resource group without choosing a permission model
    And the operator grants itself the "Key Vault Secrets Officer" role on the resource group
    And the operator adds the secret "stock-api" with the value "s3cret" to the vault
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    And the operator grants the VM's system-assigned identity the "Contributor" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<VAULT-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<YOUR-KEY-VAULT-URL>/secrets/<SECRET-NAME>?api-version=2016-10-01" with the access token, expecting to be refused
    Then the response status is 403
    And the inner error code is "ForbiddenByRbac"
  @claim:004-03
  Scenario: [7] The VM's service principal is in the tenant: a managed identity, with the id its token carries
    # "a service principal is created for the VM within the tenant": Microsoft Graph shows it as
    # `az ad sp show --id <oid>` does, with the VM's resource id among its alternative names.
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the operator looks up, in Microsoft Graph, the service principal whose id is the access token's "oid" claim
    Then the response status is 200
    And the response field "servicePrincipalType" is "ManagedIdentity"
    And the response field "id" is the access token's "oid" claim
    And the response field "appId" is the access token's "appid" claim
    And the response field "alternativeNames" includes "<VM-RESOURCE-ID>", compared without case
    # `az ad sp list --filter "appId eq '<client id>'"`
    When the operator lists, in Microsoft Graph, the service principals whose appId is the access token's "appid" claim
    Then the response status is 200
    And the response lists 1 service principal
    And the response field "value.0.id" is the access token's "oid" claim

  Scenario: [8] The VM's identity may not read the directory it is in unless granted a Graph permission
    # Enabling the identity grants it no Microsoft Graph application permission: Graph refuses it
    # with its own error, not Resource Manager's RBAC one.
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<GRAPH-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<GRAPH-HOST>/v1.0/servicePrincipals/<VM-PRINCIPAL-ID>" with the access token, expecting to be refused
    Then the response status is 403
    And the error code is "Authorization_RequestDenied"
    And the error message is "Insufficient privileges to complete the operation."

  @emulator-only
  @claim:004-03
  Scenario: [9] Disabling the system-assigned identity deletes its service principal
    # "what happens": the identity's lifecycle is tied to the VM's; disabled, its principal is gone.
    When the operator looks up, in Microsoft Graph, the service principal "<VM-PRINCIPAL-ID>"
    Then the response status is 200
    Given the operator disables the VM's managed identities
    When the operator looks up, in Microsoft Graph, the service principal "<VM-PRINCIPAL-ID>"
    Then the response status is 404
    And the error code is "Request_ResourceNotFound"
