package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/dirlock"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/tools/realistic"
)

// runPruneCLI runs `connvault prune args...` in process and returns stdout,
// stderr and the exit code the error carries (0 on success, 1 for a plain
// error, as main reports it).
func runPruneCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{
		Name:           "connvault",
		Commands:       []*cli.Command{pruneCommand()},
		Writer:         &out,
		ErrWriter:      &errOut,
		ExitErrHandler: func(*cli.Context, error) {}, // keep os.Exit out of the test
	}
	err := app.RunContext(context.Background(), append([]string{"connvault", "prune"}, args...))
	var ec cli.ExitCoder
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ec):
		code = ec.ExitCode()
		errOut.WriteString(err.Error())
	default:
		code = 1
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func pruneTestDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	real := realistic.ArchiveBytes(t)
	for day := 15; day <= 22; day++ {
		for _, tenant := range []string{"acme", "globex"} {
			name := retention.FileName(tenant, time.Date(2026, 11, day, 3, 15, 0, 0, time.UTC))
			if err := os.WriteFile(filepath.Join(dir, name), real, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, stray := range []string{".acme-connectors-20261123T031500Z.tar.zst.42.tmp", "README.txt"} {
		if err := os.WriteFile(filepath.Join(dir, stray), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func countArchives(t *testing.T, dir string) map[string]int {
	t.Helper()
	list, err := retention.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, a := range list {
		n[a.Tenant]++
	}
	return n
}

func TestPruneCommandUsageErrors(t *testing.T) {
	dir := pruneTestDir(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no DIR", []string{"--keep-last", "1"}, "missing DIR"},
		{"no keep flag", []string{dir}, "no --keep-* flag"},
		{"only zero keeps", []string{dir, "--keep-daily", "0"}, "no --keep-* flag"},
		{"negative before DIR", []string{"--keep-daily", "-1", dir}, "--keep-daily must be 0 or more, got -1"},
		{"negative after DIR", []string{dir, "--keep-weekly=-3"}, "--keep-weekly must be 0 or more, got -3"},
		{"not a number before DIR", []string{"--keep-last", "x", dir}, `--keep-last "x": not a valid value; give a whole number`},
		{"not a number after DIR", []string{dir, "--keep-last", "x"}, `--keep-last "x": not a valid value; give a whole number`},
		{"unknown flag after DIR", []string{dir, "--keep-forever", "1"}, "unknown flag --keep-forever"},
		{"missing value", []string{dir, "--keep-last"}, "flag needs an argument"},
		{"two dirs", []string{dir, dir, "--keep-last", "1"}, "takes one DIR, got 2 arguments"},
		{"bad tenant", []string{dir, "--keep-last", "1", "--tenant", "ACME.com"}, `--tenant "ACME.com" is not a tenant name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runPruneCLI(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
			if stdout != "" {
				t.Fatalf("usage error wrote to stdout: %q", stdout)
			}
		})
	}
	if n := countArchives(t, dir); n["acme"] != 8 || n["globex"] != 8 {
		t.Fatalf("usage errors removed archives: %v", n)
	}
}

func TestPruneCommandText(t *testing.T) {
	dir := pruneTestDir(t)
	// Flags on both sides of DIR, as users write them.
	stdout, stderr, code := runPruneCLI(t, "--keep-last", "1", dir, "--keep-daily", "3", "--tenant", "acme")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"Applying policy to " + dir + ": keep 1 latest, 3 daily archives",
		"acme: keep 3 archives",
		"acme-connectors-20261122T031500Z.tar.zst   last 1, daily 2026-11-22",
		"acme-connectors-20261120T031500Z.tar.zst   daily 2026-11-20",
		"acme: remove 5 archives",
		"2026-11-15 03:15:00   acme-connectors-20261115T031500Z.tar.zst",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "globex") {
		t.Errorf("--tenant acme listed globex:\n%s", stdout)
	}
	if !strings.Contains(stderr, "connvault: removed 5 archives, kept 3") {
		t.Errorf("stderr %q lacks the summary", stderr)
	}
	if n := countArchives(t, dir); n["acme"] != 3 || n["globex"] != 8 {
		t.Fatalf("archives left %v, want acme 3 globex 8", n)
	}
	for _, stray := range []string{".acme-connectors-20261123T031500Z.tar.zst.42.tmp", "README.txt"} {
		if _, err := os.Stat(filepath.Join(dir, stray)); err != nil {
			t.Errorf("%s: %v", stray, err)
		}
	}
}

func TestPruneCommandDryRunJSON(t *testing.T) {
	dir := pruneTestDir(t)
	stdout, stderr, code := runPruneCLI(t, dir, "--keep-last", "2", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res retention.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if !res.DryRun || len(res.Tenants) != 2 {
		t.Fatalf("result %+v, want a dry run over 2 tenants", res)
	}
	for _, tr := range res.Tenants {
		if len(tr.Keep) != 2 || len(tr.Remove) != 6 {
			t.Errorf("%s: keep %d remove %d, want 2 and 6", tr.Tenant, len(tr.Keep), len(tr.Remove))
		}
	}
	if n := countArchives(t, dir); n["acme"] != 8 || n["globex"] != 8 {
		t.Fatalf("dry run removed archives: %v", n)
	}
	if !strings.Contains(stderr, "dry run: would remove 12 archives, keep 4") {
		t.Errorf("stderr %q lacks the dry-run summary", stderr)
	}
}

func TestPruneCommandLocked(t *testing.T) {
	dir := pruneTestDir(t)
	held, err := dirlock.Acquire(context.Background(), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	stdout, stderr, code := runPruneCLI(t, dir, "--keep-last", "1")
	if code != 1 || !strings.Contains(stderr, "is locked by another connvault run") || !strings.Contains(stderr, "--wait") {
		t.Fatalf("exit %d stderr %q; want exit 1 naming the lock and --wait", code, stderr)
	}
	if stdout != "" {
		t.Fatalf("stdout %q, want nothing", stdout)
	}
	if n := countArchives(t, dir); n["acme"] != 8 {
		t.Fatalf("locked prune removed archives: %v", n)
	}
}

func TestPruneCommandMissingDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, stderr, code := runPruneCLI(t, missing, "--keep-last", "1")
	if code != exitUsage || !strings.Contains(stderr, missing+" does not exist") || !strings.Contains(stderr, "mkdir -p "+missing) {
		t.Fatalf("exit %d stderr %q; want exit 2 naming the missing dir", code, stderr)
	}
}

func TestPruneCommandHelpAfterDir(t *testing.T) {
	dir := pruneTestDir(t)
	stdout, _, code := runPruneCLI(t, dir, "--keep-last", "1", "--help")
	if code != 0 || !strings.Contains(stdout, "--keep-daily N") {
		t.Fatalf("exit %d stdout %q; want the command help", code, stdout)
	}
	if n := countArchives(t, dir); n["acme"] != 8 || n["globex"] != 8 {
		t.Fatalf("--help removed archives: %v", n)
	}
}

// signalWriter collects what is written and closes seen once it contains want.
type signalWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		select {
		case <-w.seen:
		default:
			close(w.seen)
		}
	}
	return len(p), nil
}

func TestPruneCommandWaitsForLock(t *testing.T) {
	dir := pruneTestDir(t)
	held, err := dirlock.Acquire(context.Background(), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	stderr := &signalWriter{want: "waiting for it", seen: make(chan struct{})}
	app := &cli.App{
		Name:           "connvault",
		Commands:       []*cli.Command{pruneCommand()},
		Writer:         io.Discard,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(context.Background(), []string{"connvault", "prune", dir, "--keep-last", "1", "--wait"})
	}()
	<-stderr.seen
	if n := countArchives(t, dir); n["acme"] != 8 {
		t.Fatalf("prune removed archives while the lock was held: %v", n)
	}
	if err := held.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("prune --wait: %v", err)
	}
	if n := countArchives(t, dir); n["acme"] != 1 || n["globex"] != 1 {
		t.Fatalf("after the lock was released, archives left %v, want 1 each", n)
	}
}

// TestPruneCLIWarnsAboutFutureAndFakeArchives: archives a wrong clock dated
// 2099 and empty files named like tonight's archives are named on stderr and
// left in place, and the real nightly archives keep their slots.
func TestPruneCLIWarnsAboutFutureAndFakeArchives(t *testing.T) {
	dir := t.TempDir()
	real := realistic.ArchiveBytes(t)
	now := time.Now().UTC()
	var nights []string
	for i := range 10 {
		n := retention.FileName("acme", now.AddDate(0, 0, -i-2))
		nights = append(nights, n)
		if err := os.WriteFile(filepath.Join(dir, n), real, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	future := retention.FileName("acme", time.Date(2099, 1, 1, 3, 0, 0, 0, time.UTC))
	fake := retention.FileName("acme", now.Add(-time.Hour))
	for name, data := range map[string][]byte{future: real, fake: nil} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := runPruneCLI(t, dir, "--keep-daily", "7")
	if code != 0 {
		t.Fatalf("prune: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"1 archive dated after now", future, "1 file named like archives but not archives", fake} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	left := countArchives(t, dir)
	if left["acme"] != 7+2 {
		t.Errorf("left %d acme files, want the 7 newest real ones plus the future and the fake one: %v", left["acme"], left)
	}
	for _, n := range append(nights[:7], future, fake) {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
