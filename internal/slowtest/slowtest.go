// Package slowtest is the one switch for the tests that start heavy
// programs of their own (the Azure CLI, Chromium, a freshly built runner
// killed mid-load): they run when MICONFORM_SLOW=1, as .ci/run sets it,
// and are skipped otherwise, saying how to run them, so that a plain
// `go test ./...` stays within its budget (README, "Tests").
package slowtest

import (
	"os"
	"testing"
)

// Env is the variable that turns the slow tests on.
const Env = "MICONFORM_SLOW"

// Enabled reports whether the slow tests run.
func Enabled() bool { return os.Getenv(Env) == "1" }

// Require skips t unless the slow tests run; why says what makes it slow.
func Require(t testing.TB, why string) {
	t.Helper()
	if !Enabled() {
		t.Skipf("slow test (%s): run it with %s=1 go test ./... (.ci/run does)", why, Env)
	}
}
