package arm

// registerRoutes lists every operation this Resource Manager serves, with the
// RBAC action ARM requires for it (Microsoft.Authorization/provider operations).
func (s *Server) registerRoutes() {
	const (
		sub = "/subscriptions/{subscriptionId}"
		rg  = sub + "/resourceGroups/{resourceGroupName}"
		vm  = rg + "/providers/Microsoft.Compute/virtualMachines/{vmName}"
		uai = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
	)
	// Microsoft.Resources: https://learn.microsoft.com/rest/api/resources/
	s.Handle("GET", "/subscriptions", "", "2014-04-01", s.ListSubscriptions)
	s.Handle("GET", sub, "", "2014-04-01", s.GetSubscription)
	s.Handle("GET", "/tenants", "", "2014-04-01", s.ListTenants)
	s.Handle("GET", sub+"/resourcegroups", "", "2014-04-01", s.ListResourceGroups)
	s.Handle("GET", rg, "Microsoft.Resources/subscriptions/resourceGroups/read", "2014-04-01", s.GetResourceGroup)
	s.Handle("HEAD", rg, "Microsoft.Resources/subscriptions/resourceGroups/read", "2014-04-01", s.CheckResourceGroupExistence)
	s.Handle("PUT", rg, "Microsoft.Resources/subscriptions/resourceGroups/write", "2014-04-01", s.CreateOrUpdateResourceGroup)
	s.Handle("PATCH", rg, "Microsoft.Resources/subscriptions/resourceGroups/write", "2014-04-01", s.UpdateResourceGroup)
	s.Handle("DELETE", rg, "Microsoft.Resources/subscriptions/resourceGroups/delete", "2014-04-01", s.DeleteResourceGroup)
	s.Handle("GET", sub+"/operationresults/{operationId}", "", "2014-04-01", s.GetOperationResult)
	s.Handle("GET", sub+"/resources", "", "2014-04-01", s.ListResources)
	s.Handle("GET", rg+"/resources", "", "2014-04-01", s.ListResourcesByResourceGroup)

	// Microsoft.Compute virtual machines: https://learn.microsoft.com/rest/api/compute/virtual-machines
	s.Handle("GET", vm, "Microsoft.Compute/virtualMachines/read", "2015-06-15", s.GetVirtualMachine)
	s.Handle("PUT", vm, "Microsoft.Compute/virtualMachines/write", "2015-06-15", s.CreateOrUpdateVirtualMachine)
	s.Handle("PATCH", vm, "Microsoft.Compute/virtualMachines/write", "2015-06-15", s.UpdateVirtualMachine)
	s.Handle("DELETE", vm, "Microsoft.Compute/virtualMachines/delete", "2015-06-15", s.DeleteVirtualMachine)
	s.Handle("GET", rg+"/providers/Microsoft.Compute/virtualMachines", "", "2015-06-15", s.ListVirtualMachines)
	s.registerExtensionRoutes(vm)
	s.registerDiskRoutes(rg)
	s.registerNetworkRoutes(rg)
	s.registerOperationRoutes(sub)

	// Microsoft.ManagedIdentity: https://learn.microsoft.com/rest/api/managedidentity/user-assigned-identities
	s.Handle("GET", uai, "Microsoft.ManagedIdentity/userAssignedIdentities/read", "2015-08-31", s.GetUserAssignedIdentity)
	s.Handle("PUT", uai, "Microsoft.ManagedIdentity/userAssignedIdentities/write", "2015-08-31", s.CreateOrUpdateUserAssignedIdentity)
	s.Handle("DELETE", uai, "Microsoft.ManagedIdentity/userAssignedIdentities/delete", "2015-08-31", s.DeleteUserAssignedIdentity)
	s.Handle("GET", rg+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "", "2015-08-31", s.ListUserAssignedIdentitiesByResourceGroup)
}
