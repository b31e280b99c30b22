// Package cloud holds the Azure cloud profiles a run can target: the host names,
// token audiences and DNS suffixes that differ between the public cloud and the
// sovereign clouds (China, US Government).
//
// Values follow the clouds' published endpoints (`az cloud show -n <name>`,
// azcore/cloud, https://learn.microsoft.com/azure/china/resources-developer-guide,
// https://learn.microsoft.com/azure/azure-government/compare-azure-government-global-azure).
package cloud

import (
	"fmt"
	"sort"
	"strings"
)

// Profile describes one Azure cloud.
type Profile struct {
	// Name is the name `az cloud list` and the SDKs use (AzureCloud, ...).
	Name string
	// IMDSEnvironment is what IMDS reports as compute.azEnvironment.
	IMDSEnvironment string
	// ARMHost is the Resource Manager host name.
	ARMHost string
	// ARMResource is the token resource the tutorials request for Resource
	// Manager (with trailing slash, as the tutorials insist).
	ARMResource string
	// LoginHost is the Microsoft Entra ID authority host.
	LoginHost string
	// ChallengeLoginHost is the authority Resource Manager names in its
	// WWW-Authenticate challenges and tenant errors (the public cloud still
	// says login.windows.net there).
	ChallengeLoginHost string
	// STSIssuerHost is the host in the `iss` claim of v1 access tokens.
	STSIssuerHost string
	// StorageSuffix is the Blob endpoint suffix: {account}.blob.{StorageSuffix}.
	StorageSuffix string
	// StorageResource is the data-plane token resource for Azure Storage.
	StorageResource string
	// VaultSuffix is the Key Vault DNS suffix: {vault}.{VaultSuffix}.
	VaultSuffix string
	// VaultResource is the data-plane token resource for Key Vault.
	VaultResource string
	// SQLSuffix is the Azure SQL DNS suffix: {server}.{SQLSuffix}.
	SQLSuffix string
	// SQLResource is the token resource for Azure SQL Database.
	SQLResource string
	// DefaultLocation is the region resources land in when a step names none.
	DefaultLocation string
	// GraphHost is the Microsoft Graph host; GraphResource its token
	// resource as `az cloud show` names it (microsoftGraphResourceId).
	GraphHost, GraphResource string
}

var profiles = map[string]Profile{
	"AzureCloud": {
		Name:               "AzureCloud",
		IMDSEnvironment:    "AzurePublicCloud",
		ARMHost:            "management.azure.com",
		ARMResource:        "https://management.azure.com/",
		LoginHost:          "login.microsoftonline.com",
		ChallengeLoginHost: "login.windows.net",
		STSIssuerHost:      "sts.windows.net",
		StorageSuffix:      "core.windows.net",
		StorageResource:    "https://storage.azure.com/",
		VaultSuffix:        "vault.azure.net",
		VaultResource:      "https://vault.azure.net",
		SQLSuffix:          "database.windows.net",
		SQLResource:        "https://database.windows.net/",
		DefaultLocation:    "westus",
		GraphHost:          "graph.microsoft.com",
		GraphResource:      "https://graph.microsoft.com/",
	},
	"AzureChinaCloud": {
		Name:               "AzureChinaCloud",
		IMDSEnvironment:    "AzureChinaCloud",
		ARMHost:            "management.chinacloudapi.cn",
		ARMResource:        "https://management.chinacloudapi.cn/",
		LoginHost:          "login.chinacloudapi.cn",
		ChallengeLoginHost: "login.chinacloudapi.cn",
		STSIssuerHost:      "sts.chinacloudapi.cn",
		StorageSuffix:      "core.chinacloudapi.cn",
		StorageResource:    "https://storage.azure.com/",
		VaultSuffix:        "vault.azure.cn",
		VaultResource:      "https://vault.azure.cn",
		SQLSuffix:          "database.chinacloudapi.cn",
		SQLResource:        "https://database.chinacloudapi.cn/",
		DefaultLocation:    "chinanorth",
		GraphHost:          "microsoftgraph.chinacloudapi.cn",
		GraphResource:      "https://microsoftgraph.chinacloudapi.cn/",
	},
	"AzureUSGovernment": {
		Name:               "AzureUSGovernment",
		IMDSEnvironment:    "AzureUSGovernmentCloud",
		ARMHost:            "management.usgovcloudapi.net",
		ARMResource:        "https://management.usgovcloudapi.net/",
		LoginHost:          "login.microsoftonline.us",
		ChallengeLoginHost: "login.microsoftonline.us",
		STSIssuerHost:      "sts.windows.net",
		StorageSuffix:      "core.usgovcloudapi.net",
		StorageResource:    "https://storage.azure.com/",
		VaultSuffix:        "vault.usgovcloudapi.net",
		VaultResource:      "https://vault.usgovcloudapi.net",
		SQLSuffix:          "database.usgovcloudapi.net",
		SQLResource:        "https://database.usgovcloudapi.net/",
		DefaultLocation:    "usgovvirginia",
		GraphHost:          "graph.microsoft.us",
		GraphResource:      "https://graph.microsoft.us/",
	},
}

// aliases maps the other spellings people use (IMDS's azEnvironment, short
// names in flags) to a profile name.
var aliases = map[string]string{
	"public":                 "AzureCloud",
	"azurepubliccloud":       "AzureCloud",
	"china":                  "AzureChinaCloud",
	"usgov":                  "AzureUSGovernment",
	"usgovernment":           "AzureUSGovernment",
	"azureusgovernmentcloud": "AzureUSGovernment",
}

// Lookup returns the profile for a cloud name, case-insensitively; it accepts
// the `az cloud` names, IMDS's azEnvironment values and the short names
// public, china and usgov.
func Lookup(name string) (Profile, error) {
	for k, p := range profiles {
		if strings.EqualFold(k, name) {
			return p, nil
		}
	}
	if k, ok := aliases[strings.ToLower(name)]; ok {
		return profiles[k], nil
	}
	return Profile{}, fmt.Errorf("unknown cloud %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// MustLookup is Lookup for names fixed in code.
func MustLookup(name string) Profile {
	p, err := Lookup(name)
	if err != nil {
		panic(err)
	}
	return p
}

// Names lists the profile names in a stable order.
func Names() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// ARMAudiences are the `aud` values Resource Manager accepts: its resource with
// and without the trailing slash, and the classic management.core endpoint.
func (p Profile) ARMAudiences() []string {
	base := strings.TrimSuffix(p.ARMResource, "/")
	classic := "https://management.core.windows.net"
	switch p.Name {
	case "AzureChinaCloud":
		classic = "https://management.core.chinacloudapi.cn"
	case "AzureUSGovernment":
		classic = "https://management.core.usgovcloudapi.net"
	}
	return []string{base, base + "/", classic, classic + "/"}
}

// Issuer is the `iss` claim of v1 access tokens for a tenant.
func (p Profile) Issuer(tenant string) string {
	return "https://" + p.STSIssuerHost + "/" + tenant + "/"
}

// HostPatterns are the host names one emulator HTTPS certificate must cover;
// a leading "*." is a wildcard for one label.
func (p Profile) HostPatterns() []string {
	return []string{
		p.ARMHost,
		p.LoginHost,
		"*.blob." + p.StorageSuffix,
		"*." + p.VaultSuffix,
		"*." + p.SQLSuffix,
		p.GraphHost,
	}
}

// GraphAppID is Microsoft Graph's application id, the same in every cloud:
// v2 tokens for Graph carry it as their audience.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// GraphAudiences are the `aud` values Microsoft Graph accepts: its resource
// with and without the trailing slash (Entra echoes the resource as asked)
// and its application id.
func (p Profile) GraphAudiences() []string {
	base := strings.TrimSuffix(p.GraphResource, "/")
	return []string{base, base + "/", GraphAppID}
}
