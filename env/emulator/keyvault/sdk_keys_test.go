package keyvault_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/emulatortest"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keysClient is the official azkeys client for the seeded vault, as the
// operator, after the operator grants itself every key permission through
// Resource Manager (the portal's "Key Management" and "Cryptographic
// Operations" templates together).
func keysClient(t *testing.T, e *emulator.Emulator) *azkeys.Client {
	t.Helper()
	c := e.Cloud
	tok, err := e.Issuer.AppToken(e.Operator, c.ARMResource)
	require.NoError(t, err)
	body := `{"properties":{"accessPolicies":[{"tenantId":"` + e.TenantID() + `","objectId":"` + e.Operator.ObjectID +
		`","permissions":{"keys":["get","list","create","update","delete","recover","purge","encrypt","decrypt","wrapKey","unwrapKey","sign","verify"]}}]}}`
	req, err := http.NewRequest("PUT", "https://"+c.ARMHost+"/subscriptions/"+e.SubscriptionID()+"/resourceGroups/"+e.World.ResourceGroup+
		"/providers/Microsoft.KeyVault/vaults/"+e.World.VaultName+"/accessPolicies/add?api-version=2023-07-01", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.Raw)
	req.Header.Set("Content-Type", "application/json")
	resp, err := emulatortest.Client(e).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	cred, err := azidentity.NewClientSecretCredential(e.TenantID(), e.Operator.ClientID, e.Operator.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: policy.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: "https://" + c.LoginHost + "/"}, Transport: emulatortest.Client(e)},
	})
	require.NoError(t, err)
	client, err := azkeys.NewClient("https://"+e.World.VaultName+"."+c.VaultSuffix+"/", cred, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: emulatortest.Client(e)}})
	require.NoError(t, err)
	return client
}

// TestOfficialKeysSDK drives keys with azkeys as an application would:
// create, get, list, encrypt/decrypt, sign, delete and recover; and
// encrypts locally with the public key the SDK returned.
func TestOfficialKeysSDK(t *testing.T) {
	e := startEmulator(t, cloud.MustLookup("AzureCloud"))
	client := keysClient(t, e)
	ctx := context.Background()

	created, err := client.CreateKey(ctx, "sdk-key", azkeys.CreateKeyParameters{Kty: ptr(azkeys.KeyTypeRSA), KeySize: ptr(int32(2048))}, nil)
	require.NoError(t, err)
	assert.Equal(t, "sdk-key", created.Key.KID.Name())
	assert.Nil(t, created.Key.D, "no private material")
	got, err := client.GetKey(ctx, "sdk-key", "", nil)
	require.NoError(t, err)
	assert.Equal(t, created.Key.N, got.Key.N)
	assert.Equal(t, created.Key.KID.Version(), got.Key.KID.Version())

	names := map[string]bool{}
	pager := client.NewListKeyPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, k := range page.Value {
			names[k.KID.Name()] = true
		}
	}
	assert.Equal(t, map[string]bool{"sdk-key": true}, names)

	plain := []byte("data encryption key")
	enc, err := client.Encrypt(ctx, "sdk-key", "", azkeys.KeyOperationParameters{Algorithm: ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: plain}, nil)
	require.NoError(t, err)
	dec, err := client.Decrypt(ctx, "sdk-key", "", azkeys.KeyOperationParameters{Algorithm: ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: enc.Result}, nil)
	require.NoError(t, err)
	assert.Equal(t, plain, dec.Result)

	// Encrypted locally with the SDK's public JWK, decrypted by the vault.
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(got.Key.N), E: int(new(big.Int).SetBytes(got.Key.E).Int64())}
	local, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, plain, nil)
	require.NoError(t, err)
	dec, err = client.Decrypt(ctx, "sdk-key", got.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: local}, nil)
	require.NoError(t, err)
	assert.Equal(t, plain, dec.Result)

	digest := sha256.Sum256(plain)
	sig, err := client.Sign(ctx, "sdk-key", "", azkeys.SignParameters{Algorithm: ptr(azkeys.SignatureAlgorithmPS256), Value: digest[:]}, nil)
	require.NoError(t, err)
	assert.NoError(t, rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig.Result, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}))

	del, err := client.DeleteKey(ctx, "sdk-key", nil)
	require.NoError(t, err)
	assert.Contains(t, *del.RecoveryID, "/deletedkeys/sdk-key")
	_, err = client.GetKey(ctx, "sdk-key", "", nil)
	var re *azcore.ResponseError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, 404, re.StatusCode)
	assert.Equal(t, "KeyNotFound", re.ErrorCode)
	_, err = client.GetDeletedKey(ctx, "sdk-key", nil)
	require.NoError(t, err)
	rec, err := client.RecoverDeletedKey(ctx, "sdk-key", nil)
	require.NoError(t, err)
	assert.Equal(t, created.Key.KID.Version(), rec.Key.KID.Version())
}

// TestKeysSurviveRestart: with --state-dir a key, its private half
// included, is the same after a restart: data encrypted before decrypts
// after, and the public key is unchanged.
func TestKeysSurviveRestart(t *testing.T) {
	dir := winetest.TempDir(t)
	c := cloud.MustLookup("AzureCloud")
	start := func() *emulator.Emulator {
		return emulatortest.Start(t, emulatortest.Options{Config: emulator.Config{Cloud: c, StateDir: dir}})
	}
	ctx := context.Background()
	e := start()
	client := keysClient(t, e)
	created, err := client.CreateKey(ctx, "durable", azkeys.CreateKeyParameters{Kty: ptr(azkeys.KeyTypeEC), Curve: ptr(azkeys.CurveNameP256)}, nil)
	require.NoError(t, err)
	_, err = client.CreateKey(ctx, "binned", azkeys.CreateKeyParameters{Kty: ptr(azkeys.KeyTypeRSA)}, nil)
	require.NoError(t, err)
	wrapped, err := client.WrapKey(ctx, "binned", "", azkeys.KeyOperationParameters{Algorithm: ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: []byte("kek")}, nil)
	require.NoError(t, err)
	_, err = client.DeleteKey(ctx, "binned", nil)
	require.NoError(t, err)
	require.NoError(t, e.Close())

	e = start()
	t.Cleanup(func() { e.Close() })
	client = keysClient(t, e)
	got, err := client.GetKey(ctx, "durable", "", nil)
	require.NoError(t, err)
	assert.Equal(t, created.Key.X, got.Key.X)
	assert.Equal(t, created.Key.KID.Version(), got.Key.KID.Version())
	digest := sha256.Sum256([]byte("after restart"))
	sig, err := client.Sign(ctx, "durable", "", azkeys.SignParameters{Algorithm: ptr(azkeys.SignatureAlgorithmES256), Value: digest[:]}, nil)
	require.NoError(t, err)
	ok, err := client.Verify(ctx, "durable", "", azkeys.VerifyParameters{Algorithm: ptr(azkeys.SignatureAlgorithmES256), Digest: digest[:], Signature: sig.Result}, nil)
	require.NoError(t, err)
	assert.True(t, *ok.Value)
	// The soft-deleted key is still recoverable, with its private key.
	_, err = client.RecoverDeletedKey(ctx, "binned", nil)
	require.NoError(t, err)
	un, err := client.UnwrapKey(ctx, "binned", "", azkeys.KeyOperationParameters{Algorithm: ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: wrapped.Result}, nil)
	require.NoError(t, err)
	assert.Equal(t, []byte("kek"), un.Result)
}
