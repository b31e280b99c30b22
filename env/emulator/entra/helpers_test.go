package entra

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator/directory"
)

// RSA key generation dominates test time; the tests share two keys, each
// made on first use.
var (
	keyOnce, anotherOnce sync.Once
	testKey, another     *SigningKey
)

func mustKey() *SigningKey {
	k, err := LoadOrCreateSigningKey("")
	if err != nil {
		panic(err)
	}
	return k
}

// keys returns the issuer's key and an unrelated one.
func keys(t testing.TB) (*SigningKey, *SigningKey) {
	t.Helper()
	return key(t), otherKey(t)
}

func key(t testing.TB) *SigningKey {
	t.Helper()
	keyOnce.Do(func() { testKey = mustKey() })
	return testKey
}

func otherKey(t testing.TB) *SigningKey {
	t.Helper()
	anotherOnce.Do(func() { another = mustKey() })
	return another
}

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	vmID       = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	uaiID      = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
)

// fixedNow is the frozen time tests run the issuer at.
var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type fixture struct {
	iss    *Issuer
	dir    *directory.Directory
	system directory.Principal
	user   directory.Principal
	app    directory.Principal
	now    *time.Time
}

func newFixture(t testing.TB, cloudName string) *fixture {
	t.Helper()
	k := key(t)
	dir := directory.New(testTenant)
	f := &fixture{dir: dir}
	f.system = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "vm1", Kind: directory.SystemAssigned, ResourceID: vmID}
	f.user = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "id1", Kind: directory.UserAssigned, ResourceID: uaiID}
	f.app = directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: "app", Kind: directory.Application, Secret: "s3cr3t~value"}
	dir.Add(f.system)
	dir.Add(f.user)
	dir.Add(f.app)
	f.iss = NewIssuer(cloud.MustLookup(cloudName), dir, k)
	now := fixedNow
	f.now = &now
	f.iss.SetClock(func() time.Time { return *f.now })
	return f
}

// decode splits a token into its header and claims as generic JSON, so
// the tests see the wire form rather than the Go structs.
func decode(t testing.TB, raw string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	var h, c map[string]any
	hb, err := b64.DecodeString(parts[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(hb, &h))
	cb, err := b64.DecodeString(parts[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(cb, &c))
	return h, c
}
