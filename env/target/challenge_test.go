package target

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChallengeTenant(t *testing.T) {
	for _, tc := range []struct{ challenge, want string }{
		// What Resource Manager answers an unauthenticated GET of a
		// subscription (its tenant in the authorization_uri).
		{`Bearer authorization_uri="https://login.windows.net/72F988BF-86F1-41AF-91AB-2D7CD011DB47", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`, "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		{`Bearer authorization_uri="https://login.chinacloudapi.cn/0a1b2c3d-0000-4000-8000-000000000001"`, "0a1b2c3d-0000-4000-8000-000000000001"},
		// Paths that name no tenant: the root (non-subscription paths),
		// and the "common" authority other services name.
		{`Bearer authorization_uri="https://login.windows.net/", error="invalid_token"`, ""},
		{`Bearer realm="", authorization_uri="https://login.windows.net/common/oauth2/authorize", client_id="00000003"`, ""},
		{`Basic realm="x"`, ""},
		{``, ""},
		{`Bearer authorization_uri="%zz"`, ""},
	} {
		assert.Equal(t, tc.want, ChallengeTenant(tc.challenge), tc.challenge)
	}
}

func FuzzChallengeTenant(f *testing.F) {
	f.Add(`Bearer authorization_uri="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", error="invalid_token"`)
	f.Add(`Bearer authorization_uri="https://login.windows.net/common/oauth2/authorize"`)
	tenant := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	f.Fuzz(func(t *testing.T, challenge string) {
		if got := ChallengeTenant(challenge); got != "" && !tenant.MatchString(got) {
			t.Fatalf("ChallengeTenant(%q) = %q, neither empty nor a tenant id", challenge, got)
		}
	})
}
