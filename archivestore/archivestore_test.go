package archivestore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/retention"
)

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	if d, _ := StateDir("", PreRestoreDir, "x"); d != filepath.Join("/state", "connvault", "pre-restore") {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/u")
	if d, _ := StateDir("", PreRestoreDir, "x"); d != filepath.Join("/home/u", ".local", "state", "connvault", "pre-restore") {
		t.Errorf("without XDG_STATE_HOME: %s", d)
	}
	if d, _ := StateDir("/x", PreRestoreDir, "x"); d != "/x" {
		t.Errorf("flag: %s", d)
	}
}

func TestFreeNameMovesOnWhileTaken(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	first := FreeName(dir, "acme", now)
	if first != filepath.Join(dir, retention.FileName("acme", now)) {
		t.Fatalf("first name %s", first)
	}
	if err := os.WriteFile(first, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if second := FreeName(dir, "acme", now); second != filepath.Join(dir, retention.FileName("acme", now.Add(time.Second))) {
		t.Errorf("second name %s", second)
	}
}

// A killed upload's spool directory is removed by the next run; a live run's
// (this process's) is not.
func TestCleanSpools(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(tmp, spoolPrefix+strconv.Itoa(cmd.Process.Pid))
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, ".x.tar.zst.1.spool"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	own, err := spoolDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead run's spool is still there: %v", err)
	}
	if CleanSpools(); !dirExists(own) {
		t.Error("this run's own spool directory was removed")
	}
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Holding a directory's lock, a run removes the temporary files a killed run
// left (once they are old enough), and nothing else.
func TestDirDestRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".acme-connectors-20261101T000000Z.tar.zst.55.spool")
	fresh := filepath.Join(dir, ".acme-connectors-20261102T000000Z.tar.zst.56.spool")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * archive.StaleAfter)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	d, err := DirDest(context.Background(), "-d", dir, "acme", time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	d.Release()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("the stale spool file is still there")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh spool file (maybe a live export -o) was removed")
	}
}
