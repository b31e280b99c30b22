package target_test

import (
	"testing"

	"github.com/miconform/miconform/internal/parallel"
)

// Most of these tests wait (on polls, retries, shutdowns, other
// processes) rather than compute: run eight at a time, not one per CPU.
func TestMain(m *testing.M) { parallel.Main(m, 8) }
