package suite_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/env/target/targettest"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/redact"
)

// Shapes of credentials that must never appear unmasked in a report or
// log; redact masks each of them (keeping a short prefix and Masked).
var (
	jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)
	sigShape = regexp.MustCompile(`(?i)\bsig(?:=|%3D)([^&\s"'<>\\]+)`)
	keyShape = regexp.MustCompile(`(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{86}==)`)
)

// assertNoSecrets scans every file of a run's report directory and its
// pretty output for the emulator's actual secrets (the operator's client
// secret, the storage account keys, the seeded vault secret's value) and
// for any token, SAS signature or account key by shape. Tokens are also
// checked cryptographically: any JWT-shaped string the emulator's issuer
// accepts as its own signature is a leaked token.
func assertNoSecrets(t *testing.T, tg *target.Emulator, reportDir, pretty string) {
	t.Helper()
	for _, p := range findSecrets(t, tg, reportDir, pretty) {
		t.Error(p)
	}
}

// findSecrets lists what assertNoSecrets complains about.
func findSecrets(t *testing.T, tg *target.Emulator, reportDir, pretty string) []string {
	t.Helper()
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	// Scenarios that ran at once each had an emulator of the pool.
	secrets := map[string]string{}
	for n, m := range tg.Pooled() {
		e := m.E
		secrets[fmt.Sprintf("emulator %d's operator client secret", n)] = e.Operator.Secret
		if a, ok := e.Blob.Account(e.World.StorageAccount); ok {
			for i, k := range a.Keys {
				secrets[fmt.Sprintf("emulator %d's storage account key %d", n, i+1)] = base64.StdEncoding.EncodeToString(k)
			}
		}
	}
	texts := map[string]string{"pretty output": pretty}
	entries, err := os.ReadDir(reportDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		b, err := os.ReadFile(filepath.Join(reportDir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		texts[de.Name()] = string(b)
	}
	for _, want := range []string{"junit.xml", "cucumber.json", "summary.md"} {
		if _, ok := texts[want]; !ok {
			report("the run wrote no %s", want)
		}
	}
	for name, text := range texts {
		for what, v := range secrets {
			if v != "" && strings.Contains(text, v) {
				report("%s contains %s", name, what)
			}
		}
		for _, m := range jwtShape.FindAllString(text, -1) {
			genuine := false
			for _, p := range tg.Pooled() {
				_, err := p.E.Issuer.Verify(m)
				genuine = genuine || err == nil || errorsIs(err, entra.ErrExpired, entra.ErrNotYetValid, entra.ErrPrincipalGone)
			}
			report("%s contains a token %.12s… (issued by the emulator: %v)", name, m, genuine)
		}
		// Neither shape spans a line: each is looked for only in the lines
		// that hold its literal part (a regexp without a literal prefix
		// scans a megabyte report slowly).
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(strings.ToLower(line), "sig") || strings.ContainsRune(line, '\u017f') { // ſ folds to s
				for _, m := range sigShape.FindAllStringSubmatch(line, -1) {
					if !strings.Contains(m[1], redact.Marker) && len(m[1]) > 4 {
						report("%s contains a SAS signature %.6s…", name, m[1])
					}
				}
			}
			if strings.Contains(line, "==") {
				for _, m := range keyShape.FindAllStringSubmatch(line, -1) {
					report("%s contains an account key %.6s…", name, m[1])
				}
			}
		}
	}
	return problems
}

func errorsIs(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// The scan finds each kind of secret when one is planted in a report.
func TestFindSecretsCatchesLeaks(t *testing.T) {
	t.Parallel()
	tg := targettest.Emulator(t, "AzureCloud")
	e := tg.E
	tok, err := e.Issuer.AppToken(e.Operator, e.Cloud.ARMResource)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.Blob.Account(e.World.StorageAccount)
	key := base64.StdEncoding.EncodeToString(a.Keys[0])
	dir := winetest.TempDir(t)
	for name, text := range map[string]string{
		"junit.xml":     "<system-out>Authorization: Bearer " + tok.Raw + "</system-out>",
		"cucumber.json": `{"url":"https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=abcdefghijklmnop%3D"}`,
		"summary.md":    "key " + key + " and " + redact.String("sig=abcdefghijkl") + " (masked: fine)",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(findSecrets(t, tg, dir, "client secret: "+e.Operator.Secret), "\n")
	for _, want := range []string{
		"junit.xml contains a token", "(issued by the emulator: true)", "cucumber.json contains a SAS signature",
		"summary.md contains emulator 0's storage account key 1", "summary.md contains an account key", "pretty output contains emulator 0's operator client secret",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the scan missed %q; it found:\n%s", want, got)
		}
	}
	if strings.Contains(got, "summary.md contains a SAS signature") {
		t.Errorf("a masked signature counted as a leak:\n%s", got)
	}
}
