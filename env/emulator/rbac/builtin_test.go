package rbac

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Key Vault keys roles grant what the built-in roles reference says:
// the Crypto User uses keys but cannot create, delete or purge them; the
// Crypto Officer does everything with keys; the Reader reads key metadata
// and uses nothing.
func TestKeyVaultKeyRoles(t *testing.T) {
	s := NewStore()
	role := func(name string) RoleDefinition {
		r, ok := s.RoleByName(name)
		require.True(t, ok, name)
		return r
	}
	user, officer, reader := role("Key Vault Crypto User"), role("Key Vault Crypto Officer"), role("Key Vault Reader")
	assert.Equal(t, "12338af0-0e69-4776-bea7-57ae8d297424", user.ID)
	assert.Equal(t, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", officer.ID)
	assert.Equal(t, "21090545-7ca7-4776-b22c-e363652d74d2", reader.ID)

	const k = "Microsoft.KeyVault/vaults/keys/"
	for _, a := range []string{"read", "encrypt/action", "decrypt/action", "wrap/action", "unwrap/action", "sign/action", "verify/action", "update/action"} {
		assert.True(t, user.Grants(k+a, true), "Crypto User: %s", a)
		assert.True(t, officer.Grants(k+a, true), "Crypto Officer: %s", a)
	}
	for _, a := range []string{"create/action", "delete", "purge/action", "recover/action"} {
		assert.False(t, user.Grants(k+a, true), "Crypto User: %s", a)
		assert.True(t, officer.Grants(k+a, true), "Crypto Officer: %s", a)
	}
	assert.True(t, reader.Grants(k+"read", true))
	assert.False(t, reader.Grants(k+"sign/action", true))
	assert.False(t, reader.Grants("Microsoft.KeyVault/vaults/secrets/getSecret/action", true))
	assert.False(t, officer.Grants("Microsoft.KeyVault/vaults/secrets/getSecret/action", true))
}
