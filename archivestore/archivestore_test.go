package archivestore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

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
