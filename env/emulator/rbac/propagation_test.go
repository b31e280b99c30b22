package rbac

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With propagation delays a new assignment is listed at once but grants
// nothing until its delay has passed, and a removed one goes on granting
// for its delay, as Azure RBAC does.
func TestPropagationDelays(t *testing.T) {
	s := NewStore()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	s.SetPropagation(2*time.Second, 3*time.Second)
	g, r := s.Propagation()
	assert.Equal(t, 2*time.Second, g)
	assert.Equal(t, 3*time.Second, r)

	const sub = "/subscriptions/s1"
	rg := sub + "/resourceGroups/rg1"
	a := Assignment{Name: "a1", Scope: rg, RoleDefinitionID: RoleDefinitionID("s1", readerGUID), PrincipalID: "p1"}
	require.NoError(t, s.Create(a))
	_, listed := s.Get(rg, "a1")
	assert.True(t, listed, "Resource Manager lists the assignment at once")
	assert.Len(t, s.List(rg, false), 1)
	assert.False(t, s.Allowed("p1", "Microsoft.Resources/subscriptions/resourceGroups/read", rg, false), "not yet in force")
	assert.False(t, s.HasAnyAt("p1", sub))

	now = now.Add(2 * time.Second)
	assert.True(t, s.Allowed("p1", "Microsoft.Resources/subscriptions/resourceGroups/read", rg, false), "in force after the delay")
	assert.True(t, s.HasAnyAt("p1", sub))

	_, ok := s.Delete(rg, "a1")
	require.True(t, ok)
	assert.Empty(t, s.List(rg, false), "gone from the listing at once")
	now = now.Add(2999 * time.Millisecond)
	assert.True(t, s.Allowed("p1", "Microsoft.Resources/subscriptions/resourceGroups/read", rg, false), "a removed assignment lingers")
	now = now.Add(time.Millisecond)
	assert.False(t, s.Allowed("p1", "Microsoft.Resources/subscriptions/resourceGroups/read", rg, false), "and stops granting after the delay")

	// DeleteUnder (a deleted group) lingers the same way.
	require.NoError(t, s.Create(Assignment{Name: "a2", Scope: rg, RoleDefinitionID: RoleDefinitionID("s1", readerGUID), PrincipalID: "p2"}))
	now = now.Add(2 * time.Second)
	s.DeleteUnder(rg)
	assert.True(t, s.HasAnyAt("p2", rg))
	now = now.Add(3 * time.Second)
	assert.False(t, s.HasAnyAt("p2", rg))

	// Reset: immediate effect, nothing pending or lingering.
	require.NoError(t, s.Create(Assignment{Name: "a3", Scope: rg, RoleDefinitionID: RoleDefinitionID("s1", readerGUID), PrincipalID: "p3"}))
	require.NoError(t, s.Create(Assignment{Name: "a4", Scope: rg, RoleDefinitionID: RoleDefinitionID("s1", readerGUID), PrincipalID: "p4"}))
	now = now.Add(2 * time.Second)
	s.Delete(rg, "a4")
	require.NoError(t, s.Create(Assignment{Name: "a5", Scope: rg, RoleDefinitionID: RoleDefinitionID("s1", readerGUID), PrincipalID: "p5"}))
	assert.False(t, s.HasAnyAt("p5", rg))
	assert.True(t, s.HasAnyAt("p4", rg))
	s.SetPropagation(0, 0)
	assert.True(t, s.HasAnyAt("p5", rg), "pending assignments take effect on reset")
	assert.False(t, s.HasAnyAt("p4", rg), "lingering ones stop on reset")
	assert.True(t, s.HasAnyAt("p3", rg))
}

// Delays are bounded so a fault can never hang a run for longer than
// Azure's own worst case.
func TestPropagationBounded(t *testing.T) {
	s := NewStore()
	s.SetPropagation(time.Hour, -time.Second)
	g, r := s.Propagation()
	assert.Equal(t, MaxPropagation, g)
	assert.Equal(t, time.Duration(0), r)
}

const readerGUID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
