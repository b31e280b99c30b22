package imds

import (
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// noEvidenceYet lists the operations IMDS and the legacy VM extension
// serve whose answers no test yet holds against evidence. It only shrinks.
//   - /metadata/versions: no SDK recording, captured answer or spec example
//     of it was found (the 2023-07-01 spec names an example GetVersions.json
//     the specs repository does not hold); only the IMDS article shows it.
//   - The VM extension's /oauth2/token (localhost:50342): deprecated before
//     the SDK test suites recorded anything; its answers appear only in the
//     2017 tutorials under test, which are not evidence, and no captured
//     real answer was found.
var noEvidenceYet = []string{
	"GET /metadata/versions",
	"GET /oauth2/token",
	"POST /oauth2/token",
}

// served is what the package serves: IMDS's route table and the
// extension's operation, both read off the code that dispatches.
func served(t *testing.T) []string {
	f := newFixture(t, "AzureCloud")
	x := NewExtension(f.iss, nil, "", "")
	return append(f.srv.Operations(), x.Operations()...)
}

// TestEveryOperationHasEvidence holds every operation against the testdata
// excerpts that are evidence for it.
func TestEveryOperationHasEvidence(t *testing.T) {
	rec.Hold(t, served(t), "testdata", ".", noEvidenceYet)
}
