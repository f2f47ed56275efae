package command

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
)

// startExport starts the built connvault exporting srv with args, and
// returns it once its spool file is in dir (the path of that file).
func startExport(t *testing.T, srv *sandbox.Server, dir string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(builtBinary(t), append(append([]string{"export"}, args...), tenantArgs(srv)...)...)
	cmd.Args = append(cmd.Args, "--concurrency", "1")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	owner := "-" + strconv.Itoa(cmd.Process.Pid) + "-"
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if archive.IsTemp(e.Name()) && strings.Contains(e.Name(), owner) {
				return cmd, filepath.Join(dir, e.Name())
			}
		}
	}
	t.Fatalf("export (pid %d) wrote no spool file naming it into %s", cmd.Process.Pid, dir)
	return nil, ""
}

// TestKilledRunSpoolRemovedByNextRun: an export killed mid-run (SIGKILL: no
// cleanup of its own) leaves its spool beside the archives; the next prune
// holding the directory's lock removes it at once, without waiting for it to
// age, and leaves the spool of an export still running alone; once that one
// is killed too, the next export removes its spool.
func TestKilledRunSpoolRemovedByNextRun(t *testing.T) {
	clearSailEnv(t)
	srv, err := sandbox.Start(context.Background(), "127.0.0.1:0", sandbox.Options{Synthetic: 300, DocSize: 2000, Latency: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()

	killed, killedSpool := startExport(t, srv, dir, "--output-dir", dir)
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()
	if _, err := os.Stat(killedSpool); err != nil {
		t.Fatalf("the killed export's spool is not there to clean up: %v", err)
	}

	live, liveSpool := startExport(t, srv, dir, "-o", filepath.Join(dir, "live.tar.zst"))
	code, stdout, stderr := runBinary(t, map[string]string{"HOME": t.TempDir()}, "prune", dir, "--keep-last", "1")
	if code != 0 {
		t.Fatalf("prune: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(killedSpool); err == nil {
		t.Errorf("prune left the killed export's spool %s", filepath.Base(killedSpool))
	}
	if _, err := os.Stat(liveSpool); err != nil {
		t.Errorf("prune removed the spool of a running export: %v", err)
	}

	if err := live.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = live.Wait()
	small := sandboxServer(t)
	code, _, stderr = runCLI(t, context.Background(), append([]string{"export", "--output-dir", dir}, tenantArgs(small)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(liveSpool); err == nil {
		t.Errorf("the next export left the killed export's spool %s", filepath.Base(liveSpool))
	}
}

// sandboxServer is a small, fast sandbox tenant.
func sandboxServer(t *testing.T) *sandbox.Server {
	t.Helper()
	srv, err := sandbox.Start(context.Background(), "127.0.0.1:0", sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}
