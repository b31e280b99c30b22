package suite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"github.com/miconform/miconform/env/wine/winetest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/miconform/miconform/env/target/targettest"
	"github.com/miconform/miconform/internal/redact"
	"github.com/miconform/miconform/runner/report"
	"github.com/miconform/miconform/runner/suite"
)

// secretEncodings are the forms a secret takes in what a scenario logs.
var secretEncodings = map[string]func(string) string{
	"plain": func(s string) string { return s },
	"json escapes": func(s string) string {
		return strings.NewReplacer("&", `\u0026`, "=", `\u003d`, "/", `\/`).Replace(s)
	},
	"percent-encoding": url.QueryEscape,
	"xml entities": func(s string) string {
		return strings.NewReplacer("&", "&amp;", "=", "&#61;", "/", "&#x2F;", `"`, "&quot;").Replace(s)
	},
	"base64url in a URL": func(s string) string {
		return "https://app.example/cb?state=" + base64.RawURLEncoding.EncodeToString([]byte(s))
	},
}

// TestRedactionOfEveryEncoding plants one secret of each kind (token, SAS
// signature, account key, client secret, secret value), in context, in each
// encoding into a failing scenario's log and its failure message, runs it
// through the suite, and checks every report file and the terminal output.
func TestRedactionOfEveryEncoding(t *testing.T) {
	t.Parallel()
	tg := targettest.Emulator(t, "AzureCloud")
	e := tg.E
	tok, err := e.Issuer.AppToken(e.Operator, e.Cloud.StorageResource)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.Blob.Account(e.World.StorageAccount)
	key := base64.StdEncoding.EncodeToString(a.Keys[0])
	sigBytes := make([]byte, 32)
	_, _ = rand.Read(sigBytes)
	sig := base64.StdEncoding.EncodeToString(sigBytes)
	value := "planted-vault-value-" + base64.RawURLEncoding.EncodeToString(sigBytes[:6])
	secrets := map[string]struct{ secret, text string }{
		"token":         {tok.Raw, "Authorization: Bearer " + tok.Raw},
		"SAS signature": {sig, "https://" + e.World.StorageAccount + ".blob." + e.Cloud.StorageSuffix + "/c/b?sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig=" + sig + "&spr=https"},
		"account key":   {key, "DefaultEndpointsProtocol=https;AccountName=" + e.World.StorageAccount + ";AccountKey=" + key + ";EndpointSuffix=" + e.Cloud.StorageSuffix},
		"client secret": {e.Operator.Secret, "grant_type=client_credentials&client_id=" + e.Operator.ClientID + "&client_secret=" + e.Operator.Secret},
		"secret value":  {value, `{"value":"` + value + `","id":"https://kv.vault.azure.net/secrets/s/1"}`},
	}
	var planted strings.Builder
	for kind, s := range secrets {
		for enc, f := range secretEncodings {
			planted.WriteString(kind + " (" + enc + "): " + f(s.text) + "\n")
		}
	}
	plantSteps := func(sc *godog.ScenarioContext) {
		sc.Step(`^the secrets are planted in the log$`, func(ctx context.Context) error {
			redact.Register(value) // as the Key Vault steps do with a value they read
			report.LogFrom(ctx).Printf("%s", planted.String())
			return nil
		})
		sc.Step(`^the scenario fails with them$`, func() error {
			return errors.New("failed with:\n" + planted.String())
		})
	}
	dir := winetest.TempDir(t)
	feature := filepath.Join(dir, "planted.feature")
	if err := os.WriteFile(feature, []byte("Feature: Planted secrets\n\n  Scenario: a failing scenario logs secrets in every encoding\n    Given the secrets are planted in the log\n    Then the scenario fails with them\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(dir, "reports")
	var terminal bytes.Buffer
	_, ok, err := suite.Run(context.Background(), suite.Options{Target: tg, Paths: []string{feature}, ReportDir: reports, Output: &terminal, Concurrency: 1, Steps: plantSteps})
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Fatal("the planted scenario passed; it must fail")
	}

	texts := map[string]string{"terminal output": terminal.String()}
	entries, err := os.ReadDir(reports)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(reports, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		texts[de.Name()] = string(b)
	}
	for _, want := range []string{"junit.xml", "cucumber.json", "summary.md"} {
		if _, ok := texts[want]; !ok {
			t.Errorf("the run wrote no %s", want)
		}
	}
	for name, text := range texts {
		if !strings.Contains(text, "percent-encoding") && name != "cucumber.json" {
			t.Errorf("%s does not carry the planted log or failure (the check would prove nothing)", name)
		}
		for kind, s := range secrets {
			forms := map[string]string{}
			for enc, f := range secretEncodings {
				if enc != "base64url in a URL" {
					forms[enc] = f(s.secret)
				}
			}
			for shift := range 3 {
				b := base64.RawURLEncoding.EncodeToString(append(make([]byte, shift), s.secret...))
				forms["base64url"] = b[(shift*4+2)/3 : len(b)-3]
				for enc, form := range forms {
					if strings.Contains(text, form) {
						t.Errorf("%s leaks the %s (%s form)", name, kind, enc)
					}
				}
			}
		}
	}
	// And the shape and signature checks every run gets.
	assertNoSecrets(t, tg, reports, terminal.String())
}
