package retention

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/dirlock"
	"github.com/connvault/connvault/tools/realistic"
	"github.com/google/go-cmp/cmp"
)

// pruneDir makes a directory with ten nightly archives for acme, three for
// globex, and files prune must never touch.
func pruneDir(t *testing.T) (dir string, archives, bystanders []string) {
	t.Helper()
	dir = t.TempDir()
	real := realistic.ArchiveBytes(t)
	write := func(name string) {
		data := []byte("x")
		if _, _, ok := ParseName(name); ok {
			data = real
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		archives = append(archives, FileName("acme", time.Date(2026, 11, 13+i, 3, 15, 0, 0, time.UTC)))
	}
	for i := range 3 {
		archives = append(archives, FileName("globex", time.Date(2026, 11, 20+i, 1, 0, 0, 0, time.UTC)))
	}
	for _, n := range archives {
		write(n)
	}
	bystanders = []string{
		"." + FileName("acme", time.Date(2026, 11, 1, 3, 15, 0, 0, time.UTC)) + ".123456.tmp", // running export
		FileName("acme", time.Date(2026, 11, 2, 3, 15, 0, 0, time.UTC)) + ".bak",
		"notes.txt",
		"Acme-connectors-20261103T031500Z.tar.zst",
	}
	for _, n := range bystanders {
		write(n)
	}
	// A directory with an archive's name is not an archive.
	sub := FileName("acme", time.Date(2026, 11, 4, 3, 15, 0, 0, time.UTC))
	if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
		t.Fatal(err)
	}
	bystanders = append(bystanders, sub)
	return dir, archives, bystanders
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != dirlock.FileName {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestPruneDirectory(t *testing.T) {
	ctx := context.Background()
	p := Policy{Last: 2, Daily: 4}
	// acme: nights 13..22, keep the last 4 days (19..22); globex: all 3.
	wantRemoved := []string{}
	for day := 13; day <= 18; day++ {
		wantRemoved = append(wantRemoved, FileName("acme", time.Date(2026, 11, day, 3, 15, 0, 0, time.UTC)))
	}

	t.Run("dry run removes nothing", func(t *testing.T) {
		dir, _, _ := pruneDir(t)
		before := listDir(t, dir)
		res, err := Prune(ctx, dir, p, true)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, listDir(t, dir)); diff != "" {
			t.Fatalf("dry run changed the directory (-before +after):\n%s", diff)
		}
		if !res.DryRun || len(res.Tenants) != 2 {
			t.Fatalf("result dryRun=%v tenants=%d, want true and 2", res.DryRun, len(res.Tenants))
		}
		var planned []string
		for _, e := range res.Tenants[0].Remove {
			planned = append(planned, filepath.Base(e.Path))
		}
		slices.Sort(planned)
		if diff := cmp.Diff(wantRemoved, planned); diff != "" {
			t.Fatalf("dry run plans to remove (-want +got):\n%s", diff)
		}
	})

	t.Run("removes only archives the policy drops", func(t *testing.T) {
		dir, archives, bystanders := pruneDir(t)
		res, err := Prune(ctx, dir, p, false)
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.DeleteFunc(slices.Clone(archives), func(n string) bool { return slices.Contains(wantRemoved, n) }), bystanders...)
		slices.Sort(want)
		if diff := cmp.Diff(want, listDir(t, dir)); diff != "" {
			t.Fatalf("directory after prune (-want +got):\n%s", diff)
		}
		if len(res.Errors) != 0 {
			t.Fatalf("errors: %+v", res.Errors)
		}
		// A second run finds nothing more to remove.
		res, err = Prune(ctx, dir, p, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range res.Tenants {
			if len(tr.Remove) != 0 {
				t.Fatalf("second prune removes %d %s archives, want 0", len(tr.Remove), tr.Tenant)
			}
		}
	})

	t.Run("only the named tenant", func(t *testing.T) {
		dir, archives, _ := pruneDir(t)
		res, err := Prune(ctx, dir, Policy{Last: 1}, false, OnlyTenant("globex"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tenants) != 1 || res.Tenants[0].Tenant != "globex" || len(res.Tenants[0].Remove) != 2 {
			t.Fatalf("result %+v, want only globex with 2 removals", res.Tenants)
		}
		for _, n := range archives {
			_, err := os.Stat(filepath.Join(dir, n))
			gone := errors.Is(err, os.ErrNotExist)
			if wantGone := strings.HasPrefix(n, "globex") && !strings.Contains(n, "20261122"); gone != wantGone {
				t.Errorf("%s gone=%v, want %v", n, gone, wantGone)
			}
		}
	})

	t.Run("refuses an empty policy", func(t *testing.T) {
		dir, _, _ := pruneDir(t)
		before := listDir(t, dir)
		if _, err := Prune(ctx, dir, Policy{}, false); err == nil || !strings.Contains(err.Error(), "empty retention policy") {
			t.Fatalf("err = %v, want the empty policy refused", err)
		}
		if diff := cmp.Diff(before, listDir(t, dir)); diff != "" {
			t.Fatalf("refused prune changed the directory:\n%s", diff)
		}
	})

	t.Run("missing directory", func(t *testing.T) {
		_, err := Prune(ctx, filepath.Join(t.TempDir(), "nope"), p, false)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want ErrNotExist", err)
		}
	})
}

func TestPruneReportsFailedRemovalsAndGoesOn(t *testing.T) {
	dir, _, _ := pruneDir(t)
	stuck := filepath.Join(dir, FileName("acme", time.Date(2026, 11, 14, 3, 15, 0, 0, time.UTC)))
	orig := removeFile
	removeFile = func(path string) error {
		if path == stuck {
			return &os.PathError{Op: "remove", Path: path, Err: os.ErrPermission}
		}
		return orig(path)
	}
	t.Cleanup(func() { removeFile = orig })

	res, err := Prune(context.Background(), dir, Policy{Last: 1}, false, OnlyTenant("acme"))
	if err == nil || !strings.Contains(err.Error(), "1 of 9 archives could not be removed") {
		t.Fatalf("err = %v, want one failure of 9 reported", err)
	}
	if res == nil || len(res.Errors) != 1 || res.Errors[0].Path != stuck {
		t.Fatalf("result errors %+v, want exactly %s", res, stuck)
	}
	left, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var acme []string
	for _, a := range left {
		if a.Tenant == "acme" {
			acme = append(acme, filepath.Base(a.Path))
		}
	}
	want := []string{filepath.Base(stuck), FileName("acme", time.Date(2026, 11, 22, 3, 15, 0, 0, time.UTC))}
	if diff := cmp.Diff(want, acme); diff != "" {
		t.Fatalf("acme archives left (-want +got):\n%s", diff)
	}
}

func TestPruneResultJSON(t *testing.T) {
	dir, _, _ := pruneDir(t)
	res, err := Prune(context.Background(), dir, Policy{Last: 1}, true, OnlyTenant("globex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"dir":    dir,
		"dryRun": true,
		"policy": map[string]any{"last": 1.0, "hourly": 0.0, "daily": 0.0, "weekly": 0.0, "monthly": 0.0, "yearly": 0.0},
		"tenants": []any{map[string]any{
			"tenant": "globex",
			"keep": []any{map[string]any{
				"path": filepath.Join(dir, "globex-connectors-20261122T010000Z.tar.zst"), "time": "2026-11-22T01:00:00Z", "reasons": []any{"last 1"},
			}},
			"remove": []any{
				map[string]any{"path": filepath.Join(dir, "globex-connectors-20261121T010000Z.tar.zst"), "time": "2026-11-21T01:00:00Z"},
				map[string]any{"path": filepath.Join(dir, "globex-connectors-20261120T010000Z.tar.zst"), "time": "2026-11-20T01:00:00Z"},
			},
		}},
		"errors":  []any{},
		"future":  []any{},
		"ignored": []any{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("JSON (-want +got):\n%s", diff)
	}
}

// waitSignal is a slog handler that closes a channel on the first record whose
// message contains a substring, so a test can act exactly when Prune starts
// waiting for the lock.
type waitSignal struct {
	substr string
	ch     chan struct{}
}

func (w *waitSignal) Enabled(context.Context, slog.Level) bool { return true }
func (w *waitSignal) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, w.substr) {
		select {
		case <-w.ch:
		default:
			close(w.ch)
		}
	}
	return nil
}
func (w *waitSignal) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *waitSignal) WithGroup(string) slog.Handler      { return w }

func TestPruneRespectsDirectoryLock(t *testing.T) {
	ctx := context.Background()
	dir, _, _ := pruneDir(t)
	before := listDir(t, dir)
	held, err := dirlock.Acquire(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Prune(ctx, dir, Policy{Last: 1}, false)
	var locked *dirlock.LockedError
	if !errors.As(err, &locked) || locked.PID != os.Getpid() {
		t.Fatalf("err = %v, want a LockedError naming this process", err)
	}
	if diff := cmp.Diff(before, listDir(t, dir)); diff != "" {
		t.Fatalf("prune changed a locked directory:\n%s", diff)
	}

	sig := &waitSignal{substr: "waiting for the directory lock", ch: make(chan struct{})}
	done := make(chan error, 1)
	var res *Result
	go func() {
		var err error
		res, err = Prune(ctx, dir, Policy{Last: 1}, false, WaitForLock(true), Logger(slog.New(sig)))
		done <- err
	}()
	<-sig.ch
	select {
	case err := <-done:
		t.Fatalf("prune finished (%v) while the lock was held", err)
	default:
	}
	if err := held.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("prune after the lock was released: %v", err)
	}
	if n := len(res.Tenants[0].Remove) + len(res.Tenants[1].Remove); n != 11 {
		t.Fatalf("removed %d archives, want 11", n)
	}
}

func TestPruneInterrupted(t *testing.T) {
	dir, _, _ := pruneDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	orig := removeFile
	removed := 0
	removeFile = func(path string) error {
		removed++
		if removed == 3 {
			cancel() // as if Ctrl-C arrived during the third removal
		}
		return orig(path)
	}
	t.Cleanup(func() { removeFile = orig })

	res, err := Prune(ctx, dir, Policy{Last: 1}, false, OnlyTenant("acme"))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "after 3 of 9 removals") {
		t.Fatalf("err = %v, want context.Canceled after 3 of 9", err)
	}
	if len(res.Errors) != 6 || res.Errors[0].Error != "interrupted" {
		t.Fatalf("errors %+v, want the 6 removals not reached", res.Errors)
	}
	left, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var acme int
	for _, a := range left {
		if a.Tenant == "acme" {
			acme++
			if !slices.ContainsFunc(res.Errors, func(e FileError) bool { return e.Path == a.Path }) && !strings.Contains(a.Path, "20261122") {
				t.Errorf("%s is still there but not reported", a.Path)
			}
		}
	}
	if acme != 7 {
		t.Fatalf("%d acme archives left, want 7 (the kept one and 6 not reached)", acme)
	}
}

// A killed export's temporary files are removed by the next prune that holds
// the lock, once they are old enough that no writer without the lock (an
// export -o FILE into the directory) can be using them.
func TestPruneRemovesStaleTemporaryFiles(t *testing.T) {
	dir, _, _ := pruneDir(t)
	stale := filepath.Join(dir, "."+FileName("acme", time.Date(2026, 10, 1, 3, 15, 0, 0, time.UTC))+".987654.spool")
	if err := os.WriteFile(stale, []byte("half an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * archive.StaleAfter)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Prune(context.Background(), dir, Policy{Last: 100}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("a dry run removed a file")
	}
	if _, err := Prune(context.Background(), dir, Policy{Last: 100}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale spool file is still there: %v", err)
	}
}

// TestPruneFutureArchivesTakeNoKeepSlot: seven archives a wrong clock dated
// 2099 beside ten real nightly ones. They are kept (and listed as future)
// but take no slot, so --keep-daily 7 --keep-weekly 4 keeps the seven newest
// real nights as if they were not there.
func TestPruneFutureArchivesTakeNoKeepSlot(t *testing.T) {
	dir := t.TempDir()
	real := realistic.ArchiveBytes(t)
	var nights, future []string
	for i := range 10 {
		nights = append(nights, FileName("acme", time.Date(2026, 11, 13+i, 3, 15, 0, 0, time.UTC)))
	}
	for i := range 7 {
		future = append(future, FileName("acme", time.Date(2099, 1, 1+i, 3, 15, 0, 0, time.UTC)))
	}
	for _, n := range append(slices.Clone(nights), future...) {
		if err := os.WriteFile(filepath.Join(dir, n), real, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	res, err := Prune(context.Background(), dir, Policy{Daily: 7, Weekly: 4}, false, Now(now))
	if err != nil {
		t.Fatal(err)
	}
	var futurePaths []string
	for _, e := range res.Future {
		futurePaths = append(futurePaths, filepath.Base(e.Path))
	}
	slices.Sort(futurePaths)
	if !slices.Equal(futurePaths, future) {
		t.Errorf("future = %v, want %v", futurePaths, future)
	}
	left := listDir(t, dir)
	for _, n := range future {
		if !slices.Contains(left, n) {
			t.Errorf("the future archive %s was removed", n)
		}
	}
	// Daily 7 keeps Nov 16..22; weekly 4 adds the newest of the weeks
	// before (W46: Nov 15) and the oldest (Nov 13) for lack of history.
	for _, n := range nights[3:] {
		if !slices.Contains(left, n) {
			t.Errorf("the real archive %s was removed; kept: %v", n, left)
		}
	}
}

// TestPruneGivesNoKeepSlotToFilesThatAreNotArchives: empty files named like
// the newest archives are left alone and reported, and the real archives
// keep their slots.
func TestPruneGivesNoKeepSlotToFilesThatAreNotArchives(t *testing.T) {
	dir := t.TempDir()
	real := realistic.ArchiveBytes(t)
	var nights, fakes []string
	for i := range 10 {
		nights = append(nights, FileName("acme", time.Date(2026, 11, 3+i, 3, 15, 0, 0, time.UTC)))
	}
	for i := range 10 {
		fakes = append(fakes, FileName("acme", time.Date(2026, 11, 13+i, 3, 15, 0, 0, time.UTC)))
	}
	for _, n := range nights {
		if err := os.WriteFile(filepath.Join(dir, n), real, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range fakes {
		data := []byte{}
		if i%2 == 1 {
			data = real[:len(real)/3] // cut before the manifest ends
		}
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Prune(context.Background(), dir, Policy{Daily: 10}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ignored) != len(fakes) {
		t.Errorf("ignored %d files, want %d: %+v", len(res.Ignored), len(fakes), res.Ignored)
	}
	for _, ig := range res.Ignored {
		if ig.Reason == "" {
			t.Errorf("%s ignored without a reason", ig.Path)
		}
	}
	left := listDir(t, dir)
	for _, n := range append(slices.Clone(nights), fakes...) {
		if !slices.Contains(left, n) {
			t.Errorf("%s was removed", n)
		}
	}
}
