package main

import (
	"context"
	"testing"

	"github.com/miconform/miconform/env/emulator/entra/entratest"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/parallel"
)

// emulatorCtx is the context of runs on the emulator target: it signs with
// the test process's key rather than make one per run.
func emulatorCtx() context.Context {
	return withEmulatorOptions(context.Background(), target.EmulatorOptions{SigningKey: entratest.Key()})
}

// Most of these tests wait (on polls, retries, shutdowns, other
// processes) rather than compute: run eight at a time, not one per CPU.
func TestMain(m *testing.M) { parallel.Main(m, 8) }
