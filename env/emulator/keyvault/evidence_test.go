package keyvault

import (
	"strings"
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// served lists the operations the data plane serves, read off the route
// table the dispatcher uses, so the list cannot drift from the code.
func served() []string {
	ops := make([]string, 0, len(routes))
	for _, rt := range routes {
		ops = append(ops, rt.method+" /"+strings.Join(rt.pattern, "/"))
	}
	return ops
}

// noEvidenceYet lists the operations Key Vault serves whose answers no
// test yet holds against a recording. It only shrinks: the test fails when
// an operation here has gained evidence, so the list stays true.
var noEvidenceYet = []string{}

// TestEveryOperationHasEvidence holds every data-plane operation against
// the testdata excerpts that are evidence for it.
func TestEveryOperationHasEvidence(t *testing.T) {
	rec.Hold(t, served(), "testdata", ".", noEvidenceYet)
}
