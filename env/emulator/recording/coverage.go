package recording

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Evidence kinds, in the order the project trusts them: a recording of live
// Azure made by an SDK's or the CLI's test suite, an answer of live Azure
// captured in some other public repository, and the REST specification's
// example for the api-version (used only where neither of the others
// exists for the operation).
const (
	EvidenceRecording   = "recording"
	EvidenceCapture     = "capture"
	EvidenceSpecExample = "spec-example"
)

// Excerpt is what Coverage reads of a testdata file: the operations the
// file is evidence for, and what kind of evidence it is. Files in any of
// the packages' excerpt formats carry these two top-level fields.
type Excerpt struct {
	File string `json:"-"`
	// Operations are "METHOD pattern" as the service's route table writes
	// them; one recording of a long-running create is evidence for the
	// PUT, the status poll and the final GET, say.
	Operations []string `json:"operations"`
	Evidence   string   `json:"evidence"`
	// Source names the repository and path (a string, or an object with
	// repo and path).
	Source json.RawMessage `json:"source"`
}

// SourceText is the excerpt's source as one line: "repo path" for the
// object form.
func (e Excerpt) SourceText() string {
	var s string
	if json.Unmarshal(e.Source, &s) == nil {
		return s
	}
	var o struct{ Repo, Path string }
	if json.Unmarshal(e.Source, &o) == nil && o.Repo != "" {
		return o.Repo + " " + o.Path
	}
	return string(e.Source)
}

// Excerpts reads every *.json file in dir that names the operations it is
// evidence for. Files that name none (fixtures that are not evidence) are
// skipped.
func Excerpts(dir string) ([]Excerpt, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Excerpt
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var e Excerpt
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		if len(e.Operations) == 0 {
			continue
		}
		e.File = filepath.Base(f)
		out = append(out, e)
	}
	return out, nil
}

// Coverage holds a service's excerpts against the operations it serves,
// and lists what is wrong, so that a test can fail on it:
//   - an operation served with no excerpt naming it;
//   - an excerpt naming an operation the service does not serve (a typo, or
//     an operation since removed);
//   - an excerpt with no source or an evidence kind not known;
//   - an excerpt no test reads: its file name must appear in one of the
//     package's _test.go files (pkgDir), so that evidence on disk is
//     evidence a test compares with.
//
// served are "METHOD pattern" strings, compared case-insensitively.
func Coverage(served []string, testdata, pkgDir string) ([]string, error) {
	ex, err := Excerpts(testdata)
	if err != nil {
		return nil, err
	}
	tests, err := filepath.Glob(filepath.Join(pkgDir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	var src strings.Builder
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		src.Write(b)
	}
	known := map[string]bool{}
	for _, op := range served {
		known[strings.ToLower(op)] = true
	}
	covered := map[string]bool{}
	var probs []string
	for _, e := range ex {
		switch e.Evidence {
		case EvidenceRecording, EvidenceCapture, EvidenceSpecExample:
		default:
			probs = append(probs, fmt.Sprintf("%s: evidence %q is none of recording, capture, spec-example", e.File, e.Evidence))
		}
		if len(e.Source) == 0 || string(e.Source) == `""` || string(e.Source) == "null" {
			probs = append(probs, e.File+": names no source")
		}
		if !strings.Contains(src.String(), e.File) {
			probs = append(probs, e.File+": no test of the package reads it")
		}
		for _, op := range e.Operations {
			if !known[strings.ToLower(op)] {
				probs = append(probs, fmt.Sprintf("%s: names %q, which the service does not serve", e.File, op))
			}
			covered[strings.ToLower(op)] = true
		}
	}
	for _, op := range served {
		if !covered[strings.ToLower(op)] {
			probs = append(probs, "no evidence for "+op)
		}
	}
	sort.Strings(probs)
	return probs, nil
}

// TB is the part of testing.TB Hold uses.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Hold fails t for every Coverage problem, but for operations listed in
// noEvidenceYet (those a service serves that no test yet holds against
// evidence). The list may only shrink: an operation in it that has
// evidence now fails t too, so the list stays true.
func Hold(t TB, served []string, testdata, pkgDir string, noEvidenceYet []string) {
	t.Helper()
	probs, err := Coverage(served, testdata, pkgDir)
	if err != nil {
		t.Errorf("coverage: %v", err)
		return
	}
	pending := map[string]bool{}
	for _, op := range noEvidenceYet {
		pending["no evidence for "+op] = true
	}
	for _, p := range probs {
		if pending[p] {
			delete(pending, p)
			continue
		}
		t.Errorf("%s", p)
	}
	stale := make([]string, 0, len(pending))
	for p := range pending {
		stale = append(stale, strings.TrimPrefix(p, "no evidence for "))
	}
	sort.Strings(stale)
	for _, op := range stale {
		t.Errorf("%s has evidence now, or is not served: remove it from noEvidenceYet", op)
	}
}
