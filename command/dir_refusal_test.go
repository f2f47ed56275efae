package command

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
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
