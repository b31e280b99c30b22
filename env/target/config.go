package target

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is what a person or a CI job tells the Azure target. Every field
// is optional: discovery fields override what /metadata/instance reports,
// fixtures name existing resources (verify-only) or fix the names a
// provisioning run creates. env/azure.example.yaml documents each key;
// each has a MICONFORM_* environment variable (see ApplyEnv).
type Config struct {
	// Cloud overrides compute.azEnvironment (AzureCloud, AzureChinaCloud,
	// AzureUSGovernment or IMDS's spelling).
	Cloud          string `yaml:"cloud"`
	TenantID       string `yaml:"tenantId"`
	SubscriptionID string `yaml:"subscriptionId"`
	ResourceGroup  string `yaml:"resourceGroup"`
	VMName         string `yaml:"vmName"`
	VMResourceID   string `yaml:"vmResourceId"`
	Location       string `yaml:"location"`
	// RBACPropagation bounds the 403 retry after a role assignment (a Go
	// duration, e.g. "10m").
	RBACPropagation string `yaml:"rbacPropagation"`
	// Fixtures maps fixture keys (storageAccount, keyVault, ...) to names.
	Fixtures map[string]string `yaml:"fixtures"`
}

// fixture is one name a tutorial leaves to the reader.
type fixture struct {
	key         string // in Config.Fixtures and the YAML file
	env         string
	placeholder string
	// generate makes a name for a provisioning run; names that must be
	// unique in the cloud get a random part.
	generate func() string
}

var fixtures = []fixture{
	// Storage account names: 3-24 lowercase letters and digits, unique in the cloud.
	// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftstorage
	{"storageAccount", "MICONFORM_STORAGE_ACCOUNT", FixtureStorageAccount, func() string { return "mc" + randomName(12) }},
	{"container", "MICONFORM_CONTAINER", FixtureContainer, fixed("miconform")},
	{"blob", "MICONFORM_BLOB", FixtureBlob, fixed("hello world.txt")},
	// Vault names: 3-24 letters, digits and hyphens, unique in the cloud.
	{"keyVault", "MICONFORM_KEY_VAULT", FixtureKeyVault, func() string { return "mc-kv-" + randomName(12) }},
	{"secret", "MICONFORM_SECRET", FixtureSecret, fixed("mi-test")},
	// SQL server names: lowercase letters, digits and hyphens, unique in the cloud.
	{"sqlServer", "MICONFORM_SQL_SERVER", FixtureSQLServer, func() string { return "mc-sql-" + randomName(12) }},
	{"sqlDatabase", "MICONFORM_SQL_DATABASE", FixtureSQLDatabase, fixed("miconform")},
	{"sqlTable", "MICONFORM_SQL_TABLE", FixtureSQLTable, fixed("Tutorial")},
	{"userIdentity", "MICONFORM_USER_IDENTITY", FixtureUserIdentity, fixed("ID1")},
}

func fixed(name string) func() string { return func() string { return name } }

// discoveryEnv maps the discovery fields to their environment variables.
func (c *Config) discoveryEnv() []struct {
	env string
	dst *string
} {
	return []struct {
		env string
		dst *string
	}{
		{"MICONFORM_CLOUD", &c.Cloud},
		{"MICONFORM_TENANT_ID", &c.TenantID},
		{"MICONFORM_SUBSCRIPTION_ID", &c.SubscriptionID},
		{"MICONFORM_RESOURCE_GROUP", &c.ResourceGroup},
		{"MICONFORM_VM_NAME", &c.VMName},
		{"MICONFORM_VM_RESOURCE_ID", &c.VMResourceID},
		{"MICONFORM_LOCATION", &c.Location},
		{"MICONFORM_RBAC_PROPAGATION", &c.RBACPropagation},
	}
}

// LoadConfig reads a YAML config file. Unknown keys are errors: a typo in
// a fixture name would otherwise silently provision a new resource.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	for k := range c.Fixtures {
		if _, ok := fixtureByKey(k); !ok {
			return fmt.Errorf("config: unknown fixture %q (known: %s)", k, strings.Join(FixtureKeys(), ", "))
		}
	}
	if c.RBACPropagation != "" {
		if d, err := time.ParseDuration(c.RBACPropagation); err != nil || d < 0 {
			return fmt.Errorf("config: rbacPropagation %q is not a non-negative Go duration like 10m", c.RBACPropagation)
		}
	}
	return nil
}

// ApplyEnv overrides c with the MICONFORM_* variables getenv returns.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	for _, d := range c.discoveryEnv() {
		if v := getenv(d.env); v != "" {
			*d.dst = v
		}
	}
	if c.TenantID == "" {
		// The variable azidentity and azure/login use.
		c.TenantID = getenv("AZURE_TENANT_ID")
	}
	for _, f := range fixtures {
		if v := getenv(f.env); v != "" {
			if c.Fixtures == nil {
				c.Fixtures = map[string]string{}
			}
			c.Fixtures[f.key] = v
		}
	}
	return c.validate()
}

// Merge overrides c with the non-empty fields of o (flags over env over
// file).
func (c *Config) Merge(o Config) {
	src := o.discoveryEnv()
	for i, d := range c.discoveryEnv() {
		if *src[i].dst != "" {
			*d.dst = *src[i].dst
		}
	}
	for k, v := range o.Fixtures {
		if c.Fixtures == nil {
			c.Fixtures = map[string]string{}
		}
		c.Fixtures[k] = v
	}
}

// FixtureKeys lists the config keys of the fixtures.
func FixtureKeys() []string {
	var k []string
	for _, f := range fixtures {
		k = append(k, f.key)
	}
	return k
}

// FixtureEnv lists the environment variables of every Config field.
func FixtureEnv() []string {
	var c Config
	var out []string
	for _, d := range c.discoveryEnv() {
		out = append(out, d.env)
	}
	for _, f := range fixtures {
		out = append(out, f.env)
	}
	return out
}

func fixtureByKey(k string) (fixture, bool) {
	for _, f := range fixtures {
		if f.key == k {
			return f, true
		}
	}
	return fixture{}, false
}

// resolveFixtures turns the configured names into placeholders; a
// provisioning run generates the names left unset. It returns the keys
// still unnamed.
func resolveFixtures(cfg map[string]string, mode Mode) (map[string]string, []string) {
	out := map[string]string{}
	var missing []string
	for _, f := range fixtures {
		switch v := cfg[f.key]; {
		case v != "":
			out[f.placeholder] = v
		case mode == Provision:
			out[f.placeholder] = f.generate()
		default:
			missing = append(missing, f.key)
		}
	}
	sort.Strings(missing)
	return out, missing
}

// randomName is n random lowercase letters and digits.
func randomName(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newRunID names one run; its resource groups carry it in TagRun.
func newRunID() string {
	return time.Now().UTC().Format("20060102t150405") + "-" + randomName(6)
}

// runTags are the tags of what a run creates.
func runTags(runID string, now time.Time) map[string]string {
	return map[string]string{TagCreatedBy: CreatedBy, TagCreatedAt: now.UTC().Format(time.RFC3339), TagRun: runID}
}
