package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/target"
	"github.com/miconform/miconform/features/tutorials"
	"github.com/miconform/miconform/internal/redact"
	"github.com/tidwall/gjson"
)

// Snippet steps run the tutorials' own commands (curl, az) on the VM,
// through the target's Shell: in the emulator's sandbox, or directly on the
// Azure VM. The commands are quoted verbatim in the features; the only
// changes are the tutorial's <PLACEHOLDERS>, and its cloud's host names
// when the run is on another cloud (written-for cloud, see below).
func registerSnippets(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		return context.WithValue(ctx, snippetKey{}, &snippetState{}), nil
	})
	sc.Step(re(`^the tutorial's commands are written for the "([^"]*)" cloud$`), commandsWrittenFor)
	sc.Step(re(`^the VM has "([^"]*)" installed$`), vmHasTool)
	sc.Step(re(`^the Azure CLI on the VM uses the run's cloud$`), azUsesRunCloud)
	sc.Step(re(`^the VM runs the tutorial's command:$`), vmRunsCommand)
	sc.Step(re(`^the command succeeds$`), commandSucceeds)
	sc.Step(re(`^the command prints what the tutorial shows:$`), commandPrintsTutorial)
	sc.Step(re(`^in the tutorial's sample output below, these values differ by run:$`), sampleDiffersByRun)
	sc.Step(re(`^in the tutorial's sample output below, Azure's answer differs from the article in:$`), sampleDiffersByRun)
	sc.Step(re(`^the command's output starts with JSON that has:$`), commandOutputStartsWithJSON)
	sc.Step(re(`^the command's last line is "([^"]*)"$`), commandLastLine)
	sc.Step(re(`^the VM takes the access token from the command's output$`), takeTokenFromOutput)
}

type snippetKey struct{}

// snippetState is the snippet steps' part of a scenario.
type snippetState struct {
	// writtenFor is the cloud the tutorial's commands name (nil: the run's).
	writtenFor *cloud.Profile
	// dir is the scenario's working directory on the VM, also holding the
	// Azure CLI's configuration (AZURE_CONFIG_DIR), so a scenario never
	// touches the VM user's own sign-in.
	dir     string
	command string
	res     *target.CommandResult
	// byRun is the next sample comparison's run-specific fields.
	byRun map[string]string
	// block is the article block the last command came from (zero when
	// the feature spelled the command out).
	block tutorials.Block
}

func snippets(ctx context.Context) (*scenario, *snippetState) {
	st, _ := ctx.Value(snippetKey{}).(*snippetState)
	if st == nil {
		panic("steps: no snippet state (registerSnippets not called)")
	}
	return from(ctx), st
}

// shell is the target's Shell; a target without one skips the scenario.
func (s *scenario) shell() (target.Shell, error) {
	sh, ok := s.t.(target.Shell)
	if !ok {
		return nil, fmt.Errorf("%w: the %s target cannot run programs on the VM", godog.ErrSkip, s.t.Name())
	}
	return sh, nil
}

// skip logs the reason (godog's report keeps no skip message) and skips.
func (s *scenario) skip(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	s.log.Printf("skipped: %s", msg)
	return fmt.Errorf("%w: %s", godog.ErrSkip, msg)
}

func commandsWrittenFor(ctx context.Context, name string) error {
	_, st := snippets(ctx)
	p, err := cloud.Lookup(name)
	if err != nil {
		return err
	}
	st.writtenFor = &p
	return nil
}

// rewrite turns the written-for cloud's host names into the run's, as a
// reader on that cloud types them. On the written-for cloud it is the
// identity, so there the command runs byte for byte as printed.
func (s *scenario) rewrite(st *snippetState, text string) string {
	return rewriteHosts(st.writtenFor, s.t.Cloud(), text)
}

func rewriteHosts(writtenFor *cloud.Profile, run cloud.Profile, text string) string {
	if writtenFor == nil || writtenFor.Name == run.Name {
		return text
	}
	from := *writtenFor
	pairs := [][2]string{
		{from.ARMHost, run.ARMHost}, {from.LoginHost, run.LoginHost},
		{".blob." + from.StorageSuffix, ".blob." + run.StorageSuffix},
		{"." + from.VaultSuffix, "." + run.VaultSuffix}, {"." + from.SQLSuffix, "." + run.SQLSuffix},
	}
	// Longest first, so a suffix never rewrites part of a longer name.
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	var args []string
	for _, p := range pairs {
		args = append(args, p[0], p[1])
	}
	return strings.NewReplacer(args...).Replace(text)
}

// run runs a shell script on the VM in the scenario's directory.
func (s *scenario) run(ctx context.Context, st *snippetState, script string) (*target.CommandResult, error) {
	sh, err := s.shell()
	if err != nil {
		s.log.Printf("skipped: %v", err)
		return nil, err
	}
	if st.dir == "" {
		d, err := os.MkdirTemp("", "miconform-vm-")
		if err != nil {
			return nil, err
		}
		st.dir = d
		restoreAzCommandIndex(filepath.Join(d, ".azure"))
		s.onCleanup("the scenario's directory on the VM", func(context.Context) error {
			keepAzCommandIndex(filepath.Join(d, ".azure"))
			return os.RemoveAll(d)
		})
	}
	c := target.Command{
		Args: []string{"/bin/sh", "-c", script},
		Dir:  st.dir,
		// Telemetry off: the sandbox has no route for it, and a run on
		// Azure should not report the suite as CLI usage.
		Env: []string{"AZURE_CONFIG_DIR=" + filepath.Join(st.dir, ".azure"), "AZURE_CORE_COLLECT_TELEMETRY=false"},
	}
	res, err := sh.RunOnVM(ctx, c)
	if errors.Is(err, target.ErrNoShell) {
		return nil, s.skip("%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("running %q on the VM: %w", redact.String(script), err)
	}
	s.log.Printf("$ %s\n%s(exit %d)", redact.String(script), redact.String(clipOutput(res.Stdout, res.Stderr)), res.ExitCode)
	return &res, nil
}

// azCommandIndex is the Azure CLI's command index, the one file of a
// scenario's AZURE_CONFIG_DIR kept between scenarios and runs (in the
// user's cache directory). It maps command groups to the Python modules
// that implement them, and holds no sign-in state; without it every fresh
// configuration directory makes az import every command module to rebuild
// it, about 1.1 s of each scenario's first az command (0.46 s with it). az
// checks the index's version itself and rebuilds a stale one.
// MICONFORM_CACHE_DIR replaces the user's cache directory; test binaries
// use one under the temporary directory, never the user's.
func azCommandIndex() (string, bool) {
	dir := os.Getenv("MICONFORM_CACHE_DIR")
	if dir == "" && testing.Testing() {
		dir = filepath.Join(os.TempDir(), "miconform-test-cache")
	}
	if dir == "" {
		user, err := os.UserCacheDir()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(user, "miconform")
	}
	return filepath.Join(dir, "azure-cli", "commandIndex.json"), true
}

// restoreAzCommandIndex seeds a scenario's fresh az configuration directory
// with the cached index, if there is one.
func restoreAzCommandIndex(configDir string) {
	cached, ok := azCommandIndex()
	if !ok {
		return
	}
	b, err := os.ReadFile(cached)
	if err != nil {
		return
	}
	if os.MkdirAll(configDir, 0o700) == nil {
		_ = os.WriteFile(filepath.Join(configDir, "commandIndex.json"), b, 0o600)
	}
}

// keepAzCommandIndex caches the index az left in a scenario's configuration
// directory when it differs from the cached one. The write is a rename, so
// scenarios finishing at once never leave a torn index.
func keepAzCommandIndex(configDir string) {
	cached, ok := azCommandIndex()
	if !ok {
		return
	}
	b, err := os.ReadFile(filepath.Join(configDir, "commandIndex.json"))
	if err != nil || len(b) == 0 {
		return
	}
	if old, err := os.ReadFile(cached); err == nil && bytes.Equal(old, b) {
		return
	}
	if os.MkdirAll(filepath.Dir(cached), 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(cached), "commandIndex-*.json")
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), cached) != nil {
		_ = os.Remove(f.Name())
	}
}

func clipOutput(stdout, stderr []byte) string {
	var b strings.Builder
	for _, part := range [][]byte{stdout, stderr} {
		if len(part) > 4096 {
			part = append(part[:4096:4096], "\n..."...)
		}
		b.Write(part)
		if len(part) > 0 && part[len(part)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// vmHasTool is `command -v tool` on the VM, asked without running a shell
// there (a sandbox start is a quarter second on a loaded run's critical
// path).
func vmHasTool(ctx context.Context, tool string) error {
	s := from(ctx)
	sh, err := s.shell()
	if err != nil {
		s.log.Printf("skipped: %v", err)
		return err
	}
	path, err := sh.LookPath(tool)
	if errors.Is(err, target.ErrNoShell) {
		// No sandbox off Linux, no /bin/sh on a Windows VM: the reason.
		return s.skip("%v", err)
	}
	if err != nil {
		return s.skip("%s is not installed on the VM", tool)
	}
	s.log.Printf("%s is %s on the VM", tool, path)
	return nil
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)

func shellWord(w string) string {
	if plainWord.MatchString(w) {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// azUsesRunCloud is what a reader on a sovereign cloud does before the
// sign-in tutorial's script (it assumes the public cloud): `az cloud set`.
func azUsesRunCloud(ctx context.Context) error {
	s, st := snippets(ctx)
	name := s.t.Cloud().Name
	if name == "AzureCloud" {
		return nil
	}
	res, err := s.run(ctx, st, "az cloud set --name "+shellWord(name))
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("az cloud set --name %s exited %d: %s", name, res.ExitCode, redact.String(string(res.Stderr)))
	}
	return nil
}

func vmRunsCommand(ctx context.Context, doc *godog.DocString) error {
	s, st := snippets(ctx)
	cmd, err := s.expand(s.rewrite(st, doc.Content))
	if err != nil {
		return err
	}
	st.command, st.res, st.block = cmd, nil, tutorials.Block{}
	// A token request's resource, for the checks on "resource" and "aud".
	if m := resourceParam.FindStringSubmatch(cmd); m != nil {
		if r, err := url.QueryUnescape(m[1]); err == nil {
			s.requested = r
		}
	}
	res, err := s.run(ctx, st, cmd)
	if err != nil {
		return err
	}
	st.res = res
	return nil
}

func (st *snippetState) result() (*target.CommandResult, error) {
	if st.res == nil {
		return nil, errors.New("no command has run yet")
	}
	return st.res, nil
}

func commandSucceeds(ctx context.Context) error {
	_, st := snippets(ctx)
	res, err := st.result()
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		if st.block.ID != "" {
			return fmt.Errorf("%s: the command exited %d:\n%s\nit ran:\n%s", st.block.Where(), res.ExitCode, redact.String(clipOutput(res.Stdout, res.Stderr)), indent(redact.String(st.command)))
		}
		return fmt.Errorf("the command exited %d: %s", res.ExitCode, redact.String(clipOutput(res.Stdout, res.Stderr)))
	}
	return nil
}

// outputJSON parses the whole output as one JSON value.
func (st *snippetState) outputJSON() (any, error) {
	res, err := st.result()
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(bytes.TrimSpace(res.Stdout), &v); err != nil {
		return nil, fmt.Errorf("the command's output is not one JSON value (%v): %.400s", err, redact.String(string(res.Stdout)))
	}
	return v, nil
}

// sampleDiffersByRun names the fields of the next sample output that are
// this run's own (times, ids); each row: field path, what it is instead.
func sampleDiffersByRun(ctx context.Context, table *godog.Table) error {
	_, st := snippets(ctx)
	if st.byRun == nil {
		st.byRun = map[string]string{}
	}
	for _, row := range table.Rows {
		if len(row.Cells) != 2 {
			return fmt.Errorf("each row names a field and what it is instead, got %d cells", len(row.Cells))
		}
		st.byRun[row.Cells[0].Value] = row.Cells[1].Value
	}
	return nil
}

// commandPrintsTutorial compares the output with the tutorial's sample on
// its JSON structure and values: every field the sample shows is there,
// with the sample's JSON type and value. A sample string ending in "..."
// is the tutorial eliding a long value: the output's must start with what
// is shown. Fields named by sampleDiffersByRun differ by run; each must be
// what that table's second column says instead. Fields the sample leaves out are
// allowed: the tutorials abridge.
func commandPrintsTutorial(ctx context.Context, doc *godog.DocString) error {
	s, st := snippets(ctx)
	byRun := st.byRun
	st.byRun = nil
	got, err := st.outputJSON()
	if err != nil {
		return err
	}
	text, err := s.expand(s.rewrite(st, doc.Content))
	if err != nil {
		return err
	}
	var want any
	if err := json.Unmarshal([]byte(text), &want); err != nil {
		return fmt.Errorf("the tutorial's sample in the feature is not JSON: %v", err)
	}
	var diffs []string
	seen := map[string]bool{}
	compareSample(s, want, got, "", byRun, seen, &diffs)
	for f := range byRun {
		if !seen[f] {
			diffs = append(diffs, fmt.Sprintf("%s: named as differing by run, but the tutorial's sample has no such field", f))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return errors.New(redact.String("the output differs from the tutorial's sample:\n" + strings.Join(diffs, "\n")))
	}
	return nil
}

func compareSample(s *scenario, want, got any, path string, byRun map[string]string, seen map[string]bool, diffs *[]string) {
	at := func() string {
		if path == "" {
			return "(top)"
		}
		return path
	}
	if kind, ok := byRun[path]; ok {
		seen[path] = true
		if err := s.isKind(got, kind); err != nil {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v", at(), err))
		}
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: the tutorial shows an object, the output has %s", at(), show(got)))
			return
		}
		// In key order, so a failure lists its differences the same way
		// every run.
		for _, k := range slices.Sorted(maps.Keys(w)) {
			wv := w[k]
			p := strings.TrimPrefix(path+"."+k, ".")
			gv, ok := g[k]
			if byRun[p] == "absent" {
				// A field the tutorial shows that Azure no longer sends.
				seen[p] = true
				if ok {
					*diffs = append(*diffs, fmt.Sprintf("%s: expected absent from the output, has %s", p, show(gv)))
				}
				continue
			}
			if !ok {
				if _, named := byRun[p]; named {
					seen[p] = true
				}
				*diffs = append(*diffs, fmt.Sprintf("%s: missing", p))
				continue
			}
			compareSample(s, wv, gv, p, byRun, seen, diffs)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: the tutorial shows %d elements, the output has %s", at(), len(w), show(got)))
			return
		}
		for i := range w {
			compareSample(s, w[i], g[i], fmt.Sprintf("%s[%d]", path, i), byRun, seen, diffs)
		}
	case string:
		g, ok := got.(string)
		switch {
		case !ok:
			*diffs = append(*diffs, fmt.Sprintf("%s: the tutorial shows a string, the output has %s", at(), show(got)))
		case strings.HasSuffix(w, "..."):
			if !strings.HasPrefix(g, strings.TrimSuffix(w, "...")) {
				*diffs = append(*diffs, fmt.Sprintf("%s: the tutorial shows %q, the output's does not start so: %q", at(), w, g))
			}
		case g != w:
			*diffs = append(*diffs, fmt.Sprintf("%s: the tutorial shows %q, the output has %q", at(), w, g))
		}
	default:
		if fmt.Sprintf("%T:%v", want, want) != fmt.Sprintf("%T:%v", got, got) {
			*diffs = append(*diffs, fmt.Sprintf("%s: the tutorial shows %s, the output has %s", at(), show(want), show(got)))
		}
	}
}

// isKind checks a run-specific value: "a string of digits", "a JWT",
// "a GUID", "the requested resource" or "<PLACEHOLDER>" text ("absent" is
// handled by compareSample).
func (s *scenario) isKind(v any, kind string) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("should be a JSON string (%s), is %s", kind, show(v))
	}
	var good bool
	switch kind {
	case "a string of digits":
		good = digitsRE.MatchString(str)
	case "a JWT":
		good = jwtRE.MatchString(str)
	case "a GUID":
		good = guidRE.MatchString(str)
	case "the requested resource":
		if s.requested == "" {
			return errors.New("no resource was requested by the command")
		}
		good = str == s.requested
	default:
		want, err := s.expand(kind)
		if err != nil {
			return err
		}
		good = str == want
	}
	if !good {
		return fmt.Errorf("is %q, not %s", str, kind)
	}
	return nil
}

// commandOutputStartsWithJSON checks the first JSON value the command
// printed (az prints the sign-in's subscriptions before the script's echo)
// against the document's fields, as a subset.
func commandOutputStartsWithJSON(ctx context.Context, doc *godog.DocString) error {
	s, st := snippets(ctx)
	res, err := st.result()
	if err != nil {
		return err
	}
	var got any
	if err := json.NewDecoder(bytes.NewReader(res.Stdout)).Decode(&got); err != nil {
		return fmt.Errorf("the command's output does not start with JSON (%v): %.400s", err, redact.String(string(res.Stdout)))
	}
	text, err := s.expand(doc.Content)
	if err != nil {
		return err
	}
	var want any
	if err := json.Unmarshal([]byte(text), &want); err != nil {
		return fmt.Errorf("the expected JSON in the feature is not JSON: %v", err)
	}
	if diffs := subset(want, got, "$"); len(diffs) > 0 {
		return errors.New(redact.String(strings.Join(diffs, "\n")))
	}
	return nil
}

func commandLastLine(ctx context.Context, want string) error {
	s, st := snippets(ctx)
	res, err := st.result()
	if err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	out := strings.TrimRight(string(res.Stdout), "\n")
	last := out[strings.LastIndex(out, "\n")+1:]
	if last != w {
		return fmt.Errorf("the last line is %q, want %q", redact.String(last), w)
	}
	return nil
}

var resourceParam = regexp.MustCompile(`[?&]resource=([^&'"\s]+)`)

// takeTokenFromOutput is the reader copying access_token from curl's
// output into <ACCESS-TOKEN>.
func takeTokenFromOutput(ctx context.Context) error {
	s, st := snippets(ctx)
	res, err := st.result()
	if err != nil {
		return err
	}
	tok := gjson.GetBytes(bytes.TrimSpace(res.Stdout), "access_token")
	if tok.Type != gjson.String || tok.String() == "" {
		return fmt.Errorf("the output has no access_token string: %.300s", redact.String(string(res.Stdout)))
	}
	s.token = tok.String()
	redact.Register(s.token)
	s.set("ACCESS-TOKEN", s.token)
	if c, err := s.claims(); err == nil && strings.EqualFold(c.Get("oid").String(), s.vars["VM-PRINCIPAL-ID"]) {
		s.set("VM-CLIENT-ID", c.Get("appid").String())
	}
	return nil
}
