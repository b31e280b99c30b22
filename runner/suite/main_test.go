package suite_test

import (
	"testing"

	"github.com/miconform/miconform/internal/parallel"
)

// TestFeatures runs the three clouds at once, and each waits in places
// (the Azure CLI, long-running operations, injected faults): all at once,
// not one per CPU.
func TestMain(m *testing.M) { parallel.Main(m, 8) }
