package command

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// customFilter selects the custom connectors the list shows.
var customFilter = domain.CustomTypeFilter()

// hiddenCustom lists a tenant's custom connectors the list does not show
// (DEVELOPMENT, DEMO): an export names them explicitly.
func hiddenCustom(tn *sandbox.Tenant) []string {
	var out []string
	for _, sn := range tn.ScriptNames() {
		if c, _ := tn.Connector(sn); c.Custom && c.Status != apiclient.StatusReleased {
			out = append(out, sn)
		}
	}
	return out
}

// exportCustom exports every custom connector of srv (hidden ones included)
// and returns the archive's path.
func exportCustom(t *testing.T, srv *sandbox.Server) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "custom.tar.zst")
	args := []string{"export", "-o", out, "--filters", customFilter}
	for _, sn := range hiddenCustom(srv.Tenant) {
		args = append(args, "--script-name", sn)
	}
	code, _, stderr := runCLI(t, context.Background(), append(args, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	return out
}

// jsonReportDoc is the --json report, as docs/restore-format.md describes it.
type jsonReportDoc struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	Backup  string `json:"backup"`
	Summary struct {
		Created, Updated, Unchanged, Skipped, Failed int
	} `json:"summary"`
	Connectors []struct {
		Name       string   `json:"name"`
		ScriptName string   `json:"scriptName"`
		Outcome    string   `json:"outcome"`
		Created    bool     `json:"created"`
		Written    []string `json:"written"`
		Reason     string   `json:"reason"`
		Failures   []struct {
			Item       string `json:"item"`
			Message    string `json:"message"`
			StatusCode int    `json:"statusCode"`
			TrackingID string `json:"trackingId"`
		} `json:"failures"`
	} `json:"connectors"`
}

func restore(t *testing.T, srv *sandbox.Server, archivePath string, extra ...string) (int, jsonReportDoc, string) {
	t.Helper()
	// urfave/cli stops reading flags at the first operand: flags first.
	args := append([]string{"restore", "--yes", "--json"}, extra...)
	if !slices.Contains(extra, "--no-backup") && !slices.Contains(extra, "--backup-dir") {
		args = append(args, "--backup-dir", t.TempDir())
	}
	args = append(append(args, tenantArgs(srv)...), archivePath)
	code, stdout, stderr := runCLI(t, context.Background(), args...)
	var rep jsonReportDoc
	if code == 0 || code == exitPartial {
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("restore --json: stdout is not one JSON document: %v\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		if rep.Version != 1 || rep.Kind != "report" {
			t.Errorf("report version %d kind %q, want 1 report", rep.Version, rep.Kind)
		}
	}
	return code, rep, stderr
}

// diffExit runs `diff ARCHIVE tenant:` against srv and returns its exit code.
func diffExit(t *testing.T, srv *sandbox.Server, archivePath string) (int, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, context.Background(), append(append([]string{"diff"}, tenantArgs(srv)...), archivePath, "tenant:")...)
	return code, stdout + stderr
}

// TestRestoreIntoEmptyTenant: the CLI's side of a restore into an empty
// tenant: exit 0, the --json report says every connector was created (with
// the scriptName the text report on stderr gives it), and a second restore
// reports every connector unchanged and no snapshot. What the tenant then
// holds and which requests reached it: workflow's
// TestRestoreIntoEmptyTenantState.
func TestRestoreIntoEmptyTenant(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{Empty: true})
	path := exportCustom(t, a)
	snap, err := archive.ReadFile(path, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}

	code, rep, stderr := restore(t, b, path)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, stderr)
	}
	if rep.Summary.Created != len(snap.Connectors) || rep.Summary.Failed != 0 {
		t.Errorf("summary %+v, want %d created", rep.Summary, len(snap.Connectors))
	}
	for _, c := range rep.Connectors {
		if !c.Created || c.Outcome != "created" || c.ScriptName == "" {
			t.Errorf("%s: outcome %s, created %v, scriptName %q", c.Name, c.Outcome, c.Created, c.ScriptName)
		}
		if !strings.Contains(stderr, "scriptName "+c.ScriptName) {
			t.Errorf("the text report does not give %s's new scriptName %s:\n%s", c.Name, c.ScriptName, stderr)
		}
	}

	code, rep, stderr = restore(t, b, path)
	if code != 0 {
		t.Fatalf("second restore: exit %d\n%s", code, stderr)
	}
	if rep.Summary.Unchanged != len(snap.Connectors) || rep.Backup != "" {
		t.Errorf("second restore: summary %+v, backup %q; want all unchanged and no snapshot (nothing to write)", rep.Summary, rep.Backup)
	}
}

// TestRestoreSkipsBuiltIn: a built-in connector absent from the target is
// never created; the plan says why.
func TestRestoreSkipsBuiltIn(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{Empty: true})
	path := filepath.Join(t.TempDir(), "all.tar.zst")
	if code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", path}, tenantArgs(a)...)...); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, context.Background(), append(append([]string{"restore", "--dry-run"}, tenantArgs(b)...), path)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"+ create Acme HR Feed\n", "- skipped Active Directory (built-in connector", "    + source-config\n", "    + translations/"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "Plan: 6 to create, 0 to update, 0 unchanged, 5 skipped.") {
		t.Errorf("plan summary:\n%s", stdout)
	}
}

// mutateForUpdate makes tenant tn differ from the seed in every way restore
// writes: a document, a translation, connectorMetadata, applicationXml.
func mutateForUpdate(t *testing.T, tn *sandbox.Tenant) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tn.PutDocumentDirect("acme-hr-feed", apiclient.SourceConfig, []byte("<?xml version=\"1.0\"?>\n<source-config fileUpload=\"false\"><changed/></source-config>\n")))
	must(tn.PutTranslationDirect("initech-ticketing", "en", []byte("title=Initech Ticketing (edited)\n")))
	must(tn.SetMetadataDirect("atlassian-suite-cloud", map[string]any{"supportedUI": "ANGULAR", "shortDesc": "edited"}))
	must(tn.PutDocumentDirect("legacy-mainframe-racf-bridge", sandbox.ApplicationXML, []byte("<Application name=\"Legacy Mainframe RACF Bridge\" edited=\"yes\"/>")))
}

// TestRestoreDryRunWritesNothing: a plan with creates and updates is shown
// with --dry-run as text and as --format json; applying without --yes on a
// non-terminal stdin is refused with exit 2 before the tenant is contacted.
// That the dry run (and a declined plan) make no write call: workflow's
// TestRestoreDryRunOfUpdatesWritesNothing.
func TestRestoreDryRunWritesNothing(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{})
	mutateForUpdate(t, a.Tenant)
	path := exportCustom(t, a)
	if err := b.Tenant.DeleteDirect("contoso-badge-system"); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, context.Background(), append(append([]string{"restore", "--dry-run"}, tenantArgs(b)...), path)...)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"+ create Contoso Badge System\n",
		"~ update Acme HR Feed (acme-hr-feed)\n    ~ source-config\n",
		"~ update Initech Ticketing (initech-ticketing)\n    ~ translations/en\n",
		"~ update Atlassian Suite - Cloud (atlassian-suite-cloud)\n    ~ connectorMetadata\n",
		"~ update Legacy Mainframe RACF Bridge (legacy-mainframe-racf-bridge)\n    ~ applicationXml\n",
		"= unchanged Delinea Secret Server On-Premise (delinea-secret-server)\n",
		"Plan: 1 to create, 4 to update, 3 unchanged, 0 skipped.\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, stderr = runCLI(t, context.Background(), append(append([]string{"restore", "--dry-run", "--format", "json"}, tenantArgs(b)...), path)...)
	if code != 0 {
		t.Fatalf("dry run json: exit %d\n%s", code, stderr)
	}
	var plan struct {
		Version int    `json:"version"`
		Kind    string `json:"kind"`
		DryRun  bool   `json:"dryRun"`
		Summary struct{ Create, Update, Unchanged, Skip, Writes int }
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, stdout)
	}
	if plan.Version != 1 || plan.Kind != "plan" || !plan.DryRun || plan.Summary.Create != 1 || plan.Summary.Update != 4 || plan.Summary.Writes == 0 {
		t.Errorf("plan JSON %+v", plan)
	}

	// Against an address where nothing listens: had the refusal come after
	// contacting the tenant, the run would fail there, with exit 1.
	unreachable := []string{"--base-url", "http://127.0.0.1:1", "--client-id", "x", "--client-secret", "y", "--rate", "0"}
	code, _, stderr = runCLI(t, context.Background(), append(append([]string{"restore"}, unreachable...), path)...)
	if code != exitUsage || !strings.Contains(stderr, "--yes") {
		t.Errorf("apply without --yes on a non-terminal: exit %d, want %d with a hint at --yes:\n%s", code, exitUsage, stderr)
	}
}

// bypassKey marks a request a hook hands to the tenant itself
// (passThrough), so the hook lets it by when the tenant calls it again. It
// rides on that one request: a flag shared by the hook let every other
// request arriving meanwhile slip past the hook too.
type bypassKey struct{}

// passThrough has the tenant serve r past the hook that calls it, into a
// recorder.
func passThrough(tn *sandbox.Tenant, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	tn.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), bypassKey{}, true)))
	return rec
}

// passedThrough: r is one a hook handed to the tenant.
func passedThrough(r *http.Request) bool { return r.Context().Value(bypassKey{}) != nil }

// readBody reads a request body and puts it back for the next reader.
func readBody(r *http.Request) ([]byte, error) {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	data := []byte(b.String())
	r.Body = readCloser{strings.NewReader(b.String())}
	return data, nil
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// TestRestoreSurvivesFaults: the CLI's side of a restore that a fault
// leaves unfinished: exit 3 with the server's trackingId on stderr and what
// to do, then a re-run exits 0 and its --json report lists only what was
// left. That the re-run reaches the archive's state through 5xx answers,
// dropped connections and lost create answers, creating nothing twice:
// workflow's TestRestoreSurvivesFaults.
func TestRestoreSurvivesFaults(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	b := spectest.Start(t, sandbox.Options{Empty: true})
	// During the first run one document is refused outright (no retry
	// helps), so the re-run has something left to finish.
	var refuse atomic.Bool
	refuse.Store(true)
	b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if refuse.Load() && isDocPut(r, "initech-ticketing", "correlation-config") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"detailCode":"400.1 Bad Request Content","trackingId":"trk-busy","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"Connector is being updated"}]}`))
			return true
		}
		return false
	})

	code1, rep1, stderr1 := restore(t, b, path, "--no-backup")
	if code1 != exitPartial || rep1.Summary.Failed != 1 || !strings.Contains(stderr1, "trk-busy") || !strings.Contains(stderr1, "run the same restore again") {
		t.Fatalf("first restore: exit %d, %+v, want 3 with the refused document reported\n%s", code1, rep1.Summary, stderr1)
	}
	refuse.Store(false)
	code2, rep2, stderr2 := restore(t, b, path, "--no-backup")
	if code2 != 0 {
		t.Fatalf("re-run: exit %d (first run: exit %d, %+v)\n%s", code2, code1, rep1.Summary, stderr2)
	}
	// The re-run wrote exactly what was left.
	for _, c := range rep2.Connectors {
		want := []string(nil)
		if c.Name == "Initech Ticketing" {
			want = []string{"correlation-config"}
		}
		if !slices.Equal(c.Written, want) && !(len(c.Written) == 0 && want == nil) {
			t.Errorf("re-run wrote %v to %s, want %v", c.Written, c.Name, want)
		}
	}
}

// TestRestoreReportsRejectedDocument: a document the server rejects (status
// ERROR at HTTP 200) and a write refused with a trackingId are reported with
// the server's words; every other connector is restored; exit 3.
func TestRestoreReportsRejectedDocument(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	if err := a.Tenant.PutDocumentDirect("initech-ticketing", apiclient.SourceConfig, []byte("<source-config><unclosed>")); err != nil {
		t.Fatal(err)
	}
	path := exportCustom(t, a)
	b := spectest.Start(t, sandbox.Options{Empty: true})
	b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if isDocPut(r, "acme-hr-feed", "source-template") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"detailCode":"400.1 Bad Request Content","trackingId":"trk-7f3a","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"Template rejected by policy"}]}`))
			return true
		}
		return false
	})
	code, rep, stderr := restore(t, b, path)
	if code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, exitPartial, stderr)
	}
	failed := map[string]string{}
	for _, c := range rep.Connectors {
		switch c.Name {
		case "Initech Ticketing", "Acme HR Feed":
			if c.Outcome != "failed" || !c.Created || len(c.Failures) != 1 {
				t.Errorf("%s: %+v, want failed after create with one failure", c.Name, c)
				continue
			}
			f := c.Failures[0]
			failed[c.Name] = f.Item + ": " + f.Message + " " + f.TrackingID
			// The other writes of the connector still went ahead.
			if !slices.Contains(c.Written, "correlation-config") && !slices.Contains(c.Written, "applicationXml") {
				t.Errorf("%s: the writes after the failure were not made: %v", c.Name, c.Written)
			}
		default:
			if c.Outcome != "created" {
				t.Errorf("%s: outcome %s, want created", c.Name, c.Outcome)
			}
		}
	}
	if got := failed["Initech Ticketing"]; !strings.HasPrefix(got, "source-config: ") || !strings.Contains(got, "not well-formed") {
		t.Errorf("Initech failure %q: want the server's message about source-config", got)
	}
	if got := failed["Acme HR Feed"]; !strings.HasPrefix(got, "source-template: ") || !strings.Contains(got, "Template rejected by policy") || !strings.HasSuffix(got, " trk-7f3a") {
		t.Errorf("Acme failure %q: want the server's message and trackingId", got)
	}
	for _, want := range []string{"not well-formed", "Template rejected by policy", "trackingId trk-7f3a", "run the same restore again"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("text report lacks %q:\n%s", want, stderr)
		}
	}
}

// TestRestoreUndo: the CLI's side of undoing (the workflow's is
// workflow.TestRestoreUndoWithItsSnapshot): stderr names the pre-restore
// snapshot, in --backup-dir, and restoring it with --no-backup exits 0.
func TestRestoreUndo(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{})
	mutateForUpdate(t, a.Tenant)
	path := exportCustom(t, a)
	backups := t.TempDir()

	code, rep, stderr := restore(t, b, path, "--backup-dir", backups)
	if code != 0 || rep.Backup == "" || filepath.Dir(rep.Backup) != backups {
		t.Fatalf("restore: exit %d, backup %q, want a snapshot in %s\n%s", code, rep.Backup, backups, stderr)
	}
	if !strings.Contains(stderr, rep.Backup) {
		t.Errorf("stderr does not say where the snapshot went (%s):\n%s", rep.Backup, stderr)
	}
	if code, _, stderr := restore(t, b, rep.Backup, "--no-backup"); code != 0 {
		t.Fatalf("undo: exit %d\n%s", code, stderr)
	}
	if code, out := diffExit(t, b, rep.Backup); code != 0 {
		t.Fatalf("diff snapshot vs B after undo: exit %d\n%s", code, out)
	}
}

// TestRestoreOnlyUnknown: --only naming nothing in the archive is a usage
// error (exit 2) before any request (the mapping itself is tested in
// workflow.TestRestoreMappingOnlyAndBuiltIn).
func TestRestoreOnlyUnknown(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{Empty: true})
	path := exportCustom(t, a)
	code, _, stderr := runCLI(t, context.Background(), append(append([]string{"restore", "--dry-run", "--only", "No Such Connector"}, tenantArgs(b)...), path)...)
	if code != exitUsage || !strings.Contains(stderr, "No Such Connector") {
		t.Errorf("--only with an unknown name: exit %d\n%s", code, stderr)
	}
	if n := b.Tenant.Stats().TotalRequests(); n != 0 {
		t.Errorf("--only with an unknown name sent %d requests before refusing", n)
	}
	// A scriptName, or the name in another case, gets the name meant.
	for _, given := range []string{"acme-hr-feed", "acme hr feed"} {
		code, _, stderr := runCLI(t, context.Background(), append(append([]string{"restore", "--dry-run", "--only", given}, tenantArgs(b)...), path)...)
		if code != exitUsage || !strings.Contains(stderr, `did you mean "Acme HR Feed"?`) {
			t.Errorf("--only %s: exit %d\n%s", given, code, stderr)
		}
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, " YES \n": true, "yes": true, "n\n": false, "\n": false, "": false, "yep\n": false} {
		var w strings.Builder
		got, err := confirm(t.Context(), strings.NewReader(in), &w, "Apply? [y/N] ")
		if err != nil || got != want || w.String() != "Apply? [y/N] " {
			t.Errorf("answer %q: %v, %v (prompt %q), want %v", in, got, err, w.String(), want)
		}
	}
}
