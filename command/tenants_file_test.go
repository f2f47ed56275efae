package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/tenants"
)

// TestTenantsAddAtOnceKeepsEveryTenant: twenty `tenants add` processes
// started together each keep their tenant; the read-modify-write of the
// file is locked.
func TestTenantsAddAtOnceKeepsEveryTenant(t *testing.T) {
	config := filepath.Join(t.TempDir(), "conf", "tenants.json")
	var wg sync.WaitGroup
	codes := make([]int, 20)
	stderrs := make([]string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("t%02d", i)
			codes[i], _, stderrs[i] = runBinary(t, map[string]string{"CONNVAULT_CONFIG": config}, "tenants", "add", name,
				"--base-url", fmt.Sprintf("https://%s.api.identitynow.com", name), "--client-id", "id", "--client-secret-env", "SECRET_"+name)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("tenants add t%02d: exit %d\n%s", i, c, stderrs[i])
		}
	}
	cfg, err := tenants.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Names()); n != 20 {
		t.Errorf("the file keeps %d tenants, want 20: %v", n, cfg.Names())
	}
}

// TestTenantsAddWritesThroughASymlink: a tenants file that is a symbolic
// link (kept in a dotfiles repository) stays a link, and the file it points
// to gets the tenant.
func TestTenantsAddWritesThroughASymlink(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "tenants.json")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "conf", "tenants.json")
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tenants.EnvConfig, link)
	for _, name := range []string{"dev", "prod"} {
		if code, _, stderr := runCLI(t, t.Context(), "tenants", "add", name, "--base-url", "https://"+name+".api.identitynow.com", "--client-id", "id", "--client-secret-env", "S"); code != 0 {
			t.Fatalf("tenants add %s: exit %d\n%s", name, code, stderr)
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the tenants file is no longer a symbolic link (%v)", err)
	}
	cfg, err := tenants.Load(target)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Names(), ","); got != "dev,prod" {
		t.Errorf("the link's target holds %q, want dev,prod", got)
	}
}

// TestTenantsFileWritableByOthersRefused: as ssh refuses a config others
// can write, a tenants file or secret file writable by group or others is
// refused (exit 2, naming the file and chmod); a readable one is used with a
// warning.
func TestTenantsFileWritableByOthersRefused(t *testing.T) {
	e := newNamedEnv(t)
	e.add("dev", e.sandbox("dev", sandbox.Options{}))
	if err := os.Chmod(e.config, 0o620); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := e.run("export", "--tenant", "dev", "-o", filepath.Join(t.TempDir(), "a.tar.zst"))
	if code != exitUsage || !strings.Contains(stderr, "writable by its group or others") || !strings.Contains(stderr, "chmod go-w "+e.config) {
		t.Errorf("group-writable tenants file: exit %d\n%s", code, stderr)
	}
	if err := os.Chmod(e.config, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = e.run("export", "--tenant", "dev", "-o", filepath.Join(t.TempDir(), "a.tar.zst"))
	if code != 0 || !strings.Contains(stderr, "tenants file is readable by others") {
		t.Errorf("world-readable tenants file: exit %d, want 0 with a warning\n%s", code, stderr)
	}

	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(e.secrets[0]+"\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o666); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.run("tenants", "add", "dev", "--force", "--base-url", "https://dev.api.identitynow.com", "--client-id", "dev-client", "--client-secret-file", secret); code != 0 {
		t.Fatalf("tenants add: exit %d\n%s", code, stderr)
	}
	if err := os.Chmod(e.config, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = e.run("export", "--tenant", "dev", "-o", filepath.Join(t.TempDir(), "a.tar.zst"))
	if code != exitUsage || !strings.Contains(stderr, "client secret file") || !strings.Contains(stderr, "writable by its group or others") {
		t.Errorf("world-writable secret file: exit %d\n%s", code, stderr)
	}
}
