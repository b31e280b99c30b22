// Package emulatortest starts emulators for tests, the one way every
// package's tests do (env/emulator and its service packages, the sandbox,
// the runner's): in memory unless the test asks for a state dir, signing
// with one key per test process, in a state dir too (each emulator still
// has a tenant of its own, and its services refuse another tenant's
// tokens), and reached
// through the emulator's in-process transport unless the test asks for
// listeners. A test about listeners, TLS, the wire, or a program that
// dials (the TDS client, the sandbox's curl) sets Listen; a test about
// persistence sets Config.StateDir.
package emulatortest

import (
	"net/http"
	"testing"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/entra/entratest"
)

// Options say what to start.
type Options struct {
	// Config is the emulator's configuration; a zero Cloud is AzureCloud.
	// Without a StateDir the emulator signs with SharedKey.
	Config emulator.Config
	// Listen opens the emulator's listeners (Emulator.Start).
	Listen bool
}

// Start builds an emulator (and starts it with Listen) that is closed when
// the test ends.
func Start(t testing.TB, o Options) *emulator.Emulator {
	t.Helper()
	cfg := o.Config
	if cfg.Cloud.Name == "" {
		cfg.Cloud = cloud.MustLookup("AzureCloud")
	}
	switch {
	case cfg.StateDir == "" && cfg.SigningKey == nil:
		cfg.SigningKey = SharedKey()
	case cfg.StateDir != "":
		// A state dir keeps its own key: give a fresh one this process's
		// (a restart on it then loads it, as it would a generated one).
		if err := entra.SeedSigningKey(cfg.StateDir, SharedKey()); err != nil {
			t.Fatalf("emulator: %v", err)
		}
	}
	e, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if o.Listen {
		if err := e.Start(); err != nil {
			t.Fatalf("emulator: %v", err)
		}
	}
	return e
}

// Client reaches e at the real Azure URLs in process (no listener, no
// TLS); loopback addresses go to e's listeners.
func Client(e *emulator.Emulator) *http.Client { return e.InProcessClient() }

// SharedKey is the test process's signing key (entratest.Key): an RSA
// key generation once, not once per emulator.
func SharedKey() *entra.SigningKey { return entratest.Key() }
