package command

import (
	"context"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestDirExportKeepsGoingPastUnsavableScriptNames: the directory form
// treats connectors whose scriptName cannot be a folder name (a slash, "..",
// 10,000 bytes) as the archive form does (TestKeepGoingPastUnarchivableScriptNames):
// without --keep-going the export fails naming the connector and the
// directory is left as it was; with it they are recorded as failed in
// manifest.json, the others saved, exit 3, and nothing is written for them,
// inside the directory or beside it.
func TestDirExportKeepsGoingPastUnsavableScriptNames(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{})
	parent := t.TempDir()
	dir := filepath.Join(parent, "snap")
	if code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "--format", "dir", "-o", dir}, tenantArgs(srv)...)...); code != exitOK {
		t.Fatalf("first export: exit %d\n%s", code, stderr)
	}
	before := readTree(t, parent)

	bad, named := serveUnsavableScriptNames(srv.Tenant)
	code, _, stderr := runCLI(t, context.Background(), append(append([]string{"export", "--format", "dir", "-o", dir}, named...), tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, "cannot be a folder name")
	if after := readTree(t, parent); !maps.Equal(before, after) {
		t.Errorf("a failed directory export changed the directory:\nbefore %v\nafter  %v", keys(before), keys(after))
	}

	code, _, stderr = runCLI(t, context.Background(), append(append([]string{"export", "--format", "dir", "-o", dir, "--keep-going"}, named...), tenantArgs(srv)...)...)
	if code != exitPartial {
		t.Fatalf("--keep-going: exit %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "cannot be a folder name") {
		t.Errorf("stderr does not say why the connectors failed:\n%s", stderr)
	}
	r, err := archive.OpenDir(dir, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec := r.Recorded()
	if want := len(released(srv.Tenant)); rec.ConnectorCount != want || r.Manifest().ConnectorCount != want {
		t.Errorf("%d connectors recorded, %d on disk, want the tenant's %d", rec.ConnectorCount, r.Manifest().ConnectorCount, want)
	}
	failed := map[string]bool{}
	for _, s := range rec.Skipped {
		failed[s.ScriptName] = strings.HasPrefix(s.Reason, "failed:")
	}
	for _, sn := range bad {
		if !failed[sn] {
			t.Errorf("%.20q is not recorded as failed in manifest.json", sn)
		}
	}
	if !rec.Partial {
		t.Error("manifest.json does not mark the export partial")
	}
	// The saved connectors are the same as before (the tenant did not
	// change), and nothing was written for the failed ones.
	after := readTree(t, parent)
	for p, b := range before {
		if strings.HasPrefix(p, "snap/connectors/") && after[p] != b {
			t.Errorf("%s changed or went missing", p)
		}
	}
	for p := range after {
		if _, was := before[p]; !was {
			t.Errorf("%s was written for a failed connector", p)
		}
	}
}

// readTree maps each regular file under root (by slash path) to its content.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestVerifyNamesAnInterruptedDirectoryExport: a snapshot directory that an
// export killed while writing left behind fails verify, named as an
// interrupted export (not passed, not "corrupt"), and the next export
// repairs it.
func TestVerifyNamesAnInterruptedDirectoryExport(t *testing.T) {
	clearSailEnv(t)
	dir := filepath.Join(t.TempDir(), "snap")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "--format", "dir", "-o", dir); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	// What a SIGKILL in the write phase leaves: the marker, some files new.
	if err := os.WriteFile(filepath.Join(dir, archive.InterruptedMarker), []byte("connvault export writing since 2026-12-08T03:00:00Z, pid 4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, t.Context(), "verify", dir)
	if code == 0 || !strings.Contains(stdout+stderr, "an export was interrupted while writing this directory") || strings.Contains(stdout+stderr, "corrupt") {
		t.Errorf("verify of an interrupted directory: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "--format", "dir", "-o", dir); code != 0 {
		t.Fatalf("the repairing export: exit %d\n%s", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, t.Context(), "verify", dir); code != 0 {
		t.Errorf("verify after the repairing export: exit %d\n%s%s", code, stdout, stderr)
	}
}

// listNothing makes the tenant's list answer an empty page, as a token that
// lost its rights or an outage does.
func listNothing(tn *sandbox.Tenant) {
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !isList(r) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "0")
		_, _ = w.Write([]byte("[]"))
		return true
	})
}

// TestExportOfAnEmptyListKeepsTheSnapshot: when a tenant that had
// connectors suddenly lists none, export --format dir and export -d stop
// with exit 1, writing and removing nothing, unless --allow-empty; a drop of
// more than half is a warning in the log and in --json.
func TestExportOfAnEmptyListKeepsTheSnapshot(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	snap := filepath.Join(t.TempDir(), "snap")
	archives := t.TempDir()
	for _, args := range [][]string{{"--format", "dir", "-o", snap}, {"-d", archives}} {
		if code, _, stderr := runCLI(t, t.Context(), append(append([]string{"export"}, args...), tenantArgs(srv)...)...); code != 0 {
			t.Fatalf("export %v: exit %d\n%s", args, code, stderr)
		}
	}
	before := treeFiles(t, snap)
	listNothing(srv.Tenant)
	for _, args := range [][]string{{"--format", "dir", "-o", snap}, {"-d", archives}} {
		code, _, stderr := runCLI(t, t.Context(), append(append([]string{"export"}, args...), tenantArgs(srv)...)...)
		if code != exitError || !strings.Contains(stderr, "listed no connectors") || !strings.Contains(stderr, "--allow-empty") {
			t.Errorf("export %v of an empty list: exit %d, want 1 naming --allow-empty\n%s", args, code, stderr)
		}
	}
	if !maps.Equal(treeFiles(t, snap), before) {
		t.Error("the snapshot directory changed after a refused empty export")
	}
	if n := countArchives(t, archives); n["127-0-0-1"]+n["sandbox"] > 1 || len(n) != 1 {
		t.Errorf("archives after a refused empty export: %v, want the one", n)
	}
	if code, _, stderr := runCLI(t, t.Context(), append([]string{"export", "--format", "dir", "-o", snap, "--allow-empty"}, tenantArgs(srv)...)...); code != 0 {
		t.Errorf("--allow-empty: exit %d\n%s", code, stderr)
	}

	// Fewer than half: a warning.
	srv2 := spectest.Start(t, sandbox.Options{})
	dir2 := t.TempDir()
	if code, _, stderr := runCLI(t, t.Context(), append([]string{"export", "-d", dir2}, tenantArgs(srv2)...)...); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	rel := released(srv2.Tenant)
	for _, sn := range rel[:len(rel)-2] {
		if err := srv2.Tenant.DeleteDirect(sn); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, t.Context(), append([]string{"export", "-d", dir2, "--json"}, tenantArgs(srv2)...)...)
	if code != 0 || !strings.Contains(stderr, "fewer than half") || !strings.Contains(stdout, `"warnings"`) {
		t.Errorf("a drop to 2 connectors: exit %d, want 0 with a warning in the log and --json\n%s%s", code, stdout, stderr)
	}
}
