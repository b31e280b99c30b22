package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
)

// worldwideLogin is the public cloud's authority. MSAL asks it for the
// instance metadata (the aliases of every cloud's authority) whatever the
// cloud it signs in to, before it reads a cached token (msal
// application.py _get_instance_metadata, Python MSAL 1.20 as Debian ships
// it with azure-cli 2.45); a sovereign-cloud VM reaches it on the
// internet. So a China or US Government emulator answers that one path
// there too, and nothing else: tokens come from its own login host.
const worldwideLogin = "login.microsoftonline.com"

// worldwideService answers the worldwide instance discovery path when the
// emulated cloud's authority is another host (no host otherwise). Not in
// the services fault: it stands for another cloud's login host.
func worldwideService(e *Emulator) *service {
	if strings.EqualFold(e.Cloud.LoginHost, worldwideLogin) {
		return &service{}
	}
	return &service{title: "worldwide instance discovery", hosts: []string{worldwideLogin}, foreign: true, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/common/discovery/instance" || r.Method != http.MethodGet {
			http.Error(w, "miconform emulator: only instance discovery is served on "+worldwideLogin+" in "+e.Cloud.Name, http.StatusNotFound)
			return
		}
		// The worldwide answer, groups and aliases as recorded in
		// Azure/azure-sdk-for-js sdk/keyvault/keyvault-admin/recordings/node/
		// keyvaultaccesscontrolclient_tracing/recording_traces_through_the_various_operations.js.
		group := func(preferred, cache string, aliases ...string) map[string]any {
			return map[string]any{"preferred_network": preferred, "preferred_cache": cache, "aliases": aliases}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"tenant_discovery_endpoint": "https://" + worldwideLogin + "/common/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata": []map[string]any{
				group(worldwideLogin, "login.windows.net", worldwideLogin, "login.windows.net", "login.microsoft.com", "sts.windows.net"),
				group("login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"),
				group("login.microsoftonline.de", "login.microsoftonline.de", "login.microsoftonline.de"),
				group("login.microsoftonline.us", "login.microsoftonline.us", "login.microsoftonline.us", "login.usgovcloudapi.net"),
				group("login-us.microsoftonline.com", "login-us.microsoftonline.com", "login-us.microsoftonline.com"),
			},
		})
	})}
}
