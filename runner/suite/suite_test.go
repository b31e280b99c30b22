package suite_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/runner/suite"
)

// TestFeatures runs every feature on an in-process emulator of each cloud.
func TestFeatures(t *testing.T) {
	for _, name := range cloud.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tg, err := target.NewEmulator(cloud.MustLookup(name))
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close(context.Background())
			var pretty bytes.Buffer
			dir := t.TempDir()
			res, ok, err := suite.Run(context.Background(), suite.Options{Target: tg, T: t, ReportDir: dir, Output: &pretty})
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("features failed on %s:\n%s", name, res.Table())
			}
			// Every report and log of the full run is free of secrets.
			assertNoSecrets(t, tg, dir, pretty.String())
		})
	}
}
