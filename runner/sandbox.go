package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	stateDir := fs.String("state-dir", "", "`directory` keeping everything the emulator holds across runs")
	quiet := fs.Bool("quiet", false, "print nothing but the command's own output")
	seed := fs.String("seed", "tutorials", "world to create at start: tutorials or none")
	legacyExt := fs.Bool("legacy-extension", false, "install the managed identity VM extension at start, so the 2017 tutorial's localhost:50342 answers")
	faultSpec := fs.String("faults", "", faultsUsage)
	setHelp(fs, help{
		usage: "runner sandbox [flags] -- command [args...]",
		about: `Runs command where 169.254.169.254 is the emulator's IMDS and the cloud's host
names reach the emulator, as on the tutorials' VM. The Azure CLI gets a
configuration directory of its own (AZURE_CONFIG_DIR, removed at exit): the host's
~/.azure is neither read nor written, so 'az login' or 'az cloud set' inside leave
the host's CLI as it was. Before the command starts, it prints (to stderr) the VM,
the seeded resources the tutorials name and the operator's credentials (for undoing
grants the way the tutorials' portal steps do). Needs Linux, and root or
unprivileged user namespaces.`,
		examples: []string{
			"runner sandbox -- bash                              # a shell on the emulated VM",
			"runner sandbox --cloud AzureChinaCloud -- bash",
			"runner sandbox --legacy-extension -- curl -s 'http://localhost:50342/oauth2/token?resource=https://management.azure.com/' -H Metadata:true",
			"runner sandbox --quiet -- az login --identity",
		},
		exits: []string{
			"n    the command's own exit code",
			"1    the sandbox or the emulator could not start",
			"2    bad usage: unknown flag, bad value, no command",
			"127  the command was not found",
			"130  the command ended on Ctrl-C (the shell's convention for SIGINT)",
		},
	})
	argv, err := parseFlags(fs, args, false, os.Stdout, os.Stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	// Off Linux there is nothing to start: say so before the emulator is up.
	if err := sandbox.Supported(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "sandbox: no command; e.g. runner sandbox -- bash (run 'runner sandbox --help')")
		return 2
	}
	if *seed != "tutorials" && *seed != "none" {
		fmt.Fprintf(os.Stderr, "sandbox: --seed %q: want tutorials or none\n", *seed)
		return 2
	}
	c, err := cloud.Lookup(*cloudName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 2
	}
	set, err := parseFaults(*faultSpec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: --faults:", err)
		return 2
	}
	e, err := emulator.New(emulator.Config{Cloud: c, StateDir: *stateDir, Seed: *seed, IMDSThrottle: true, LegacyExtension: *legacyExt, Faults: set})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	defer e.Close()
	// The Azure CLI's state (sign-in, default subscription, cloud) lives
	// here, not in the host's ~/.azure.
	azDir, err := os.MkdirTemp("", "miconform-sandbox-azure-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	defer os.RemoveAll(azDir)
	if !*quiet {
		printSandbox(os.Stderr, e, azDir)
	}

	// Ctrl-C reaches the command from the terminal (same process group);
	// the sandbox stays until the command ends, then cleans up. SIGTERM
	// and SIGHUP are passed on.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	sb := sandbox.New(e, argv...)
	sb.Stdin, sb.Stdout, sb.Stderr = os.Stdin, os.Stdout, os.Stderr
	sb.Env = append(withoutEnv(os.Environ(), "AZURE_CONFIG_DIR"), "AZURE_CONFIG_DIR="+azDir)
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
				_ = sb.Signal(sig) // the program may have exited already
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

// printSandbox says what the tutorials will ask for: the VM, every seeded
// resource they name, the operator's credentials, where az keeps its state.
func printSandbox(w io.Writer, e *emulator.Emulator, azDir string) {
	wd := e.World
	fmt.Fprintf(w, "sandbox: emulated %s VM %q: subscription %s, resource group %s, tenant %s\n",
		e.Cloud.Name, wd.VMName, e.SubscriptionID(), wd.ResourceGroup, e.TenantID())
	if wd.VaultName != "" {
		fmt.Fprintf(w, "sandbox: user-assigned identity %s (client id %s)\n", wd.UserIdentityName, wd.UserIdentityClientID)
		fmt.Fprintf(w, "sandbox: Key Vault %s.%s, secret %s\n", wd.VaultName, e.Cloud.VaultSuffix, wd.SecretName)
		fmt.Fprintf(w, "sandbox: storage account %s (https://%s.blob.%s), container %s, blob %q\n", wd.StorageAccount, wd.StorageAccount, e.Cloud.StorageSuffix, wd.Container, wd.Blob)
		fmt.Fprintf(w, "sandbox: SQL server %s.%s, database %s, table %s\n", wd.SQLServer, e.Cloud.SQLSuffix, wd.SQLDatabase, wd.SQLTable)
	}
	fmt.Fprintf(w, "sandbox: operator (Owner of the subscription, for granting and undoing roles): client id %s, client secret %s, tenant %s\n",
		e.Operator.ClientID, e.Operator.Secret, e.TenantID())
	fmt.Fprintf(w, "sandbox: az keeps its state in %s (removed at exit; ~/.azure is not used)\n", azDir)
}
