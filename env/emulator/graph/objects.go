package graph

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// The directory objects Graph v1.0 shows, field for field in the order
// Graph sends them.

// servicePrincipal is a servicePrincipal resource. Fields and order: the
// recorded bodies in Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/role/tests/latest/recordings/test_service_principal_scenario.yaml
// (POST and GET servicePrincipals, v1.0).
type servicePrincipal struct {
	ID                                 string               `json:"id"`
	DeletedDateTime                    *string              `json:"deletedDateTime"`
	AccountEnabled                     bool                 `json:"accountEnabled"`
	AlternativeNames                   []string             `json:"alternativeNames"`
	AppDisplayName                     *string              `json:"appDisplayName"`
	AppDescription                     *string              `json:"appDescription"`
	AppID                              string               `json:"appId"`
	ApplicationTemplateID              *string              `json:"applicationTemplateId"`
	AppOwnerOrganizationID             *string              `json:"appOwnerOrganizationId"`
	AppRoleAssignmentRequired          bool                 `json:"appRoleAssignmentRequired"`
	CreatedDateTime                    *string              `json:"createdDateTime"`
	Description                        *string              `json:"description"`
	DisabledByMicrosoftStatus          *string              `json:"disabledByMicrosoftStatus"`
	DisplayName                        string               `json:"displayName"`
	Homepage                           *string              `json:"homepage"`
	LoginURL                           *string              `json:"loginUrl"`
	LogoutURL                          *string              `json:"logoutUrl"`
	Notes                              *string              `json:"notes"`
	NotificationEmailAddresses         []string             `json:"notificationEmailAddresses"`
	PreferredSingleSignOnMode          *string              `json:"preferredSingleSignOnMode"`
	PreferredTokenSigningKeyThumbprint *string              `json:"preferredTokenSigningKeyThumbprint"`
	ReplyURLs                          []string             `json:"replyUrls"`
	ServicePrincipalNames              []string             `json:"servicePrincipalNames"`
	ServicePrincipalType               string               `json:"servicePrincipalType"`
	SignInAudience                     *string              `json:"signInAudience"`
	Tags                               []string             `json:"tags"`
	TokenEncryptionKeyID               *string              `json:"tokenEncryptionKeyId"`
	SAMLSingleSignOnSettings           *struct{}            `json:"samlSingleSignOnSettings"`
	VerifiedPublisher                  verifiedPublisher    `json:"verifiedPublisher"`
	AddIns                             []struct{}           `json:"addIns"`
	AppRoles                           []struct{}           `json:"appRoles"`
	Info                               informationalURL     `json:"info"`
	KeyCredentials                     []keyCredential      `json:"keyCredentials"`
	OAuth2PermissionScopes             []struct{}           `json:"oauth2PermissionScopes"`
	PasswordCredentials                []passwordCredential `json:"passwordCredentials"`
	ResourceSpecificAppPermissions     []struct{}           `json:"resourceSpecificApplicationPermissions"`
}

type verifiedPublisher struct {
	DisplayName         *string `json:"displayName"`
	VerifiedPublisherID *string `json:"verifiedPublisherId"`
	AddedDateTime       *string `json:"addedDateTime"`
}

type informationalURL struct {
	LogoURL             *string `json:"logoUrl"`
	MarketingURL        *string `json:"marketingUrl"`
	PrivacyStatementURL *string `json:"privacyStatementUrl"`
	SupportURL          *string `json:"supportUrl"`
	TermsOfServiceURL   *string `json:"termsOfServiceUrl"`
}

// keyCredential is Graph v1.0's keyCredential (resources/keycredential).
type keyCredential struct {
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	DisplayName         *string `json:"displayName"`
	EndDateTime         string  `json:"endDateTime"`
	Key                 *string `json:"key"`
	KeyID               string  `json:"keyId"`
	StartDateTime       string  `json:"startDateTime"`
	Type                string  `json:"type"`
	Usage               string  `json:"usage"`
}

// passwordCredential is Graph v1.0's passwordCredential
// (resources/passwordcredential): the secret itself is never returned
// after creation, only its first three characters as hint.
type passwordCredential struct {
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	DisplayName         *string `json:"displayName"`
	EndDateTime         string  `json:"endDateTime"`
	Hint                string  `json:"hint"`
	KeyID               string  `json:"keyId"`
	SecretText          *string `json:"secretText"`
	StartDateTime       string  `json:"startDateTime"`
}

// spType is servicePrincipal's filterable properties.
var spType = entityType{
	odata: "microsoft.graph.servicePrincipal", resource: "ServicePrincipal",
	props: map[string]kind{
		"id": kindString, "appId": kindString, "displayName": kindString, "servicePrincipalType": kindString,
		"accountEnabled": kindBool, "appOwnerOrganizationId": kindString, "signInAudience": kindString,
		"servicePrincipalNames": kindCollection, "alternativeNames": kindCollection, "tags": kindCollection,
		"replyUrls": kindCollection, "notificationEmailAddresses": kindCollection,
		"createdDateTime": kindOpaque, "keyCredentials": kindOpaque, "passwordCredentials": kindOpaque,
		"appRoles": kindOpaque, "info": kindOpaque, "appDisplayName": kindString, "appDescription": kindString,
		"description": kindString, "homepage": kindString, "notes": kindString,
	},
}

// appType is application's filterable properties.
var appType = entityType{
	odata: "microsoft.graph.application", resource: "Application",
	props: map[string]kind{
		"id": kindString, "appId": kindString, "displayName": kindString, "signInAudience": kindString,
		"publisherDomain": kindString, "identifierUris": kindCollection, "tags": kindCollection,
		"createdDateTime": kindOpaque, "keyCredentials": kindOpaque, "passwordCredentials": kindOpaque,
		"requiredResourceAccess": kindOpaque, "web": kindOpaque, "api": kindOpaque, "description": kindString,
		"notes": kindString,
	},
}

func str(s string) *string { return &s }

// graphTime is Graph's timestamp form for directory objects (seconds, Z),
// as createdDateTime in the recordings above.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// derivedGUID is a stable GUID for things the directory does not store
// (an application object's id, a key's id): the same principal always
// shows the same ids, across restarts too.
func derivedGUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.Join(parts, "|"))))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// claimResourceID writes a resource id as Entra does in a managed
// identity's alternativeNames: "resourcegroups" in lower case, the rest as
// created (see the capture cited in newServicePrincipal).
func claimResourceID(id string) string {
	const seg = "/resourcegroups/"
	if i := strings.Index(strings.ToLower(id), seg); i >= 0 {
		return id[:i] + seg + id[i+len(seg):]
	}
	return id
}

// newServicePrincipal shows a principal of the directory as Graph does.
func (s *Service) newServicePrincipal(p directory.Principal) servicePrincipal {
	created := graphTime(p.Created)
	sp := servicePrincipal{
		ID: p.ObjectID, AccountEnabled: true, AlternativeNames: []string{}, AppID: p.ClientID,
		CreatedDateTime: &created, DisplayName: p.DisplayName,
		NotificationEmailAddresses: []string{}, ReplyURLs: []string{}, Tags: []string{},
		AddIns: []struct{}{}, AppRoles: []struct{}{}, KeyCredentials: []keyCredential{},
		OAuth2PermissionScopes: []struct{}{}, PasswordCredentials: []passwordCredential{},
		ResourceSpecificAppPermissions: []struct{}{},
	}
	if p.Created.IsZero() {
		sp.CreatedDateTime = nil
	}
	switch p.Kind {
	case directory.SystemAssigned, directory.UserAssigned:
		// A managed identity's principal, as a VM's system-assigned one was
		// captured in pnp/cli-microsoft365
		// src/m365/aad/commands/approleassignment/approleassignment-add.spec.ts
		// ("VM2"): type ManagedIdentity, displayName the resource's name, no
		// app display name or owner tenant, alternativeNames isExplicit and
		// the resource id, servicePrincipalNames the client id and an
		// https://identity.azure.net/ name, one 90-day verify certificate.
		// isExplicit=True marks a user-assigned identity (its own resource).
		explicit := "isExplicit=False"
		if p.Kind == directory.UserAssigned {
			explicit = "isExplicit=True"
		}
		sp.AlternativeNames = []string{explicit, claimResourceID(p.ResourceID)}
		h := sha256.Sum256([]byte(strings.ToLower(p.ResourceID + "|" + p.ObjectID)))
		sp.ServicePrincipalNames = []string{p.ClientID, "https://identity.azure.net/" + base64.StdEncoding.EncodeToString(h[:])}
		sp.ServicePrincipalType = "ManagedIdentity"
		thumb := sha1.Sum([]byte("cert|" + p.ObjectID))
		start := p.Created
		if start.IsZero() {
			start = s.Issuer.Now()
		}
		sp.KeyCredentials = []keyCredential{{
			CustomKeyIdentifier: str(strings.ToUpper(hex.EncodeToString(thumb[:]))),
			DisplayName:         str("CN=" + p.ClientID),
			EndDateTime:         graphTime(start.Add(90 * 24 * time.Hour)), StartDateTime: graphTime(start),
			KeyID: derivedGUID("key", p.ObjectID), Type: "AsymmetricX509Cert", Usage: "Verify",
		}}
	default:
		// The operator's application, as az ad sp create shows one
		// (test_service_principal_scenario.yaml): the app's display name,
		// the home tenant as owner, servicePrincipalNames its app id.
		sp.AppDisplayName = str(p.DisplayName)
		sp.AppOwnerOrganizationID = str(s.Dir().TenantID)
		sp.ServicePrincipalNames = []string{p.ClientID}
		sp.ServicePrincipalType = "Application"
		sp.SignInAudience = str("AzureADMyOrg")
	}
	return sp
}

// application is an application (app registration) resource. Fields and
// order: the recorded GET applications?$filter=appId eq '...' body in
// test_service_principal_scenario.yaml.
type application struct {
	ID                         string               `json:"id"`
	DeletedDateTime            *string              `json:"deletedDateTime"`
	AppID                      string               `json:"appId"`
	ApplicationTemplateID      *string              `json:"applicationTemplateId"`
	DisabledByMicrosoftStatus  *string              `json:"disabledByMicrosoftStatus"`
	CreatedDateTime            *string              `json:"createdDateTime"`
	DisplayName                string               `json:"displayName"`
	Description                *string              `json:"description"`
	GroupMembershipClaims      *string              `json:"groupMembershipClaims"`
	IdentifierURIs             []string             `json:"identifierUris"`
	IsDeviceOnlyAuthSupported  *bool                `json:"isDeviceOnlyAuthSupported"`
	IsFallbackPublicClient     *bool                `json:"isFallbackPublicClient"`
	Notes                      *string              `json:"notes"`
	PublisherDomain            string               `json:"publisherDomain"`
	ServiceManagementReference *string              `json:"serviceManagementReference"`
	SignInAudience             string               `json:"signInAudience"`
	Tags                       []string             `json:"tags"`
	TokenEncryptionKeyID       *string              `json:"tokenEncryptionKeyId"`
	DefaultRedirectURI         *string              `json:"defaultRedirectUri"`
	Certification              *struct{}            `json:"certification"`
	OptionalClaims             *struct{}            `json:"optionalClaims"`
	AddIns                     []struct{}           `json:"addIns"`
	API                        apiApplication       `json:"api"`
	AppRoles                   []struct{}           `json:"appRoles"`
	Info                       informationalURL     `json:"info"`
	KeyCredentials             []keyCredential      `json:"keyCredentials"`
	ParentalControlSettings    parentalControl      `json:"parentalControlSettings"`
	PasswordCredentials        []passwordCredential `json:"passwordCredentials"`
	PublicClient               redirects            `json:"publicClient"`
	RequiredResourceAccess     []requiredAccess     `json:"requiredResourceAccess"`
	VerifiedPublisher          verifiedPublisher    `json:"verifiedPublisher"`
	Web                        webApplication       `json:"web"`
	SPA                        redirects            `json:"spa"`
}

type apiApplication struct {
	AcceptMappedClaims          *bool      `json:"acceptMappedClaims"`
	KnownClientApplications     []string   `json:"knownClientApplications"`
	RequestedAccessTokenVersion *int       `json:"requestedAccessTokenVersion"`
	OAuth2PermissionScopes      []struct{} `json:"oauth2PermissionScopes"`
	PreAuthorizedApplications   []struct{} `json:"preAuthorizedApplications"`
}

type parentalControl struct {
	CountriesBlockedForMinors []string `json:"countriesBlockedForMinors"`
	LegalAgeGroupRule         string   `json:"legalAgeGroupRule"`
}

type redirects struct {
	RedirectURIs []string `json:"redirectUris"`
}

type webApplication struct {
	HomePageURL           *string       `json:"homePageUrl"`
	LogoutURL             *string       `json:"logoutUrl"`
	RedirectURIs          []string      `json:"redirectUris"`
	ImplicitGrantSettings implicitGrant `json:"implicitGrantSettings"`
}

type implicitGrant struct {
	EnableAccessTokenIssuance bool `json:"enableAccessTokenIssuance"`
	EnableIDTokenIssuance     bool `json:"enableIdTokenIssuance"`
}

type requiredAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []resourceAccess `json:"resourceAccess"`
}

type resourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// graphAppRoleIDs are the ids of Microsoft Graph's application
// permissions the emulator grants, as an app's requiredResourceAccess
// names them (https://learn.microsoft.com/graph/permissions-reference).
var graphAppRoleIDs = map[string]string{
	"Directory.Read.All":        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
	"Directory.ReadWrite.All":   "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
	"Application.Read.All":      "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
	"Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
}

// applicationObjectID is the application object's id, distinct from its
// service principal's, and stable for the app.
func applicationObjectID(p directory.Principal) string { return derivedGUID("application", p.ClientID) }

// newApplication shows an application principal's app registration.
func (s *Service) newApplication(p directory.Principal) application {
	start := p.Created
	if start.IsZero() {
		start = s.Issuer.Now()
	}
	created := graphTime(start)
	app := application{
		ID: applicationObjectID(p), AppID: p.ClientID, CreatedDateTime: &created, DisplayName: p.DisplayName,
		IdentifierURIs: []string{}, PublisherDomain: s.publisherDomain(), SignInAudience: "AzureADMyOrg",
		Tags: []string{}, AddIns: []struct{}{},
		API:      apiApplication{KnownClientApplications: []string{}, OAuth2PermissionScopes: []struct{}{}, PreAuthorizedApplications: []struct{}{}},
		AppRoles: []struct{}{}, KeyCredentials: []keyCredential{},
		ParentalControlSettings: parentalControl{CountriesBlockedForMinors: []string{}, LegalAgeGroupRule: "Allow"},
		PasswordCredentials:     []passwordCredential{}, PublicClient: redirects{RedirectURIs: []string{}},
		RequiredResourceAccess: []requiredAccess{}, SPA: redirects{RedirectURIs: []string{}},
		Web: webApplication{RedirectURIs: []string{}},
	}
	if p.Secret != "" {
		// az ad sp create-for-rbac names its secret "rbac" and makes it
		// valid for a year (role module, custom.py).
		hint := p.Secret
		if len(hint) > 3 {
			hint = hint[:3]
		}
		app.PasswordCredentials = []passwordCredential{{
			DisplayName: str("rbac"), EndDateTime: graphTime(start.AddDate(1, 0, 0)), Hint: hint,
			KeyID: derivedGUID("secret", p.ClientID), StartDateTime: graphTime(start),
		}}
	}
	var access []resourceAccess
	for _, r := range p.GraphRoles {
		if id, ok := graphAppRoleIDs[r]; ok {
			access = append(access, resourceAccess{ID: id, Type: "Role"})
		}
	}
	if len(access) > 0 {
		app.RequiredResourceAccess = []requiredAccess{{ResourceAppID: graphAppID, ResourceAccess: access}}
	}
	return app
}

// publisherDomain is the tenant's initial domain. The emulated tenant has
// no verified domain, so it is named after the tenant id, as Entra names
// initial domains after the tenant.
func (s *Service) publisherDomain() string {
	return "miconform" + strings.ReplaceAll(s.Dir().TenantID, "-", "")[:8] + ".onmicrosoft.com"
}
