@tutorial:resilience @emulator-only
Feature: Riding through what Azure does to clients: IMDS upgrades and throttling, server errors, RBAC propagation, token expiry
  Source: Microsoft's retry guidance, not a tutorial. "How to use managed identities for Azure resources
  on an Azure VM to acquire an access token", section "Retry guidance"
  (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#retry-guidance):
  retry 404, 429 and 5xx with exponential backoff; a 410 means IMDS is being updated and will be
  available within 70 seconds. The IMDS page's "Errors and debugging" table (410: retry for up to 70 s;
  429: rate limits of 20 requests/s and 5 concurrent for identity). Azure RBAC troubleshooting, "Role
  assignment changes are not being detected" (up to 10 minutes to take effect, removals too). The
  Azure SDKs' retry policy for transient 500/503 with Retry-After ("Retry guidance for Azure services").

  Claims checked: the harness's IMDS client retries 410 until the upgrade is over, and 404, 429, 500
  and 503 (a dropped connection is reported, not retried: a refused connection is an answer the
  tutorials discuss); it gives up with a message naming the status and its retries when a 410
  outlasts its budget; IMDS's 429 carries the documented text and Retry-After; a call that needs a role assignment made in the scenario retries its 403
  until the assignment takes effect, and a removed one is seen to stop granting; the Azure SDK for Go's
  pipeline retries 500 and 503 answers that carry Retry-After; a short-lived token is refused once the
  cloud's clock passes its expiry (plus the 5 minutes' leeway) and a fresh token works. The faults are
  injected by the emulator (its control API under /_emulator/faults); waits are kept short (a half-second
  upgrade window instead of 70, 1-second RBAC delays) so the suite stays fast. What Azure fixes in whole
  seconds stays whole seconds: Retry-After is delta-seconds (RFC 9110), so those scenarios wait 1 second. The official Go SDK's ManagedIdentityCredential
  riding through IMDS 410/429/500 is shown in go test (env/emulator/faults_test.go), since its retries
  cannot be observed through a step.

  Background:
    Given the VM has a system-assigned managed identity

  Scenario: [1] IMDS upgrade: 410 for a while (half a second here, up to 70 in Azure), and the token request rides through
    Given IMDS answers 410 to every request for 0.5 seconds
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the VM retried before the answer came
    When the VM extracts the access token from the response
    Then the access token's "aud" claim is the requested resource

  Scenario Outline: [2] IMDS answers <status> (<meaning>) once, and the second try gets the token
    Given IMDS answers <status> to the next 1 request
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the answer came after 2 tries
    And the response field "access_token" is a JWT

    Examples:
      | status | meaning                   |
      | 404    | IMDS endpoint is updating |
      | 429    | throttled                 |
      | 500    | server error              |
      | 503    | unavailable               |

  @failure
  Scenario: [3] Throttled for longer than the client waits: IMDS's 429 is the documented one, with Retry-After
    Given IMDS answers 429 to every request for 5 seconds
    When the VM requests a token for Resource Manager from IMDS, giving up after 1 second
    Then the response status is 429
    And the "Retry-After" header starts with "1"
    And the error code is "too_many_requests"
    And the error message is "IMDS Throttle limit reached. Retry with Exponential Backoff."

  Scenario: [4] Slow IMDS: added latency delays the answer, which still comes
    Given IMDS takes 300 ms longer to answer for 5 seconds
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the response status is 200
    And the answer came after 1 tries

  @failure
  Scenario: [5] A 410 that outlasts the client's budget: the harness gives up and says why
    Given IMDS answers 410 to every request for 10 seconds
    When the VM requests a token for Resource Manager from IMDS, giving up after 1 second
    Then the response status is 410
    And the VM retried before the answer came
    And extracting the access token fails, naming the status 410 and the retries

  @failure
  Scenario: [6] A dropped connection is not an answer: the harness reports it, without retrying
    # Two drops: Go's HTTP client itself resends a GET once, on a new connection, when a reused
    # keep-alive connection drops before answering.
    Given IMDS drops the next 2 connections
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the VM got no answer
    And the VM tried 1 time

  Scenario: [7] RBAC propagation: a new Reader assignment takes a while to take effect (1 second here, up to 10 minutes in Azure); the VM's call retries its 403 until it does
    Given a new resource group named like "resilience"
    And new role assignments take 1 second to take effect
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token
    Then the response status is 200
    And the VM retried before the answer came

  Scenario: [8] RBAC propagation: a removed assignment keeps granting for a while (1 second here), then the VM is refused
    Given a new resource group named like "resilience"
    And removed role assignments keep granting for 1 second
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the operator removes that role assignment
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token, expecting to be refused
    Then the response status is 403
    And the error code is "AuthorizationFailed"
    And the VM retried before the answer came

  Scenario Outline: [9] Resource Manager answers <status> with Retry-After once; the Azure SDK for Go waits as told and rides through
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    Given Resource Manager answers <status> with "Retry-After: 1" to the next 1 request
    When the VM reads "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token through the Azure SDK for Go
    Then the response status is 200
    And the answer came after 2 tries
    And the response field "name" is "<RESOURCE-GROUP>"

    Examples:
      | status |
      | 500    |
      | 503    |

  @failure
  Scenario: [10] Without retries a server error is just an answer: 503 with Retry-After in Resource Manager's error shape
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    Given Resource Manager answers 503 with "Retry-After: 1" to the next 1 request
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token
    Then the response status is 503
    And the "Retry-After" header starts with "1"
    And the error code is "ServiceUnavailable"

  Scenario: [11] Short-lived tokens: a 60-second token is refused once the cloud's clock passes its expiry, and a fresh one works
    Given the resource group the VM is in
    And the operator grants the VM's system-assigned identity the "Reader" role on the resource group
    And tokens are issued for 60 seconds
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    Then the token expires in at most 60 seconds
    When the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token
    Then the response status is 200
    # past exp plus the 5 minutes' leeway Azure services allow
    Given the cloud's clock runs 7 minutes ahead
    When the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token
    Then the response status is 401
    And the error code is "ExpiredAuthenticationToken"
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM sends GET "https://<ARM-HOST>/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>?api-version=2021-04-01" with the access token
    Then the response status is 200
