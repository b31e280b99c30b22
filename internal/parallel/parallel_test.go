package parallel

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

func TestSet(t *testing.T) {
	f := flag.Lookup("test.parallel")
	old := f.Value.String()
	t.Cleanup(func() { _ = flag.Set("test.parallel", old) })
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })

	Set(runtime.GOMAXPROCS(0) + 7)
	want := strconv.Itoa(runtime.GOMAXPROCS(0) + 7)
	if given {
		want = old // a -test.parallel on the command line wins
	}
	if got := f.Value.String(); got != want {
		t.Errorf("after Set: -test.parallel %s, want %s", got, want)
	}

	_ = flag.Set("test.parallel", old)
	Set(1)
	if got := f.Value.String(); got != old {
		t.Errorf("Set below the CPUs changed -test.parallel to %s (was %s)", got, old)
	}
}
