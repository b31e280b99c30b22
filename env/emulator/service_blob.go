package emulator

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/blob"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/state"
)

// blobService is Blob Storage: {account}.blob.{StorageSuffix}, path style
// on the loopback names, plain HTTP on port 80 for accounts that allow it,
// and Microsoft.Storage in Resource Manager.
func blobService(e *Emulator) *service {
	e.Blob = blob.New(e.Cloud, e.Issuer, e.RBAC)
	blob.RegisterProvider(e.ARM, e.Blob)
	return &service{
		name: "blob", title: "Blob Storage", hosts: []string{e.Blob.Host()}, wildcard: "account",
		// Path style on the loopback names, for accounts that exist.
		pathStyle: "/{account}/{container}/{blob}", pathKnows: func(seg string) bool { _, ok := e.Blob.Account(seg); return ok },
		handler: e.Blob, plainHTTP: true, fault: e.Blob.WriteFault,
		// http:// to a storage account: the emulator's port-80 listener
		// (plainhttp.go).
		endpoints: []endpoint{e.plainEndpoint()},
		start:     e.startPlainHTTP,
		log:       "blob", restore: func(l *state.Log) error { return e.Blob.Persist(l, e.ARM, filepath.Join(e.cfg.StateDir, "blobdata")) },
		close: e.Blob.Close, // a memory store's spill files
		seed:  e.seedStorage,
		// Plain http:// to a storage account, as the emulator's own
		// port-80 listener (plainhttp.go).
		vm: []VMEndpoint{{Addr: "127.0.0.1:80", Serve: func(ln net.Listener) { _ = e.vmServer(e.plainHandler()).Serve(e.capped(ln, false)) }}},
	}
}

// The Storage tutorials' names: they leave the account and container to the
// reader and name the file "hello world.txt" with the text "Hello world!".
const (
	SeedStorageAccount = "mystorageaccount"
	SeedContainer      = "mycontainer"
	SeedBlob           = "hello world.txt"
	seedBlobText       = "Hello world!"

	storageBlobDataReaderRoleID     = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	storageAccountContributorRoleID = "17d1049b-9a84-46fb-8f53-869881c3d3ab"
)

// seedStorage is the two Storage tutorials' portal steps: a general purpose
// v1 account, a private container, "hello world.txt" uploaded into it (with
// a SAS from Resource Manager, as a user without data roles would), and the
// VM's Storage Blob Data Reader and Storage Account Contributor roles on the
// account.
func (e *Emulator) seedStorage(rg, vmPrincipalID string) error {
	acct := rg + "/providers/Microsoft.Storage/storageAccounts/" + SeedStorageAccount
	const api = "?api-version=2023-01-01"
	if _, err := e.operatorCall("PUT", acct+api, map[string]any{
		"location": e.Cloud.DefaultLocation, "kind": "Storage", "sku": map[string]any{"name": "Standard_LRS"},
	}); err != nil {
		return err
	}
	if _, err := e.operatorCall("PUT", acct+"/blobServices/default/containers/"+SeedContainer+api, map[string]any{
		"properties": map[string]any{"publicAccess": "None"},
	}); err != nil {
		return err
	}
	b, err := e.operatorCall("POST", acct+"/listServiceSas"+api, map[string]any{
		"canonicalizedResource": "/blob/" + SeedStorageAccount + "/" + SeedContainer, "signedResource": "c",
		"signedPermission": "cw", "signedProtocol": "https", "signedExpiry": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	var sas struct{ ServiceSasToken string }
	if err := json.Unmarshal(b, &sas); err != nil {
		return err
	}
	u := e.Blob.Endpoint(SeedStorageAccount) + SeedContainer + "/" + url.PathEscape(SeedBlob) + "?" + sas.ServiceSasToken
	req := httptest.NewRequest("PUT", u, strings.NewReader(seedBlobText))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	req.Header.Set("x-ms-version", "2017-11-09")
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 201 {
		return fmt.Errorf("upload %s: %d %s", SeedBlob, rec.Code, rec.Body.String())
	}
	for _, role := range []string{storageBlobDataReaderRoleID, storageAccountContributorRoleID} {
		if _, err := e.operatorCall("PUT", acct+"/providers/Microsoft.Authorization/roleAssignments/"+directory.NewGUID()+"?api-version=2022-04-01", map[string]any{
			"properties": map[string]any{"roleDefinitionId": "/subscriptions/" + e.ids.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + role, "principalId": vmPrincipalID, "principalType": "ServicePrincipal"},
		}); err != nil {
			return err
		}
	}
	e.World.StorageAccount, e.World.Container, e.World.Blob = SeedStorageAccount, SeedContainer, SeedBlob
	return nil
}
