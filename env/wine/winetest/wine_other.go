//go:build !windows

package winetest

// UnderWine is false: Wine runs Windows programs only.
func UnderWine() bool { return false }
