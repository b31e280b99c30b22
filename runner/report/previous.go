package report

import (
	"encoding/xml"
	"os"
	"strconv"
	"time"
)

// LongestScenarios reads the JUnit file a previous run wrote at path and
// returns, per feature file (as its testsuite's file attribute names it,
// DisplayPath's form), its longest scenario's duration: what bounds a
// feature whose scenarios run at once. It returns nil when there is no
// readable file; a run without history runs in file order.
func LongestScenarios(path string) map[string]time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil
	}
	out := map[string]time.Duration{}
	for _, s := range doc.Suites {
		if s.File == "" {
			continue
		}
		var longest time.Duration
		for _, c := range s.Cases {
			if secs, err := strconv.ParseFloat(c.Time, 64); err == nil && secs > 0 && secs < 1e6 {
				longest = max(longest, time.Duration(secs*float64(time.Second)))
			}
		}
		out[s.File] = longest
	}
	return out
}
