package suite_test

import (
	"context"
	"testing"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/runner/suite"
)

// BenchmarkSuite is the wall time of the whole suite (every feature, one
// cloud) on the embedded emulator, as `go run ./runner` runs it: start the
// emulator, run the scenarios (DefaultConcurrency at once), write the
// reports, close. The scenarios' own waits (fault windows, Retry-After,
// the Azure CLI's start-up) are part of it.
//
//	go test -run XXX -bench Suite -benchtime 5x ./runner/suite
func BenchmarkSuite(b *testing.B) {
	for b.Loop() {
		tg, err := target.NewEmulator(cloud.MustLookup("AzureCloud"))
		if err != nil {
			b.Fatal(err)
		}
		res, ok, err := suite.Run(context.Background(), suite.Options{Target: tg, ReportDir: b.TempDir()})
		if err != nil || !ok {
			b.Fatalf("the suite failed (%v):\n%s", err, res.Table())
		}
		if err := tg.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Counts().Tests), "scenarios/op")
	}
}
