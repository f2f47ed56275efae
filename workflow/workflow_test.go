package workflow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// mutate makes tn differ from the seed in every way restore writes: a
// document, a translation, connectorMetadata, applicationXml.
func mutate(t *testing.T, tn *sandbox.Tenant) {
	t.Helper()
	for _, err := range []error{
		tn.PutDocumentDirect("acme-hr-feed", domain.SourceConfig, []byte("<?xml version=\"1.0\"?>\n<source-config fileUpload=\"false\"><changed/></source-config>\n")),
		tn.PutTranslationDirect("initech-ticketing", "en", []byte("title=Initech Ticketing (edited)\n")),
		tn.SetMetadataDirect("atlassian-suite-cloud", map[string]any{"supportedUI": "ANGULAR", "shortDesc": "edited"}),
		tn.PutDocumentDirect("legacy-mainframe-racf-bridge", sandbox.ApplicationXML, []byte("<Application name=\"Legacy Mainframe RACF Bridge\" edited=\"yes\"/>")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// equalTo reports whether the tenant holds what snap holds, for snap's
// connectors (diff of the two, as `diff ARCHIVE tenant:` would).
func equalTo(t *testing.T, srv *sandbox.Server, snap *archive.Snapshot) bool {
	t.Helper()
	live, err := ReadTenant(context.Background(), testEnv(), tenantOf(t, srv, "live"), &snap.Manifest.Selection)
	if err != nil {
		t.Fatal(err)
	}
	res, err := diff.Compare(snap, live, diff.Options{Match: diff.MatchName})
	if err != nil {
		t.Fatal(err)
	}
	return res.Equal()
}

// Restoring the pre-restore snapshot puts the target back.
func TestRestoreUndoWithItsSnapshot(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{})
	mutate(t, src.Tenant)
	snap := customSnapshot(t, src)
	backups := t.TempDir()
	target := tenantOf(t, dst, "dst")

	res, err := Restore(context.Background(), testEnv(), RestoreOptions{Target: target, Archive: snap, BackupDir: backups})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Counts.Updated != 4 || filepath.Dir(res.Backup) != backups {
		t.Fatalf("report %+v, backup %q: want 4 updated and a snapshot in %s", res.Report.Counts, res.Backup, backups)
	}
	if !equalTo(t, dst, snap) {
		t.Fatal("the target differs from the archive after the restore")
	}
	before, err := archivestore.Read(context.Background(), res.Backup)
	if err != nil {
		t.Fatal(err)
	}
	if equalTo(t, dst, before) {
		t.Fatal("the pre-restore snapshot equals the restored target: it did not capture the target before")
	}
	undo, err := Restore(context.Background(), testEnv(), RestoreOptions{Target: target, Archive: before})
	if err != nil || undo.Report.Counts.Updated != 4 {
		t.Fatalf("undo: %v, %+v", err, undo)
	}
	if !equalTo(t, dst, before) {
		t.Error("after the undo the target differs from its pre-restore snapshot")
	}
}

// A mapping restores a connector onto a differently named one; Only limits
// the plan, and an Only naming nothing in the archive is refused before any
// request. Built-in connectors absent from the target are skipped.
func TestRestoreMappingOnlyAndBuiltIn(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	if err := src.Tenant.SetMetadataDirect("acme-hr-feed", map[string]any{"shortDesc": "from dev"}); err != nil {
		t.Fatal(err)
	}
	snap := customSnapshot(t, src)
	if _, err := dst.Tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: "Acme HR Feed (prod)", ClassName: "sailpoint.connector.OpenConnectorAdapter"}); err != nil {
		t.Fatal(err)
	}
	target := tenantOf(t, dst, "dst")
	res, err := Restore(context.Background(), testEnv(), RestoreOptions{Target: target, Archive: snap,
		Plan: importer.Options{Only: []string{"Acme HR Feed"}, Mapping: map[string]string{"Acme HR Feed": "Acme HR Feed (prod)"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Report.Counts; c.Updated != 1 || c.Created != 0 || c.Skipped != len(snap.Connectors)-1 {
		t.Errorf("report %+v: want 1 updated onto the mapped connector, the rest skipped", c)
	}
	if c, _ := dst.Tenant.Connector("acme-hr-feed-prod"); c.Metadata["shortDesc"] != "from dev" || c.SourceConfig == nil {
		t.Errorf("mapped connector not restored: %+v", c)
	}

	before := dst.Tenant.Stats().TotalRequests()
	_, err = Restore(context.Background(), testEnv(), RestoreOptions{Target: target, Archive: snap, DryRun: true,
		Plan: importer.Options{Only: []string{"No Such Connector"}}})
	var u *UsageError
	if !errors.As(err, &u) || !errors.Is(err, importer.ErrNotInArchive) {
		t.Errorf("Only naming nothing: %v, want a usage error", err)
	}
	if n := dst.Tenant.Stats().TotalRequests() - before; n != 0 {
		t.Errorf("%d requests before refusing", n)
	}

	// Everything, built-in connectors included: those are skipped, never created.
	all, err := ReadTenant(context.Background(), testEnv(), tenantOf(t, src, "src"), nil)
	if err != nil {
		t.Fatal(err)
	}
	empty := spectest.Start(t, sandbox.Options{Empty: true})
	res, err = Restore(context.Background(), testEnv(), RestoreOptions{Target: tenantOf(t, empty, "empty"), Archive: all, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range res.Plan.Connectors {
		if pc.Action == importer.ActionCreate && pc.Create != nil && !domain.IsCustomType(pc.Create.Type) {
			t.Errorf("plans to create the built-in connector %s (type %q)", pc.Name, pc.Create.Type)
		}
	}
	if res.Plan.Counts.Skip == 0 || res.Plan.Counts.Create == 0 {
		t.Errorf("plan %+v: want built-in connectors skipped and custom ones created", res.Plan.Counts)
	}
}

// Promote with Only and a mapping takes one connector under a new name; a
// change made in the target afterwards is planned as one update, shown as a
// changed connector, and undone by the next promotion.
func TestPromoteOnlyMapAndDrift(t *testing.T) {
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	opts := PromoteOptions{
		From: tenantOf(t, src, "dev"), To: tenantOf(t, dst, "prod"),
		Selection:  archive.Selection{Filters: `type sw "custom "`},
		Plan:       importer.Options{Only: []string{"Acme HR Feed"}, Mapping: map[string]string{"Acme HR Feed": "HR Feed (prod)"}},
		ArchiveDir: t.TempDir(),
	}
	res, err := Promote(context.Background(), testEnv(), opts)
	if err != nil || !res.Verified || res.Report.Created != 1 {
		t.Fatalf("promote --only --map: %v %+v", err, res)
	}
	names := dst.Tenant.ScriptNames()
	if len(names) != 1 {
		t.Fatalf("target holds %v, want the one mapped connector", names)
	}
	if c, _ := dst.Tenant.Connector(names[0]); c.Name != "HR Feed (prod)" {
		t.Fatalf("target connector named %q", c.Name)
	}
	if err := dst.Tenant.PutDocumentDirect(names[0], domain.SourceConfig, []byte("<source-config><edited-in-prod/></source-config>\n")); err != nil {
		t.Fatal(err)
	}
	var changed int
	opts.Show = func(ch *diff.Result, plan *importer.Plan) error {
		changed = ch.Summary.Connectors.Changed
		return nil
	}
	res, err = Promote(context.Background(), testEnv(), opts)
	if err != nil || !res.Verified || res.Plan.Update != 1 || res.Report.Updated != 1 || changed != 1 {
		t.Fatalf("promote after drift: %v, %+v, %d changed in the diff", err, res, changed)
	}
	if c, _ := dst.Tenant.Connector(names[0]); strings.Contains(string(c.SourceConfig), "edited-in-prod") {
		t.Error("the drift was not undone")
	}
}
