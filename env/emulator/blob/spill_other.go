//go:build !windows

package blob

// spillThreshold is how many bytes of a blob stay in memory before it
// moves to a spill file (spill.go).
const spillThreshold = 4 << 20
