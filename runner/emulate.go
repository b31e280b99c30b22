package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
)

// emulate serves the emulator until SIGINT or SIGTERM. It prints KEY=VALUE
// lines other tools can source, then "emulator ready".
func emulate(args []string) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	cloudName := fs.String("cloud", "AzureCloud", "cloud to emulate: AzureCloud, AzureChinaCloud or AzureUSGovernment")
	httpsAddr := fs.String("https-addr", "127.0.0.1:0", "listen address serving every Azure host name (HTTPS)")
	imdsAddr := fs.String("imds-addr", "127.0.0.1:0", "listen address for IMDS (a VM reaches it at 169.254.169.254:80)")
	stateDir := fs.String("state-dir", "", "directory keeping the CA, the token signing key and the tenant's ids across restarts")
	seed := fs.String("seed", "tutorials", "world to create at start: tutorials or none")
	sqlAddr := fs.String("sql-addr", "127.0.0.1:0", "listen address for Azure SQL's TDS endpoint (a VM reaches it at {server}.database.<suffix>:1433)")
	throttle := fs.Bool("imds-throttle", true, "throttle IMDS token requests as Azure does (20/s, 5 concurrent)")
	legacyAddr := fs.String("legacy-addr", "127.0.0.1:0", "listen address for the 2017 VM extension endpoint (a VM reaches it at localhost:50342)")
	legacyExt := fs.Bool("legacy-extension", false, "install the managed identity VM extension at start, for following the 2017 tutorial by hand")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := cloud.Lookup(*cloudName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulate:", err)
		return 2
	}
	e, err := emulator.New(emulator.Config{Cloud: c, StateDir: *stateDir, HTTPSAddr: *httpsAddr, IMDSAddr: *imdsAddr, Seed: *seed, IMDSThrottle: *throttle, SQLAddr: *sqlAddr,
		LegacyAddr: *legacyAddr, LegacyExtension: *legacyExt})
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

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]*$`)

// shellQuote quotes a value so the KEY=VALUE lines can be sourced by a POSIX
// shell as they are (the seeded blob is "hello world.txt").
func shellQuote(v string) string {
	if shellSafe.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
