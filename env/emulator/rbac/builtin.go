package rbac

// BuiltinRoles holds the Azure built-in role definitions the emulator serves, copied
// verbatim (id, roleName, description, actions, notActions, dataActions,
// notDataActions) from the JSON blocks of the "Azure built-in roles" reference:
//
//	https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
//	https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general   (Reader)
//	https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged (Contributor, Owner, User Access Administrator)
//	https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage    (Storage Account Contributor, Storage Blob Data *)
//	https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security   (Key Vault Administrator, Key Vault Secrets *, Key Vault Crypto *, Key Vault Reader)
//	https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/identity   (Managed Identity Operator)
//
// (source markdown: github.com/MicrosoftDocs/azure-docs,
// articles/role-based-access-control/built-in-roles/*.md, 2026 revisions).
// Every role has assignableScopes ["/"] and roleType "BuiltInRole"; its resource id
// is /providers/Microsoft.Authorization/roleDefinitions/{ID} (ARM returns it under
// /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ID} when
// read at a subscription scope).
var BuiltinRoles = []RoleDefinition{
	{
		ID:          "acdd72a7-3385-48ef-bd42-f606fba81ae7",
		RoleName:    "Reader",
		Description: "View all resources, but does not allow you to make any changes.",
		Permissions: []Permission{{
			Actions:        []string{"*/read"},
			NotActions:     []string{},
			DataActions:    []string{},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "b24988ac-6180-42a0-ab88-20f7382dd24c",
		RoleName:    "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permissions: []Permission{{
			Actions: []string{"*"},
			NotActions: []string{
				"Microsoft.Authorization/*/Delete",
				"Microsoft.Authorization/*/Write",
				"Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write",
				"Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write",
				"Microsoft.Purview/consents/delete",
				"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
				"Microsoft.Subscription/cancel/action",
				"Microsoft.Subscription/enable/action",
			},
			DataActions:    []string{},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
		RoleName:    "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permissions: []Permission{{
			Actions:        []string{"*"},
			NotActions:     []string{},
			DataActions:    []string{},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		RoleName:    "Storage Blob Data Reader",
		Description: "Allows for read access to Azure Storage blob containers and data",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/read",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
		RoleName:    "Storage Blob Data Contributor",
		Description: "Allows for read, write and delete access to Azure Storage blob containers and data",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/write",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
		RoleName:    "Storage Blob Data Owner",
		Description: "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/*",
				"Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
			},
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "17d1049b-9a84-46fb-8f53-869881c3d3ab",
		RoleName:    "Storage Account Contributor",
		Description: "Lets you manage storage accounts, including accessing storage account keys which provide full access to storage account data.",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.Authorization/*/read",
				"Microsoft.Insights/alertRules/*",
				"Microsoft.Insights/diagnosticSettings/*",
				"Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
				"Microsoft.ResourceHealth/availabilityStatuses/read",
				"Microsoft.Resources/deployments/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
				"Microsoft.Storage/storageAccounts/*",
				"Microsoft.Support/*",
			},
			NotActions:     []string{},
			DataActions:    []string{},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "4633458b-17de-408a-b874-0445c86b69e6",
		RoleName:    "Key Vault Secrets User",
		Description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{
			Actions:    []string{},
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/secrets/getSecret/action",
				"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
		RoleName:    "Key Vault Secrets Officer",
		Description: "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{
			Actions:    keyVaultDataRoleActions(),
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/secrets/*",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "00482a5a-887f-4fb3-b363-3b7fe8e74483",
		RoleName:    "Key Vault Administrator",
		Description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{
			Actions:    keyVaultDataRoleActions(),
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/*",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
		RoleName:    "Key Vault Crypto Officer",
		Description: "Perform any action on the keys of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{
			Actions:    keyVaultDataRoleActions(),
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/keys/*",
				"Microsoft.KeyVault/vaults/keyrotationpolicies/*",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "12338af0-0e69-4776-bea7-57ae8d297424",
		RoleName:    "Key Vault Crypto User",
		Description: "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{
			Actions:    []string{},
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/keys/read",
				"Microsoft.KeyVault/vaults/keys/update/action",
				"Microsoft.KeyVault/vaults/keys/backup/action",
				"Microsoft.KeyVault/vaults/keys/encrypt/action",
				"Microsoft.KeyVault/vaults/keys/decrypt/action",
				"Microsoft.KeyVault/vaults/keys/wrap/action",
				"Microsoft.KeyVault/vaults/keys/unwrap/action",
				"Microsoft.KeyVault/vaults/keys/sign/action",
				"Microsoft.KeyVault/vaults/keys/verify/action",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "21090545-7ca7-4776-b22c-e363652d74d2",
		RoleName:    "Key Vault Reader",
		Description: "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permissions: []Permission{{
			Actions:    keyVaultDataRoleActions(),
			NotActions: []string{},
			DataActions: []string{
				"Microsoft.KeyVault/vaults/*/read",
				"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
			},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "f1a07417-d97a-45cb-824c-7a7467783830",
		RoleName:    "Managed Identity Operator",
		Description: "Read and Assign User Assigned Identity",
		Permissions: []Permission{{
			Actions: []string{
				"Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
				"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
				"Microsoft.Authorization/*/read",
				"Microsoft.Insights/alertRules/*",
				"Microsoft.Resources/subscriptions/resourceGroups/read",
				"Microsoft.Resources/deployments/*",
				"Microsoft.Support/*",
			},
			NotActions:     []string{},
			DataActions:    []string{},
			NotDataActions: []string{},
		}},
	},
	{
		ID:          "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
		RoleName:    "User Access Administrator",
		Description: "Lets you manage user access to Azure resources.",
		Permissions: []Permission{{
			Actions: []string{
				"*/read",
				"Microsoft.Authorization/*",
				"Microsoft.Support/*",
			},
			NotActions:     []string{},
			DataActions:    []string{},
			NotDataActions: []string{},
		}},
	},
}

// keyVaultDataRoleActions are the control-plane actions every Key Vault
// data role (Administrator, Secrets Officer, Crypto Officer, Reader) lists
// word for word: read the vault and its resource group, nothing more.
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security
func keyVaultDataRoleActions() []string {
	return []string{
		"Microsoft.Authorization/*/read",
		"Microsoft.Insights/alertRules/*",
		"Microsoft.Resources/deployments/*",
		"Microsoft.Resources/subscriptions/resourceGroups/read",
		"Microsoft.Support/*",
		"Microsoft.KeyVault/checkNameAvailability/read",
		"Microsoft.KeyVault/deletedVaults/read",
		"Microsoft.KeyVault/locations/*/read",
		"Microsoft.KeyVault/vaults/*/read",
		"Microsoft.KeyVault/operations/read",
	}
}
