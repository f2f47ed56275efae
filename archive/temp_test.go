package archive

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A legal archive name of 248 bytes (and up to 255) must not fail because the
// temporary name beside it is longer than the file system allows.
func TestLongArchiveNameGivesLegalTempNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{248, 255} {
		name := strings.Repeat("a", n-len(".tar.zst")) + ".tar.zst"
		path := filepath.Join(dir, name)
		w, err := Create(context.Background(), path, Meta{ToolVersion: "test", CreatedAt: time.Unix(0, 0).UTC()})
		if err != nil {
			t.Fatalf("%d-byte name: %v", n, err)
		}
		if err := w.Add(context.Background(), &Connector{ScriptName: "c", Detail: []byte("{}\n")}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(context.Background()); err != nil {
			t.Fatalf("%d-byte name: %v", n, err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"acme-connectors-20261201T030000Z.tar.zst", ".connvault.lock", ".x.spool", ".x.12a.tmp", "notes.tmp"}
	stale := []string{".acme-connectors-20261201T030000Z.tar.zst.123456.spool", TempPrefix(strings.Repeat("b", 250)) + "42" + tmpSuffix}
	for _, n := range append(slices.Clone(keep), stale...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if removed, err := RemoveTemps(dir, StaleAfter); err != nil || len(removed) != 0 {
		t.Fatalf("fresh temporary files removed: %v, %v", removed, err)
	}
	old := time.Now().Add(-2 * StaleAfter)
	for _, n := range append(slices.Clone(keep), stale...) {
		if err := os.Chtimes(filepath.Join(dir, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveTemps(dir, StaleAfter)
	if err != nil || len(removed) != len(stale) {
		t.Fatalf("removed %v, %v; want %v", removed, err, stale)
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed", n)
		}
	}
}

// deadPID is the PID of a process of this host that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestRemoveTempsByOwner: a temporary file of a process of this host that
// is gone is removed at once, however fresh; a live process's is kept,
// however old; another host's, and one without an owner, go by age.
func TestRemoveTempsByOwner(t *testing.T) {
	dir := t.TempDir()
	base := "acme-connectors-20261201T030000Z.tar.zst"
	owned := func(host string, pid int, suffix string) string {
		return TempPrefix(base) + host + "-" + strconv.Itoa(pid) + "-77" + suffix
	}
	otherHost := "0badc0de"
	if otherHost == hostTag {
		otherHost = "0badc0df"
	}
	dead := deadPID(t)
	long := TempPrefix(strings.Repeat("é", 127)+".tar.zst") + hostTag + "-" + strconv.Itoa(dead) + "-4294967295" + spoolSuffix
	if len(long) > 255 {
		t.Fatalf("a temporary name beside a 255-byte archive name is %d bytes", len(long))
	}
	goneNow := []string{owned(hostTag, dead, spoolSuffix), owned(hostTag, dead, tmpSuffix), long}
	live := []string{owned(hostTag, os.Getpid(), spoolSuffix), owned(hostTag, os.Getppid(), tmpSuffix)}
	byAge := []string{owned(otherHost, dead, spoolSuffix), TempPrefix(base) + "123" + spoolSuffix}
	for _, n := range slices.Concat(goneNow, live, byAge) {
		if !IsTemp(n) {
			t.Fatalf("%q not recognised as a temporary name", n)
		}
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveTemps(dir, StaleAfter)
	if err != nil || len(removed) != len(goneNow) {
		t.Fatalf("removed %v, %v; want the dead process's %v", removed, err, goneNow)
	}
	for _, n := range goneNow {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s of a process that is gone kept", n)
		}
	}
	old := time.Now().Add(-2 * StaleAfter)
	for _, n := range slices.Concat(live, byAge) {
		if err := os.Chtimes(filepath.Join(dir, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	removed, err = RemoveTemps(dir, StaleAfter)
	if err != nil || len(removed) != len(byAge) {
		t.Fatalf("removed %v, %v; want the old ones without a checkable owner %v", removed, err, byAge)
	}
	for _, n := range live {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s of a live process removed", n)
		}
	}
}

// TestWriterNamesItsOwner: the writer's spool carries this host and PID.
func TestWriterNamesItsOwner(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(context.Background(), filepath.Join(dir, strings.Repeat("a", 247)+".tar.zst"), Meta{ToolVersion: "test", CreatedAt: time.Unix(0, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("want one spool file, have %v", entries)
	}
	wantPID := os.Getpid()
	if hostTag == "" { // a host without a name writes no owner
		wantPID = 0
	}
	host, pid, ok := tempOwner(entries[0].Name())
	if !ok || host != hostTag || pid != wantPID || len(entries[0].Name()) > 255 {
		t.Errorf("spool %q: owner %q/%d, want %q/%d", entries[0].Name(), host, pid, hostTag, wantPID)
	}
}

// FuzzTempNames: the temporary name beside any archive name is recognised
// as one, fits a file name, and an archive name is never taken for one.
func FuzzTempNames(f *testing.F) {
	f.Add("acme-connectors-20261201T030000Z.tar.zst", "123456")
	f.Add(strings.Repeat("é", 127)+".tar.zst", "9")
	f.Fuzz(func(t *testing.T, base, digits string) {
		if base == "" || strings.ContainsAny(base, "/\x00") || len(base) > 255 {
			return
		}
		if digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 20 {
			return
		}
		for _, suf := range []string{spoolSuffix, tmpSuffix} {
			name := TempPrefix(base) + digits + suf
			if !IsTemp(name) {
				t.Errorf("%q not recognised as a temporary name", name)
			}
			if len(name) > 255 {
				t.Errorf("%q is %d bytes", name, len(name))
			}
			owned := TempPrefix(base) + "0badc0de-" + digits + "-" + digits + suf
			if _, err := strconv.Atoi(digits); err == nil && digits != strings.Repeat("0", len(digits)) {
				if host, _, ok := tempOwner(owned); !ok || host != "0badc0de" {
					t.Errorf("%q not recognised as owned by 0badc0de", owned)
				}
			}
			if len(owned) > 255 {
				t.Errorf("%q is %d bytes", owned, len(owned))
			}
		}
		if !strings.HasPrefix(base, ".") && IsTemp(base) {
			t.Errorf("the archive name %q is taken for a temporary file", base)
		}
	})
}

func TestReplacePolicies(t *testing.T) {
	dir := t.TempDir()
	write := func(path string, r Replace) error {
		w, err := Create(context.Background(), path, Meta{ToolVersion: "test", CreatedAt: time.Unix(0, 0).UTC()})
		if err != nil {
			t.Fatal(err)
		}
		w.SetReplace(r)
		if err := w.Add(context.Background(), &Connector{ScriptName: "c", Detail: []byte("{}\n")}); err != nil {
			t.Fatal(err)
		}
		_, err = w.Close(context.Background())
		return err
	}
	existing := filepath.Join(dir, "existing.tar.zst")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := write(existing, ReplaceNone); !errors.Is(err, ErrExists) {
		t.Errorf("ReplaceNone over a file: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Error("ReplaceNone replaced the file")
	}
	fresh := filepath.Join(dir, "fresh.tar.zst")
	if err := write(fresh, ReplaceNone); err != nil {
		t.Errorf("ReplaceNone to a new path: %v", err)
	}
	if _, err := ReadFile(fresh, ReadOptions{}); err != nil {
		t.Errorf("the new archive does not read: %v", err)
	}
	link := filepath.Join(dir, "link.tar.zst")
	if err := os.Symlink(existing, link); err != nil {
		t.Fatal(err)
	}
	if err := write(link, ReplaceRegular); !errors.Is(err, ErrExists) {
		t.Errorf("ReplaceRegular over a symlink: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
	if err := write(existing, ReplaceRegular); err != nil {
		t.Errorf("ReplaceRegular over a regular file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
