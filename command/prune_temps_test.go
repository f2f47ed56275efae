package command

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/retention"
)

// TestPruneSaysOnceItRemovedTemporaryFiles: the temporary files a killed
// run left, which prune removes before pruning, are named in one info line
// on stderr, not one per file and without a line per pruned archive; a dry
// run removes and says nothing, --log-level warn hides the line, and
// --json's result on stdout does not list them.
func TestPruneSaysOnceItRemovedTemporaryFiles(t *testing.T) {
	clearSailEnv(t)
	dir := pruneTestDir(t)
	var temps []string
	old := time.Now().Add(-2 * archive.StaleAfter)
	for i, day := range []int{1, 2} {
		p := filepath.Join(dir, "."+retention.FileName("acme", time.Date(2026, 10, day, 3, 15, 0, 0, time.UTC))+"."+[]string{"987654", "987655"}[i]+".spool")
		if err := os.WriteFile(p, []byte("half an archive"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		temps = append(temps, p)
	}
	left := func() int {
		n := 0
		for _, p := range temps {
			if _, err := os.Stat(p); err == nil {
				n++
			}
		}
		return n
	}

	code, _, stderr := runCLI(t, context.Background(), "prune", "--keep-last", "1", "--dry-run", dir)
	if code != exitOK || strings.Contains(stderr, "temporary") || left() != 2 {
		t.Fatalf("dry run: exit %d, %d of 2 temporary files left, stderr:\n%s", code, left(), stderr)
	}

	code, _, stderr = runCLI(t, context.Background(), "--log-level", "warn", "prune", "--keep-last", "8", "--tenant", "globex", dir)
	if code != exitOK || strings.Contains(stderr, "temporary") || left() != 0 {
		t.Fatalf("--log-level warn: exit %d, %d of 2 temporary files left, stderr:\n%s", code, left(), stderr)
	}
	for _, p := range temps {
		if err := os.WriteFile(p, []byte("half an archive"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	code, stdout, stderr := runCLI(t, context.Background(), "prune", "--keep-last", "1", "--json", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if left() != 0 {
		t.Errorf("%d temporary files left", left())
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := "removed 2 temporary files left by killed runs: " + strings.Join(temps, ", ")
	if len(lines) != 2 || !strings.Contains(lines[0], want) || !strings.Contains(lines[1], "removed 14 archives, kept 2") {
		t.Errorf("stderr is not the one temporary files line (%q) and the summary:\n%s", want, stderr)
	}
	if strings.Contains(stdout, "spool") {
		t.Errorf("stdout names the temporary files:\n%s", stdout)
	}

	// Nothing left to remove: nothing said.
	code, _, stderr = runCLI(t, context.Background(), "prune", "--keep-last", "1", dir)
	if code != exitOK || strings.Contains(stderr, "temporary") {
		t.Errorf("a prune with no temporary files: exit %d, stderr:\n%s", code, stderr)
	}
}
