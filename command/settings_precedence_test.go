package command

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/tenants"
	"github.com/connvault/connvault/tools/realistic"
)

// Settings and protection as they were found to fail, each reproduced and asserting the safe
// outcome.

// a global flag before the command lost to its environment variable.
func TestFlagBeforeCommandBeatsEnvironment(t *testing.T) {
	e := newNamedEnv(t)
	a := e.sandbox("a", sandbox.Options{})
	b := e.sandbox("b", sandbox.Options{})
	custom := exportCustom(t, a)

	// SAIL_BASE_URL=A connvault --base-url B restore snap --dry-run plans against B.
	t.Setenv("SAIL_BASE_URL", a.URL)
	t.Setenv("SAIL_CLIENT_ID", "a-client")
	t.Setenv("SAIL_CLIENT_SECRET", e.secrets[0])
	a.Tenant.ResetStats()
	code, stdout, stderr := e.run("--base-url", b.URL, "--client-id", "b-client", "--client-secret", e.secrets[1], "--rate", "0",
		"restore", "--dry-run", "--format", "json", custom)
	var plan struct {
		Target string `json:"target"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || plan.Target != b.URL {
		t.Fatalf("--base-url B before restore with SAIL_BASE_URL=A: exit %d, target %q, want %s\n%s", code, plan.Target, b.URL, stderr)
	}
	if n := a.Tenant.Stats().TotalRequests(); n != 0 {
		t.Errorf("tenant A (the environment's) got %d requests", n)
	}

	// SAIL_CLIENT_SECRET=good connvault --client-secret WRONG export fails.
	clearSailEnv(t)
	t.Setenv("SAIL_CLIENT_SECRET", e.secrets[0])
	dir := t.TempDir()
	code, _, stderr = e.run("--client-secret", "WRONG", "--base-url", a.URL, "--client-id", "a-client", "--rate", "0", "export", "-d", dir)
	if code != exitError || !strings.Contains(strings.ToLower(stderr), "401") && !strings.Contains(strings.ToLower(stderr), "credential") && !strings.Contains(strings.ToLower(stderr), "unauthorized") {
		t.Errorf("--client-secret WRONG with SAIL_CLIENT_SECRET=good: exit %d, want 1 and an authentication error\n%s", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tar.zst")); len(left) != 0 {
		t.Errorf("the wrong secret still produced %v", left)
	}

	// CONNVAULT_RATE=0 connvault --rate 0.5 export runs paced at 0.5.
	clearSailEnv(t)
	t.Setenv("CONNVAULT_RATE", "0")
	code, _, stderr = e.run("--rate", "0.5", "--log-level", "debug", "settings", "--sandbox")
	if code != 0 || !strings.Contains(stderr, "rate=0.5 (flag --rate)") {
		t.Errorf("--rate 0.5 with CONNVAULT_RATE=0: exit %d, want rate 0.5 from the flag\n%s", code, stderr)
	}
}

// SAIL_* naming a protected tenant, --tenant dev on the command line:
// the run must stop before any request, and the protected tenant's content
// stays as it was.
func TestProtectedTenantReachedThroughEnvironment(t *testing.T) {
	e := newNamedEnv(t)
	dev := e.sandbox("dev", sandbox.Options{Empty: true})
	prod := e.sandbox("prod", sandbox.Options{Empty: true})
	e.add("dev", dev)
	e.add("prod", prod, "--protected")
	src := e.sandbox("src", sandbox.Options{})
	custom := exportCustom(t, src)
	backups := t.TempDir()

	t.Setenv("SAIL_BASE_URL", prod.URL)
	t.Setenv("SAIL_CLIENT_ID", "prod-client")
	t.Setenv("SAIL_CLIENT_SECRET", e.secrets[1])
	prodBefore := prod.Tenant.ScriptNames()

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"--tenant dev with SAIL_* naming prod", []string{"restore", "--tenant", "dev", "--yes", "--rate", "0", "--backup-dir", backups, custom}, []string{`tenant "dev"`, prod.URL}},
		{"SAIL_* alone naming prod", []string{"restore", "--yes", "--rate", "0", "--backup-dir", backups, custom}, []string{"--yes-protected prod", "nothing was written"}},
		{"--base-url naming prod", []string{"restore", "--base-url", prod.URL + "/", "--yes", "--rate", "0", "--backup-dir", backups, custom}, []string{"--yes-protected prod"}},
	} {
		dev.Tenant.ResetStats()
		prod.Tenant.ResetStats()
		code, _, stderr := e.run(tc.args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2\n%s", tc.name, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: the error lacks %q\n%s", tc.name, w, stderr)
			}
		}
		// Refused before any request, to either tenant.
		if n := prod.Tenant.Stats().TotalRequests(); n != 0 {
			t.Errorf("%s: %d requests to the protected tenant", tc.name, n)
		}
		if n := dev.Tenant.Stats().TotalRequests(); n != 0 {
			t.Errorf("%s: %d requests to dev after a refusal", tc.name, n)
		}
	}
	if n := len(prod.Tenant.ScriptNames()); n != len(prodBefore) {
		t.Errorf("the protected tenant changed: %d connectors, had %d", n, len(prodBefore))
	}
	// With the variable gone, --tenant dev writes to dev.
	clearSailEnv(t)
	if code, _, stderr := e.run("restore", "--tenant", "dev", "--yes", "--rate", "0", "--backup-dir", backups, custom); code != 0 || dev.Tenant.Stats().Writes == 0 {
		t.Errorf("restore --tenant dev: exit %d, %d writes to dev\n%s", code, dev.Tenant.Stats().Writes, stderr)
	}
	if w := prod.Tenant.Stats().Writes; w != 0 {
		t.Errorf("%d writes to the protected tenant", w)
	}
}

// --tenant before prune (or $CONNVAULT_TENANT) pruned every tenant.
func TestPruneTenantFromAnyPlace(t *testing.T) {
	t.Setenv("CONNVAULT_TENANT", "")
	setup := func() string {
		dir := t.TempDir()
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for _, tn := range []string{"prod", "dev"} {
			for i := range 3 {
				p := filepath.Join(dir, retention.FileName(tn, base.Add(time.Duration(i)*24*time.Hour)))
				if err := os.WriteFile(p, realistic.ArchiveBytes(t), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		return dir
	}
	count := func(dir, tn string) int {
		m, _ := filepath.Glob(filepath.Join(dir, tn+"-connectors-*.tar.zst"))
		return len(m)
	}
	for _, tc := range []struct {
		name string
		env  string
		args func(dir string) []string
	}{
		{"--tenant before the command", "", func(d string) []string { return []string{"--tenant", "prod", "prune", d, "--keep-last", "1"} }},
		{"--tenant after DIR", "", func(d string) []string { return []string{"prune", d, "--keep-last", "1", "--tenant", "prod"} }},
		{"CONNVAULT_TENANT", "prod", func(d string) []string { return []string{"prune", d, "--keep-last", "1"} }},
	} {
		t.Setenv("CONNVAULT_TENANT", tc.env)
		dir := setup()
		code, _, stderr := runCLI(t, t.Context(), tc.args(dir)...)
		if code != 0 || count(dir, "prod") != 1 || count(dir, "dev") != 3 {
			t.Errorf("%s: exit %d, prod %d (want 1), dev %d (want 3)\n%s", tc.name, code, count(dir, "prod"), count(dir, "dev"), stderr)
		}
	}
}

// export -o FILE silently replaced an existing FILE.
func TestExportRefusesExistingFile(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "snap.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", out); code != 0 {
		t.Fatalf("first export: exit %d\n%s", code, stderr)
	}
	before, _ := os.ReadFile(out)
	code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", out)
	if code != exitUsage || !strings.Contains(stderr, "--force") || !strings.Contains(stderr, out) {
		t.Errorf("second export -o over an existing file: exit %d, want 2 naming --force\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("the pre-change snapshot was replaced")
	}
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", out, "--force"); code != 0 {
		t.Errorf("export --force over a regular file: exit %d\n%s", code, stderr)
	}

	// Never over a symlink, a FIFO or a directory, --force or not.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.tar.zst")
	fifo := filepath.Join(dir, "fifo.tar.zst")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, fifo, dir} {
		code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", p, "--force")
		if code != exitUsage || !strings.Contains(stderr, "not a regular file") {
			t.Errorf("export -o %s --force: exit %d, want 2\n%s", p, code, stderr)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Error("the symlink's target was replaced")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
}

// TestProtectedTenantUnderEverySpelling: the protected tenant's base URL
// written another way (a port with leading zeros, localhost for 127.0.0.1,
// an IPv4-mapped IPv6 address, upper case, a trailing dot and slash) is the
// same tenant, and a write without --yes-protected is refused before any
// request.
func TestProtectedTenantUnderEverySpelling(t *testing.T) {
	e := newNamedEnv(t)
	prod := e.sandbox("prod", sandbox.Options{Empty: true})
	e.add("prod", prod, "--protected")
	custom := exportCustom(t, e.sandbox("src", sandbox.Options{}))
	u, err := url.Parse(prod.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	t.Setenv("SAIL_CLIENT_ID", "prod-client")
	t.Setenv("SAIL_CLIENT_SECRET", e.secrets[0])
	for _, spelling := range []string{
		"http://127.0.0.1:0" + port,
		"http://127.0.0.1:00" + port,
		"http://localhost:" + port,
		"http://[::ffff:127.0.0.1]:" + port,
		"http://[::1]:" + port,
		"HTTP://127.0.0.1.:" + port + "/",
	} {
		t.Setenv("SAIL_BASE_URL", spelling)
		prod.Tenant.ResetStats()
		code, _, stderr := e.run("restore", "--yes", "--rate", "0", "--no-backup", custom)
		if code != exitUsage || !strings.Contains(stderr, "--yes-protected prod") {
			t.Errorf("%s: exit %d, want 2 naming --yes-protected prod\n%s", spelling, code, stderr)
		}
		if w := prod.Tenant.Stats().Writes; w != 0 {
			t.Errorf("%s: %d writes to the protected tenant", spelling, w)
		}
	}
}

// TestProtectedTenantKnownByItsToken: once connvault has met the protected
// tenant at its own address, it records which tenant its token names; the
// same tenant reached at an address no spelling rule can tie to it (a proxy,
// a second listener) is still refused without --yes-protected, and a
// protected tenant whose address now answers as another tenant is refused
// too.
func TestProtectedTenantKnownByItsToken(t *testing.T) {
	e := newNamedEnv(t)
	prod := e.sandbox("prod", sandbox.Options{Empty: true})
	e.add("prod", prod, "--protected")
	custom := exportCustom(t, e.sandbox("src", sandbox.Options{}))

	// First contact, read-only.
	if code, _, stderr := e.run("export", "--tenant", "prod", "--rate", "0", "-o", filepath.Join(t.TempDir(), "p.tar.zst")); code != 0 {
		t.Fatalf("export --tenant prod: exit %d\n%s", code, stderr)
	}
	cfg, err := tenants.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if tn, _ := cfg.Get("prod"); tn.TenantID == "" {
		t.Fatalf("the tenants file recorded no identity for prod after first contact")
	}

	alias := httptest.NewServer(prod.Tenant)
	defer alias.Close()
	t.Setenv("SAIL_BASE_URL", alias.URL)
	t.Setenv("SAIL_CLIENT_ID", "prod-client")
	t.Setenv("SAIL_CLIENT_SECRET", e.secrets[0])
	prod.Tenant.ResetStats()
	code, _, stderr := e.run("restore", "--yes", "--rate", "0", "--no-backup", custom)
	if code != exitUsage || !strings.Contains(stderr, "--yes-protected prod") || !strings.Contains(stderr, "its token names tenant") {
		t.Errorf("restore through another address: exit %d, want 2 naming --yes-protected prod\n%s", code, stderr)
	}
	if w := prod.Tenant.Stats().Writes; w != 0 {
		t.Errorf("%d writes to the protected tenant through another address", w)
	}
	if code, _, stderr := e.run("restore", "--yes", "--yes-protected", "prod", "--rate", "0", "--no-backup", custom); code != 0 || prod.Tenant.Stats().Writes == 0 {
		t.Errorf("restore --yes-protected prod: exit %d, %d writes\n%s", code, prod.Tenant.Stats().Writes, stderr)
	}

	// The recorded identity no longer answers at prod's address.
	clearSailEnv(t)
	other := e.sandbox("other", sandbox.Options{Empty: true})
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	swapped := strings.Replace(string(raw), prod.URL, other.URL, 1)
	swapped = strings.Replace(swapped, `"prod-client"`, `"other-client"`, 1)
	swapped = strings.Replace(swapped, secretVar("prod"), secretVar("other"), 1)
	if err := os.WriteFile(e.config, []byte(swapped), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = e.run("restore", "--tenant", "prod", "--yes", "--yes-protected", "prod", "--rate", "0", "--no-backup", custom)
	if code != exitUsage || !strings.Contains(stderr, "now answers as tenant") {
		t.Errorf("a protected tenant whose address answers as another: exit %d\n%s", code, stderr)
	}
	if w := other.Tenant.Stats().Writes; w != 0 {
		t.Errorf("%d writes to the tenant behind the changed address", w)
	}
}
