package main

import (
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Off Linux, `runner sandbox` says in one line that it needs Linux and
// exits 1 before starting an emulator.
func TestSandboxNeedsLinux(t *testing.T) {
	if runtime.GOOS == "linux" {
		t.Skip("the sandbox runs on Linux (env/sandbox tests)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	code := sandboxCmd([]string{"--", "true"})
	os.Stderr = stderr
	w.Close()
	out, _ := io.ReadAll(r)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if got := strings.TrimSpace(string(out)); strings.Count(got, "\n") != 0 || !strings.Contains(got, "needs Linux") || strings.Contains(got, "emulated") {
		t.Errorf("stderr %q: want one line saying the sandbox needs Linux, and no emulator started", got)
	}
}
