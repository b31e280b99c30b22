package cloud

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	for in, want := range map[string]string{
		"AzureCloud": "AzureCloud", "azurecloud": "AzureCloud", "public": "AzureCloud", "AzurePublicCloud": "AzureCloud",
		"AzureChinaCloud": "AzureChinaCloud", "china": "AzureChinaCloud",
		"AzureUSGovernment": "AzureUSGovernment", "usgov": "AzureUSGovernment", "AzureUSGovernmentCloud": "AzureUSGovernment",
	} {
		p, err := Lookup(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, p.Name, in)
	}
	_, err := Lookup("AzureGermanCloud")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AzureChinaCloud, AzureCloud, AzureUSGovernment")
	assert.Panics(t, func() { MustLookup("nope") })
	assert.Equal(t, []string{"AzureChinaCloud", "AzureCloud", "AzureUSGovernment"}, Names())
}

func TestProfiles(t *testing.T) {
	pub := MustLookup("AzureCloud")
	assert.Equal(t, []string{"https://management.azure.com", "https://management.azure.com/", "https://management.core.windows.net", "https://management.core.windows.net/"}, pub.ARMAudiences())
	assert.Equal(t, "https://sts.windows.net/t/", pub.Issuer("t"))
	assert.Equal(t, "AzurePublicCloud", pub.IMDSEnvironment)
	assert.Equal(t, "login.windows.net", pub.ChallengeLoginHost)

	cn := MustLookup("AzureChinaCloud")
	assert.Equal(t, "https://sts.chinacloudapi.cn/t/", cn.Issuer("t"))
	assert.Equal(t, []string{"https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/", "https://management.core.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/"}, cn.ARMAudiences())
	assert.Equal(t, []string{"management.chinacloudapi.cn", "login.chinacloudapi.cn", "*.blob.core.chinacloudapi.cn", "*.vault.azure.cn", "*.database.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn"}, cn.HostPatterns())
	assert.Equal(t, []string{"https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/", GraphAppID}, cn.GraphAudiences())

	gov := MustLookup("AzureUSGovernment")
	assert.Equal(t, "https://management.core.usgovcloudapi.net/", gov.ARMAudiences()[3])
	assert.Equal(t, "AzureUSGovernmentCloud", gov.IMDSEnvironment)

	for _, n := range Names() {
		p := MustLookup(n)
		assert.Equal(t, "https://"+p.ARMHost+"/", p.ARMResource, n)
		assert.NotEmpty(t, p.DefaultLocation, n)
		assert.NotContains(t, p.VaultResource, "/.", n)
		assert.Equal(t, "https://"+p.GraphHost+"/", p.GraphResource, n)
	}
}
