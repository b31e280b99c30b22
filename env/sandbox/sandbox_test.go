//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/emulatortest"
)

// requireSandbox skips, with the reason, where namespaces are unavailable.
func requireSandbox(t *testing.T) {
	t.Helper()
	if err := Probe(); err != nil {
		t.Skip(err)
	}
}

func newEmulator(t *testing.T, cloudName string) *emulator.Emulator {
	t.Helper()
	// Listening: programs in the sandbox connect.
	return emulatortest.Start(t, emulatortest.Options{Config: emulator.Config{Cloud: cloud.MustLookup(cloudName), Seed: "tutorials"}, Listen: true})
}

// run runs argv in a sandbox of e and returns stdout, stderr, exit code.
func run(t *testing.T, e *emulator.Emulator, argv ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	sb := New(e, argv...)
	sb.Stdout, sb.Stderr = &out, &errb
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := sb.Run(ctx)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v (stderr %s)", argv, err, errb.String())
	}
	if _, err := os.Stat(sb.FilesDir()); !os.IsNotExist(err) {
		t.Errorf("the sandbox's files %s are still there after exit", sb.FilesDir())
	}
	return out.String(), errb.String(), sb.ExitCode()
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
}

func TestSandboxLooksLikeTheVM(t *testing.T) {
	requireSandbox(t)
	e := newEmulator(t, "AzureCloud")
	out, stderr, code := run(t, e, "sh", "-c", `hostname; cat /etc/resolv.conf; echo "SSL=$SSL_CERT_FILE"; echo "PROXY=${HTTPS_PROXY:-none}"; exit 7`)
	if code != 7 {
		t.Fatalf("exit code %d, want the program's 7; stderr %s", code, stderr)
	}
	for _, want := range []string{e.World.VMName + "\n", "nameserver 127.0.0.1", "SSL=/", "PROXY=none"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	host, _ := os.Hostname()
	if host == e.World.VMName {
		t.Errorf("the host's own name changed to %q", host)
	}
	if b, _ := os.ReadFile("/etc/resolv.conf"); strings.Contains(string(b), "miconform") {
		t.Errorf("the host's /etc/resolv.conf was changed:\n%s", b)
	}
}

func TestSandboxIMDSAndResourceManagerWithCurl(t *testing.T) {
	requireSandbox(t)
	needTool(t, "curl")
	for _, name := range []string{"AzureCloud", "AzureChinaCloud"} {
		t.Run(name, func(t *testing.T) {
			e := newEmulator(t, name)
			c := e.Cloud
			// The Resource Manager tutorial's two curl calls, chained.
			script := `set -e
tok=$(curl -sS 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=` + c.ARMResource + `' -H Metadata:true)
echo "$tok"
at=$(printf '%s' "$tok" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
curl -sS "https://` + c.ARMHost + `/subscriptions/$SUB?api-version=2016-09-01" -H "Authorization: Bearer $at"`
			var out, errb bytes.Buffer
			sb := New(e, "sh", "-c", script)
			sb.Env = append(os.Environ(), "SUB="+e.SubscriptionID())
			sb.Stdout, sb.Stderr = &out, &errb
			if err := sb.Run(context.Background()); err != nil {
				t.Fatalf("%v; stderr: %s", err, errb.String())
			}
			lines := strings.SplitN(strings.TrimSpace(out.String()), "\n", 2)
			if len(lines) != 2 {
				t.Fatalf("want two answers, got:\n%s", out.String())
			}
			var tok, sub map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &tok); err != nil {
				t.Fatalf("token answer: %v: %s", err, lines[0])
			}
			if tok["resource"] != c.ARMResource || tok["token_type"] != "Bearer" {
				t.Errorf("token answer: %v", tok)
			}
			// The VM's identity has no role yet: Resource Manager answers,
			// over TLS the sandbox trusts, with Azure's refusal.
			if err := json.Unmarshal([]byte(lines[1]), &sub); err != nil {
				t.Fatalf("Resource Manager answer: %v: %s", err, lines[1])
			}
			if _, ok := sub["error"]; !ok && sub["subscriptionId"] != e.SubscriptionID() {
				t.Errorf("Resource Manager answer: %s", lines[1])
			}
		})
	}
}

func TestSandboxDNS(t *testing.T) {
	requireSandbox(t)
	needTool(t, "getent")
	e := newEmulator(t, "AzureCloud")
	for _, host := range []string{e.World.StorageAccount + ".blob.core.windows.net", e.World.VaultName + ".vault.azure.net", "management.azure.com"} {
		out, _, code := run(t, e, "getent", "ahostsv4", host)
		if code != 0 || !strings.Contains(out, "127.0.0.1") {
			t.Errorf("%s should resolve to 127.0.0.1: exit %d, %q", host, code, out)
		}
	}
	// As DNS does, a vault that does not exist does not resolve.
	if _, _, code := run(t, e, "getent", "hosts", "miconform-no-such-vault.vault.azure.net"); code == 0 {
		t.Errorf("a vault that does not exist resolved")
	}
	_, _, code := run(t, e, "getent", "hosts", "example.com")
	if code == 0 {
		t.Errorf("a name outside the cloud resolved")
	}
	_, _, code = run(t, e, "getent", "hosts", "management.chinacloudapi.cn")
	if code == 0 {
		t.Errorf("another cloud's Resource Manager resolved on AzureCloud")
	}
}

func TestSandboxCommandNotFound(t *testing.T) {
	requireSandbox(t)
	e := newEmulator(t, "AzureCloud")
	sb := New(e, "miconform-no-such-command")
	err := sb.Run(context.Background())
	if !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("want exec.ErrNotFound, got %v", err)
	}
	if _, err := os.Stat(sb.FilesDir()); !os.IsNotExist(err) {
		t.Errorf("files left in %s", sb.FilesDir())
	}
}

func TestSandboxExtraEndpoint(t *testing.T) {
	requireSandbox(t)
	needTool(t, "curl")
	e := newEmulator(t, "AzureCloud")
	active := false
	e.AddVMEndpoint(emulator.VMEndpoint{Addr: "127.0.0.1:50342", Active: func() bool { return active },
		Serve: func(ln net.Listener) {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "extension here") }))
		}})
	// curl's exit code 7: failed to connect, as on a VM without the extension.
	if _, _, code := run(t, e, "curl", "-sS", "http://localhost:50342/oauth2/token"); code != 7 {
		t.Errorf("inactive endpoint: curl exit %d, want 7 (connection refused)", code)
	}
	active = true
	out, stderr, code := run(t, e, "curl", "-sS", "http://localhost:50342/oauth2/token")
	if code != 0 || out != "extension here" {
		t.Errorf("active endpoint: exit %d, %q %s", code, out, stderr)
	}
}

// TestSandboxInUserNamespace takes the unprivileged path (a user namespace
// mapping root inside to the caller) even when the tests run as root.
func TestSandboxInUserNamespace(t *testing.T) {
	requireSandbox(t)
	needTool(t, "curl")
	forceUserNS = true
	defer func() { forceUserNS = false }()
	if err := Probe(); err != nil {
		t.Skipf("no unprivileged user namespaces here: %v", err)
	}
	e := newEmulator(t, "AzureCloud")
	out, stderr, code := run(t, e, "sh", "-c", `cat /proc/self/uid_map; curl -sS -o /dev/null -w '%{http_code}' https://`+e.Cloud.ARMHost+`/subscriptions?api-version=2020-01-01`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasSuffix(out, "401") {
		t.Errorf("Resource Manager over TLS from a user namespace: %q", out)
	}
	if fields := strings.Fields(out); len(fields) < 3 || fields[0] != "0" || fields[2] != "1" {
		t.Errorf("uid map %q: want root inside mapped to one outside uid", out)
	}
}

// TestSandboxLegacyExtensionAndSQL: localhost:50342 answers while the VM
// extension is installed (refused otherwise), and a SQL server's name
// reaches the TDS listener on 1433.
func TestSandboxLegacyExtensionAndSQL(t *testing.T) {
	requireSandbox(t)
	needTool(t, "curl")
	needTool(t, "bash")
	const token = `curl -sS -H Metadata:true 'http://localhost:50342/oauth2/token?resource=https://management.azure.com/'`
	e := newEmulator(t, "AzureCloud")
	if _, _, code := run(t, e, "sh", "-c", token); code != 7 {
		t.Errorf("without the extension: curl exit %d, want 7 (connection refused)", code)
	}
	if e.World.SQLServer != "" {
		host := e.World.SQLServer + "." + e.Cloud.SQLSuffix
		if out, stderr, code := run(t, e, "bash", "-c", "exec 3<>/dev/tcp/"+host+"/1433 && echo connected"); code != 0 || out != "connected\n" {
			t.Errorf("%s:1433: exit %d, %q %s", host, code, out, stderr)
		}
	}
	x := emulatortest.Start(t, emulatortest.Options{Config: emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), Seed: "tutorials", LegacyExtension: true}, Listen: true})
	listed := false
	for _, ep := range x.VMEndpoints() {
		listed = listed || ep.Addr == "127.0.0.1:50342"
	}
	if !listed {
		t.Skip("the emulator does not list the VM extension's endpoint as a VM endpoint (yet)")
	}
	out, stderr, code := run(t, x, "sh", "-c", token)
	if code != 0 || !strings.Contains(out, `"access_token":"eyJ`) {
		t.Errorf("with the extension: exit %d, %.200s %s", code, out, stderr)
	}
}
