package blob_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/miconform/miconform/env/emulator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestProvider(t *testing.T) {
	f := newFixture(t, "AzureChinaCloud")
	rg := "/subscriptions/" + f.e.SubscriptionID() + "/resourceGroups/" + emulator.SeedResourceGroup
	acct := rg + "/providers/Microsoft.Storage/storageAccounts/"
	const api = "?api-version=2023-01-01"

	r := f.arm("GET", f.acctID+api, nil)
	require.Equal(t, 200, r.status, string(r.body))
	j := gjson.ParseBytes(r.body)
	assert.Equal(t, "Storage", j.Get("kind").String())
	assert.Equal(t, "Standard_LRS", j.Get("sku.name").String())
	assert.Equal(t, "Standard", j.Get("sku.tier").String())
	assert.Equal(t, "Microsoft.Storage/storageAccounts", j.Get("type").String())
	assert.Equal(t, "https://mystorageaccount.blob.core.chinacloudapi.cn/", j.Get("properties.primaryEndpoints.blob").String())
	assert.Equal(t, "Succeeded", j.Get("properties.provisioningState").String())
	assert.False(t, j.Get("properties.keys").Exists(), "keys never appear in GET")

	t.Run("create, list, delete", func(t *testing.T) {
		r := f.arm("PUT", acct+"Bad_Name"+api, map[string]any{"location": "chinanorth", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"}})
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "AccountNameInvalid", gjson.GetBytes(r.body, "error.code").String())
		r = f.arm("PUT", acct+"second"+api, map[string]any{"location": "chinanorth", "kind": "StorageV2", "sku": map[string]any{"name": "Nope"}})
		assert.Equal(t, "Values for request parameters are invalid: sku.", gjson.GetBytes(r.body, "error.message").String())
		r = f.arm("PUT", acct+"second"+api, map[string]any{"location": "chinanorth", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_GRS"}})
		require.Equal(t, 202, r.status, string(r.body))
		assert.Empty(t, r.body, "Azure accepts a create with an empty body")
		r = f.await(r)
		require.Equal(t, 200, r.status, string(r.body))
		assert.Equal(t, "Succeeded", gjson.GetBytes(r.body, "properties.provisioningState").String())
		assert.Equal(t, "Hot", gjson.GetBytes(r.body, "properties.accessTier").String())
		assert.True(t, gjson.GetBytes(r.body, "properties.supportsHttpsTrafficOnly").Bool())

		// The name is global: another group cannot take it.
		g2 := "/subscriptions/" + f.e.SubscriptionID() + "/resourceGroups/other"
		require.Equal(t, 201, f.arm("PUT", g2+"?api-version=2021-04-01", map[string]any{"location": "chinanorth"}).status)
		r = f.arm("PUT", g2+"/providers/Microsoft.Storage/storageAccounts/second"+api, map[string]any{"location": "chinanorth", "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"}})
		assert.Equal(t, 409, r.status)
		assert.Equal(t, "StorageAccountAlreadyTaken", gjson.GetBytes(r.body, "error.code").String())

		r = f.arm("GET", rg+"/providers/Microsoft.Storage/storageAccounts"+api, nil)
		assert.Len(t, gjson.GetBytes(r.body, "value").Array(), 2)
		r = f.arm("GET", "/subscriptions/"+f.e.SubscriptionID()+"/providers/Microsoft.Storage/storageAccounts"+api, nil)
		assert.Len(t, gjson.GetBytes(r.body, "value").Array(), 2)

		assert.Equal(t, 200, f.arm("DELETE", acct+"second"+api, nil).status)
		assert.Equal(t, 204, f.arm("DELETE", acct+"second"+api, nil).status)
		assert.Equal(t, 404, f.arm("GET", acct+"second"+api, nil).status)
		// The deleted account has no data plane left: like a name without
		// DNS, the connection gets no answer.
		_, err := f.c.Get("https://second.blob.core.chinacloudapi.cn/?comp=list")
		assert.Error(t, err)
		// Deleting the group takes its accounts.
		r = f.arm("PUT", g2+"/providers/Microsoft.Storage/storageAccounts/third"+api, map[string]any{"location": "chinanorth", "kind": "Storage", "sku": map[string]any{"name": "Standard_LRS"}})
		require.Equal(t, 202, r.status)
		require.Equal(t, 202, f.arm("DELETE", g2+"?api-version=2021-04-01", nil).status)
		_, ok := f.e.Blob.Account("third")
		assert.False(t, ok)
	})
	t.Run("keys", func(t *testing.T) {
		r := f.arm("POST", f.acctID+"/listKeys"+api, nil)
		require.Equal(t, 200, r.status)
		keys := gjson.GetBytes(r.body, "keys").Array()
		require.Len(t, keys, 2)
		for i, k := range keys {
			assert.Equal(t, []string{"key1", "key2"}[i], k.Get("keyName").String())
			assert.Equal(t, "FULL", k.Get("permissions").String())
			assert.Len(t, k.Get("value").String(), 88, "a 64-byte key in base64")
		}
		r = f.arm("POST", f.acctID+"/regenerateKey"+api, map[string]any{"keyName": "key2"})
		require.Equal(t, 200, r.status)
		assert.Equal(t, keys[0].Get("value").String(), gjson.GetBytes(r.body, "keys.0.value").String())
		assert.NotEqual(t, keys[1].Get("value").String(), gjson.GetBytes(r.body, "keys.1.value").String())
		assert.Equal(t, 400, f.arm("POST", f.acctID+"/regenerateKey"+api, map[string]any{"keyName": "key3"}).status)
	})
	t.Run("Reader may read the account but not its keys or SASes", func(t *testing.T) {
		tok := f.vmToken(f.e.Cloud.ARMResource)
		// The seed gives the VM Reader on its resource group.
		h := http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
		assert.Equal(t, 200, f.do("GET", "https://"+f.e.Cloud.ARMHost+f.acctID+api, h, nil).status)
		other := acct + "readeronly"
		require.Equal(t, 200, f.await(f.arm("PUT", other+api, map[string]any{"location": "chinanorth", "kind": "Storage", "sku": map[string]any{"name": "Standard_LRS"}})).status)
		for op, action := range map[string]string{"/listKeys": "listkeys", "/listServiceSas": "listServiceSas", "/regenerateKey": "regeneratekey"} {
			r := f.do("POST", "https://"+f.e.Cloud.ARMHost+other+op+api, h, []byte(`{"keyName":"key1","canonicalizedResource":"/blob/readeronly/c","signedResource":"c","signedPermission":"r","signedExpiry":"2030-01-01T00:00:00Z"}`))
			assert.Equal(t, 403, r.status, op)
			assert.Equal(t, "AuthorizationFailed", gjson.GetBytes(r.body, "error.code").String())
			assert.Contains(t, gjson.GetBytes(r.body, "error.message").String(), "'Microsoft.Storage/storageAccounts/"+action+"/action'", op)
		}
	})
	t.Run("containers through Resource Manager", func(t *testing.T) {
		c := f.acctID + "/blobServices/default/containers/"
		r := f.arm("PUT", c+"arm-made"+api, map[string]any{"properties": map[string]any{"publicAccess": "Blob"}})
		require.Equal(t, 201, r.status, string(r.body))
		assert.Equal(t, "Blob", gjson.GetBytes(r.body, "properties.publicAccess").String())
		assert.Equal(t, 200, f.arm("PUT", c+"arm-made"+api, map[string]any{"properties": map[string]any{}}).status)
		r = f.arm("PUT", c+"Bad_Name"+api, map[string]any{"properties": map[string]any{}})
		assert.Equal(t, 400, r.status)
		r = f.arm("GET", strings.TrimSuffix(c, "/")+api, nil)
		var names []string
		for _, v := range gjson.GetBytes(r.body, "value").Array() {
			names = append(names, v.Get("name").String())
		}
		assert.Equal(t, []string{"arm-made", emulator.SeedContainer}, names)
		assert.Equal(t, 200, f.arm("DELETE", c+"arm-made"+api, nil).status)
		assert.Equal(t, 204, f.arm("DELETE", c+"arm-made"+api, nil).status)
		assert.Equal(t, 404, f.arm("GET", c+"arm-made"+api, nil).status)
	})
}

// await polls a 202's Location, as an Azure client does, until it answers
// something other than 202, and returns that answer.
func (f *fixture) await(r res) res {
	f.t.Helper()
	for i := 0; r.status == http.StatusAccepted; i++ {
		loc := r.header.Get("Location")
		require.NotEmpty(f.t, loc, "a 202 carries a Location to poll")
		require.Less(f.t, i, 10, "the operation never finished")
		u := strings.TrimPrefix(loc, "https://"+f.e.Cloud.ARMHost)
		r = f.arm("GET", u, nil)
	}
	return r
}
