// Package parallel lets a package whose tests mostly wait (on timers,
// polls, retries with backoff, other processes) run more of them at once
// than go test's default of one per CPU: on a two-core laptop, two tests
// that sleep otherwise hold back every other parallel test of the package
// while the CPUs idle.
package parallel

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// Main runs m with at least n parallel tests at a time (TestMain calls
// it). A -test.parallel given on the command line is kept as given.
func Main(m *testing.M, n int) {
	Set(n)
	os.Exit(m.Run())
}

// Set raises -test.parallel to n, unless it was given on the command line
// or the CPUs already allow more; it parses the command line first, as
// m.Run would.
func Set(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if given || n <= runtime.GOMAXPROCS(0) {
		return
	}
	_ = flag.Set("test.parallel", strconv.Itoa(n))
}
