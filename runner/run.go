package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/internal/redact"
	"github.com/miconform/miconform/runner/report"
	"github.com/miconform/miconform/runner/suite"
)

// run is `runner [flags] [features...]`: the tutorials on a target.
func run(args []string) int {
	ctx, stop := interruptible(os.Stderr)
	defer stop()
	return runTutorials(ctx, args, os.Stdout, os.Stderr)
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM.
// The first signal lets the run wind down and tear down what it created; a
// second one kills the process as usual (leftovers are then the sweep's).
// The stop it returns ends the watch quietly: a normal exit is not an
// interrupt (signal.NotifyContext's stop cancels its context, which a
// watcher cannot tell from a signal).
func interruptible(stderr io.Writer) (context.Context, context.CancelFunc) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	return watchInterrupt(sigs, func() { signal.Stop(sigs) }, stderr)
}

// watchInterrupt is interruptible on a given signal channel (tests send on
// it); release stops delivery to it.
func watchInterrupt(sigs <-chan os.Signal, release func(), stderr io.Writer) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-sigs:
			release() // the next signal has its default effect
			fmt.Fprintln(stderr, "runner: interrupted; finishing cleanup (interrupt again to abandon it)")
			cancel()
		case <-quit:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			release()
			close(quit)
			<-exited
			cancel()
		})
	}
}

// azureFlags are the flags the Azure target shares between a run and a
// sweep: what overrides discovery and the fixture names.
type azureFlags struct {
	config                                  *string
	tenant, subscription, resourceGroup     *string
	vmName, vmResourceID, location, rbacWin *string
}

// addAzureFlags adds the Azure flags to fs; a sweep needs only the
// subscription and who the operator is (the VM's fixtures and the RBAC
// wait are a run's), and lists only those.
func addAzureFlags(fs *flag.FlagSet, sweep bool) *azureFlags {
	a := &azureFlags{
		config:       fs.String("config", os.Getenv("MICONFORM_CONFIG"), "Azure target: YAML config file (see env/azure.example.yaml; default $MICONFORM_CONFIG)"),
		tenant:       fs.String("tenant", "", "Azure target: tenant id (default: $MICONFORM_TENANT_ID, $AZURE_TENANT_ID, config, or the subscription's)"),
		subscription: fs.String("subscription", "", "Azure target: subscription id (default: the VM's, from IMDS)"),
	}
	a.resourceGroup, a.vmName, a.vmResourceID, a.location, a.rbacWin = new(string), new(string), new(string), new(string), new(string)
	if sweep {
		return a
	}
	fs.StringVar(a.resourceGroup, "resource-group", "", "Azure target: the VM's resource group (default: from IMDS)")
	fs.StringVar(a.vmName, "vm-name", "", "Azure target: the VM's name (default: from IMDS)")
	fs.StringVar(a.vmResourceID, "vm-resource-id", "", "Azure target: the VM's resource id (default: from IMDS)")
	fs.StringVar(a.location, "location", "", "Azure target: region (default: the VM's, from IMDS)")
	fs.Var(durationValue{a.rbacWin}, "rbac-wait", "Azure target: how long a 403 after a role assignment is retried, a `duration` such as 10m (default 10m)")
	return a
}

// config merges, lowest first: the config file, MICONFORM_* variables, flags.
func (a *azureFlags) load(fs *flag.FlagSet, cloudName string) (target.Config, error) {
	var c target.Config
	if *a.config != "" {
		var err error
		if c, err = target.LoadConfig(*a.config); err != nil {
			return c, err
		}
	}
	if err := c.ApplyEnv(os.Getenv); err != nil {
		return c, err
	}
	flags := target.Config{
		TenantID: *a.tenant, SubscriptionID: *a.subscription, ResourceGroup: *a.resourceGroup,
		VMName: *a.vmName, VMResourceID: *a.vmResourceID, Location: *a.location, RBACPropagation: *a.rbacWin,
	}
	if isSet(fs, "cloud") {
		flags.Cloud = cloudName
	}
	c.Merge(flags)
	return c, nil
}

// azureOptionsKey carries a function that adjusts the Azure target's
// options (tests point the target at an emulator: IMDS base, HTTP client,
// operator credential). It travels in the context, not in a package
// variable, so tests that each stand in an Azure of their own run in
// parallel.
type azureOptionsKey struct{}

// withAzureOptions returns a context whose runs adjust their Azure target's
// options with f.
func withAzureOptions(ctx context.Context, f func(*target.AzureOptions)) context.Context {
	return context.WithValue(ctx, azureOptionsKey{}, f)
}

// emulatorOptionsKey carries the emulator target's options (tests give it
// their process's signing key), in the context for the same reason.
type emulatorOptionsKey struct{}

// withEmulatorOptions returns a context whose runs start their emulator
// target with o.
func withEmulatorOptions(ctx context.Context, o target.EmulatorOptions) context.Context {
	return context.WithValue(ctx, emulatorOptionsKey{}, o)
}

func newAzure(ctx context.Context, c target.Config, mode target.Mode, stderr io.Writer) (*target.Azure, error) {
	o := target.AzureOptions{Config: c, Mode: mode, Log: stderr}
	if f, ok := ctx.Value(azureOptionsKey{}).(func(*target.AzureOptions)); ok {
		f(&o)
	}
	return target.NewAzure(ctx, o)
}

// runFlags are the flags of a run.
type runFlags struct {
	fs                              *flag.FlagSet
	cloudName, targetName           *string
	tags, reports                   *string
	concurrency                     *int
	provision, verifyOnly, annotate *bool
	version                         *bool
	az                              *azureFlags
	articles                        *string
}

func newRunFlags(stderr io.Writer) *runFlags {
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cloudName := fs.String("cloud", "AzureCloud", "cloud profile: AzureCloud, AzureChinaCloud or AzureUSGovernment (default AzureCloud; on Azure, the VM's)")
	targetName := fs.String("target", "emulator", "where to run: emulator (in-process) or azure (the VM this runs on)")
	tags := fs.String("tags", "", "tag `expression` selecting scenarios: tags with and, or, not, parentheses, e.g. '@tutorial:rm-system-identity and not @failure'")
	reports := fs.String("reports", "reports", "`directory` for junit.xml, cucumber.json, summary.md and report.html (replaced only by a run that ran scenarios)")
	provision := fs.Bool("provision", false, "Azure target: Given steps create what the tutorials create (tagged, deleted at the end)")
	verifyOnly := fs.Bool("verify-only", false, "Azure target: Given steps create nothing; they check what exists and skip what they cannot tell (the default on Azure)")
	concurrency := fs.Int("concurrency", 0, "scenarios run at once, each on an emulator of its own (0: 16 on the emulator; Azure runs one at a time); 1 also prints every step as it runs")
	annotate := fs.Bool("github-annotations", os.Getenv("GITHUB_ACTIONS") == "true", "print a GitHub Actions error annotation naming each failing tutorial (default: on in GitHub Actions)")
	version := fs.Bool("version", false, "print runner's version and VCS revision, and exit")
	az := addAzureFlags(fs, false)
	articles := fs.String("articles", "", "read the tutorial articles from this directory (a docs writer's edited copies, same file names as features/tutorials) instead of the embedded ones")
	setHelp(fs, help{
		usage: "runner [flags] [feature paths...]\n       runner <command> [flags] [arguments]",
		about: `Runs Microsoft's managed-identity tutorials, restated as Gherkin features, on the
in-process emulator (the default) or on the Azure VM this runs on, and writes
junit.xml, cucumber.json, summary.md and report.html to --reports. A feature path
is a file, a directory, or file:line for the one scenario starting on that line
('runner list' prints them). --tags takes a Cucumber tag expression: tags joined
with and, or, not and parentheses (godog's older "&&", "," and "~" work too).`,
		after: commandList(),
		examples: []string{
			"runner                                              # every tutorial on the emulator",
			"runner --tags '@tutorial:rm-user-identity and not @failure'",
			"runner features/rm_system_identity.feature:19       # one scenario",
			"runner features/sql.feature --reports /tmp/r        # flags after paths work too",
			"runner --cloud AzureChinaCloud --concurrency 1      # one at a time, every step printed",
			"runner --target azure --provision                   # on an Azure VM, creating what the tutorials create",
		},
		exits: exitCodes,
		paths: true,
	})
	return &runFlags{fs, cloudName, targetName, tags, reports, concurrency, provision, verifyOnly, annotate, version, az, articles}
}

func runTutorials(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	rf := newRunFlags(stderr)
	fs, cloudName, targetName, tags, reports := rf.fs, rf.cloudName, rf.targetName, rf.tags, rf.reports
	provision, verifyOnly, az := rf.provision, rf.verifyOnly, rf.az
	paths, err := parseFlags(fs, args, true, stdout, stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	meta := map[string]string{}
	if *rf.version {
		return printVersion(stdout)
	}
	if *provision && *verifyOnly {
		fmt.Fprintln(stderr, "runner: --provision and --verify-only exclude each other")
		return 2
	}
	if c := *rf.concurrency; c < 0 || (c > 1 && *targetName != "emulator") {
		fmt.Fprintln(stderr, "runner: --concurrency wants 1 or more, and more than 1 only on the emulator (an Azure VM's scenarios share the one VM)")
		return 2
	}
	articles, ok := loadArticles(*rf.articles, stderr)
	if !ok {
		return 2
	}
	if *rf.articles != "" {
		meta["articles"] = *rf.articles
	}

	if *targetName != "emulator" && *targetName != "azure" {
		fmt.Fprintf(stderr, "runner: unknown target %q (want emulator or azure)\n", *targetName)
		return 2
	}
	// What the run selects, before anything starts: a typo is an error
	// here, not a run of nothing that replaces the last reports.
	sel, err := suite.Select(paths, *tags, *targetName)
	if err != nil {
		fmt.Fprintln(stderr, "runner:", err)
		if errors.Is(err, suite.ErrUsage) {
			return 2
		}
		return 1
	}
	if sel.Count() == 0 {
		fmt.Fprintf(stderr, "runner: no scenario matched (--tags %q, paths %q); nothing was run and %s/ was left as it was\n", *tags, paths, *reports)
		for _, t := range sel.Unknown {
			fmt.Fprintf(stderr, "runner: no scenario has the tag %s%s\n", t, suggest(t, sel.All, ""))
		}
		fmt.Fprintln(stderr, "runner: 'runner list' prints the tutorials, scenarios and tags")
		return 2
	}

	var tg target.Target
	switch *targetName {
	case "emulator":
		if *verifyOnly {
			fmt.Fprintln(stderr, "runner: the emulator target always provisions; --verify-only is for --target azure")
			return 2
		}
		c, err := cloud.Lookup(*cloudName)
		if err != nil {
			fmt.Fprintln(stderr, "runner:", err)
			return 2
		}
		o, _ := ctx.Value(emulatorOptionsKey{}).(target.EmulatorOptions)
		t, err := target.NewEmulatorWith(c, o)
		if err != nil {
			fmt.Fprintln(stderr, "runner: starting the emulator:", err)
			return 1
		}
		tg = t
	case "azure":
		c, err := az.load(fs, *cloudName)
		if err != nil {
			fmt.Fprintln(stderr, "runner:", err)
			return 2
		}
		mode := target.VerifyOnly
		if *provision {
			mode = target.Provision
		}
		t, err := newAzure(ctx, c, mode, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "runner:", err)
			return 1
		}
		if len(t.Unnamed) > 0 {
			fmt.Fprintf(stderr, "runner: verify-only run without names for fixtures %s: scenarios needing them cannot run (set them in --config or MICONFORM_*)\n", strings.Join(t.Unnamed, ", "))
		}
		meta["run-id"] = t.RunID()
		tg = t
	}
	meta["mode"] = tg.Policy().Mode.String()
	code := 0
	defer func() {
		// Teardown runs after an interrupt too; Close bounds it itself.
		if err := tg.Close(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(stderr, "runner: teardown:", err)
			if code == 0 {
				code = 1
			}
		}
	}()

	facts := tg.Facts()
	fmt.Fprintf(stdout, "target %s (%s), cloud %s, VM %s in %s, subscription %s\n", tg.Name(), meta["mode"], tg.Cloud().Name, facts.VMName, facts.Location, facts.SubscriptionID)
	f, isFile := stdout.(*os.File)
	colors := isFile && isTerminal(f)
	start := time.Now()
	fmt.Fprintf(stdout, "%d scenario(s) of %d feature(s) selected\n", sel.Count(), len(sel.Features))
	res, ok, err := suite.Run(ctx, suite.Options{Target: tg, Paths: paths, Tags: *tags, ReportDir: *reports, Output: stdout, Progress: stdout, Colors: colors, Meta: meta, Concurrency: *rf.concurrency, Articles: articles})
	if err != nil {
		fmt.Fprintln(stderr, "runner:", err)
		if bindingError(err) {
			code = 2
			return code
		}
		code = 1
		return code
	}
	fmt.Fprintf(stdout, "\n%s\n", res.Table())
	if res.Coverage != nil {
		fmt.Fprintf(stdout, "%s\n", res.Coverage.Table())
	}
	fmt.Fprintf(stdout, "%s\n", res.StatusLine())
	fmt.Fprintf(stdout, "RBAC propagation: %s; %s; reports in %s/\n", res.Meta.Extra["rbac-propagation-wait"], time.Since(start).Round(time.Millisecond), *reports)
	if *rf.annotate {
		annotateFailures(stdout, res)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		fmt.Fprintf(stderr, "runner: interrupted; the reports in %s/ say so\n", *reports)
		if *targetName == "azure" {
			fmt.Fprintln(stderr, "runner: if teardown could not finish, `go run ./runner sweep` removes what the run left")
		}
		code = 130
		return code
	}
	if !ok {
		code = 1
	}
	return code
}

// sweep is `runner sweep`: delete resource groups earlier runs left.
func sweep(args []string) int {
	ctx, stop := interruptible(os.Stderr)
	defer stop()
	return sweepCmd(ctx, args, os.Stdout, os.Stderr)
}

// sweepFlags are the flags of `runner sweep`.
type sweepFlags struct {
	fs        *flag.FlagSet
	cloudName *string
	olderThan *time.Duration
	az        *azureFlags
}

func newSweepFlags(stderr io.Writer) *sweepFlags {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cloudName := fs.String("cloud", "AzureCloud", "cloud (default: the VM's, from IMDS)")
	olderThan := fs.Duration("older-than", 6*time.Hour, "delete miconform's resource groups created longer ago than this (0: all of them)")
	az := addAzureFlags(fs, true)
	setHelp(fs, help{
		usage: "runner sweep [flags]",
		about: fmt.Sprintf(`Deletes the resource groups tagged %s=%s whose %s tag is older than
--older-than, as the operator (az login, azure/login, service principal or workload
identity; never the VM's managed identity). Off an Azure VM, pass --cloud and
--subscription. The emulator needs no sweep: what a run creates there goes with it.`, target.TagCreatedBy, target.CreatedBy, target.TagCreatedAt),
		examples: []string{
			"runner sweep                                        # on the VM: groups older than 6h",
			"runner sweep --older-than 0s                        # every group miconform created",
			"runner sweep --cloud AzureUSGovernment --subscription <id>   # off a VM",
		},
		exits: []string{
			"0    the groups older than --older-than were deleted (or there were none)",
			"1    discovery, sign-in or a deletion failed",
			"2    bad usage: unknown flag, bad value, an argument",
			"130  interrupted (Ctrl-C, SIGTERM)",
		},
	})
	return &sweepFlags{fs, cloudName, olderThan, az}
}

func sweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sf := newSweepFlags(stderr)
	fs, cloudName, olderThan, az := sf.fs, sf.cloudName, sf.olderThan, sf.az
	rest, err := parseFlags(fs, args, true, stdout, stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sweep: takes no arguments (got %q); run 'runner sweep --help'\n", rest)
		return 2
	}
	if *olderThan < 0 {
		fmt.Fprintln(stderr, "sweep: --older-than wants 0s or more")
		return 2
	}
	c, err := az.load(fs, *cloudName)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 2
	}
	if c.SubscriptionID != "" && c.Cloud != "" {
		// Off a VM the rest is not needed: do not ask IMDS.
		fill := func(p *string) {
			if *p == "" {
				*p = "-"
			}
		}
		fill(&c.ResourceGroup)
		fill(&c.VMName)
		fill(&c.Location)
	}
	t, err := newAzure(ctx, c, target.Provision, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 1
	}
	names, err := t.Sweep(ctx, *olderThan)
	for _, n := range names {
		fmt.Fprintf(stdout, "deleted %s\n", n)
	}
	fmt.Fprintf(stdout, "sweep: %d resource group(s) older than %s deleted in subscription %s (%s)\n", len(names), *olderThan, t.Facts().SubscriptionID, t.Cloud().Name)
	if err != nil {
		fmt.Fprintln(stderr, "sweep:", err)
		return 1
	}
	return 0
}

// annotateFailures names each failing tutorial in a GitHub Actions error
// annotation, so the job's page says which tutorial broke.
// https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands#setting-an-error-message
func annotateFailures(w io.Writer, res *report.Result) {
	for _, f := range res.Features {
		c := f.Counts()
		if c.Failed+c.Errors == 0 {
			continue
		}
		name := f.Tutorial
		if name == "" {
			name = f.Name
		}
		var failing []string
		for _, s := range f.Scenarios {
			if s.Failing() {
				failing = append(failing, s.Name)
			}
		}
		msg := fmt.Sprintf("%s (%s): %d scenario(s) failed: %s", name, f.Name, c.Failed+c.Errors, strings.Join(failing, "; "))
		fmt.Fprintf(w, "::error file=%s,title=%s::%s\n", escapeProperty(f.URI), escapeProperty("tutorial failed: "+name), escapeData(redact.String(msg)))
	}
}

// escapeData and escapeProperty are the workflow commands' escaping.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
