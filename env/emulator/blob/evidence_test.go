package blob_test

import (
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// noEvidenceYet lists the operations the Blob data plane serves whose
// answers no test yet holds against a recording. It only shrinks: the
// test fails when an operation here has gained evidence, so the list
// stays true.
var noEvidenceYet = []string{}

// TestEveryOperationHasEvidence holds every operation the Blob data plane
// serves (its route table, through Service.Operations) against the
// testdata excerpts that are evidence for it: each is named by an excerpt
// a test of this package reads, and each excerpt cites its source and
// kind.
func TestEveryOperationHasEvidence(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	rec.Hold(t, f.e.Blob.Operations(), "testdata", ".", noEvidenceYet)
}
