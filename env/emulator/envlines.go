package emulator

// KV is one KEY=VALUE line of the emulate output.
type KV struct{ Key, Value string }

// Env returns the KEY=VALUE lines `emulate` prints so other tools can source
// them. The names are a stable interface; add, never rename.
func (e *Emulator) Env() ([]KV, error) {
	ca, err := e.CAFile()
	if err != nil {
		return nil, err
	}
	imdsURL := "http://" + e.IMDSAddr()
	return []KV{
		{"AZURE_TENANT_ID", e.ids.TenantID},
		{"AZURE_SUBSCRIPTION_ID", e.ids.SubscriptionID},
		{"MICONFORM_CLOUD", e.Cloud.Name},
		{"MICONFORM_IMDS_URL", imdsURL},
		// Always the URL; connections are refused while the VM extension is
		// not installed, as at localhost:50342 on a real VM.
		{"MICONFORM_LEGACY_URL", "http://" + e.LegacyAddr()},
		{"MICONFORM_HTTPS_ADDR", e.HTTPSAddr()},
		{"MICONFORM_CA_FILE", ca},
		{"MICONFORM_OPERATOR_CLIENT_ID", e.Operator.ClientID},
		{"MICONFORM_OPERATOR_CLIENT_SECRET", e.Operator.Secret},
		{"MICONFORM_RESOURCE_GROUP", e.World.ResourceGroup},
		{"MICONFORM_VM_NAME", e.World.VMName},
		{"MICONFORM_USER_IDENTITY_CLIENT_ID", e.World.UserIdentityClientID},
		{"MICONFORM_SQL_ADDR", e.SQLAddr()},
		{"MICONFORM_SQL_SERVER", e.World.SQLServer},
		{"MICONFORM_SQL_DATABASE", e.World.SQLDatabase},
		{"MICONFORM_SQL_TABLE", e.World.SQLTable},
		{"MICONFORM_VAULT", e.World.VaultName},
		{"MICONFORM_SECRET_NAME", e.World.SecretName},
		{"MICONFORM_STORAGE_ACCOUNT", e.World.StorageAccount},
		{"MICONFORM_CONTAINER", e.World.Container},
		{"MICONFORM_BLOB", e.World.Blob},
		// Several official SDKs take this as the IMDS endpoint override.
		{"AZURE_POD_IDENTITY_AUTHORITY_HOST", imdsURL},
	}, nil
}
