package command

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// snapshotPair exports the sandbox as a snapshot directory twice, A and B,
// for a test to edit B by hand as a pull request would.
func snapshotPair(t *testing.T) (a, b string) {
	t.Helper()
	clearSailEnv(t)
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "--format", "dir", "-o", d); code != 0 {
			t.Fatalf("export --format dir: exit %d\n%s", code, stderr)
		}
	}
	return a, b
}

func editFile(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(edit(string(raw))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// outsideCode is a Markdown report without its code blocks, code spans and
// <code> elements: where GitHub makes mentions, links and references.
func outsideCode(md string) string {
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile("(?s)(`{3,})diff\n.*?\n`{3,}\n"),
		regexp.MustCompile("(?s)<code>.*?</code>"),
		regexp.MustCompile("(`+).*?`+"),
	} {
		md = re.ReplaceAllString(md, "")
	}
	return md
}

// TestReportsShowEveryChange: a hand-edited snapshot whose changes a report
// could hide (a byte that is not UTF-8, a document in ISO-8859-1, a lone CR,
// Trojan Source controls, a zero-width space, CRLF line ends) shows each of
// them, visibly, in the text, Markdown and HTML reports alike; none is
// called binary, and nothing invisible reaches the page.
func TestReportsShowEveryChange(t *testing.T) {
	a, b := snapshotPair(t)
	conn := filepath.Join(b, "connectors", "workday")
	editFile(t, filepath.Join(conn, "translations", "de.properties"), func(s string) string { return s + "cafe.name=caf\xe9\n" })
	editFile(t, filepath.Join(b, "connectors", "acme-hr-feed", "source-config.xml"), func(string) string {
		return "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<SourceConfig name=\"Caf\xe9 Latin\"/>\n"
	})
	editFile(t, filepath.Join(conn, "source-template.xml"), func(s string) string {
		return strings.Replace(s, "<Attributes>", "<Attributes>\r<entry key=\"x\"/>\u202e\u2066gnp.exe\u2069\u200b", 1)
	})
	editFile(t, filepath.Join(conn, "correlation-config.xml"), func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") })

	for _, format := range []string{"text", "markdown", "html"} {
		code, stdout, stderr := runCLI(t, t.Context(), "diff", "--format", format, a, b)
		if code != 1 {
			t.Fatalf("diff --format %s: exit %d, want 1\n%s", format, code, stderr)
		}
		for _, want := range []string{
			`caf\xe9`, "not valid UTF-8",
			"Caf\u00e9 Latin", "decoded from ISO-8859-1",
			`\r<entry`, `\u202e`, `\u2066`, `\u200b`,
			"differ only in line ends (a: LF, b: CRLF)",
		} {
			w := want
			if format == "html" {
				w = strings.ReplaceAll(strings.ReplaceAll(w, "<", "&lt;"), ">", "&gt;")
			}
			if !strings.Contains(stdout, w) {
				t.Errorf("diff --format %s does not show %q", format, want)
			}
		}
		if strings.Contains(stdout, "Binary documents differ") {
			t.Errorf("diff --format %s calls a text document binary", format)
		}
		for _, raw := range []string{"\u202e", "\u2066", "\u200b", "\xe9"} {
			if strings.Contains(stdout, raw) {
				t.Errorf("diff --format %s holds the raw %q", format, raw)
			}
		}
		if strings.Contains(strings.ReplaceAll(stdout, "\r\n", "\n"), "\r") {
			t.Errorf("diff --format %s holds a lone CR", format)
		}
	}
}

// TestMarkdownReportKeepsTenantTextInert: a connector name with a mention,
// an issue reference and a URL shows only inside code in the Markdown
// report, where GitHub makes nothing of it.
func TestMarkdownReportKeepsTenantTextInert(t *testing.T) {
	a, b := snapshotPair(t)
	editFile(t, filepath.Join(b, "connectors", "workday", "detail.json"), func(s string) string {
		return strings.Replace(s, `"name": "Workday"`, `"name": "Workday @someone #123 https://evil.example/x"`, 1)
	})
	code, stdout, stderr := runCLI(t, t.Context(), "diff", "--format", "markdown", a, b)
	if code != 1 || !strings.Contains(stdout, "@someone") {
		t.Fatalf("diff --format markdown: exit %d, the name is missing\n%s%s", code, stdout, stderr)
	}
	rest := outsideCode(stdout)
	for _, bad := range []string{"@someone", "#123", "https://evil.example"} {
		if strings.Contains(rest, bad) {
			t.Errorf("%q appears outside code, where GitHub acts on it:\n%s", bad, rest)
		}
	}
}

// TestReportsSayWhereEachSideCameFrom: Markdown and HTML reports name each
// side (an archive with its creation time, tool version and digest; a live
// tenant with its URL) and when and by which connvault they were made; each
// connector of the HTML page is a heading; a restore plan lists the target's
// connectors the archive does not have.
func TestReportsSayWhereEachSideCameFrom(t *testing.T) {
	clearSailEnv(t)
	arc := exportCustom(t, spectest.Start(t, sandbox.Options{}))
	target := spectest.Start(t, sandbox.Options{})
	if err := target.Tenant.PutDocumentDirect("acme-hr-feed", apiclient.SourceConfig, []byte("<source-config><changed/></source-config>\n")); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"markdown", "html"} {
		code, stdout, stderr := runCLI(t, t.Context(), append([]string{"diff", "--format", format, arc, "tenant:"}, tenantArgs(target)...)...)
		if code != 1 {
			t.Fatalf("diff --format %s: exit %d\n%s", format, code, stderr)
		}
		for _, want := range []string{"archive " + arc + " (made ", "by connvault ", "digest sha256:", "tenant " + target.URL + ", read live", "by connvault"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("diff --format %s lacks %q", format, want)
			}
		}
		if format == "html" && !strings.Contains(stdout, "<summary><h2>") {
			t.Errorf("the HTML report's connectors are not headings")
		}
	}
	code, stdout, stderr := runCLI(t, t.Context(), append([]string{"restore", "--dry-run", "--format", "markdown", arc}, tenantArgs(target)...)...)
	if code != 0 || !strings.Contains(stdout, "Left in place") || !strings.Contains(stdout, "Workday") {
		t.Errorf("restore --dry-run --format markdown: exit %d, no left-in-place list naming the target's built-in connectors\n%s%s", code, stdout, stderr)
	}
}

// TestDirectoryExportKeepsGitFromConvertingLineEnds: export --format dir
// writes a .gitattributes marking its files -text, so a Windows checkout
// with core.autocrlf=true does not turn LF into CRLF.
func TestDirectoryExportKeepsGitFromConvertingLineEnds(t *testing.T) {
	a, _ := snapshotPair(t)
	raw, err := os.ReadFile(filepath.Join(a, ".gitattributes"))
	if err != nil || !strings.Contains(string(raw), "connectors/** -text") || !strings.Contains(string(raw), "manifest.json -text") {
		t.Errorf(".gitattributes: %v\n%s", err, raw)
	}
}

// TestMaxBytesIsALimit: a --max-bytes below the report's summary is refused
// (exit 2) naming the smallest size that works, and nothing is printed; that
// size works and the report stays within it.
func TestMaxBytesIsALimit(t *testing.T) {
	a, b := snapshotPair(t)
	editFile(t, filepath.Join(b, "connectors", "workday", "source-config.xml"), func(s string) string { return s + "<!-- x -->\n" })
	code, stdout, stderr := runCLI(t, t.Context(), "diff", "--format", "markdown", "--max-bytes", "100", a, b)
	m := regexp.MustCompile(`smallest size that works is (\d+)`).FindStringSubmatch(stderr)
	if code != exitUsage || stdout != "" || m == nil {
		t.Fatalf("--max-bytes 100: exit %d, %d bytes on stdout\n%s", code, len(stdout), stderr)
	}
	code, stdout, stderr = runCLI(t, t.Context(), "diff", "--format", "markdown", "--max-bytes", m[1], a, b)
	if n, _ := strconv.Atoi(m[1]); code != 1 || len(stdout) > n {
		t.Errorf("--max-bytes %s: exit %d, %d bytes\n%s", m[1], code, len(stdout), stderr)
	}
}
