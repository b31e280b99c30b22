package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

// subcommand is one `runner <name> ...`. A new one is one entry in
// subcommands.
type subcommand struct {
	name    string
	summary string
	run     func(args []string) int
}

// subcommands are runner's verbs; without one, runner runs the tutorials
// (run.go). Filled in init: help lists them, so naming it here would be an
// initialization cycle.
var subcommands []subcommand

func init() {
	subcommands = []subcommand{
		{"emulate", "serve the emulator alone, for following a tutorial by hand", emulate},
		{"sandbox", "run a command on the emulated VM (Linux)", sandboxCmd},
		{"sweep", "delete the resource groups earlier Azure runs left", sweep},
		{"coverage", "which blocks and claims of the tutorial articles the scenarios check (runs nothing)", coverage},
		{"list", "list the tutorials, scenarios (file:line), tags and step patterns", list},
		{"help", "show the help of runner or of a command", helpCmd},
		{"version", "print runner's version and VCS revision", func([]string) int { return printVersion(os.Stdout) }},
	}
}

func lookup(name string) *subcommand {
	for i := range subcommands {
		if subcommands[i].name == name {
			return &subcommands[i]
		}
	}
	return nil
}

// dispatch runs `runner args...` and returns the exit code.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if c := lookup(args[0]); c != nil {
			return c.run(args[1:])
		}
		if a := args[0]; !strings.HasPrefix(a, "-") && !looksLikePath(a) {
			var names []string
			for _, c := range subcommands {
				names = append(names, c.name)
			}
			fmt.Fprintf(stderr, "runner: unknown command %q%s\n", a, suggest(a, names, ""))
			fmt.Fprintf(stderr, "Commands: %s; feature paths end in .feature or name a directory. Run 'runner --help' for usage.\n", strings.Join(names, ", "))
			return 2
		}
	}
	return run(args)
}

// looksLikePath tells a feature path (file, file:line, directory) from a
// mistyped command: it exists, or has a path's shape.
func looksLikePath(a string) bool {
	if _, err := os.Stat(a); err == nil {
		return true
	}
	if m := regexp.MustCompile(`^(.*):[0-9]+$`).FindStringSubmatch(a); m != nil {
		a = m[1]
	}
	return strings.ContainsAny(a, `/\`) || strings.HasSuffix(a, ".feature")
}

// helpCmd is `runner help [command]`.
func helpCmd(args []string) int {
	switch {
	case len(args) == 0:
		return runTutorials(context.Background(), []string{"--help"}, os.Stdout, os.Stderr)
	case lookup(args[0]) != nil && args[0] != "help":
		return lookup(args[0]).run([]string{"--help"})
	case args[0] == "help":
		fmt.Fprintln(os.Stdout, "usage: runner help [command]\n\nShows the help of runner, or of one of its commands.")
		return 0
	}
	var names []string
	for _, c := range subcommands {
		names = append(names, c.name)
	}
	fmt.Fprintf(os.Stderr, "runner help: unknown command %q%s\n", args[0], suggest(args[0], names, ""))
	return 2
}

// printVersion prints the module version and the VCS revision the binary
// was built from (`go build` records it; `go run` does not).
func printVersion(w io.Writer) int {
	fmt.Fprintln(w, versionLine())
	return 0
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "runner: no build information"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	s := map[string]string{}
	for _, kv := range bi.Settings {
		s[kv.Key] = kv.Value
	}
	line := fmt.Sprintf("runner %s %s", bi.Main.Path, v)
	if rev := s["vcs.revision"]; rev != "" {
		line += " revision " + rev
		if s["vcs.modified"] == "true" {
			line += " (modified)"
		}
		if t := s["vcs.time"]; t != "" {
			line += " committed " + t
		}
	} else {
		line += " revision unknown (built without VCS stamping: `go run` or -buildvcs=false; `go build ./runner` records it)"
	}
	return line + ", " + bi.GoVersion
}

// help is what a command's --help prints besides its flags.
type help struct {
	usage    string   // the usage line(s), without "usage: "
	about    string   // what the command does
	examples []string // command lines, each with a comment after "#"
	exits    []string // "code  meaning"
	after    string   // anything else (commands list)
	paths    bool     // the command takes paths, and flags among them
}

// setHelp makes fs's usage print h and the flags (each once, its default
// once) to fs's output.
func setHelp(fs *flag.FlagSet, h help) {
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n", h.usage, strings.TrimSpace(h.about))
		if h.after != "" {
			fmt.Fprintf(w, "\n%s\n", strings.TrimRight(h.after, "\n"))
		}
		if n := countFlags(fs); n > 0 {
			if h.paths {
				fmt.Fprintln(w, "\nFlags (before or after the paths; -flag and --flag alike):")
			} else {
				fmt.Fprintln(w, "\nFlags (-flag and --flag alike):")
			}
			printFlags(w, fs)
		}
		if len(h.examples) > 0 {
			fmt.Fprintln(w, "\nExamples:")
			for _, e := range h.examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
		if len(h.exits) > 0 {
			fmt.Fprintln(w, "\nExit codes:")
			for _, e := range h.exits {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
	}
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}

// printFlags lists the flags with their usage and, unless the usage
// already speaks of it, their default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if arg != "" {
			head += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && !strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintln(w, head)
		for _, l := range wrap(usage, 72) {
			fmt.Fprintf(w, "        %s\n", l)
		}
	})
}

func wrap(s string, width int) []string {
	var lines []string
	var cur string
	for _, word := range strings.Fields(s) {
		if cur != "" && len(cur)+1+len(word) > width {
			lines = append(lines, cur)
			cur = word
			continue
		}
		if cur != "" {
			cur += " "
		}
		cur += word
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// errHelp is parseFlags' answer to -h/--help: usage printed, exit 0.
var errHelp = errors.New("help")

// parseFlags parses args with fs. With interspersed, flags may come after
// positional arguments too (everything after "--" is positional). -h and
// --help print the usage to stdout (errHelp). A bad flag or value prints
// one line naming it, with a suggestion for a mistyped flag name, to
// stderr. fs's own output is silenced: it printed the whole usage to
// stderr for every mistake.
func parseFlags(fs *flag.FlagSet, args []string, interspersed bool, stdout, stderr io.Writer) ([]string, error) {
	var pos []string
	fs.SetOutput(io.Discard)
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, errHelp
		}
		if err != nil {
			msg := err.Error()
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
				var names []string
				fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
				msg = fmt.Sprintf("unknown flag --%s%s", name, suggest(name, names, "--"))
			}
			msg = strings.Replace(msg, "for flag -", "for --", 1)
			fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", fs.Name(), msg, commandLine(fs))
			return nil, err
		}
		rest := fs.Args()
		if !interspersed || len(rest) == 0 {
			return append(pos, rest...), nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// commandLine is how a person types the command fs parses.
func commandLine(fs *flag.FlagSet) string {
	if fs.Name() == "runner" {
		return "runner"
	}
	return "runner " + fs.Name()
}

// suggest returns ` (did you mean X?)` for the candidate closest to s, if
// one is close enough to be a typo.
func suggest(s string, candidates []string, prefix string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		// A prefix is a typo too: --prov for --provision.
		var pre []string
		for _, c := range candidates {
			if len(s) >= 3 && strings.HasPrefix(c, s) {
				pre = append(pre, c)
			}
		}
		if len(pre) == 1 {
			return fmt.Sprintf(" (did you mean %s%s?)", prefix, pre[0])
		}
		return ""
	}
	return fmt.Sprintf(" (did you mean %s%s?)", prefix, best)
}

// editDistance is the Damerau–Levenshtein distance (adjacent swaps cost 1:
// "emualte" is one slip from "emulate").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// durationValue is a flag holding a duration as text (as target.Config
// keeps it), refused at parse time unless it is a positive Go duration.
type durationValue struct{ s *string }

func (d durationValue) String() string {
	if d.s == nil {
		return ""
	}
	return *d.s
}

func (d durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil || x <= 0 {
		return fmt.Errorf("want a positive duration such as 90s, 10m or 1h30m")
	}
	*d.s = v
	return nil
}

// exitCodes are the run's exit codes, shared by the help texts.
var exitCodes = []string{
	"0    every selected scenario passed (skipped ones do not count against it)",
	"1    a scenario failed, a feature does not parse (named as file:line:column), or the",
	"     run could not start or finish (target, teardown, reports)",
	"2    bad usage: unknown command or flag, bad value, missing path, file:line without a",
	"     scenario, bad tag expression, nothing selected",
	"     (on 1 and 2 before the run starts, nothing is run and the previous reports are kept)",
	"130  interrupted (Ctrl-C, SIGTERM): cleanup ran; reports are written and say so",
}

// commandList is the "Commands:" block of runner's help.
func commandList() string {
	var b strings.Builder
	b.WriteString("Commands:\n")
	for _, c := range subcommands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("Run 'runner <command> --help' for a command's flags.")
	return b.String()
}

// withoutEnv drops the variable named key from env.
func withoutEnv(env []string, key string) []string {
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !strings.EqualFold(k, key) {
			out = append(out, kv)
		}
	}
	return out
}
