package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/faults"
)

// emulate serves the emulator until SIGINT or SIGTERM. It prints KEY=VALUE
// lines other tools can source, then "emulator ready".
func emulate(args []string) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	cloudName := fs.String("cloud", "AzureCloud", "cloud to emulate: AzureCloud, AzureChinaCloud or AzureUSGovernment")
	httpsAddr := fs.String("https-addr", "127.0.0.1:0", "listen address serving every Azure host name (HTTPS)")
	imdsAddr := fs.String("imds-addr", "127.0.0.1:0", "listen address for IMDS (a VM reaches it at 169.254.169.254:80)")
	stateDir := fs.String("state-dir", "", "directory keeping everything (CA, signing key, ids, resources, role assignments, blobs, secrets, SQL databases) across restarts and crashes; writes are answered once on disk")
	stateRepair := fs.Bool("state-dir-repair", false, "start from a --state-dir whose logs are damaged: keep every intact record, move the damaged bytes to side files and say how many records were lost (without it, such a state dir is refused)")
	seed := fs.String("seed", "tutorials", "world to create at start: tutorials or none")
	sqlAddr := fs.String("sql-addr", "127.0.0.1:0", "listen address for Azure SQL's TDS endpoint (a VM reaches it at {server}.database.<suffix>:1433)")
	throttle := fs.Bool("imds-throttle", true, "throttle IMDS token requests as Azure does (20/s, 5 concurrent)")
	legacyAddr := fs.String("legacy-addr", "127.0.0.1:0", "listen address for the 2017 VM extension endpoint (a VM reaches it at localhost:50342)")
	legacyExt := fs.Bool("legacy-extension", false, "install the managed identity VM extension at start, for following the 2017 tutorial by hand")
	allowRemote := fs.Bool("allow-remote", false, "allow listen addresses other than loopback (anyone who reaches them can get the emulated tenant's tokens)")
	faultSpec := fs.String("faults", "", faultsUsage)
	pidFile := fs.String("pid-file", "", "write the emulator's process id to this `file` once it is ready, and remove it at exit (a script stops the emulator with kill \"$(cat file)\")")
	lroPolls := fs.Int("lro-polls", arm.DefaultLROTiming.Polls, "how many polls (or GETs of the resource) a long-running operation (storage account, SQL server or database, vault create; VM, NIC or disk create, update or delete) answers \"in progress\" before it is done")
	lroRetryAfter := fs.Int("lro-retry-after", arm.DefaultLROTiming.RetryAfter, "Retry-After seconds sent while a long-running create is in progress")
	lroMin := fs.Duration("lro-min-duration", 0, "least time a long-running create stays in progress (e.g. 30s, to watch a client wait)")
	setHelp(fs, help{
		usage: "runner emulate [flags]",
		about: `Serves the emulator alone until Ctrl-C or SIGTERM: IMDS, the legacy VM extension
endpoint, the token issuer, Resource Manager, Blob Storage, Key Vault (one HTTPS
port routing every Azure host name of the cloud) and Azure SQL's TDS. It prints
KEY=VALUE lines a shell can source (addresses, CA file, ids, seeded names, the
operator's credentials), then "emulator ready". Call the HTTPS port by the Azure
host name: curl --connect-to management.azure.com:443:$MICONFORM_HTTPS_ADDR ...`,
		examples: []string{
			"runner emulate                                      # prints KEY=VALUE lines, then \"emulator ready\"",
			"runner emulate --cloud AzureChinaCloud --state-dir .state",
			"runner emulate --legacy-extension                   # the 2017 VM extension endpoint answers",
			`runner emulate --faults '{"rbac":{"grantDelaySeconds":30}}'`,
			"go build -o /tmp/runner ./runner && /tmp/runner emulate --pid-file /tmp/emu.pid > /tmp/emulator.env &",
		},
		exits: []string{
			"0    stopped by Ctrl-C or SIGTERM after a clean shutdown",
			"1    could not start (address in use, state directory unreadable, ...) or stop cleanly",
			"2    bad usage: unknown flag, bad value (cloud, --faults, --seed), an argument",
		},
	})
	rest, err := parseFlags(fs, args, false, os.Stdout, os.Stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(os.Stderr, "emulate: takes no arguments (got %q); run 'runner emulate --help'\n", rest)
		return 2
	}
	if *seed != "tutorials" && *seed != "none" {
		fmt.Fprintf(os.Stderr, "emulate: --seed %q: want tutorials or none\n", *seed)
		return 2
	}
	if *lroPolls < 0 || *lroRetryAfter < 0 || *lroMin < 0 {
		fmt.Fprintln(os.Stderr, "emulate: --lro-polls, --lro-retry-after and --lro-min-duration must not be negative")
		return 2
	}
	c, err := cloud.Lookup(*cloudName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		return 2
	}
	set, err := parseFaults(*faultSpec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate: --faults:", err)
		return 2
	}
	cfg := emulator.Config{Cloud: c, StateDir: *stateDir, StateRepair: *stateRepair, HTTPSAddr: *httpsAddr, IMDSAddr: *imdsAddr, Seed: *seed, IMDSThrottle: *throttle, SQLAddr: *sqlAddr,
		LegacyAddr: *legacyAddr, LegacyExtension: *legacyExt, Faults: set, AllowRemote: *allowRemote,
		LRO: &arm.LROTiming{Polls: *lroPolls, RetryAfter: *lroRetryAfter, MinDuration: *lroMin}}
	if remote := emulator.RemoteAddrs(cfg); len(remote) > 0 && *allowRemote {
		fmt.Fprintf(os.Stderr, "emulate: WARNING: listening on %s, reachable from other machines: anyone who reaches IMDS gets tokens for the emulated tenant\n", strings.Join(remote, ", "))
	}
	e, err := emulator.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		return 1
	}
	env, err := e.Env()
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		e.Close()
		return 1
	}
	for _, kv := range env {
		fmt.Printf("%s=%s\n", kv.Key, shellQuote(kv.Value))
	}
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "emulate: --pid-file:", err)
			e.Close()
			return 1
		}
		defer os.Remove(*pidFile)
	}
	fmt.Println("emulator ready")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "emulate: shutting down")
	if err := e.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		return 1
	}
	return 0
}

// faultsUsage is --faults' help, shared by emulate and sandbox.
const faultsUsage = `faults in force from the start, as JSON or @file, e.g. '{"rbac":{"grantDelaySeconds":30}}' (see env/emulator/faults; change them at runtime under https://<host>/_emulator/faults)`

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]*$`)

// shellQuote quotes a value so the KEY=VALUE lines can be sourced by a POSIX
// shell as they are (the seeded blob is "hello world.txt").
func shellQuote(v string) string {
	if shellSafe.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// parseFaults reads --faults: inline JSON, or @path to a JSON file.
func parseFaults(spec string) (*faults.Set, error) {
	if spec == "" {
		return nil, nil
	}
	b := []byte(spec)
	if path, ok := strings.CutPrefix(spec, "@"); ok {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	var set faults.Set
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		return nil, err
	}
	return &set, nil
}
