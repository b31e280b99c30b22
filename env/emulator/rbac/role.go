// Package rbac is the emulator's Azure role-based access control: built-in role
// definitions, role assignments and the permission check Resource Manager and the
// data planes run on every request.
package rbac

// Permission is one permission block of a role definition, as in
// Microsoft.Authorization/roleDefinitions properties.permissions[].
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleDefinition is a built-in role as Azure publishes it.
type RoleDefinition struct {
	// ID is the role definition GUID (the last segment of its resource id).
	ID          string
	RoleName    string
	Description string
	Permissions []Permission
}
