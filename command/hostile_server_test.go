package command

// Hostile servers through the command line: each test asserts the
// safe outcome an operator sees (exit code, the error line, what is or is not
// on disk or in the tenant).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestExportRefusesDetailOfAnotherConnector: GET
// /connectors/VICTIM answered with another connector's detail ends the export
// with the mismatch named and no archive; with --keep-going the victim is
// recorded as failed and every other connector is saved.
func TestExportRefusesDetailOfAnotherConnector(t *testing.T) {
	inLayouts(t, testExportRefusesDetailOfAnotherConnector)
}

func testExportRefusesDetailOfAnotherConnector(t *testing.T, layout string) {
	clearSailEnvIn(t, layout)
	srv := spectest.Start(t, sandbox.Options{})
	t.Cleanup(func() { usedLayout(t, srv.Tenant, layout) })
	rel := released(srv.Tenant)
	victim, other := rel[1], rel[2]
	d, _ := srv.Tenant.Detail(other)
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	hookDetail(srv.Tenant, victim, http.StatusOK, string(body))
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tar.zst")

	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, `get connector "`+victim+`"`, `"`+other+`"`, "another connector")
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("a failed export left %v", left)
	}

	code, _, stderr = runCLI(t, context.Background(), append([]string{"export", "-o", out, "--keep-going"}, tenantArgs(srv)...)...)
	if code != exitPartial {
		t.Fatalf("--keep-going: exit %d, want 3; stderr:\n%s", code, stderr)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) != len(rel)-1 {
		t.Errorf("%d connectors archived, want %d", len(snap.Connectors), len(rel)-1)
	}
	for _, c := range snap.Connectors {
		if c.ScriptName == victim {
			t.Errorf("%s was archived with %s's detail", victim, other)
		}
		if c.ScriptName == other && !strings.Contains(string(c.Detail), `"scriptName":"`+other+`"`) {
			t.Errorf("%s's own detail is wrong", other)
		}
	}
	if !snap.Manifest.Partial || len(snap.Manifest.Skipped) != 1 || snap.Manifest.Skipped[0].ScriptName != victim {
		t.Errorf("manifest: partial %v, skipped %+v; want %s failed", snap.Manifest.Partial, snap.Manifest.Skipped, victim)
	}
	_ = os.Remove(out)
}

// holder creates a connector in tn directly, with a document, and returns
// its scriptName and a way to check it is untouched.
func holder(t *testing.T, tn *sandbox.Tenant, name string) (string, func() bool) {
	t.Helper()
	dto, err := tn.CreateDirect(apiclient.V3CreateConnectorDto{Name: name, ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, []byte("<holder/>")); err != nil {
		t.Fatal(err)
	}
	before, _ := tn.Connector(dto.ScriptName)
	return dto.ScriptName, func() bool {
		after, _ := tn.Connector(dto.ScriptName)
		return reflect.DeepEqual(before, after)
	}
}

// TestRestoreCreateAnsweredWithAnotherConnector: every create
// answered 200 with an existing connector, or 302 to its URL: each restored
// connector fails at its create, the existing connector is not written, and
// the run does not report success.
func TestRestoreCreateAnsweredWithAnotherConnector(t *testing.T) {
	inLayouts(t, testRestoreCreateAnsweredWithAnotherConnector)
}

func testRestoreCreateAnsweredWithAnotherConnector(t *testing.T, layout string) {
	clearSailEnvIn(t, layout)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	for _, how := range []string{"200 with another connector", "302 to another connector", "200 with a second create's scriptName"} {
		t.Run(how, func(t *testing.T) {
			b := startSandbox(t, sandbox.Options{Empty: true})
			t.Cleanup(func() { usedLayout(t, b.Tenant, layout) })
			bravo, untouched := holder(t, b.Tenant, "Bravo Existing")
			var mu sync.Mutex
			first := ""
			b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if !isCreate(r) {
					return false
				}
				var in apiclient.V3CreateConnectorDto
				body, _ := readBody(r)
				_ = json.Unmarshal(body, &in)
				switch how {
				case "302 to another connector":
					http.Redirect(w, r, detailPath(r, bravo), http.StatusFound)
				case "200 with another connector":
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"name":"Bravo Existing","scriptName":"` + bravo + `","type":"custom Bravo Existing","status":"RELEASED"}`))
				default:
					// The name asked for, and the scriptName the first
					// create of the run was given.
					mu.Lock()
					if first == "" {
						mu.Unlock()
						return false
					}
					sn := first
					mu.Unlock()
					out, _ := json.Marshal(apiclient.V3ConnectorDto{Name: in.Name, ScriptName: sn, Status: "RELEASED"})
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(out)
				}
				return true
			})
			if how == "200 with a second create's scriptName" {
				// Let the first create through and remember its scriptName.
				b.Tenant.SetHook(wrapFirstCreate(b.Tenant, &mu, &first))
			}
			code, rep, stderr := restore(t, b, path, "--no-backup", "--concurrency", "1")
			if code == 0 {
				t.Fatalf("exit 0: a restore whose creates were answered with another connector reported success\n%s", stderr)
			}
			if !untouched() {
				t.Errorf("%s was written through another connector's create", bravo)
			}
			created := 0
			for _, c := range rep.Connectors {
				if c.Created {
					created++
				}
				if c.Outcome == "failed" && (len(c.Failures) != 1 || c.Failures[0].Item != "create") {
					t.Errorf("%s: failures %+v, want the create alone", c.Name, c.Failures)
				}
			}
			if how == "200 with a second create's scriptName" {
				if created != 1 || rep.Summary.Failed != len(rep.Connectors)-1 {
					t.Errorf("summary %+v (%d created); want the first create alone to go through", rep.Summary, created)
				}
				// The first connector holds its own content only.
				snap := spectest.TenantSnapshot(t, b.Tenant)
				if len(snap.Connectors) != 2 {
					t.Errorf("the tenant holds %d connectors, want the holder and the first created", len(snap.Connectors))
				}
			} else if created != 0 || rep.Summary.Failed != len(rep.Connectors) {
				t.Errorf("summary %+v; want every connector failed at its create", rep.Summary)
			}
		})
	}
}

// wrapFirstCreate lets the tenant carry out the first create and records
// the scriptName it gave; later creates are answered with that scriptName
// (and the name asked for) without reaching the tenant.
func wrapFirstCreate(tn *sandbox.Tenant, mu *sync.Mutex, first *string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if passedThrough(r) || !isCreate(r) {
			return false
		}
		body, _ := readBody(r)
		var in apiclient.V3CreateConnectorDto
		_ = json.Unmarshal(body, &in)
		mu.Lock()
		sn := *first
		mu.Unlock()
		if sn == "" {
			rec := passThrough(tn, r)
			var out apiclient.V3ConnectorDto
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			mu.Lock()
			*first = out.ScriptName
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return true
		}
		out, _ := json.Marshal(apiclient.V3ConnectorDto{Name: in.Name, ScriptName: sn, Status: "RELEASED"})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return true
	}
}

// TestRestoreWriteAnsweredWithRedirect: every PUT answered 303
// to the connector's detail (which Go would fetch, 200) is a failed write:
// the run reports no document as written and exits non-zero.
func TestRestoreWriteAnsweredWithRedirect(t *testing.T) {
	inLayouts(t, testRestoreWriteAnsweredWithRedirect)
}

func testRestoreWriteAnsweredWithRedirect(t *testing.T, layout string) {
	clearSailEnvIn(t, layout)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	b := startSandbox(t, sandbox.Options{Empty: true})
	t.Cleanup(func() { usedLayout(t, b.Tenant, layout) })
	b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		http.Redirect(w, r, detailPath(r, sandbox.RouteOf(r).ScriptName), http.StatusSeeOther)
		return true
	})
	code, rep, stderr := restore(t, b, path, "--no-backup")
	if code == 0 {
		t.Fatalf("exit 0 although no PUT was answered by the write itself\n%s", stderr)
	}
	for _, c := range rep.Connectors {
		for _, w := range c.Written {
			if !strings.HasPrefix(w, "connectorMetadata") && !strings.HasPrefix(w, "applicationXml") {
				t.Errorf("%s: %s reported written, but its PUT was answered with a redirect", c.Name, w)
			}
		}
	}
	if !strings.Contains(stderr, "HTTP 303") || !strings.Contains(stderr, "not followed") {
		t.Errorf("stderr does not say the write was redirected and not followed:\n%s", stderr)
	}
	for _, sn := range b.Tenant.ScriptNames() {
		if c, _ := b.Tenant.Connector(sn); c.SourceConfig != nil || len(c.Translations) > 0 {
			t.Errorf("%s holds documents although every PUT was redirected", sn)
		}
	}
}

// TestRestoreLostCreateOfHiddenConnector: the create of a
// DEVELOPMENT connector (which the list never shows) under a mapped name
// (so the archive's scriptName does not find it either) loses its answer;
// the retry finds it by probing the likely scriptName, and it is created
// once.
func TestRestoreLostCreateOfHiddenConnector(t *testing.T) {
	inLayouts(t, testRestoreLostCreateOfHiddenConnector)
}

func testRestoreLostCreateOfHiddenConnector(t *testing.T, layout string) {
	clearSailEnvIn(t, layout)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	const from, to = "Legacy Mainframe RACF Bridge", "Mainframe Bridge (restored)"
	b := startSandbox(t, sandbox.Options{Empty: true})
	t.Cleanup(func() { usedLayout(t, b.Tenant, layout) })
	lose := sandbox.LoseCreateAnswers(b.Tenant, to)
	b.Tenant.SetHook(lose.Hook)
	code, rep, stderr := restore(t, b, path, "--no-backup", "--only", from, "--map", from+"="+to)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got := lose.Lost(); !slices.Equal(got, []string{to}) {
		t.Errorf("lost the answers to creating %q, want %q: the case under test never happened", got, to)
	}
	if n := b.Tenant.Stats().Creates[to]; n != 1 {
		t.Errorf("%d create requests reached the tenant, want 1", n)
	}
	if n := len(b.Tenant.ScriptNames()); n != 1 {
		t.Errorf("the tenant holds %d connectors, want 1", n)
	}
	if rep.Summary.Created != 1 {
		t.Errorf("summary %+v, want 1 created", rep.Summary)
	}
	sn := b.Tenant.ScriptNames()[0]
	if c, _ := b.Tenant.Connector(sn); c.Status != apiclient.StatusDevelopment || c.SourceConfig == nil {
		t.Errorf("%s: status %s, source-config %d bytes; want the DEVELOPMENT connector restored", sn, c.Status, len(c.SourceConfig))
	}
}

// samePageForever answers every list request with the same full page.
func samePageForever(tn *sandbox.Tenant, lists *atomic.Int32) {
	var page []apiclient.V3ConnectorDto
	for i := range apiclient.MaxPageSize {
		page = append(page, apiclient.V3ConnectorDto{Name: fmt.Sprintf("Ghost %d", i), ScriptName: fmt.Sprintf("ghost-%d", i), Type: "custom Ghost", Status: "RELEASED"})
	}
	body, _ := json.Marshal(page)
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !isList(r) {
			return false
		}
		lists.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "1000000")
		_, _ = w.Write(body)
		return true
	})
}

// TestEndlessPagingStops: a server answering every page with the
// same 250 connectors makes export and restore stop after the second page
// with the reason named, leaving no archive, no snapshot and no write.
func TestEndlessPagingStops(t *testing.T) { inLayouts(t, testEndlessPagingStops) }

func testEndlessPagingStops(t *testing.T, layout string) {
	clearSailEnvIn(t, layout)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)

	srv := startSandbox(t, sandbox.Options{})
	t.Cleanup(func() { usedLayout(t, srv.Tenant, layout) })
	var lists atomic.Int32
	samePageForever(srv.Tenant, &lists)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-d", dir}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, "list connectors", "repeats 250 of its 250 connectors")
	if n := lists.Load(); n != 2 {
		t.Errorf("export asked for %d pages, want 2", n)
	}
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("export left %v", left)
	}

	lists.Store(0)
	backups := t.TempDir()
	before := srv.Tenant.Stats()
	code, _, stderr = runCLI(t, context.Background(), append(append([]string{"restore", "--yes", "--backup-dir", backups}, tenantArgs(srv)...), path)...)
	checkFailure(t, code, stderr, exitError, "list connectors", "repeats")
	if n := lists.Load(); n != 2 {
		t.Errorf("restore asked for %d pages, want 2", n)
	}
	if left := leftovers(t, backups); len(left) != 0 {
		t.Errorf("restore left %v in the backup directory", left)
	}
	after := srv.Tenant.Stats()
	if len(after.Creates) != len(before.Creates) {
		t.Errorf("restore created connectors: %v", after.Creates)
	}
}

// TestLargeDocumentRoundTrips: a connector with a 17 MiB
// document (its detail repeats it, so two entries above the old 16 MiB
// limit) is exported into an archive that verify, ls and restore read, and
// the pre-restore snapshot of a target holding it can undo that restore.
func TestLargeDocumentRoundTrips(t *testing.T) {
	clearSailEnv(t)
	if archive.DefaultMaxEntrySize < 2*apiclient.DefaultMaxBodyBytes {
		t.Errorf("archive entries (%d bytes) must hold twice what the client accepts (%d)", archive.DefaultMaxEntrySize, apiclient.DefaultMaxBodyBytes)
	}
	big := func(c byte) []byte {
		return append(append([]byte("<big>"), bytes.Repeat([]byte{c}, 17<<20)...), "</big>"...)
	}
	a := startSandbox(t, sandbox.Options{Empty: true})
	dto, err := a.Tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: "Huge", ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Tenant.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, big('a')); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "big.tar.zst")
	if code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(a)...)...); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, context.Background(), "verify", out); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, context.Background(), "ls", out); code != 0 || !strings.Contains(stdout, "Huge") {
		t.Fatalf("ls: exit %d\n%s%s", code, stdout, stderr)
	}

	b := startSandbox(t, sandbox.Options{Empty: true})
	if code, _, stderr := restore(t, b, out, "--no-backup"); code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, stderr)
	}
	sn := b.Tenant.ScriptNames()[0]
	if err := b.Tenant.PutDocumentDirect(sn, apiclient.SourceConfig, big('b')); err != nil {
		t.Fatal(err)
	}
	backups := t.TempDir()
	if code, rep, stderr := restore(t, b, out, "--backup-dir", backups); code != 0 || rep.Backup == "" {
		t.Fatalf("second restore: exit %d, backup %q\n%s", code, rep.Backup, stderr)
	}
	snaps, _ := filepath.Glob(filepath.Join(backups, "*.tar.zst"))
	if len(snaps) != 1 {
		t.Fatalf("pre-restore snapshots: %v", snaps)
	}
	if code, _, stderr := runCLI(t, context.Background(), "verify", snaps[0]); code != 0 {
		t.Fatalf("verify of the pre-restore snapshot: exit %d\n%s", code, stderr)
	}
	// Undo: restoring the snapshot brings the 'b' document back.
	if code, _, stderr := restore(t, b, snaps[0], "--no-backup"); code != 0 {
		t.Fatalf("undo: exit %d\n%s", code, stderr)
	}
	if c, _ := b.Tenant.Connector(sn); !bytes.Equal(c.SourceConfig, big('b')) {
		t.Errorf("the undo did not bring the snapshot's document back (%d bytes)", len(c.SourceConfig))
	}
}

// TestKeepGoingPastUnarchivableScriptNames: connectors whose scriptName
// cannot be a folder name (a slash, "..", 10,000 bytes) are recorded as
// failed under --keep-going, the others archived, exit 3; without it the
// export fails naming the connector and leaves nothing.
func TestKeepGoingPastUnarchivableScriptNames(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{})
	bad, named := serveUnsavableScriptNames(srv.Tenant)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tar.zst")
	// The server names them as it would in the list; --script-name reads
	// them the same way (a DEVELOPMENT connector is read so).
	code, _, stderr := runCLI(t, context.Background(), append(append([]string{"export", "-o", out}, named...), tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, "cannot be a folder name")
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("a failed export left %v", left)
	}

	code, _, stderr = runCLI(t, context.Background(), append(append([]string{"export", "-o", out, "--keep-going"}, named...), tenantArgs(srv)...)...)
	if code != exitPartial {
		t.Fatalf("--keep-going: exit %d, want 3\n%s", code, stderr)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(released(srv.Tenant)); len(snap.Connectors) != want {
		t.Errorf("%d connectors archived, want the tenant's %d", len(snap.Connectors), want)
	}
	failed := map[string]bool{}
	for _, s := range snap.Manifest.Skipped {
		failed[s.ScriptName] = strings.HasPrefix(s.Reason, "failed:")
	}
	for _, sn := range bad {
		if !failed[sn] {
			t.Errorf("%.20q is not recorded as failed in the manifest", sn)
		}
	}
	if !snap.Manifest.Partial {
		t.Error("the archive is not marked partial")
	}
}

// checkTerminalSafe fails when s holds a control character that acts on a
// terminal (ESC, a lone CR, NUL, BEL).
func checkTerminalSafe(t *testing.T, what, s string) {
	t.Helper()
	for _, bad := range []string{"\x1b", "\x00", "\x07"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s holds %q:\n%q", what, bad, s)
		}
	}
	if strings.Contains(strings.ReplaceAll(s, "\r\n", "\n"), "\r") {
		t.Errorf("%s holds a lone CR:\n%q", what, s)
	}
}

// TestServerTextReachesTerminalEscaped: a connector name holding ESC, CR and
// NUL, and a scriptName holding ESC, are printed escaped by ls, diff, the
// log lines and the error line.
func TestServerTextReachesTerminalEscaped(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{Empty: true})
	const evil = "Evil\x1b[2J\rName\x00"
	dto, err := srv.Tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: evil, ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Tenant.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, []byte("<a/>")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out, "--keep-going", "--script-name", dto.ScriptName, "--script-name", "ghost\x1b]0;pwned\x07"}, tenantArgs(srv)...)...)
	// The ghost is a --script-name the tenant lacks: with --keep-going the
	// archive is written, partial (exit 3).
	if code != exitPartial {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	checkTerminalSafe(t, "export's stderr", stdout+stderr)
	if !strings.Contains(stderr, `ghost\x1b]0;pwned\x07`) {
		t.Errorf("the skipped scriptName is not shown escaped:\n%s", stderr)
	}
	code, stdout, stderr = runCLI(t, context.Background(), "ls", out)
	if code != 0 {
		t.Fatalf("ls: exit %d\n%s", code, stderr)
	}
	checkTerminalSafe(t, "ls", stdout+stderr)
	if !strings.Contains(stdout, `Evil\x1b[2J\rName\x00`) {
		t.Errorf("ls does not show the name escaped:\n%s", stdout)
	}
	if err := srv.Tenant.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, []byte("<b/>")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, context.Background(), append(append([]string{"diff", "--color", "always"}, tenantArgs(srv)...), out, "tenant:")...)
	if code != 1 {
		t.Fatalf("diff: exit %d, want 1 (differences)\n%s", code, stderr)
	}
	plain := stdout
	for _, c := range []string{"\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m"} {
		plain = strings.ReplaceAll(plain, c, "")
	}
	checkTerminalSafe(t, "diff", plain+stderr)
	// An error naming it: the archive is not a file of that name.
	code, _, stderr = runCLI(t, context.Background(), "ls", out+"\x1b[2J")
	if code == 0 {
		t.Fatal("ls of a missing file succeeded")
	}
	checkTerminalSafe(t, "the error line", stderr)
}

// TestSilentServerSaysWhatItRetries: a tenant that takes every API request
// and never answers: export says at info level what it retries after the
// first timeout and gives up after the second, with no archive left.
func TestSilentServerSaysWhatItRetries(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{})
	var lists atomic.Int32
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/oauth/token" {
			return false
		}
		lists.Add(1)
		<-r.Context().Done()
		return true
	})
	tuneClient = func(cfg *apiclient.Config) {
		short := http.DefaultTransport.(*http.Transport).Clone()
		short.ResponseHeaderTimeout = 100 * time.Millisecond
		// The token endpoint answers; only the silent API requests get the
		// short timeout, which a busy machine could miss on a token.
		cfg.HTTPClient = &http.Client{Transport: byPath{"/oauth/token": http.DefaultTransport.(*http.Transport).Clone(), "": short}}
	}
	t.Cleanup(func() { tuneClient = nil })
	dir := t.TempDir()
	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-d", dir}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, "list connectors", "sent no answer, 2 times")
	if !strings.Contains(stderr, "connvault: no answer from the server to list connectors") {
		t.Errorf("no info line saying what is retried:\n%s", stderr)
	}
	if n := lists.Load(); n != 2 {
		t.Errorf("%d requests reached the server, want 2", n)
	}
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("export left %v", left)
	}
}

// byPath sends a request through the transport for its path, or through
// the one for "".
type byPath map[string]http.RoundTripper

func (b byPath) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt, ok := b[r.URL.Path]; ok {
		return rt.RoundTrip(r)
	}
	return b[""].RoundTrip(r)
}

// TestRotatedTokenNeverPrinted: the first API request is refused
// with 401, so the client renews its token; the next is answered 403 quoting
// the old token and echoing the request's headers. stderr holds neither
// token, at debug level too.
func TestRotatedTokenNeverPrinted(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{})
	var mu sync.Mutex
	var seen []string
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/oauth/token" {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if len(seen) == 0 || seen[len(seen)-1] != tok {
			seen = append(seen, tok)
		}
		if len(seen) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"text": fmt.Sprintf(
			"token %s was revoked; your request: GET %s Authorization: Bearer %s Cookie: s=%s", seen[0], r.URL.Path, tok, tok)}}})
		_, _ = w.Write(body)
		return true
	})
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"export", "--log-level", "debug", "-d", t.TempDir()}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, "HTTP 403", "was revoked")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("the client did not renew its token (%d seen)", len(seen))
	}
	for i, tok := range seen {
		if strings.Contains(stdout+stderr, tok) {
			t.Errorf("token %d of %d is printed:\n%s", i+1, len(seen), stderr)
		}
	}
}

// serveUnsavableScriptNames makes tn answer for three connectors whose
// scriptName cannot be a folder name (a slash, "..", 10,000 bytes): a detail,
// and 404 for their documents. It returns them and the --script-name flags
// that name them (the list would name them the same way).
func serveUnsavableScriptNames(tn *sandbox.Tenant) (bad, named []string) {
	bad = []string{"a/b", "..", strings.Repeat("x", 10000)}
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		rt := sandbox.RouteOf(r)
		for i, sn := range bad {
			switch {
			case rt.ScriptName != sn:
				continue
			case rt.Op == "getConnector":
				body, _ := json.Marshal(apiclient.ConnectorDetail{Name: fmt.Sprintf("Bad %d", i), ScriptName: sn, Type: "custom Bad", ClassName: "x"})
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
				return true
			default: // its documents
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"messages":[{"text":"no document"}]}`))
				return true
			}
		}
		return false
	})
	for _, sn := range bad {
		named = append(named, "--script-name", sn)
	}
	return bad, named
}

// countLiar rewrites every X-Total-Count the tenant sends to 0.
type countLiar struct{ http.ResponseWriter }

func (c countLiar) WriteHeader(code int) {
	if c.Header().Get("X-Total-Count") != "" {
		c.Header().Set("X-Total-Count", "0")
	}
	c.ResponseWriter.WriteHeader(code)
}

// TestExportThroughALyingCount: a tenant whose list says X-Total-Count: 0
// on pages that list connectors is exported whole, with one warning that
// the count is wrong; the count does not end the export.
func TestExportThroughALyingCount(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Tenant.ServeHTTP(countLiar{w}, r)
	}))
	defer liar.Close()
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	code, _, stderr := runCLI(t, t.Context(), "export", "-o", out, "--rate", "0",
		"--base-url", liar.URL, "--client-id", srv.ClientID, "--client-secret-file", secretFile(srv.ClientSecret))
	if code != 0 || strings.Count(stderr, "declared 0 connectors (X-Total-Count)") != 1 {
		t.Fatalf("export: exit %d, want 0 with one warning about the count\n%s", code, stderr)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) != len(released(srv.Tenant)) {
		t.Errorf("%d connectors archived, want the %d listed", len(snap.Connectors), len(released(srv.Tenant)))
	}
}
