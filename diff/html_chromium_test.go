package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumPath finds a headless-capable Chromium. Under CI (CI=true, as
// .ci/run sets, which installs Debian's chromium) a missing browser fails the
// test instead of skipping it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package for this test")
	}
	t.Skip("no chromium on PATH (apt-get install chromium); CI runs this test")
	return ""
}

// probeScript runs in the page after it loads and appends its findings as
// JSON in <pre id="probe">: the script errors and blocked loads seen, every
// resource the page fetched (there must be none: the page is
// self-contained), and whether the changed line of the golden diff is
// rendered visibly with its changed characters marked.
const probeScript = `<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || 'resource')), true);
document.addEventListener('securitypolicyviolation', e => window.__errors.push('blocked: ' + e.blockedURI));
window.addEventListener('load', () => {
  const want = 'help=Upload a CSV or TSV file';
  const cells = [...document.querySelectorAll('tr.add td.code')].filter(td => td.textContent === want);
  const cell = cells[0];
  const box = cell ? cell.getBoundingClientRect() : {width: 0, height: 0};
  const ins = cell ? cell.querySelector('ins') : null;
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({
    matches: cells.length,
    visible: !!cell && cell.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) && box.width > 0 && box.height > 0,
    marked: ins ? ins.textContent : '',
    markColour: ins ? getComputedStyle(ins).backgroundColor : '',
    rowColour: cell ? getComputedStyle(cell.parentElement).backgroundColor : '',
    sections: document.querySelectorAll('details.conn[open]').length,
    resources: performance.getEntriesByType('resource').map(r => r.name),
    errors: window.__errors,
  });
  document.body.appendChild(pre);
});
</script>`

type probeResult struct {
	Matches    int      `json:"matches"`
	Visible    bool     `json:"visible"`
	Marked     string   `json:"marked"`
	MarkColour string   `json:"markColour"`
	RowColour  string   `json:"rowColour"`
	Sections   int      `json:"sections"`
	Resources  []string `json:"resources"`
	Errors     []string `json:"errors"`
}

// TestHTMLReportInChromium loads the HTML report in headless Chromium: the
// page loads without errors, fetches nothing, and shows the changed line
// with its changed characters highlighted.
func TestHTMLReportInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	a, b, mapping := goldenSnapshots(t)
	r, err := Compare(a, b, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, r, ReportOptions{A: "nightly.tar.zst", B: "tenant:prod"}); err != nil {
		t.Fatal(err)
	}
	// The page's policy allows no script; the probe needs one inline, and
	// nothing else is loosened (a blocked load is still reported).
	src := page.String()
	const csp = "default-src 'none'; style-src 'unsafe-inline'"
	if !strings.Contains(src, csp) {
		t.Fatalf("the page lacks its content security policy %q", csp)
	}
	src = strings.Replace(src, csp, csp+"; script-src 'unsafe-inline'", 1)
	src = strings.Replace(src, "</body>", probeScript+"\n</body>", 1)
	dom, stderr := chromiumDOM(t, chromium, src)
	m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run (the page did not load?)\nDOM:\n%.2000s\nstderr:\n%s", dom, stderr)
	}
	var got probeResult
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &got); err != nil {
		t.Fatalf("probe output %q: %v", m[1], err)
	}
	t.Logf("probe: %+v", got)
	if len(got.Errors) != 0 {
		t.Errorf("the page had errors: %v", got.Errors)
	}
	if len(got.Resources) != 0 {
		t.Errorf("the page fetched resources, it must be self-contained: %v", got.Resources)
	}
	if got.Matches != 1 || !got.Visible {
		t.Errorf("changed line: %d matching rows, visible %v; want one visible row", got.Matches, got.Visible)
	}
	if got.Marked != "or TSV " {
		t.Errorf("changed characters marked %q, want %q", got.Marked, "or TSV ")
	}
	if got.MarkColour == got.RowColour || got.MarkColour == "" || strings.HasSuffix(got.MarkColour, ", 0)") {
		t.Errorf("the changed characters are not highlighted against their line: mark %q, row %q", got.MarkColour, got.RowColour)
	}
	if want := len(NewReport(r, ReportOptions{}).Sections); got.Sections != want {
		t.Errorf("%d connector sections open, want all %d", got.Sections, want)
	}
}

// chromiumDOM loads the page src in headless Chromium (no network, a fresh
// profile) and returns the DOM after its scripts ran, and Chromium's stderr.
func chromiumDOM(t *testing.T, chromium, src string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "page.html")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--virtual-time-budget=5000", "--dump-dom", "file://"+file)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}
