package rbac

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	readerID      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	contributorID = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ownerID       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	blobReaderID  = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	miOperatorID  = "f1a07417-d97a-45cb-824c-7a7467783830"
	sub           = "/subscriptions/11111111-2222-3333-4444-555555555555"
	rg1           = sub + "/resourceGroups/rg1"
	rg10          = sub + "/resourceGroups/rg10"
	rg2           = sub + "/resourceGroups/rg2"
	vm1           = rg1 + "/providers/Microsoft.Compute/virtualMachines/vm1"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Compute/virtualMachines/read", true},
		{"*/read", "Microsoft.Compute/virtualMachines/read", true},
		{"*/read", "Microsoft.Resources/subscriptions/resourceGroups/read", true},
		{"*/read", "Microsoft.Compute/virtualMachines/write", false},
		{"*/read", "Microsoft.Compute/virtualMachines/readx", false},
		{"*/read", "read", false},
		{"*/read", "Microsoft.Compute/virtualMachines/READ", true},
		{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/readx", false},
		{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/rea", false},
		{"Microsoft.Compute/virtualMachines/read", "microsoft.compute/VIRTUALMACHINES/read", true},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/roleAssignments/delete", true},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/roleDefinitions/delete", true},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/locks/sub/delete", true},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/roleAssignments/write", false},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Compute/virtualMachines/delete", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Storage/storageAccounts/*", "Microsoft.Storage/storageAccounts/listKeys/action", true},
		{"Microsoft.Storage/storageAccounts/*", "Microsoft.Storage/storageAccounts/read", true},
		{"Microsoft.Storage/storageAccounts/*", "Microsoft.Storage/storageAccounts", false},
		{"Microsoft.Storage/storageAccounts/*", "Microsoft.Storage/storageAccountsX/read", false},
		{"Microsoft.Storage/storageAccounts/*", "Microsoft.Storage/storageaccounts/blobServices/containers/read", true},
		{"Microsoft.Storage/*/read", "Microsoft.Storage/storageAccounts/read", true},
		{"Microsoft.Storage/*/read", "Microsoft.StorageSync/storageSyncServices/read", false},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true},
		// "/*/" also stands for no segment (Managed Identity Operator).
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/read", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentitiesread", false},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/write", false},
		{"a/*/b/*/c", "a/b/c", true},
		{"a/*/b/*/c", "a/x/b/c", true},
		{"a/*/b/*/c", "a/b/y/c", true},
		{"a/*/b/*/c", "a/c", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"**", "x", true},
		{"", "", true},
		{"", "x", false},
		{"x", "", false},
		{"*", "", true},
	} {
		assert.Equal(t, tc.want, Match(tc.pattern, tc.action), "Match(%q, %q)", tc.pattern, tc.action)
	}
}

func TestBuiltinRoleGUIDs(t *testing.T) {
	s := NewStore()
	for id, name := range map[string]string{
		readerID:      "Reader",
		contributorID: "Contributor",
		ownerID:       "Owner",
	} {
		r, ok := s.Role(id)
		require.True(t, ok, name)
		assert.Equal(t, name, r.RoleName)
		r, ok = s.Role(strings.ToUpper(id))
		require.True(t, ok, "role GUIDs match case-insensitively")
		assert.Equal(t, name, r.RoleName)
		byName, ok := s.RoleByName(strings.ToLower(name))
		require.True(t, ok)
		assert.Equal(t, id, byName.ID)
	}
	_, ok := s.Role("00000000-0000-0000-0000-000000000000")
	assert.False(t, ok)
	_, ok = s.RoleByName("Owners")
	assert.False(t, ok)

	roles := s.Roles()
	require.Len(t, roles, len(BuiltinRoles))
	seen := map[string]bool{}
	for i, r := range roles {
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, r.ID)
		assert.False(t, seen[r.ID], "duplicate role %s", r.ID)
		seen[r.ID] = true
		if i > 0 {
			assert.Less(t, roles[i-1].RoleName, r.RoleName, "Roles is ordered by name")
		}
		require.NotEmpty(t, r.Permissions, r.RoleName)
	}
}

func TestGrants(t *testing.T) {
	s := NewStore()
	role := func(id string) RoleDefinition { r, ok := s.Role(id); require.True(t, ok); return r }
	reader, contributor, owner, blobReader := role(readerID), role(contributorID), role(ownerID), role(blobReaderID)

	assert.True(t, reader.Grants("Microsoft.Compute/virtualMachines/read", false))
	assert.False(t, reader.Grants("Microsoft.Compute/virtualMachines/write", false))
	assert.True(t, reader.Grants("Microsoft.Authorization/roleAssignments/read", false))

	assert.True(t, contributor.Grants("Microsoft.Compute/virtualMachines/write", false))
	assert.True(t, contributor.Grants("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", false))
	for _, a := range []string{
		"Microsoft.Authorization/roleAssignments/write",
		"Microsoft.Authorization/roleAssignments/delete",
		"Microsoft.Authorization/roleDefinitions/write",
		"microsoft.authorization/ROLEASSIGNMENTS/write",
	} {
		assert.False(t, contributor.Grants(a, false), "notActions take %s from Contributor", a)
		assert.True(t, owner.Grants(a, false), "Owner keeps %s", a)
	}
	assert.True(t, contributor.Grants("Microsoft.Authorization/roleAssignments/read", false))

	mio := role(miOperatorID)
	assert.True(t, mio.Grants("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", false), "what Managed Identity Operator is for")
	assert.True(t, mio.Grants("Microsoft.ManagedIdentity/userAssignedIdentities/read", false))
	assert.False(t, mio.Grants("Microsoft.ManagedIdentity/userAssignedIdentities/write", false))
	assert.False(t, reader.Grants("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", false))

	// Control-plane wildcards grant no data actions.
	blobRead := "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	assert.False(t, owner.Grants(blobRead, true), "Owner's * is not a data action")
	assert.False(t, reader.Grants(blobRead, true))
	assert.True(t, blobReader.Grants(blobRead, true))
	assert.False(t, blobReader.Grants(blobRead, false), "a data action is not a control-plane action")
	assert.False(t, blobReader.Grants("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true))
}

func TestGrantsNotDataActions(t *testing.T) {
	r := RoleDefinition{Permissions: []Permission{{
		DataActions:    []string{"Microsoft.KeyVault/vaults/*"},
		NotDataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"},
	}}}
	assert.True(t, r.Grants("Microsoft.KeyVault/vaults/secrets/readMetadata/action", true))
	assert.False(t, r.Grants("Microsoft.KeyVault/vaults/secrets/getSecret/action", true))
}

func assign(t *testing.T, s *Store, principal, roleID, scope string) Assignment {
	t.Helper()
	a := Assignment{
		Name: newName(), Scope: scope, RoleDefinitionID: RoleDefinitionID(strings.TrimPrefix(sub, "/subscriptions/"), roleID),
		PrincipalID: principal, PrincipalType: "ServicePrincipal", CreatedOn: time.Now(), UpdatedOn: time.Now(),
	}
	require.NoError(t, s.Create(a))
	return a
}

var nameSeq int

func newName() string {
	nameSeq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", nameSeq)
}

func TestAllowedScopeInheritance(t *testing.T) {
	const p = "aaaaaaaa-0000-0000-0000-000000000001"
	const read = "Microsoft.Compute/virtualMachines/read"

	s := NewStore()
	assign(t, s, p, readerID, rg1)
	assert.True(t, s.Allowed(p, read, rg1, false), "at the scope")
	assert.True(t, s.Allowed(p, read, vm1, false), "below it")
	assert.True(t, s.Allowed(p, read, strings.ToUpper(vm1), false), "scopes compare without case")
	assert.True(t, s.Allowed(p, read, rg1+"/", false))
	assert.False(t, s.Allowed(p, read, rg2, false), "sibling group")
	assert.False(t, s.Allowed(p, read, sub, false), "parent")
	assert.False(t, s.Allowed(p, read, rg10, false), "rg1 must not grant rg10 (prefix trap)")
	assert.False(t, s.Allowed(p, read, rg10+"/providers/Microsoft.Compute/virtualMachines/vm1", false))
	assert.False(t, s.Allowed(p, "Microsoft.Compute/virtualMachines/write", vm1, false))
	assert.False(t, s.Allowed("aaaaaaaa-0000-0000-0000-000000000002", read, vm1, false), "another principal")
	assert.True(t, s.Allowed(strings.ToUpper(p), read, vm1, false), "principal ids compare without case")

	s2 := NewStore()
	assign(t, s2, p, contributorID, sub)
	for _, scope := range []string{sub, rg1, rg2, rg10, vm1} {
		assert.True(t, s2.Allowed(p, "Microsoft.Compute/virtualMachines/write", scope, false), scope)
		assert.False(t, s2.Allowed(p, "Microsoft.Authorization/roleAssignments/write", scope, false), scope)
	}
	assert.False(t, s2.Allowed(p, "Microsoft.Compute/virtualMachines/write", "/subscriptions/other", false))

	// Permissions add up across assignments.
	assign(t, s2, p, ownerID, rg1)
	assert.True(t, s2.Allowed(p, "Microsoft.Authorization/roleAssignments/write", vm1, false))
	assert.False(t, s2.Allowed(p, "Microsoft.Authorization/roleAssignments/write", rg2, false))

	// Root scope covers everything.
	s3 := NewStore()
	assign(t, s3, p, readerID, "/")
	assert.True(t, s3.Allowed(p, read, vm1, false))

	// Data actions only through data-action roles.
	s4 := NewStore()
	assign(t, s4, p, ownerID, sub)
	blob := "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	assert.False(t, s4.Allowed(p, blob, rg1, true))
	assign(t, s4, p, blobReaderID, rg1)
	assert.True(t, s4.Allowed(p, blob, rg1+"/providers/Microsoft.Storage/storageAccounts/sa", true))
	assert.False(t, s4.Allowed(p, blob, rg10+"/providers/Microsoft.Storage/storageAccounts/sa", true))
}

func TestAssignmentWithUnknownRoleGrantsNothing(t *testing.T) {
	s := NewStore()
	const p = "aaaaaaaa-0000-0000-0000-000000000001"
	assign(t, s, p, "00000000-0000-0000-0000-0000000000ff", sub)
	assert.False(t, s.Allowed(p, "Microsoft.Compute/virtualMachines/read", sub, false))
}

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		outer, inner string
		want         bool
	}{
		{"/", sub, true},
		{"/", "/", true},
		{sub, sub, true},
		{sub, rg1, true},
		{rg1, sub, false},
		{rg1, rg10, false},
		{rg1, rg1 + "/", true},
		{rg1 + "/", rg1, true},
		{strings.ToLower(rg1), strings.ToUpper(vm1), true},
		{sub, "/subscriptions/11111111-2222-3333-4444-5555555555550", false},
	} {
		assert.Equal(t, tc.want, Contains(tc.outer, tc.inner), "Contains(%q, %q)", tc.outer, tc.inner)
	}
}

func TestCreateDuplicate(t *testing.T) {
	s := NewStore()
	const p = "aaaaaaaa-0000-0000-0000-000000000001"
	first := assign(t, s, p, readerID, rg1)

	dup := first
	dup.Name = newName()
	dup.Scope = strings.ToUpper(rg1) + "/"
	dup.PrincipalID = strings.ToUpper(p)
	err := s.Create(dup)
	var exists ErrExists
	require.ErrorAs(t, err, &exists, "same principal, role and scope under another name")
	assert.Equal(t, first.Name, exists.ExistingName)
	assert.Equal(t, "The role assignment already exists.", err.Error())

	// Re-putting the same name is an update, not a duplicate.
	require.NoError(t, s.Create(first))
	// Other role, scope or principal are distinct assignments.
	assign(t, s, p, contributorID, rg1)
	assign(t, s, p, readerID, rg2)
	assign(t, s, "aaaaaaaa-0000-0000-0000-000000000002", readerID, rg1)
	assert.Len(t, s.List("/", true), 4)
}

func TestCreateSameNameOtherScope(t *testing.T) {
	s := NewStore()
	a := assign(t, s, "aaaaaaaa-0000-0000-0000-000000000001", readerID, rg1)
	b := a
	b.Scope = rg2
	b.PrincipalID = "aaaaaaaa-0000-0000-0000-000000000002"
	err := s.Create(b)
	var taken ErrNameTaken
	require.ErrorAs(t, err, &taken, "assignment names are unique in the subscription; the first must not be overwritten")
	assert.Equal(t, a.Name, taken.Existing.Name)
	assert.Equal(t, "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.", err.Error())
	got, ok := s.Get(rg1, a.Name)
	require.True(t, ok)
	assert.Equal(t, a.PrincipalID, got.PrincipalID)
}

func TestGetDelete(t *testing.T) {
	s := NewStore()
	a := assign(t, s, "aaaaaaaa-0000-0000-0000-000000000001", readerID, rg1)
	got, ok := s.Get(strings.ToUpper(rg1), strings.ToUpper(a.Name))
	require.True(t, ok)
	assert.Equal(t, a.Name, got.Name)
	_, ok = s.Get(rg2, a.Name)
	assert.False(t, ok, "an assignment is found only at its own scope")
	_, ok = s.Delete(rg2, a.Name)
	assert.False(t, ok)
	del, ok := s.Delete(rg1, a.Name)
	require.True(t, ok)
	assert.Equal(t, a.Name, del.Name)
	_, ok = s.Get(rg1, a.Name)
	assert.False(t, ok)
	assert.False(t, s.Allowed(a.PrincipalID, "x/read", rg1, false))
}

func TestDeleteUnder(t *testing.T) {
	s := NewStore()
	const p = "aaaaaaaa-0000-0000-0000-000000000001"
	atSub := assign(t, s, p, readerID, sub)
	assign(t, s, p, contributorID, rg1)
	assign(t, s, p, ownerID, vm1)
	at10 := assign(t, s, p, contributorID, rg10)
	at2 := assign(t, s, p, ownerID, rg2)

	s.DeleteUnder(strings.ToUpper(rg1))
	var names []string
	for _, a := range s.List("/", true) {
		names = append(names, a.Name)
	}
	assert.ElementsMatch(t, []string{atSub.Name, at10.Name, at2.Name}, names)
	assert.False(t, s.Allowed(p, "Microsoft.Compute/virtualMachines/write", vm1, false))
	assert.True(t, s.Allowed(p, "Microsoft.Compute/virtualMachines/write", rg10, false))
}

func TestList(t *testing.T) {
	s := NewStore()
	const p = "aaaaaaaa-0000-0000-0000-000000000001"
	root := assign(t, s, p, readerID, "/")
	atSub := assign(t, s, p, readerID, sub)
	atRG := assign(t, s, p, contributorID, rg1)
	atVM := assign(t, s, p, ownerID, vm1)
	assign(t, s, p, ownerID, rg10)

	names := func(as []Assignment) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	assert.ElementsMatch(t, []string{root.Name, atSub.Name, atRG.Name}, names(s.List(rg1, false)), "atScope(): at and above")
	assert.ElementsMatch(t, []string{root.Name, atSub.Name, atRG.Name, atVM.Name}, names(s.List(rg1, true)), "at, above and below")
	all := s.List(sub, true)
	assert.Len(t, all, 5)
	for i := 1; i < len(all); i++ {
		assert.Less(t, all[i-1].ID(), all[i].ID(), "ordered by id")
	}
}

func TestHasAnyAt(t *testing.T) {
	s := NewStore()
	const p = "aaaaaaaa-0000-0000-0000-000000000001"
	assign(t, s, p, readerID, vm1)
	assert.True(t, s.HasAnyAt(p, sub), "an assignment below the subscription makes it visible")
	assert.True(t, s.HasAnyAt(p, vm1))
	assert.False(t, s.HasAnyAt(p, rg2))
	assert.False(t, s.HasAnyAt("aaaaaaaa-0000-0000-0000-000000000002", sub))
}

func TestAssignmentIDs(t *testing.T) {
	a := Assignment{Name: "n1", Scope: rg1 + "/", RoleDefinitionID: RoleDefinitionID("s1", readerID)}
	assert.Equal(t, rg1+"/providers/Microsoft.Authorization/roleAssignments/n1", a.ID())
	assert.Equal(t, readerID, a.RoleGUID())
	assert.Equal(t, "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/"+readerID, a.RoleDefinitionID)
	root := Assignment{Name: "n2", Scope: "/"}
	assert.Equal(t, "/providers/Microsoft.Authorization/roleAssignments/n2", root.ID())
}

func BenchmarkAllowed(b *testing.B) {
	s := NewStore()
	for i := 0; i < 200; i++ {
		_ = s.Create(Assignment{Name: fmt.Sprintf("n%d", i), Scope: fmt.Sprintf("%s/resourceGroups/rg%d", sub, i),
			RoleDefinitionID: RoleDefinitionID("s", contributorID), PrincipalID: fmt.Sprintf("p%d", i%10)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Allowed("p3", "Microsoft.Compute/virtualMachines/write", sub+"/resourceGroups/rg193/providers/Microsoft.Compute/virtualMachines/vm", false)
	}
}
