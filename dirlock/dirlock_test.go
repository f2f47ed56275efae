package dirlock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// helperEnv makes the test binary act as a second connvault process: it locks
// the directory named in the variable, prints "locked" (or the error and
// exits 3), then holds the lock until its stdin closes and exits without
// calling Release, as a crashed run would.
const helperEnv = "DIRLOCK_TEST_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helper(dir, os.Getenv("DIRLOCK_TEST_HELPER_WAIT") == "1")
		return
	}
	os.Exit(m.Run())
}

func helper(dir string, wait bool) {
	fmt.Println("trying")
	_, err := Acquire(context.Background(), dir, wait)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
	err   *strings.Builder
}

func startChild(t *testing.T, dir string, wait bool) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	if wait {
		cmd.Env = append(cmd.Env, "DIRLOCK_TEST_HELPER_WAIT=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout), err: &strings.Builder{}}
	cmd.Stderr = c.err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return c
}

func (c *child) expect(t *testing.T, line string) {
	t.Helper()
	if !c.lines.Scan() {
		t.Fatalf("child ended before printing %q (stderr: %s)", line, c.err)
	}
	if got := c.lines.Text(); got != line {
		t.Fatalf("child printed %q, want %q", got, line)
	}
}

func skipWithoutLocking(t *testing.T) {
	if runtime.GOOS == "aix" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no file locking on " + runtime.GOOS + " (see package doc)")
	}
}

func TestTwoAcquirersInOneProcess(t *testing.T) {
	skipWithoutLocking(t)
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Acquire(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}

	// Fail fast, naming the holder.
	_, err = Acquire(ctx, dir, false)
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Acquire: err = %v, want *LockedError", err)
	}
	host, _ := os.Hostname()
	if locked.PID != os.Getpid() || locked.Host != host || locked.Since.IsZero() || locked.Dir != dir {
		t.Fatalf("LockedError = %+v, want pid %d host %q and a start time", locked, os.Getpid(), host)
	}
	msg := err.Error()
	for _, want := range []string{dir + " is locked by another connvault run", fmt.Sprintf("pid %d", os.Getpid()), "--wait"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}

	// Wait: blocks while held, gets the lock once released.
	got := make(chan *Lock, 1)
	errc := make(chan error, 1)
	go func() {
		l, err := Acquire(ctx, dir, true)
		errc <- err
		got <- l
	}()
	select {
	case err := <-errc:
		t.Fatalf("waiting Acquire returned (%v) while the lock was held", err)
	default:
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("waiting Acquire: %v", err)
	}
	second := <-got
	if _, err := Acquire(ctx, dir, false); !errors.As(err, &locked) {
		t.Fatalf("after the waiter took the lock, Acquire err = %v, want *LockedError", err)
	}
	if err := second.Release(); err != nil {
		t.Fatal(err)
	}
	if err := second.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	third, err := Acquire(ctx, dir, false)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	third.Release()
}

func TestWaitEndsWithContext(t *testing.T) {
	skipWithoutLocking(t)
	dir := t.TempDir()
	held, err := Acquire(context.Background(), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Acquire(ctx, dir, true)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want context.Canceled naming %s", err, dir)
	}
}

func TestAcquireBadDirectory(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := Acquire(ctx, missing, false); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing dir: err = %v, want ErrNotExist naming it", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, file, false); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file: err = %v, want not a directory", err)
	}
}

func TestTwoProcesses(t *testing.T) {
	skipWithoutLocking(t)
	ctx := context.Background()

	t.Run("child holds, parent fails fast then waits, child crashes", func(t *testing.T) {
		dir := t.TempDir()
		c := startChild(t, dir, false)
		c.expect(t, "trying")
		c.expect(t, "locked")

		_, err := Acquire(ctx, dir, false)
		var locked *LockedError
		if !errors.As(err, &locked) || locked.PID != c.cmd.Process.Pid {
			t.Fatalf("err = %v, want *LockedError with the child's pid %d", err, c.cmd.Process.Pid)
		}

		errc := make(chan error, 1)
		got := make(chan *Lock, 1)
		go func() {
			l, err := Acquire(ctx, dir, true)
			errc <- err
			got <- l
		}()
		// The child exits without Release: the kernel must drop its lock.
		c.stdin.Close()
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child: %v (stderr: %s)", err, c.err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("waiting for a lock whose holder exited: %v", err)
		}
		(<-got).Release()
	})

	t.Run("parent holds, child fails fast", func(t *testing.T) {
		dir := t.TempDir()
		held, err := Acquire(ctx, dir, false)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Release()
		c := startChild(t, dir, false)
		c.expect(t, "trying")
		err = c.cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Fatalf("child: %v, want exit 3", err)
		}
		if want := fmt.Sprintf("is locked by another connvault run (pid %d", os.Getpid()); !strings.Contains(c.err.String(), want) {
			t.Fatalf("child stderr %q does not contain %q", c.err, want)
		}
	})

	t.Run("parent holds, child waits until release", func(t *testing.T) {
		dir := t.TempDir()
		held, err := Acquire(ctx, dir, false)
		if err != nil {
			t.Fatal(err)
		}
		c := startChild(t, dir, true)
		c.expect(t, "trying")
		if err := held.Release(); err != nil {
			t.Fatal(err)
		}
		c.expect(t, "locked")
		if _, err := Acquire(ctx, dir, false); !errors.As(err, new(*LockedError)) {
			t.Fatalf("while the child holds the lock, Acquire err = %v, want *LockedError", err)
		}
	})

	t.Run("killed holder leaves no stale lock", func(t *testing.T) {
		dir := t.TempDir()
		c := startChild(t, dir, false)
		c.expect(t, "trying")
		c.expect(t, "locked")
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = c.cmd.Wait()
		l, err := Acquire(ctx, dir, false)
		if err != nil {
			t.Fatalf("Acquire after the holder was killed: %v", err)
		}
		l.Release()
	})
}
