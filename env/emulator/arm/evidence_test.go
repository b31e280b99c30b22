package arm_test

import (
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// noEvidenceYet lists the operations Resource Manager serves whose answers
// no test yet holds against a recording. It only shrinks: the test fails
// when an operation here has gained evidence, so the list stays true.
var noEvidenceYet = []string{
	// Resources, Microsoft.Authorization, Microsoft.ManagedIdentity, VM extensions
	"GET /{scope}/providers/Microsoft.Authorization/roleDefinitions",
	"GET /{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
	"GET /{scope}/providers/Microsoft.Authorization/roleAssignments",
	"GET /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
	"PUT /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
	"DELETE /{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
	"GET /subscriptions",
	"GET /subscriptions/{subscriptionId}",
	"GET /tenants",
	"GET /subscriptions/{subscriptionId}/resourcegroups",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
	"HEAD /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
	"PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
	"PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
	"GET /subscriptions/{subscriptionId}/operationresults/{operationId}",
	"GET /subscriptions/{subscriptionId}/resources",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/extensions/{vmExtensionName}",
	"PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/extensions/{vmExtensionName}",
	"PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/extensions/{vmExtensionName}",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/extensions/{vmExtensionName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/extensions",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
	// the Storage, Key Vault and SQL providers
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults",
	"GET /subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/vaults",
	"PUT /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults/{vaultName}/accessPolicies/{operationKind}",
	"PATCH /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts",
	"GET /subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts",
	"POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/listKeys",
	"POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/regenerateKey",
	"POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/revokeUserDelegationKeys",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers/{serverName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers/{serverName}/administrators/{administratorName}",
	"DELETE /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers/{serverName}/databases/{databaseName}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/servers/{serverName}/databases",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/locations/{location}/serverOperationResults/{operationId}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/locations/{location}/databaseOperationResults/{operationId}",
	"GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/locations/{location}/serverAdministratorOperationResults/{operationId}",
}

// TestEveryOperationHasEvidence holds every operation Resource Manager
// serves (its own and the providers') against the testdata excerpts that
// are evidence for it: each is named by an excerpt a test of this package
// reads, and each excerpt cites its source and kind.
func TestEveryOperationHasEvidence(t *testing.T) {
	w := startWorld(t, nil)
	rec.Hold(t, w.e.ARM.Operations(), "testdata", ".", noEvidenceYet)
}
