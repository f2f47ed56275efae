package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// runCLI runs connvault in-process and returns its exit code and streams.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"connvault"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// tenantArgs points a command at srv without touching the environment. The
// secret goes in a file, as users are told to keep it (--client-secret on
// the command line draws a warning).
func tenantArgs(srv *sandbox.Server) []string {
	return []string{"--base-url", srv.URL, "--client-id", srv.ClientID, "--client-secret-file", secretFile(srv.ClientSecret), "--rate", "0"}
}

// secretFiles are the files secretFile wrote, one per secret, in testTemp.
var secretFiles sync.Map

func secretFile(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	path := filepath.Join(testTemp, "secret-"+hex.EncodeToString(sum[:8]))
	if _, loaded := secretFiles.LoadOrStore(path, true); !loaded {
		if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
			panic(err)
		}
	}
	return path
}

// clearSailEnv keeps a developer's real tenant settings out of the tests.
func clearSailEnv(t *testing.T) {
	// SAIL_API_VERSION too: the suite runs with the default layout choice
	// (auto) whatever the caller's environment says.
	for _, k := range []string{"SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "SAIL_CLIENT_SECRET_FILE", "SAIL_API_VERSION"} {
		t.Setenv(k, "")
	}
}

// released lists the tenant's RELEASED connectors: what the list shows.
func released(tn *sandbox.Tenant) []string {
	var out []string
	for _, sn := range tn.ScriptNames() {
		if c, _ := tn.Connector(sn); c.Status == apiclient.StatusReleased {
			out = append(out, sn)
		}
	}
	return out
}

// checkArchiveMatchesTenant asserts that the archive holds exactly the
// tenant's RELEASED connectors, each byte for byte.
func checkArchiveMatchesTenant(t *testing.T, path string, tn *sandbox.Tenant) *archive.Snapshot {
	t.Helper()
	snap, err := archive.ReadFile(path, archive.ReadOptions{})
	if err != nil {
		t.Fatalf("reading the archive: %v", err)
	}
	var got []string
	for _, c := range snap.Connectors {
		got = append(got, c.ScriptName)
	}
	// The archive keeps entries sorted by path, so connectors come back in
	// scriptName order.
	want := released(tn)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("connectors in the archive (-tenant's RELEASED +archive):\n%s", d)
	}
	for _, c := range snap.Connectors {
		sc, _ := tn.Connector(c.ScriptName)
		for _, doc := range []struct {
			name      string
			got, want []byte
		}{
			{"source-config", c.SourceConfig, sc.SourceConfig},
			{"source-template", c.SourceTemplate, sc.SourceTemplate},
			{"correlation-config", c.CorrelationConfig, sc.CorrelationConfig},
		} {
			if !bytes.Equal(doc.got, doc.want) || (doc.got == nil) != (doc.want == nil) {
				t.Errorf("%s %s: archive has %d bytes (nil %v), tenant %d bytes (nil %v)", c.ScriptName, doc.name,
					len(doc.got), doc.got == nil, len(doc.want), doc.want == nil)
			}
		}
		if d := cmp.Diff(sc.Translations, c.Translations); d != "" {
			t.Errorf("%s translations (-tenant +archive):\n%s", c.ScriptName, d)
		}
		var gotDetail apiclient.ConnectorDetail
		if err := json.Unmarshal(c.Detail, &gotDetail); err != nil {
			t.Fatalf("%s detail: %v", c.ScriptName, err)
		}
		wantDetail, _ := tn.Detail(c.ScriptName)
		if d := cmp.Diff(wantDetail, gotDetail); d != "" {
			t.Errorf("%s detail (-tenant +archive):\n%s", c.ScriptName, d)
		}
	}
	return snap
}

// TestReadmeMainJob runs the README's first command as a newcomer would and
// checks what it promises.
func TestReadmeMainJob(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.tar.zst")
	// As the README gives it, twice: the sequence is repeatable.
	var code int
	var stdout, stderr string
	for range 2 {
		code, stdout, stderr = runCLI(t, context.Background(), "export", "--sandbox", "-o", out, "--force")
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	}
	if stdout != "" {
		t.Errorf("export without --json printed to stdout: %q", stdout)
	}
	if !strings.Contains(stderr, "wrote "+out) || !strings.Contains(stderr, "digest sha256:") {
		t.Errorf("summary line missing from stderr:\n%s", stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v, want 0600", fi.Mode().Perm())
	}
	checkArchiveMatchesTenant(t, out, sandbox.New(sandbox.Options{}))

	code, stdout, _ = runCLI(t, context.Background(), "verify", out)
	if code != 0 || !strings.Contains(stdout, ": ok (") {
		t.Errorf("verify: exit %d, %q", code, stdout)
	}
	if _, err := exec.LookPath("zstd"); err == nil {
		list, err := exec.Command("tar", "--zstd", "-tf", out).Output()
		if err != nil {
			t.Fatalf("tar --zstd -tf: %v", err)
		}
		if !strings.HasPrefix(string(list), "manifest.json\n") || !strings.Contains(string(list), "/source-config.xml") {
			t.Errorf("tar listing:\n%s", list)
		}
	} else if os.Getenv("CI") != "" {
		t.Fatal("zstd is not installed; .ci/run installs it")
	}
	// Nothing but the archive is left in the directory.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the archive", len(entries))
	}
}

// TestExportEndToEndSpecValidated exports from a sandbox whose every request
// and answer is checked against the official spec, and compares the archive
// with the tenant byte for byte.
func TestExportEndToEndSpecValidated(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out, "--json"}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	snap := checkArchiveMatchesTenant(t, out, srv.Tenant)
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, stdout)
	}
	if sum.Connectors != len(snap.Connectors) || sum.ContentDigest != snap.Manifest.ContentDigest || !sum.Written || sum.Requests == 0 {
		t.Errorf("summary %+v does not match the archive (%d connectors, %s)", sum, len(snap.Connectors), snap.Manifest.ContentDigest)
	}
	// DEVELOPMENT connectors are reachable by name.
	var hidden string
	for _, sn := range srv.Tenant.ScriptNames() {
		if c, _ := srv.Tenant.Connector(sn); c.Status != apiclient.StatusReleased {
			hidden = sn
			break
		}
	}
	if hidden == "" {
		t.Fatal("the seed has no hidden connector")
	}
	out2 := filepath.Join(t.TempDir(), "y.tar.zst")
	code, _, stderr = runCLI(t, context.Background(), append([]string{"export", "-o", out2, "--no-list", "--script-name", hidden}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	snap2, err := archive.ReadFile(out2, archive.ReadOptions{})
	if err != nil || len(snap2.Connectors) != 1 || snap2.Connectors[0].ScriptName != hidden {
		t.Fatalf("--script-name %s: %v %+v", hidden, err, snap2)
	}
}

func TestExportMissingCredentials(t *testing.T) {
	clearSailEnv(t)
	code, _, stderr := runCLI(t, context.Background(), "export", "-o", filepath.Join(t.TempDir(), "x.tar.zst"))
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{"SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "--sandbox"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error does not mention %s:\n%s", want, stderr)
		}
	}
}

// hookDetail answers the detail GET of one connector with status/body.
func hookDetail(tn *sandbox.Tenant, scriptName string, status int, body string) {
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if isDetail(r, scriptName) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return true
		}
		return false
	})
}

func TestExportSkipsConnectorDeletedMidRun(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	victim := released(srv.Tenant)[3]
	hookDetail(srv.Tenant, victim, 404, `{"detailCode":"404 Not found","trackingId":"t404","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"not found"}]}`)
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	m, err := archive.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Partial || len(m.Skipped) != 1 || m.Skipped[0].ScriptName != victim || !strings.Contains(m.Skipped[0].Reason, "404") {
		t.Errorf("manifest: partial %v, skipped %+v; want %s skipped for 404", m.Partial, m.Skipped, victim)
	}
	if m.ConnectorCount != len(released(srv.Tenant))-1 {
		t.Errorf("connector count %d, want %d", m.ConnectorCount, len(released(srv.Tenant))-1)
	}
	if !strings.Contains(stderr, victim) {
		t.Errorf("stderr does not report the skipped connector:\n%s", stderr)
	}
}

func TestExportKeepGoing(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	victim := released(srv.Tenant)[1]
	hookDetail(srv.Tenant, victim, 403, `{"detailCode":"403 Forbidden","trackingId":"trk-403","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"no access"}]}`)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tar.zst")

	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...)
	if code != exitError {
		t.Fatalf("without --keep-going: exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, victim) || !strings.Contains(stderr, "trk-403") {
		t.Errorf("error should name the connector and the trackingId:\n%s", stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed export left %d files behind", len(entries))
	}

	code, _, stderr = runCLI(t, context.Background(), append([]string{"export", "-o", out, "--keep-going"}, tenantArgs(srv)...)...)
	if code != exitPartial {
		t.Fatalf("--keep-going: exit %d, want 3; stderr:\n%s", code, stderr)
	}
	m, err := archive.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Partial || len(m.Skipped) != 1 || m.Skipped[0].ScriptName != victim {
		t.Errorf("manifest: partial %v, skipped %+v", m.Partial, m.Skipped)
	}
}

func TestExportCtrlCLeavesNothing(t *testing.T) {
	clearSailEnv(t)
	srv, err := sandbox.Start(context.Background(), "", sandbox.Options{Synthetic: 200, DocSize: 2000, Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelAtRequest(srv.Tenant, 50, cancel)
	code, _, stderr := runCLI(t, ctx, append([]string{"export", "--output-dir", dir}, tenantArgs(srv)...)...)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr:\n%s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		if e.Name() != ".connvault.lock" {
			left = append(left, e.Name())
		}
	}
	if len(left) != 0 {
		t.Errorf("interrupted export left %v", left)
	}
}

func TestExportIfChanged(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	dir := t.TempDir()
	archives := func() []string {
		var out []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tar.zst") {
				out = append(out, e.Name())
			}
		}
		slices.Sort(out)
		return out
	}
	args := append([]string{"export", "--output-dir", dir, "--if-changed", "--json"}, tenantArgs(srv)...)
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	utcNow = func() time.Time { return now }
	t.Cleanup(func() { utcNow = func() time.Time { return time.Now().UTC() } })

	if code, _, stderr := runCLI(t, context.Background(), args...); code != 0 {
		t.Fatalf("first export: exit %d\n%s", code, stderr)
	}
	if n := len(archives()); n != 1 {
		t.Fatalf("after the first export: %d archives", n)
	}
	now = now.Add(24 * time.Hour)
	code, stdout, stderr := runCLI(t, context.Background(), args...)
	if code != 0 || !strings.Contains(stderr, "unchanged") {
		t.Fatalf("unchanged tenant: exit %d\n%s", code, stderr)
	}
	var sum exportSummary
	_ = json.Unmarshal([]byte(stdout), &sum)
	if sum.Written || !sum.Unchanged {
		t.Errorf("summary %+v: want unchanged, not written", sum)
	}
	if n := len(archives()); n != 1 {
		t.Fatalf("unchanged tenant wrote a new archive: %v", archives())
	}
	sn := released(srv.Tenant)[0]
	if err := srv.Tenant.PutDocumentDirect(sn, apiclient.SourceTemplate, []byte(`<Application name="changed"/>`)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24 * time.Hour)
	if code, _, stderr := runCLI(t, context.Background(), args...); code != 0 {
		t.Fatalf("changed tenant: exit %d\n%s", code, stderr)
	}
	if n := len(archives()); n != 2 {
		t.Fatalf("changed tenant: %d archives, want 2: %v", n, archives())
	}
}
