package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/runner/suite"
	"github.com/miconform/miconform/steps"
)

// list is `runner list`: what a run could select.
func list(args []string) int {
	return listCmd(args, os.Stdout, os.Stderr)
}

func listCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	tags := fs.String("tags", "", "list only the scenarios this tag expression selects, e.g. '@tutorial:sql and not @failure'")
	targetName := fs.String("target", "", "list only what runs on this target: emulator or azure (default: every scenario)")
	withSteps := fs.Bool("steps", false, "also list the step patterns the features may use (the step definitions' regular expressions)")
	setHelp(fs, help{
		usage: "runner list [flags] [feature paths...]",
		paths: true,
		about: `Lists the tutorials (tag, title, feature file), then every scenario as
file:line (pass it to runner to run that scenario alone; for a Scenario Outline,
every row of it), its name and its tags, then every tag in use.`,
		examples: []string{
			"runner list                                         # everything",
			"runner list --tags @tutorial:keyvault               # one tutorial's scenarios",
			"runner list --target azure features/sql.feature     # what a nightly run on Azure runs",
			"runner list --steps                                 # with the step patterns",
		},
		exits: []string{
			"0    listed",
			"1    a feature does not parse",
			"2    bad usage: unknown flag, missing path, bad tag expression, file:line without a scenario",
		},
	})
	paths, err := parseFlags(fs, args, true, stdout, stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	if *targetName != "" && *targetName != "emulator" && *targetName != "azure" {
		fmt.Fprintf(stderr, "list: unknown target %q (want emulator or azure)\n", *targetName)
		return 2
	}
	sel, err := suite.Select(paths, *tags, *targetName)
	if err != nil {
		fmt.Fprintln(stderr, "list:", err)
		if errors.Is(err, suite.ErrUsage) {
			return 2
		}
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TUTORIAL\tSCENARIOS\tFEATURE\tTITLE")
	for _, f := range sel.Features {
		tut := f.Tutorial
		if tut == "" {
			tut = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", tut, len(f.Scenarios), f.Path, f.Name)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tNAME\tTAGS")
	for _, f := range sel.Features {
		for _, s := range f.Scenarios {
			name := s.Name
			if s.Row > 0 {
				name += fmt.Sprintf(" (example row, line %d)", s.Row)
			}
			fmt.Fprintf(tw, "%s:%d\t%s\t%s\n", f.Path, s.Line, name, strings.Join(s.Tags, " "))
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d scenario(s) in %d feature(s).\n", sel.Count(), len(sel.Features))
	fmt.Fprintf(stdout, "Tags: %s\n", strings.Join(sel.All, " "))
	if len(sel.Unknown) > 0 {
		for _, t := range sel.Unknown {
			fmt.Fprintf(stderr, "list: no scenario has the tag %s%s\n", t, suggest(t, sel.All, ""))
		}
	}
	if *withSteps {
		fmt.Fprintln(stdout, "\nStep patterns:")
		printSteps(stdout)
	}
	return 0
}

// printSteps lists the step definitions' patterns and where they are
// defined, from godog's --definitions output (which colors it always).
func printSteps(w io.Writer) {
	var b bytes.Buffer
	godog.TestSuite{
		ScenarioInitializer: func(sc *godog.ScenarioContext) { steps.Register(sc, nil) },
		Options:             &godog.Options{ShowStepDefinitions: true, NoColors: true, Output: &b, Format: "progress"},
	}.Run()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range strings.Split(ansi.ReplaceAllString(b.String(), ""), "\n") {
		pattern, where, _ := strings.Cut(l, "# ")
		if pattern = strings.TrimSpace(pattern); pattern == "" {
			continue
		}
		where, _, _ = strings.Cut(where, " -> ")
		fmt.Fprintf(tw, "  %s\t%s\n", "steps/"+strings.TrimSpace(where), pattern)
	}
	tw.Flush()
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)
