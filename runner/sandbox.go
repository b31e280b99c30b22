package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/sandbox"
)

// sandboxCmd runs a command on the emulated VM (see env/sandbox) and exits
// with its exit code.
func sandboxCmd(args []string) int {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	cloudName := fs.String("cloud", "AzureCloud", "cloud to emulate: AzureCloud, AzureChinaCloud or AzureUSGovernment")
	stateDir := fs.String("state-dir", "", "directory keeping everything the emulator holds across runs")
	quiet := fs.Bool("quiet", false, "print nothing but the command's own output")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: runner sandbox [flags] -- command [args...]\n\n"+
			"Runs command where 169.254.169.254 is the emulator's IMDS and the cloud's host\n"+
			"names reach the emulator, as on the tutorials' VM. Needs Linux, and root or\n"+
			"unprivileged user namespaces.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Off Linux there is nothing to start: say so before the emulator is up.
	if err := sandbox.Supported(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fs.Usage()
		return 2
	}
	c, err := cloud.Lookup(*cloudName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	e, err := emulator.New(emulator.Config{Cloud: c, StateDir: *stateDir, Seed: "tutorials", IMDSThrottle: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	defer e.Close()
	if !*quiet {
		w := e.World
		fmt.Fprintf(os.Stderr, "sandbox: emulated %s VM %q: subscription %s, resource group %s, tenant %s\n",
			c.Name, w.VMName, e.SubscriptionID(), w.ResourceGroup, e.TenantID())
	}

	// Ctrl-C reaches the command from the terminal (same process group);
	// the sandbox stays until the command ends, then cleans up. SIGTERM
	// and SIGHUP are passed on.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	sb := sandbox.New(e, argv...)
	sb.Stdin, sb.Stdout, sb.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := sb.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, exec.ErrNotFound) {
			return 127
		}
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- sb.Wait() }()
	for {
		select {
		case sig := <-sigs:
			if sig != os.Interrupt {
				sb.Signal(sig)
			}
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				fmt.Fprintln(os.Stderr, "sandbox:", err)
				return 1
			}
			return sb.ExitCode()
		}
	}
}
