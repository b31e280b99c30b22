package rbac

import "strings"

// Grant is Allowed that also says which assignment grants the action:
// Key Vault names it in x-ms-keyvault-rbac-assignment-id on every answer
// an RBAC vault authorizes.
func (s *Store) Grant(principalID, action, scope string, data bool) (Assignment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found Assignment
	ok := false
	s.enforced(func(a Assignment) bool {
		if !strings.EqualFold(a.PrincipalID, principalID) || !Contains(a.Scope, scope) {
			return false
		}
		role, known := s.roles[strings.ToLower(a.RoleGUID())]
		if known && role.Grants(action, data) {
			found, ok = a, true
		}
		return ok
	})
	return found, ok
}
