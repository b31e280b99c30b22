package imds

import (
	"testing"

	rec "github.com/miconform/miconform/env/emulator/recording"
)

// noEvidenceYet lists the operations IMDS and the legacy VM extension
// serve whose answers no test yet holds against evidence. It only shrinks.
//   - The VM extension's /oauth2/token (localhost:50342), GET and POST:
//     retired in January 2019, before the SDK test suites recorded
//     anything. Searched: azure-cli and msrestazure issues and code (only
//     azure-cli#5123 shows a real VM's answer, and only its status line:
//     "POST /oauth2/token HTTP/1.1" 200 1349), Terraform/Packer and
//     azure-docs issues (the 2017 tutorials under test, and their
//     translations, which are not evidence), and Cloud Shell's answers on
//     the same port (another service: azure-cli#20715, #29057 show status
//     lines only). No body or header of a real extension answer was found.
//
// /metadata/versions is held against a captured answer
// (versions_captured.json, recorded_versions_test.go).
var noEvidenceYet = []string{
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
