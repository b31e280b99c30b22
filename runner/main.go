// Command runner runs the managed-identity tutorials as Gherkin features.
//
//	go run ./runner                       every tutorial on an in-process emulator
//	go run ./runner --cloud AzureChinaCloud --tags @tutorial:rm-user-identity
//	go run ./runner --target azure        on the Azure VM this runs on
//	go run ./runner emulate               serve the emulator alone
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/runner/suite"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "emulate" {
		os.Exit(emulate(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	cloudName := fs.String("cloud", "AzureCloud", "cloud profile: AzureCloud, AzureChinaCloud or AzureUSGovernment (on Azure, default: the VM's)")
	targetName := fs.String("target", "emulator", "where to run: emulator (in-process) or azure (the VM this runs on)")
	tags := fs.String("tags", "", "godog tag expression selecting scenarios, e.g. @tutorial:rm-system-identity")
	reports := fs.String("reports", "reports", "directory for junit.xml, cucumber.json and summary.md")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: runner [flags] [feature paths...]\n       runner emulate [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var tg target.Target
	switch *targetName {
	case "emulator":
		c, err := cloud.Lookup(*cloudName)
		if err != nil {
			fmt.Fprintln(os.Stderr, "runner:", err)
			return 2
		}
		t, err := target.NewEmulator(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "runner: starting the emulator:", err)
			return 1
		}
		tg = t
	case "azure":
		o := target.AzureOptions{}
		if isSet(fs, "cloud") {
			o.Cloud = *cloudName
		}
		t, err := target.NewAzure(ctx, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "runner:", err)
			return 1
		}
		tg = t
	default:
		fmt.Fprintf(os.Stderr, "runner: unknown target %q (want emulator or azure)\n", *targetName)
		return 2
	}
	defer tg.Close(context.WithoutCancel(ctx))

	start := time.Now()
	res, ok, err := suite.Run(ctx, suite.Options{Target: tg, Paths: fs.Args(), Tags: *tags, ReportDir: *reports, Output: os.Stdout, Colors: isTerminal(os.Stdout)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		return 1
	}
	fmt.Printf("\n%s\n", res.Table())
	fmt.Printf("target %s, cloud %s, %s; reports in %s/\n", tg.Name(), tg.Cloud().Name, time.Since(start).Round(time.Millisecond), *reports)
	if errors.Is(ctx.Err(), context.Canceled) {
		fmt.Fprintln(os.Stderr, "runner: interrupted")
		return 130
	}
	if !ok {
		return 1
	}
	return 0
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// isTerminal reports whether f is a character device (colors help a person
// reading a terminal and garble CI logs and files).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
