package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
)

// `export -o -` streams the archive to stdout: nothing else is on stdout, and
// what is there reads as an archive.
func TestExportToStdout(t *testing.T) {
	clearSailEnv(t)
	code, stdout, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", "-")
	if code != 0 {
		t.Fatalf("export -o -: exit %d\n%s", code, stderr)
	}
	snap, err := archive.ReadAll(bytes.NewReader([]byte(stdout)), "stdout", archive.ReadOptions{})
	if err != nil || len(snap.Connectors) == 0 {
		t.Fatalf("stdout is not an archive: %v", err)
	}
	if !strings.Contains(stderr, "to stdout") {
		t.Errorf("the summary does not say where the archive went:\n%s", stderr)
	}
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", "-", "--json"); code != exitUsage || !strings.Contains(stderr, "both want stdout") {
		t.Errorf("-o - --json: exit %d\n%s", code, stderr)
	}
}

// A -d DIR (or --backup-dir; --archive-dir alike) that does not exist is refused
// with a hint: a typo must not start a new backup history.
func TestMissingDirectoryRefused(t *testing.T) {
	clearSailEnv(t)
	missing := filepath.Join(t.TempDir(), "bakcups")
	arc := filepath.Join(t.TempDir(), "x.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", arc); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{
		{"export", "--sandbox", "-d", missing},
		{"restore", "--sandbox", "--yes", "--backup-dir", missing, arc},
		{"export", "--sandbox", "-o", filepath.Join(missing, "x.tar.zst")},
		{"prune", missing, "--keep-last", "1"},
	} {
		code, _, stderr := runCLI(t, t.Context(), args...)
		if code != exitUsage || !strings.Contains(stderr, "does not exist") || !strings.Contains(stderr, "mkdir -p "+missing) {
			t.Errorf("%v: exit %d, want 2 and a hint\n%s", args, code, stderr)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the mistyped directory was created")
	}
}

// A --script-name the tenant does not have fails the export (exit 1, no
// archive); with --keep-going the rest is exported as a partial archive
// (exit 3) that says which one is missing.
func TestExportMissingScriptName(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-d", dir, "--script-name", "no-such-connector")
	if code != exitError || !strings.Contains(stderr, "--script-name no-such-connector: no such connector") {
		t.Errorf("missing --script-name: exit %d, want 1\n%s", code, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tar.zst")); len(m) != 0 {
		t.Errorf("an archive was written: %v", m)
	}
	code, _, stderr = runCLI(t, t.Context(), "export", "--sandbox", "-d", dir, "--script-name", "no-such-connector", "--keep-going")
	m, _ := filepath.Glob(filepath.Join(dir, "*.tar.zst"))
	if code != exitPartial || len(m) != 1 {
		t.Fatalf("missing --script-name with --keep-going: exit %d, archives %v, want 3 and one\n%s", code, m, stderr)
	}
	man, err := archive.ReadManifest(m[0])
	if err != nil || !man.Partial {
		t.Errorf("the archive is not marked partial: %v %+v", err, man)
	}
	// verify says it is partial.
	code, stdout, _ := runCLI(t, t.Context(), "verify", m[0])
	if code != 0 || !strings.Contains(stdout, "partial") || !strings.Contains(stdout, "no-such-connector") {
		t.Errorf("verify of a partial archive: exit %d\n%s", code, stdout)
	}
}
