package state

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// TestMain has a helper mode, not used in CI: MICONFORM_STATE_REPEAT=200
// runs every test of the package 200 times in a row (as -count=200), to
// show that none is flaky. It takes minutes; give go test -timeout 60m.
func TestMain(m *testing.M) {
	flag.Parse()
	if n := os.Getenv("MICONFORM_STATE_REPEAT"); n != "" {
		if err := flag.Set("test.count", n); err != nil {
			fmt.Fprintln(os.Stderr, "MICONFORM_STATE_REPEAT:", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "state: running every test %s times\n", n)
	}
	os.Exit(m.Run())
}
