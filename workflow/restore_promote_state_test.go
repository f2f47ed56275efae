package workflow

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// These are the behaviour the root package's TestRestoreIntoEmptyTenant,
// TestRestoreDryRunWritesNothing, TestRestoreSurvivesFaults and TestPromote
// asserted through the CLI (the tenant's state, the requests that reached
// it); those now keep to flags, output and exit codes.

// TestRestoreIntoEmptyTenantState: every connector of the archive is created
// once in an empty tenant, under the name the report gives, and the tenant
// then equals the archive; a second restore writes nothing, reports every
// connector unchanged and takes no snapshot.
func TestRestoreIntoEmptyTenantState(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	snap := customSnapshot(t, src)
	opts := RestoreOptions{Target: tenantOf(t, dst, "dst"), Archive: snap, BackupDir: t.TempDir()}

	res, err := Restore(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Report.Counts; c.Created != len(snap.Connectors) || c.Failed != 0 {
		t.Errorf("report %+v, want %d created", c, len(snap.Connectors))
	}
	for _, r := range res.Report.Results {
		tc, ok := dst.Tenant.Connector(r.ScriptName)
		if !r.Created || r.Outcome != importer.OutcomeCreated || !ok || tc.Name != r.Name {
			t.Errorf("%s: outcome %s, created %v, scriptName %q (in the target: %v, named %q)", r.Name, r.Outcome, r.Created, r.ScriptName, ok, tc.Name)
		}
	}
	if !equalTo(t, dst, snap) {
		t.Fatal("the target differs from the archive after the restore")
	}
	for name, n := range dst.Tenant.Stats().Creates {
		if n != 1 {
			t.Errorf("%s created %d times", name, n)
		}
	}

	dst.Tenant.ResetStats()
	res, err = Restore(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := dst.Tenant.Stats().Writes; w != 0 {
		t.Errorf("second restore made %d write calls (%v), want 0", w, dst.Tenant.Stats().WritesByOp)
	}
	if res.Report.Counts.Unchanged != len(snap.Connectors) || res.Backup != "" {
		t.Errorf("second restore: report %+v, backup %q; want all unchanged and no snapshot (nothing to write)", res.Report.Counts, res.Backup)
	}
}

// TestRestoreDryRunOfUpdatesWritesNothing: a plan with a create and updates
// of every kind (a document, a translation, connectorMetadata,
// applicationXml) makes no write call as a dry run, nor when declined.
func TestRestoreDryRunOfUpdatesWritesNothing(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{})
	mutate(t, src.Tenant)
	snap := customSnapshot(t, src)
	if err := dst.Tenant.DeleteDirect("contoso-badge-system"); err != nil {
		t.Fatal(err)
	}
	dst.Tenant.ResetStats()
	opts := RestoreOptions{Target: tenantOf(t, dst, "dst"), Archive: snap, BackupDir: t.TempDir(), DryRun: true}
	res, err := Restore(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Plan.Counts; c != (importer.Counts{Create: 1, Update: 4, Unchanged: 3}) || res.Plan.Writes() == 0 {
		t.Errorf("plan %+v with %d writes, want 1 create, 4 updates, 3 unchanged", c, res.Plan.Writes())
	}
	opts.DryRun = false
	opts.Confirm = func(string) (bool, error) { return false, nil }
	if _, err := Restore(context.Background(), testEnv(), opts); !errors.Is(err, ErrDeclined) {
		t.Errorf("declined: %v, want ErrDeclined", err)
	}
	if s := dst.Tenant.Stats(); s.Writes != 0 {
		t.Errorf("a dry run and a declined restore made %d write calls: %v", s.Writes, s.WritesByOp)
	}
}

// TestRestoreSurvivesFaults: with 5xx answers, dropped connections and lost
// create answers, one restore plus one re-run reach the archive's state, the
// re-run writes exactly what was left, and no connector is created twice.
func TestRestoreSurvivesFaults(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	want := customSnapshot(t, src)
	dst := spectest.Start(t, sandbox.Options{Empty: true, ErrorRate: 0.15, DropRate: 0.05, Seed: 42})
	// One RELEASED connector (found again by name after the lost answer) and
	// one DEVELOPMENT one (the list cannot show it: the re-run finds it by
	// scriptName).
	lose := sandbox.LoseCreateAnswers(dst.Tenant, "Acme HR Feed", "Legacy Mainframe RACF Bridge")
	// During the first run one document is refused outright (no retry
	// helps), so the re-run has something left to finish.
	var refuse atomic.Bool
	refuse.Store(true)
	dst.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		rt := sandbox.RouteOf(r)
		if refuse.Load() && rt.Op == "putConnectorCorrelationConfig" && rt.ScriptName == "initech-ticketing" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"detailCode":"400.1 Bad Request Content","trackingId":"trk-busy","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"Connector is being updated"}]}`))
			return true
		}
		return lose.Hook(w, r)
	})
	opts := RestoreOptions{Target: tenantOf(t, dst, "dst"), Archive: want}

	res1, err := Restore(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	tracked := false
	for _, r := range res1.Report.Results {
		for _, f := range r.Failures {
			tracked = tracked || f.TrackingID == "trk-busy"
		}
	}
	if !res1.Failed() || res1.Report.Counts.Failed != 1 || !tracked {
		t.Fatalf("first restore: %+v, want the refused document reported with its trackingId", res1.Report.Counts)
	}
	if got, want := lose.Lost(), []string{"Acme HR Feed", "Legacy Mainframe RACF Bridge"}; !slices.Equal(got, want) {
		t.Errorf("lost the answers to creating %q, want %q: the case under test never happened", got, want)
	}
	refuse.Store(false)
	res2, err := Restore(context.Background(), testEnv(), opts)
	if err != nil || res2.Failed() {
		t.Fatalf("re-run: %v, %+v (first run: %+v)", err, res2.Report.Counts, res1.Report.Counts)
	}
	for _, r := range res2.Report.Results {
		var wantWritten []string
		if r.Name == "Initech Ticketing" {
			wantWritten = []string{"correlation-config"}
		}
		if !slices.Equal(r.Written, wantWritten) {
			t.Errorf("re-run wrote %v to %s, want %v", r.Written, r.Name, wantWritten)
		}
	}
	t.Logf("first run %+v, re-run %+v, faults %v", res1.Report.Counts, res2.Report.Counts, dst.Tenant.Stats().FaultsByKind)
	cmp, err := diff.Compare(want, spectest.TenantSnapshot(t, dst.Tenant), diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal() {
		var buf strings.Builder
		_ = diff.WriteText(&buf, cmp, diff.TextOptions{Stat: true})
		t.Errorf("after restore and re-run the tenant differs from the archive:\n%s", buf.String())
	}
	// One create request per name reached the tenant, the DEVELOPMENT
	// connector whose answer was lost included: the list cannot show it, but
	// the client probes its likely scriptName before creating again.
	st := dst.Tenant.Stats()
	for _, c := range want.Connectors {
		f, _ := diff.DetailFields(c.Detail)
		name, _ := f["name"].(string)
		if n := st.Creates[name]; n != 1 {
			t.Errorf("%s: %d create requests reached the tenant, want 1", name, n)
		}
	}
	if n := len(dst.Tenant.ScriptNames()); n != len(want.Connectors) {
		t.Errorf("the tenant holds %d connectors, want %d", n, len(want.Connectors))
	}
	if st.Faults == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

// TestPromoteMatchesSourceAndUndoesDrift: a promotion keeps three readable
// archives (the source's, the target's before and after) named after their
// tenants, and leaves the target equal to the source; a second one writes
// nothing and keeps no snapshot of the target; a change made in the target
// is undone by the next one.
func TestPromoteMatchesSourceAndUndoesDrift(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	custom := customSnapshot(t, src) // hidden ones included, as the selection names them
	dir := t.TempDir()
	opts := PromoteOptions{From: tenantOf(t, src, "dev"), To: tenantOf(t, dst, "prod"),
		Selection: custom.Manifest.Selection, ArchiveDir: dir}

	res, err := Promote(context.Background(), testEnv(), opts)
	if err != nil || !res.Verified {
		t.Fatalf("promote: %v, %+v", err, res)
	}
	for i, p := range []struct{ path, prefix string }{{res.SourceArchive, "dev-connectors-"}, {res.Backup, "prod-connectors-"}, {res.After, "prod-connectors-"}} {
		if filepath.Dir(p.path) != dir || !strings.HasPrefix(filepath.Base(p.path), p.prefix) {
			t.Errorf("archive %d is %q, want %s* in %s", i, p.path, p.prefix, dir)
		}
		if _, err := archive.ReadFile(p.path, archive.ReadOptions{}); err != nil {
			t.Errorf("archive %d: %v", i, err)
		}
	}
	if !equalTo(t, dst, custom) {
		t.Fatal("after the promotion the target differs from the source's custom connectors")
	}

	dst.Tenant.ResetStats()
	res, err = Promote(context.Background(), testEnv(), opts)
	if err != nil || !res.Restore.Plan.Empty() {
		t.Fatalf("second promote: %v, %+v", err, res)
	}
	if w := dst.Tenant.Stats().Writes; w != 0 || res.Backup != "" || res.After != "" {
		t.Errorf("second promote wrote %d times to the target, kept backup %q and after %q; want nothing", w, res.Backup, res.After)
	}
	if _, err := os.Stat(res.SourceArchive); err != nil {
		t.Errorf("second promote's source archive: %v", err)
	}

	target := ""
	for _, sn := range dst.Tenant.ScriptNames() {
		if c, _ := dst.Tenant.Connector(sn); c.Name == "Acme HR Feed" {
			target = sn
		}
	}
	if target == "" {
		t.Fatal("Acme HR Feed not in the target")
	}
	if err := dst.Tenant.PutDocumentDirect(target, domain.SourceConfig, []byte("<source-config><edited-in-prod/></source-config>\n")); err != nil {
		t.Fatal(err)
	}
	res, err = Promote(context.Background(), testEnv(), opts)
	if err != nil || !res.Verified || res.Plan.Create != 0 || res.Plan.Update != 1 {
		t.Fatalf("third promote: %v, %+v", err, res)
	}
	if !equalTo(t, dst, custom) {
		t.Error("the third promotion did not undo the change made in the target")
	}
}
