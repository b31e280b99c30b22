package entra

import (
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// noEvidenceYet lists the operations the login host serves whose answers
// no test yet holds against evidence. It only shrinks.
var noEvidenceYet = []string{}

// TestEveryOperationHasEvidence holds every operation of the login host's
// route table (loginRoutes, through Operations) against the testdata
// excerpts that are evidence for it.
func TestEveryOperationHasEvidence(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	rec.Hold(t, f.iss.Operations(), "testdata", ".", noEvidenceYet)
}
