package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/slowtest"
)

// proc is `emulate --state-dir` running as its own process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	env    map[string]string
	client *http.Client
	stderr *lockedBuffer
	cloud  cloud.Profile
}

// lockedBuffer is the process's stderr, written by exec's copier while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildRunner builds the runner binary once into a temp dir.
func buildRunner(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		// A test binary run without the toolchain (the Windows build under
		// Wine in .ci/run): nothing to build the runner with.
		t.Skip("needs the go command to build the runner:", err)
	}
	// The runner binary needs .exe on Windows to be started by name.
	bin := filepath.Join(winetest.TempDir(t), "miconform"+exeSuffix())
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/miconform/miconform/runner").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// startProc starts the emulator process and waits for "emulator ready".
func startProc(t *testing.T, bin, dir string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "emulate", "--state-dir", dir, "--imds-throttle=false",
		"--https-addr", "127.0.0.1:0", "--imds-addr", "127.0.0.1:0", "--sql-addr", "127.0.0.1:0", "--legacy-addr", "127.0.0.1:0")
	p := &proc{t: t, cmd: cmd, env: map[string]string{}, stderr: &lockedBuffer{}, cloud: cloud.MustLookup("AzureCloud")}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "emulator ready" {
				ready <- nil
				_, _ = io.Copy(io.Discard, out)
				return
			}
			if k, v, ok := strings.Cut(line, "="); ok {
				p.env[k] = strings.Trim(v, "'")
			}
		}
		ready <- fmt.Errorf("emulate ended before it was ready: %v", sc.Err())
	}()
	select {
	case err := <-ready:
		require.NoError(t, err, "stderr: %s", p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("emulate not ready after 60s; stderr: %s", p.stderr)
	}
	ca, err := os.ReadFile(p.env["MICONFORM_CA_FILE"])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca))
	https := p.env["MICONFORM_HTTPS_ADDR"]
	imdsAddr := strings.TrimPrefix(p.env["MICONFORM_IMDS_URL"], "http://")
	var d net.Dialer
	p.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// Every Azure host is the HTTPS listener, IMDS its own.
			if addr == "169.254.169.254:80" {
				return d.DialContext(ctx, network, imdsAddr)
			}
			return d.DialContext(ctx, network, https)
		},
		MaxIdleConnsPerHost: 16,
	}}
	return p
}

// send is one request; a transport error is returned, never fatal (the
// process may be gone).
func (p *proc) send(method, u string, hdr http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = hdr.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// operatorToken signs the operator in with its client secret, as a user
// of `emulate` would.
func (p *proc) operatorToken(resource string) string {
	p.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {p.env["MICONFORM_OPERATOR_CLIENT_ID"]},
		"client_secret": {p.env["MICONFORM_OPERATOR_CLIENT_SECRET"]}, "scope": {strings.TrimSuffix(resource, "/") + "/.default"}}
	code, body, err := p.send("POST", "https://"+p.cloud.LoginHost+"/"+p.env["AZURE_TENANT_ID"]+"/oauth2/v2.0/token",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form.Encode()))
	require.NoError(p.t, err)
	require.Equal(p.t, 200, code, "token request refused: %s", body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(p.t, json.Unmarshal(body, &tok))
	return tok.AccessToken
}

func bearer(tok string, kv ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + tok}}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// acked is one write the emulator acknowledged: where to read it back and
// what must come back.
type acked struct {
	kind, url, want string
}

// TestKillMidLoad runs `emulate --state-dir` as a process, drives Resource
// Manager, Blob and Key Vault writes at it from several clients, kills it
// with SIGKILL in the middle, restarts it on the same state dir, and reads
// back every write that had been acknowledged, byte for byte; tokens issued
// before the kill are still accepted.
func TestKillMidLoad(t *testing.T) {
	t.Parallel()
	slowtest.Require(t, "builds the runner and kills it mid-load, again and again")
	bin := buildRunner(t)
	dir := winetest.TempDir(t)
	p := startProc(t, bin, dir)
	c := p.cloud
	sub := "/subscriptions/" + p.env["AZURE_SUBSCRIPTION_ID"]
	group := sub + "/resourceGroups/" + p.env["MICONFORM_RESOURCE_GROUP"]
	armTok := p.operatorToken(c.ARMResource)
	account := group + "/providers/Microsoft.Storage/storageAccounts/" + p.env["MICONFORM_STORAGE_ACCOUNT"]
	code, body, err := p.send("PUT", "https://"+c.ARMHost+account+"/providers/Microsoft.Authorization/roleAssignments/"+
		"0b6f1c7e-6d0b-4a52-9d1f-4c5b8f2f7a11?api-version=2022-04-01", bearer(armTok, "Content-Type", "application/json"),
		[]byte(`{"properties":{"roleDefinitionId":"`+sub+`/providers/Microsoft.Authorization/roleDefinitions/`+blobContributorRole+
			`","principalId":"`+p.operatorOID(armTok)+`","principalType":"ServicePrincipal"}}`))
	require.NoError(t, err)
	require.Equal(t, 201, code, "%s", body)
	blobTok, vaultTok := p.operatorToken(c.StorageResource), p.operatorToken(c.VaultResource)
	code, body, err = p.send("GET", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape(c.ARMResource),
		http.Header{"Metadata": {"true"}}, nil)
	require.NoError(t, err)
	require.Equal(t, 200, code)
	var vm struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(body, &vm))

	blobBase := "https://" + p.env["MICONFORM_STORAGE_ACCOUNT"] + ".blob." + c.StorageSuffix + "/" + p.env["MICONFORM_CONTAINER"] + "/"
	vaultBase := "https://" + p.env["MICONFORM_VAULT"] + "." + c.VaultSuffix + "/secrets/"
	var mu sync.Mutex
	var writes []acked
	record := func(a acked) {
		mu.Lock()
		writes = append(writes, a)
		mu.Unlock()
	}
	const workers = 6
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tag := fmt.Sprintf("w%d-%d", w, i)
				var err error
				switch i % 3 {
				case 0: // Resource Manager: a new group with a tag
					path := sub + "/resourceGroups/kill-" + tag
					var code int
					code, _, err = p.send("PUT", "https://"+c.ARMHost+path+"?api-version=2021-04-01", bearer(armTok, "Content-Type", "application/json"),
						[]byte(`{"location":"westus2","tags":{"write":"`+tag+`"}}`))
					if err == nil && code == 201 {
						record(acked{"arm", "https://" + c.ARMHost + path + "?api-version=2021-04-01", tag})
					}
				case 1: // Blob: a new blob of 1-64 KiB, every fifth one 5 MiB (a spill file)
					size := 1<<10 + i*997%(63<<10)
					if i%15 == 1 {
						size = 5<<20 + i
					}
					data := strings.Repeat(tag+";", size/len(tag))
					var code int
					code, _, err = p.send("PUT", blobBase+"kill/"+tag, bearer(blobTok, "X-Ms-Version", "2021-08-06", "X-Ms-Blob-Type", "BlockBlob", "Content-Type", "application/octet-stream"), []byte(data))
					if err == nil && code == 201 {
						record(acked{"blob", blobBase + "kill/" + tag, data})
					}
				case 2: // Key Vault: a new version of the worker's secret
					var code int
					var body []byte
					code, body, err = p.send("PUT", vaultBase+fmt.Sprintf("kill-w%d", w)+"?api-version=7.5", bearer(vaultTok, "Content-Type", "application/json"), []byte(`{"value":"`+tag+`"}`))
					var s struct{ ID string }
					if err == nil && code == 200 && json.Unmarshal(body, &s) == nil {
						// The version's own URL: every acknowledged version stays readable.
						record(acked{"secret", s.ID + "?api-version=7.5", tag})
					}
				}
				if err != nil {
					return // the process is gone
				}
			}
		}()
	}
	// Kill once every kind of write has been acknowledged a few times
	// (a fixed sleep saw none of a kind on a loaded machine), while the
	// workers keep writing: the kill lands mid-load either way.
	enough := func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := map[string]int{}
		for _, a := range writes {
			n[a.kind]++
		}
		return n["arm"] >= 3 && n["blob"] >= 3 && n["secret"] >= 3
	}
	for deadline := time.Now().Add(2 * time.Minute); !enough(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the emulator acknowledged too few writes of some kind in 2 minutes")
		}
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_ = p.cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	kinds := map[string]int{}
	for _, a := range writes {
		kinds[a.kind]++
	}
	t.Logf("acknowledged before SIGKILL: %d writes %v", len(writes), kinds)
	require.Positive(t, kinds["arm"])
	require.Positive(t, kinds["blob"])
	require.Positive(t, kinds["secret"])

	p2 := startProc(t, bin, dir)
	assert.Equal(t, p.env["AZURE_SUBSCRIPTION_ID"], p2.env["AZURE_SUBSCRIPTION_ID"])
	assert.NotContains(t, p2.stderr.String(), "emulator: state:", "nothing acknowledged can be in a torn tail, and an fsynced log has none of its own")
	tokens := map[string]string{"arm": armTok, "blob": blobTok, "secret": vaultTok}
	missing := 0
	for _, a := range writes {
		hdr := bearer(tokens[a.kind], "X-Ms-Version", "2021-08-06")
		code, body, err := p2.send("GET", a.url, hdr, nil)
		require.NoError(t, err)
		var got string
		switch a.kind {
		case "arm":
			var g struct{ Tags map[string]string }
			_ = json.Unmarshal(body, &g)
			got = g.Tags["write"]
		case "blob":
			got = string(body)
		case "secret":
			var s struct{ Value string }
			_ = json.Unmarshal(body, &s)
			got = s.Value
		}
		if code != 200 || got != a.want {
			missing++
			t.Errorf("acknowledged %s write lost: GET %s: %d, %d bytes (want %d)", a.kind, a.url, code, len(got), len(a.want))
		}
	}
	assert.Zero(t, missing)
	// Tokens from before the kill: the VM's (from IMDS) and the operator's.
	code, _, err = p2.send("GET", "https://"+c.ARMHost+group+"?api-version=2021-04-01", bearer(vm.AccessToken), nil)
	require.NoError(t, err)
	assert.Equal(t, 200, code, "the VM's token issued before the kill")
	// The seeded world is intact.
	code, body, err = p2.send("GET", vaultBase+p.env["MICONFORM_SECRET_NAME"]+"?api-version=7.5", bearer(vaultTok), nil)
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.Contains(t, string(body), `"value":"My Secret"`)
	code, body, err = p2.send("GET", blobBase+url.PathEscape(p.env["MICONFORM_BLOB"]), bearer(blobTok, "X-Ms-Version", "2021-08-06"), nil)
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.NotEmpty(t, body)
}

// operatorOID reads the operator's object id from its token's oid claim.
func (p *proc) operatorOID(tok string) string {
	p.t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(p.t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(p.t, err)
	var c struct{ OID string }
	require.NoError(p.t, json.Unmarshal(b, &c))
	return c.OID
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}
