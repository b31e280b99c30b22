package directory

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirectory(t *testing.T) {
	d := New("tenant")
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	vm := Principal{ObjectID: NewGUID(), ClientID: NewGUID(), DisplayName: "b-vm", Kind: SystemAssigned, ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", Created: created}
	app := Principal{ObjectID: NewGUID(), ClientID: NewGUID(), DisplayName: "a-app", Kind: Application, Secret: "x", GraphRoles: []string{"Directory.Read.All"}}
	before := time.Now().UTC().Truncate(time.Second)
	d.Add(vm)
	d.Add(app)
	added, _ := d.ByObjectID(app.ObjectID)
	assert.False(t, added.Created.Before(before), "Add stamps a principal without a creation time")
	app.Created = added.Created

	p, ok := d.ByObjectID(strings.ToUpper(vm.ObjectID))
	require.True(t, ok)
	assert.Equal(t, vm, p)
	p, ok = d.ByClientID(strings.ToUpper(app.ClientID))
	require.True(t, ok)
	assert.Equal(t, app, p)
	p, ok = d.ByResourceID(strings.ToLower(vm.ResourceID))
	require.True(t, ok)
	assert.Equal(t, vm, p)
	_, ok = d.ByResourceID("")
	assert.False(t, ok, "an empty resource id matches no application")
	_, ok = d.ByClientID(NewGUID())
	assert.False(t, ok)

	assert.Equal(t, []Principal{app, vm}, d.List(), "ordered by display name")

	renamed := vm
	renamed.DisplayName = "c-vm"
	d.Add(renamed)
	assert.Len(t, d.List(), 2, "Add replaces by object id")
	d.Remove(strings.ToUpper(vm.ObjectID))
	_, ok = d.ByObjectID(vm.ObjectID)
	assert.False(t, ok)
	_, ok = d.ByResourceID(vm.ResourceID)
	assert.False(t, ok)
	d.Remove(vm.ObjectID) // removing twice is fine
}

func TestNewGUID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		g := NewGUID()
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, g)
		require.False(t, seen[g])
		seen[g] = true
	}
}

func TestConcurrentUse(t *testing.T) {
	d := New("t")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				p := Principal{ObjectID: NewGUID(), ClientID: NewGUID()}
				d.Add(p)
				_, _ = d.ByClientID(p.ClientID)
				_ = d.List()
				d.Remove(p.ObjectID)
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, d.List())
}
