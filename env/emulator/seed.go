package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/entra"
)

// Tutorial world names, as the tutorials spell them.
const (
	SeedResourceGroup = "myResourceGroupVM"
	SeedVMName        = "myVM"
	SeedUserIdentity  = "ID1"
	readerRoleID      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
)

// seedTutorials provisions what the tutorials assume, through Resource
// Manager as the operator (so the seed takes exactly the paths a user takes):
// a resource group, a VM with a system-assigned identity, the user-assigned
// identity ID1 attached to it, and Reader for both identities on the group.
func (e *Emulator) seedTutorials() error {
	loc := e.Cloud.DefaultLocation
	rg := "/subscriptions/" + e.ids.SubscriptionID + "/resourceGroups/" + SeedResourceGroup
	vmID := rg + "/providers/Microsoft.Compute/virtualMachines/" + SeedVMName
	uaiID := rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + SeedUserIdentity
	if _, err := e.operatorCall("PUT", rg+"?api-version=2021-04-01", map[string]any{"location": loc}); err != nil {
		return err
	}
	// The portal's "Create a virtual machine": a NIC in the VM's virtual
	// network first (named {vm}{3 digits}), then the VM from an Ubuntu
	// image, whose OS disk Compute creates; both go with the VM.
	nicID := rg + "/providers/Microsoft.Network/networkInterfaces/" + strings.ToLower(SeedVMName) + "427"
	if _, err := e.operatorCall("PUT", nicID+"?api-version=2024-05-01", map[string]any{
		"location": loc,
		"properties": map[string]any{"ipConfigurations": []any{map[string]any{"name": "ipconfig1", "properties": map[string]any{
			"privateIPAllocationMethod": "Dynamic",
			"subnet":                    map[string]any{"id": rg + "/providers/Microsoft.Network/virtualNetworks/" + SeedVMName + "-vnet/subnets/default"},
		}}}},
	}); err != nil {
		return err
	}
	vmBody, err := e.operatorCall("PUT", vmID+"?api-version=2024-07-01", map[string]any{
		"location": loc,
		"identity": map[string]any{"type": "SystemAssigned"},
		"properties": map[string]any{
			"hardwareProfile": map[string]any{"vmSize": "Standard_B2s"},
			"storageProfile": map[string]any{
				"imageReference": map[string]any{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
				"osDisk":         map[string]any{"createOption": "FromImage", "managedDisk": map[string]any{"storageAccountType": "Premium_LRS"}, "deleteOption": "Delete"},
			},
			"osProfile": map[string]any{"computerName": SeedVMName, "adminUsername": "azureuser",
				"linuxConfiguration": map[string]any{"disablePasswordAuthentication": true}},
			"networkProfile": map[string]any{"networkInterfaces": []any{map[string]any{"id": nicID, "properties": map[string]any{"deleteOption": "Delete"}}}},
		},
	})
	if err != nil {
		return err
	}
	var created struct {
		Properties struct {
			StorageProfile struct {
				OSDisk struct {
					Name        string
					ManagedDisk struct{ ID string }
				}
			}
		}
	}
	_ = json.Unmarshal(vmBody, &created)
	uai, err := e.operatorCall("PUT", uaiID+"?api-version=2023-01-31", map[string]any{"location": loc})
	if err != nil {
		return err
	}
	vm, err := e.operatorCall("PATCH", vmID+"?api-version=2024-07-01", map[string]any{
		"identity": map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{uaiID: map[string]any{}}},
	})
	if err != nil {
		return err
	}
	var v struct {
		Identity struct{ PrincipalID string } `json:"identity"`
	}
	var u struct {
		Properties struct{ PrincipalID, ClientID string } `json:"properties"`
	}
	_ = json.Unmarshal(vm, &v)
	_ = json.Unmarshal(uai, &u)
	for _, pid := range []string{v.Identity.PrincipalID, u.Properties.PrincipalID} {
		if _, err := e.operatorCall("PUT", rg+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", map[string]any{
			"properties": map[string]any{"roleDefinitionId": "/subscriptions/" + e.ids.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID, "principalId": pid, "principalType": "ServicePrincipal"},
		}); err != nil {
			return err
		}
	}
	e.World = World{
		ResourceGroup: SeedResourceGroup, Location: loc, VMName: SeedVMName, VMResourceID: vmID,
		OSDiskName: created.Properties.StorageProfile.OSDisk.Name, OSDiskResourceID: created.Properties.StorageProfile.OSDisk.ManagedDisk.ID,
		NICName: strings.ToLower(SeedVMName) + "427", NICResourceID: nicID,
		UserIdentityName: SeedUserIdentity, UserIdentityResourceID: uaiID, UserIdentityClientID: u.Properties.ClientID,
	}
	e.SetVM(vmID)
	for _, s := range e.services {
		if s.seed != nil {
			if err := s.seed(rg, v.Identity.PrincipalID); err != nil {
				return err
			}
		}
	}
	return nil
}

// operatorCall sends one Resource Manager request as the operator, in
// process, and returns the body of a 2xx answer. A long-running operation
// is followed to its end as an Azure client follows it (without waiting
// out Retry-After: nothing runs in the background here): the
// Azure-AsyncOperation or Location is polled, then the resource is read;
// a resource answered in a transitional provisioningState is read again
// until it leaves it.
func (e *Emulator) operatorCall(method, path string, body any) ([]byte, error) {
	tok, err := e.operatorToken()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	send := func(method, u string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, u, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Raw)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	u := "https://" + e.Cloud.ARMHost + path
	rec := send(method, u, b)
	if rec.Code >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	if method != "PUT" && method != "PATCH" {
		return rec.Body.Bytes(), nil
	}
	for i := 0; ; i++ {
		if i == 100 {
			return nil, fmt.Errorf("%s %s: still in progress after %d polls", method, path, i)
		}
		if async := rec.Header().Get("Azure-AsyncOperation"); async != "" {
			st := send("GET", async, nil)
			var s struct{ Status string }
			_ = json.Unmarshal(st.Body.Bytes(), &s)
			switch {
			case st.Code != 200:
				return nil, fmt.Errorf("%s %s: polling %s: %d %s", method, path, async, st.Code, st.Body.String())
			case s.Status == "InProgress":
				continue
			case s.Status != "Succeeded":
				return nil, fmt.Errorf("%s %s: operation %s", method, path, st.Body.String())
			}
			rec = send("GET", u, nil)
			continue
		}
		if rec.Code == 202 && rec.Header().Get("Location") != "" {
			rec = send("GET", rec.Header().Get("Location"), nil)
			if rec.Code >= 300 && rec.Code != 202 {
				return nil, fmt.Errorf("%s %s: polling: %d %s", method, path, rec.Code, rec.Body.String())
			}
			continue
		}
		var r struct {
			Properties struct{ ProvisioningState string } `json:"properties"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &r)
		switch r.Properties.ProvisioningState {
		case "Creating", "RegisteringDns", "Updating", "Accepted", "Provisioning":
			rec = send("GET", u, nil)
			continue
		}
		return rec.Body.Bytes(), nil
	}
}

// operatorToken is the operator's Resource Manager token, reused while it
// has a minute left, as a client's token cache would: signing one per
// seeding call was most of an emulator's start after key generation.
func (e *Emulator) operatorToken() (entra.Token, error) {
	e.opMu.Lock()
	defer e.opMu.Unlock()
	if e.opToken.Raw != "" && e.opToken.ExpiresOn.Sub(e.Issuer.Now()) > time.Minute {
		return e.opToken, nil
	}
	tok, err := e.Issuer.AppToken(e.Operator, e.Cloud.ARMResource)
	if err != nil {
		return tok, err
	}
	e.opToken = tok
	return tok, nil
}

// newSecret makes a client secret shaped like Entra's (40 characters).
func newSecret() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
