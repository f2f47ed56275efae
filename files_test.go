package main

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
	for _, args := range [][]string{
		{"export", "--sandbox", "-d", missing},
		{"restore", "--sandbox", "--yes", "--backup-dir", missing, "x.tar.zst"},
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
