package sandbox

import (
	"errors"
	"runtime"
	"testing"
)

// Off Linux every entry point says, in one line, that the sandbox needs
// Linux; on Linux Supported is nil and Probe decides.
func TestSupportedOnlyOnLinux(t *testing.T) {
	err := Supported()
	if runtime.GOOS == "linux" {
		if err != nil {
			t.Fatalf("Supported on linux: %v", err)
		}
		return
	}
	if !errors.Is(err, ErrNeedsLinux) || !errors.Is(Probe(), ErrNeedsLinux) {
		t.Fatalf("Supported/Probe on %s: %v, %v; want ErrNeedsLinux", runtime.GOOS, err, Probe())
	}
	if err := New(nil, "true").Run(t.Context()); !errors.Is(err, ErrNeedsLinux) {
		t.Fatalf("Run on %s: %v", runtime.GOOS, err)
	}
}
