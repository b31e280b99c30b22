package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/miconform/miconform/features/tutorials"
	"github.com/miconform/miconform/runner/suite"
)

// coverage is `runner coverage`: how the scenarios cover the tutorials'
// blocks and claims, read from the feature files without running them.
func coverage(args []string) int { return coverageCmd(args, os.Stdout, os.Stderr) }

func coverageCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("coverage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	articles := fs.String("articles", "", "read the tutorial articles from this directory (same file names as features/tutorials) instead of the embedded copies")
	format := fs.String("format", "text", "text (every block and claim, with the scenarios binding it) or markdown (the summary.md section)")
	setHelp(fs, help{
		usage: "runner coverage [flags] [feature paths...]",
		paths: true,
		about: `Prints, per tutorial article, its code blocks (verbatim / restated / not checked)
and claims (holds / doc-discrepancy / not checked, with why) from the binding tags of
the feature files; nothing runs.`,
		examples: []string{
			"runner coverage                                     # the embedded articles",
			"runner coverage --articles ~/docs/edited            # a docs writer's edited copies",
			"runner coverage --format markdown                   # the summary.md section",
		},
		exits: []string{
			"0    printed",
			"1    a binding tag names no block or claim",
			"2    bad usage, or an article is missing or does not parse",
		},
	})
	paths, err := parseFlags(fs, args, true, stdout, stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	set, ok := loadArticles(*articles, stderr)
	if !ok {
		return 2
	}
	cov, err := suite.Coverage(set, paths...)
	if err != nil {
		fmt.Fprintln(stderr, "runner coverage:", err)
		return 2
	}
	switch *format {
	case "text":
		fmt.Fprint(stdout, cov.Listing())
	case "markdown":
		fmt.Fprint(stdout, cov.Markdown())
	default:
		fmt.Fprintf(stderr, "runner coverage: unknown --format %q (want text or markdown)\n", *format)
		return 2
	}
	if len(cov.Problems) > 0 {
		return 1
	}
	return 0
}

// loadArticles reads the --articles directory (the embedded articles when
// dir is ""), printing what is wrong with it.
func loadArticles(dir string, stderr io.Writer) (*tutorials.Set, bool) {
	set, err := tutorials.Load(dir)
	if err != nil {
		fmt.Fprintf(stderr, "runner: --articles %s: %v\n", dir, err)
		return nil, false
	}
	for _, s := range set.Stale() {
		fmt.Fprintf(stderr, "runner: warning: %s\n", s)
	}
	return set, true
}

// bindingError reports whether err is a run refused for binding tags
// naming nothing.
func bindingError(err error) bool {
	var be *suite.BindingError
	return errors.As(err, &be)
}
