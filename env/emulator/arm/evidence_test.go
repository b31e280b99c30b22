package arm_test

import (
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// noEvidenceYet lists the operations Resource Manager serves whose answers
// no test yet holds against a recording. It only shrinks: the test fails
// when an operation here has gained evidence, so the list stays true.
var noEvidenceYet = []string{
	// Empty: the administrator's OperationResults, the last entry, is held
	// against a track-1 .NET recording that reads a drop's Location
	// (sql_admin_drop.json, recorded_sql_admin_drop_test.go).
}

// TestEveryOperationHasEvidence holds every operation Resource Manager
// serves (its own and the providers') against the testdata excerpts that
// are evidence for it: each is named by an excerpt a test of this package
// reads, and each excerpt cites its source and kind.
func TestEveryOperationHasEvidence(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	rec.Hold(t, w.e.ARM.Operations(), "testdata", ".", noEvidenceYet)
}
