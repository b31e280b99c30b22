package report

import (
	"context"
	"encoding/xml"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/miconform/miconform/internal/slowtest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The page is one file that loads nothing: no script, no stylesheet or
// image from anywhere, no URL in a style; and it says what a person needs.
func TestHTMLReport(t *testing.T) {
	res := runSuite(t, 1, registerSteps, demoFeatures()...)
	res.HTMLSections = []HTMLSection{{ID: "coverage", Title: "Article coverage", Intro: "Claims each scenario checks.",
		Header: []string{"Article", "Claims", "Checked"}, Rows: [][]string{{"demo", "3", "2 <of> 3"}}}}
	b, err := res.HTML()
	require.NoError(t, err)
	page := string(b)
	for _, banned := range []string{"<script", "<link", "<img", "<iframe", "src=", "url(", "@import", `href="http`, `href="//`} {
		assert.NotContains(t, strings.ToLower(page), banned, "the report loads nothing from anywhere")
	}
	assert.Contains(t, page, "default-src 'none'", "a CSP forbids any load the template might grow")
	assert.Contains(t, page, "Demo: read a Key Vault secret with a managed identity")
	assert.Contains(t, page, "Other feature without a tutorial tag")
	assert.Contains(t, page, "expected 200, got 403", "the failed step's message")
	assert.Contains(t, page, "GET http://169.254.169.254/metadata/identity/oauth2/token", "the step's request log")
	assert.Contains(t, page, "<h2>Article coverage</h2>")
	assert.Contains(t, page, "2 &lt;of&gt; 3", "section cells are escaped")
	assert.NotContains(t, page, fakeJWT)
	assert.NotContains(t, page, lateSecret)
	assert.NotContains(t, page, "\x1b")
	// The token request's log sits under its step, not only the scenario.
	step := regexp.MustCompile(`(?s)<li class="step passed">.{0,300}the VM requests a token.*?</li>`).FindString(page)
	assert.Contains(t, step, "request/response log")
	assert.Contains(t, step, "oauth2/token")
	// The failing scenario is open with its failure panel.
	assert.Regexp(t, `<details class="scenario FAIL" id="t1-s2" open>`, page)
	assert.Regexp(t, `(?s)<div class="failure FAIL">\s*<h4>Failed step \(line 14\)</h4>`, page)
	// A badge is colored by its own status, never by its container's (a
	// passed step inside a failed scenario is green).
	assert.NotRegexp(t, `\.(PASS|FAIL|SKIP|STOP) \.badge`, page)
	assert.Contains(t, page, `<span class="badge passed">passed</span>`)
	// Without sections, no empty section.
	res.HTMLSections = nil
	b, err = res.HTML()
	require.NoError(t, err)
	assert.NotContains(t, string(b), `class="extra"`)
}

// chromium finds a headless-capable Chromium, or skips saying why.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it when it can)")
	return ""
}

// visibleText is roughly what the page shows: the DOM without tags,
// styles and closed logs' contents left in (a closed <details> still
// shows its summary; its body is one click away).
func visibleText(dom string) string {
	dom = regexp.MustCompile(`(?s)<style.*?</style>|<head.*?</head>`).ReplaceAllString(dom, "")
	dom = regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(dom, " ")
	return strings.Join(strings.Fields(strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&quot;", `"`, "&#39;", "'").Replace(dom)), " ")
}

// The report as a browser renders it: headless Chromium loads the file
// and dumps the DOM it built; a screenshot proves it painted.
func TestHTMLReportInChromium(t *testing.T) {
	slowtest.Require(t, "starts headless Chromium")
	bin := chromium(t)
	res := runSuite(t, 1, registerSteps, demoFeatures()...)
	dir := winetest.TempDir(t)
	path := filepath.Join(dir, "report.html")
	require.NoError(t, res.WriteHTML(path))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := winetest.TempDir(t)
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile, "--no-first-run",
		// Any request the page made would fail here rather than reach a network.
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"}
	out, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", "file://"+path)...).Output()
	require.NoError(t, err, "chromium --dump-dom")
	dom := string(out)
	require.Contains(t, dom, "</html>", "chromium rendered the page")
	text := visibleText(dom)
	assert.Contains(t, text, "Demo: read a Key Vault secret with a managed identity", "a tutorial's title")
	assert.Contains(t, text, "Other feature without a tutorial tag")
	assert.Contains(t, text, "expected 200, got 403", "the failed step's message")
	assert.Contains(t, text, "Failed step (line 14)")
	assert.NotContains(t, text, fakeJWT, "no token")
	assert.NotContains(t, text, lateSecret, "no secret")
	shot := filepath.Join(dir, "shot.png")
	_, err = exec.CommandContext(ctx, bin, append(args, "--screenshot="+shot, "--window-size=1200,900", "file://"+path)...).Output()
	require.NoError(t, err, "chromium --screenshot")
	st, err := os.Stat(shot)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(10_000), "a painted page, not a blank one")
}

// An interrupted run: the scenario the interrupt cut short is neither a
// failure nor an error; the JUnit file and the summary say the run was
// interrupted.
func TestMarkInterrupted(t *testing.T) {
	res := runSuite(t, 1, registerSteps, demoFeatures()...)
	before := res.Counts()
	// Pretend the interrupt came while the failing scenario's step ran:
	// the step ended with the run's context cancelled.
	var failing, fault *Scenario
	for _, s := range res.Features[0].Scenarios {
		switch s.Name {
		case "failing scenario":
			failing = s
		case "harness fault":
			fault = s
		}
	}
	require.NotNil(t, failing)
	require.NotNil(t, fault)
	failing.Culprit().Cancelled = true
	fault.Culprit().Cancelled = true
	res.MarkInterrupted(failing.Culprit().Ended.Add(-time.Millisecond))
	after := res.Counts()
	assert.Equal(t, before.Failed-1, after.Failed, "the cut-short scenario is not a failure")
	assert.Equal(t, before.Errors-1, after.Errors, "nor is the hook that failed after the interrupt")
	assert.Equal(t, 2, after.Interrupted)
	assert.Equal(t, Interrupted, failing.Status)
	assert.Contains(t, res.StatusLine(), "⛔ INTERRUPTED:")
	assert.Contains(t, res.StatusLine(), "2 cut short by the interrupt")
	assert.Contains(t, res.Summary(), "INTERRUPTED")
	b, err := res.JUnit()
	require.NoError(t, err)
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(b, &doc))
	found := false
	for _, p := range doc.Suites[0].Properties {
		found = found || (p.Name == "interrupted" && p.Value == "true")
	}
	assert.True(t, found, "JUnit property interrupted=true")
	for _, c := range doc.Suites[0].Cases {
		if c.Name == "failing scenario" {
			require.NotNil(t, c.Skipped)
			assert.Nil(t, c.Failure)
			assert.Contains(t, c.Skipped.Message, "interrupted: the run was interrupted while this scenario ran")
		}
		if c.Name == "undefined scenario" {
			assert.NotNil(t, c.Failure, "a scenario that failed before the interrupt still failed")
		}
	}
	h, err := res.HTML()
	require.NoError(t, err)
	assert.Contains(t, string(h), "This run was interrupted.")
	assert.Contains(t, string(h), "Cut short by the interrupt")
}
