package workflow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// These tests drive the workflows through their Options alone: no flags, no
// urfave/cli, no process.

func testEnv() *Env {
	return &Env{Concurrency: 4, ToolVersion: "test", Now: func() time.Time { return time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC) }}
}

func tenantOf(t *testing.T, srv *sandbox.Server, name string) *Tenant {
	t.Helper()
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &Tenant{Client: c, Name: name}
}

// customSnapshot reads every custom connector of srv, hidden ones included.
func customSnapshot(t *testing.T, srv *sandbox.Server) *archive.Snapshot {
	t.Helper()
	var hidden []string
	for _, sn := range srv.Tenant.ScriptNames() {
		if c, _ := srv.Tenant.Connector(sn); c.Custom && c.Status != domain.StatusReleased {
			hidden = append(hidden, sn)
		}
	}
	snap, err := ReadTenant(context.Background(), testEnv(), tenantOf(t, srv, "src"), &archive.Selection{Filters: `type sw "custom "`, ScriptNames: hidden})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) == 0 {
		t.Fatal("the source has no custom connectors")
	}
	return snap
}

func archivesIn(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRestoreCreatesThenWritesNothing(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	snap := customSnapshot(t, src)
	backups := t.TempDir()
	opts := RestoreOptions{Target: tenantOf(t, dst, "dst"), Archive: snap, BackupDir: backups}

	res, err := Restore(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Counts.Create != len(snap.Connectors) || res.Report.Counts.Created != len(snap.Connectors) || res.Failed() {
		t.Errorf("plan %+v, report %+v; want %d created", res.Plan.Counts, res.Report.Counts, len(snap.Connectors))
	}
	if res.Backup == "" || len(archivesIn(t, backups)) != 1 {
		t.Errorf("pre-restore snapshot %q, archives %v", res.Backup, archivesIn(t, backups))
	}
	if _, err := archive.ReadFile(res.Backup, archive.ReadOptions{}); err != nil {
		t.Errorf("the pre-restore snapshot does not read: %v", err)
	}

	dst.Tenant.ResetStats()
	res, err = Restore(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := dst.Tenant.Stats().Writes; w != 0 || !res.Plan.Empty() || res.Backup != "" {
		t.Errorf("second restore: %d writes, plan %+v, backup %q; want nothing written and no snapshot", w, res.Plan.Counts, res.Backup)
	}
}

func TestRestoreDryRunAndDeclinedWriteNothing(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	snap := customSnapshot(t, src)
	backups := t.TempDir()
	shown := 0
	base := RestoreOptions{Target: tenantOf(t, dst, "dst"), Archive: snap, BackupDir: backups,
		Show: func(p *importer.Plan, _ *archive.Snapshot) error { shown++; return nil }}

	dry := base
	dry.DryRun = true
	res, err := Restore(context.Background(), testEnv(), dry)
	if err != nil || res.Report != nil || res.Plan.Counts.Create == 0 {
		t.Fatalf("dry run: %v, %+v", err, res)
	}
	asked := ""
	declined := base
	declined.Confirm = func(q string) (bool, error) { asked = q; return false, nil }
	if _, err := Restore(context.Background(), testEnv(), declined); !errors.Is(err, ErrDeclined) {
		t.Fatalf("declined: %v, want ErrDeclined", err)
	}
	if asked == "" || shown != 2 {
		t.Errorf("asked %q, plan shown %d times", asked, shown)
	}
	if w := dst.Tenant.Stats().Writes; w != 0 {
		t.Errorf("%d writes", w)
	}
	if a := archivesIn(t, backups); len(a) != 0 {
		t.Errorf("snapshots written: %v", a)
	}
}

func TestRestoreRefusesProtectedTarget(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	snap := customSnapshot(t, src)
	target := tenantOf(t, dst, "dst")
	target.Protected = func(baseURL string) (string, error) {
		if baseURL == dst.URL {
			return "prod", nil
		}
		return "", nil
	}
	for _, yes := range []string{"", "dst", "dev"} {
		dst.Tenant.ResetStats()
		_, err := Restore(context.Background(), testEnv(), RestoreOptions{Target: target, Archive: snap, YesProtected: yes})
		var u *UsageError
		if !errors.As(err, &u) {
			t.Errorf("--yes-protected %q: %v, want a usage error", yes, err)
		}
		if n := dst.Tenant.Stats().TotalRequests(); n != 0 {
			t.Errorf("--yes-protected %q: %d requests before refusing", yes, n)
		}
	}
	res, err := Restore(context.Background(), testEnv(), RestoreOptions{Target: target, Archive: snap, YesProtected: "prod"})
	if err != nil || res.Report.Counts.Created == 0 {
		t.Fatalf("--yes-protected prod: %v", err)
	}
}

func TestPromoteVerifiesAndCountsAlike(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	dir := t.TempDir()
	opts := PromoteOptions{
		From: tenantOf(t, src, "dev"), To: tenantOf(t, dst, "prod"),
		Selection:  archive.Selection{Filters: `type sw "custom "`},
		ArchiveDir: dir,
	}
	var changesAdded, changesChanged, changesUnchanged int
	opts.Show = func(ch *diff.Result, plan *importer.Plan) error {
		s := ch.Summary.Connectors
		changesAdded, changesChanged, changesUnchanged = s.Added, s.Changed, s.Unchanged
		if s.Added != plan.Counts.Create || s.Changed != plan.Counts.Update || s.Unchanged != plan.Counts.Unchanged {
			t.Errorf("diff counts %+v, plan %+v: the table and the plan count different connectors", s, plan.Counts)
		}
		return nil
	}
	res, err := Promote(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || res.Differences != 0 || res.Plan == nil || res.Plan.Create == 0 || res.Report.Created != res.Plan.Create || res.Writes == 0 {
		t.Errorf("first promotion %+v", res)
	}
	if changesAdded != res.Plan.Create || changesChanged != 0 || changesUnchanged != 0 {
		t.Errorf("diff shown: %d added, %d changed, %d unchanged", changesAdded, changesChanged, changesUnchanged)
	}
	for _, p := range []string{res.SourceArchive, res.Backup, res.After} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("archive %q: %v", p, err)
		}
	}
	// A second promotion plans nothing and writes nothing.
	dst.Tenant.ResetStats()
	res, err = Promote(context.Background(), testEnv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 || dst.Tenant.Stats().Writes != 0 || !res.Verified || res.Plan.Unchanged == 0 {
		t.Errorf("second promotion %+v, %d writes", res, dst.Tenant.Stats().Writes)
	}

	// A protected target is refused before the source is even exported.
	opts.To.Protected = func(string) (string, error) { return "prod", nil }
	before := len(archivesIn(t, dir))
	src.Tenant.ResetStats()
	_, err = Promote(context.Background(), testEnv(), opts)
	var u *UsageError
	if !errors.As(err, &u) || src.Tenant.Stats().TotalRequests() != 0 || len(archivesIn(t, dir)) != before {
		t.Errorf("protected target: %v, %d requests to the source", err, src.Tenant.Stats().TotalRequests())
	}
}

func TestExportRefusesNothingAndWritesAtomically(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dir := t.TempDir()
	env := testEnv()
	opts := ExportOptions{Tenant: tenantOf(t, src, "acme"), Dir: dir, IfChanged: true}
	res, err := Export(context.Background(), env, opts)
	if err != nil || !res.Written || res.Connectors == 0 {
		t.Fatalf("export: %v %+v", err, res)
	}
	m, err := archivestore.ReadManifest(context.Background(), res.Archive)
	if err != nil || m.ContentDigest != res.ContentDigest {
		t.Fatalf("manifest %v: %v", m, err)
	}
	// Unchanged since the last one: nothing written.
	res, err = Export(context.Background(), env, opts)
	if err != nil || res.Written || !res.Unchanged || len(archivesIn(t, dir)) != 1 {
		t.Errorf("second export: %v %+v, archives %v", err, res, archivesIn(t, dir))
	}
	// Cancelled: no archive, no temporary file.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts.IfChanged = false
	if _, err := Export(ctx, env, opts); err == nil {
		t.Fatal("a cancelled export succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != filepath.Base(archivesIn(t, dir)[0]) && e.Name() != ".connvault.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
