package command

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/tools/realistic"
)

// TestFleetExportGoesOnPastAFailingTenant: three tenants in one run, one of
// whose token endpoint refuses its secret: the other two are written, the
// summary names the failure, exit 3.
func TestFleetExportGoesOnPastAFailingTenant(t *testing.T) {
	e := newNamedEnv(t)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		e.add(n, e.sandbox(n, sandbox.Options{}))
	}
	t.Setenv(secretVar("beta"), "not-the-secret")
	dir := t.TempDir()
	code, stdout, stderr := e.run("export", "--all-tenants", "-d", dir, "--rate", "0", "--json")
	if code != exitPartial {
		t.Fatalf("fleet export: exit %d, want 3\n%s\n%s", code, stdout, stderr)
	}
	var doc struct {
		Tenants []fleetTenant `json:"tenants"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	status := map[string]fleetTenant{}
	for _, r := range doc.Tenants {
		status[r.Tenant] = r
	}
	if status["alpha"].Status != "written" || status["gamma"].Status != "written" || status["beta"].Status != "failed" ||
		!strings.Contains(status["beta"].Error, "token") {
		t.Errorf("statuses %+v", doc.Tenants)
	}
	if !strings.Contains(stderr, "tenant beta: failed") || !strings.Contains(stderr, "2 of 3 tenants exported") {
		t.Errorf("the summary does not name the failure:\n%s", stderr)
	}
	for _, n := range []string{"alpha", "gamma"} {
		if m, _ := filepath.Glob(filepath.Join(dir, n+"-connectors-*.tar.zst")); len(m) != 1 {
			t.Errorf("%s: archives %v", n, m)
		}
	}
}

// TestFleetExportInterruptedStopsEveryTenant: Ctrl-C during a fleet export
// stops all tenants at once (exit 130) and leaves nothing half-written.
func TestFleetExportInterruptedStopsEveryTenant(t *testing.T) {
	e := newNamedEnv(t)
	var servers []*sandbox.Server
	for _, n := range []string{"alpha", "beta", "gamma"} {
		// Not the spec-checking proxy: the held request is answered by nobody.
		secret := "sec-" + n + "-plain"
		srv, err := sandbox.Start(t.Context(), "", sandbox.Options{Synthetic: 100, Latency: 5e6, Clients: map[string]string{n + "-client": secret}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		t.Setenv(secretVar(n), secret)
		e.secrets = append(e.secrets, secret)
		e.add(n, srv)
		servers = append(servers, srv)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Hold beta's 20th request and cancel, as Ctrl-C would.
	cancelAtRequest(servers[1].Tenant, 20, cancel)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, ctx, "export", "--all-tenants", "-d", dir, "--rate", "0")
	if code != exitInterrupted {
		t.Fatalf("interrupted fleet export: exit %d, want 130\n%s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".") && en.Name() != ".connvault.lock" {
			t.Errorf("left behind: %s", en.Name())
		}
		if strings.HasSuffix(en.Name(), ".tar.zst") {
			if code, out, _ := runCLI(t, t.Context(), "verify", filepath.Join(dir, en.Name())); code != 0 {
				t.Errorf("a half-written archive: %s\n%s", en.Name(), out)
			}
		}
	}
}

// TestPruneAllTenants: prune --all-tenants prunes each tenant of the
// tenants file and leaves the archives of others alone.
func TestPruneAllTenants(t *testing.T) {
	e := newNamedEnv(t)
	for _, n := range []string{"alpha", "beta"} {
		e.add(n, e.sandbox(n, sandbox.Options{}))
	}
	dir := t.TempDir()
	real := realistic.ArchiveBytes(t)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		for d := range 3 {
			name := retention.FileName(n, time.Date(2026, 11, 20+d, 3, 0, 0, 0, time.UTC))
			if err := os.WriteFile(filepath.Join(dir, name), real, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, _, stderr := e.run("prune", dir, "--all-tenants", "--keep-last", "1")
	if code != 0 {
		t.Fatalf("prune --all-tenants: exit %d\n%s", code, stderr)
	}
	left := countArchives(t, dir)
	if left["alpha"] != 1 || left["beta"] != 1 || left["gamma"] != 3 {
		t.Errorf("left %v, want alpha 1, beta 1, gamma (not in the tenants file) 3", left)
	}
}
