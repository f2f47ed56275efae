package command

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestExitCodesAsTheREADMESays: one situation, one code, for every command
// it can happen to; and every code of the README's table is produced by some
// row here.
func TestExitCodesAsTheREADMESays(t *testing.T) {
	clearSailEnv(t)
	tmp := t.TempDir()
	arc := filepath.Join(tmp, "a.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", arc); code != 0 {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	dir := filepath.Join(tmp, "snap")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "--format", "dir", "-o", dir); code != 0 {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	missing := filepath.Join(tmp, "nope.tar.zst")
	srv := spectest.Start(t, sandbox.Options{})
	victim := released(srv.Tenant)[1]
	if err := srv.Tenant.PutDocumentDirect(victim, apiclient.SourceConfig, []byte("<source-config><changed/></source-config>\n")); err != nil {
		t.Fatal(err)
	}

	type row struct {
		what string
		args []string
		code int
		prep func()
	}
	rows := []row{
		{"export done", []string{"export", "--sandbox", "-o", filepath.Join(tmp, "b.tar.zst")}, exitOK, nil},
		{"ls", []string{"ls", arc}, exitOK, nil},
		{"verify", []string{"verify", arc, dir}, exitOK, nil},
		{"diff: no differences", []string{"diff", arc, dir}, exitOK, nil},
		{"diff: differences", []string{"diff", arc, "tenant:", "--base-url", srv.URL, "--client-id", srv.ClientID, "--client-secret-file", secretFile(srv.ClientSecret)}, exitError, nil},
		{"export: a connector failed", append([]string{"export", "-o", filepath.Join(tmp, "c.tar.zst")}, tenantArgs(srv)...), exitError, func() {
			hookDetail(srv.Tenant, victim, 400, `{"detailCode":"400.1 Bad Request Content","trackingId":"t","messages":[]}`)
		}},
		{"export --keep-going: partial", append([]string{"export", "--keep-going", "-o", filepath.Join(tmp, "d.tar.zst")}, tenantArgs(srv)...), exitPartial, nil},
		{"unknown flag", []string{"export", "--bogus"}, exitUsage, func() { srv.Tenant.SetHook(nil) }},
		{"unknown command", []string{"exprot"}, exitUsage, nil},
		{"no tenant configured", []string{"export", "-o", filepath.Join(tmp, "e.tar.zst")}, exitUsage, nil},
	}
	for _, cmd := range [][]string{{"ls", missing}, {"verify", missing}, {"diff", missing, arc}, {"restore", "--sandbox", "--dry-run", missing}, {"restore", missing}, {"unpack", missing, filepath.Join(tmp, "u")}, {"pack", filepath.Join(tmp, "nodir"), filepath.Join(tmp, "p.tar.zst")}} {
		rows = append(rows, row{"a missing operand: " + cmd[0], cmd, exitUsage, nil})
	}
	for _, cmd := range [][]string{{"export", "--sandbox", "-o", arc}, {"pack", dir, arc}} {
		rows = append(rows, row{"an existing -o file: " + cmd[0], cmd, exitUsage, nil})
	}
	for _, cmd := range [][]string{{"export", "--sandbox", "-d", filepath.Join(tmp, "nodir")}, {"export", "--sandbox", "-o", filepath.Join(tmp, "nodir", "x.tar.zst")}, {"prune", filepath.Join(tmp, "nodir"), "--keep-last", "1"}} {
		rows = append(rows, row{"a missing destination directory: " + cmd[0], cmd, exitUsage, nil})
	}
	seen := map[int]bool{}
	for _, r := range rows {
		if r.prep != nil {
			r.prep()
		}
		code, _, stderr := runCLI(t, t.Context(), r.args...)
		if code != r.code {
			t.Errorf("%s (%v): exit %d, want %d\n%s", r.what, r.args, code, r.code, stderr)
		}
		seen[code] = true
	}
	// Interrupted.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	plain, err := sandbox.Start(t.Context(), "", sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	cancelAtRequest(plain.Tenant, 3, cancel)
	if code, _, stderr := runCLI(t, ctx, append([]string{"export", "-o", filepath.Join(tmp, "i.tar.zst")}, tenantArgs(plain)...)...); code != exitInterrupted {
		t.Errorf("interrupted export: exit %d, want 130\n%s", code, stderr)
	} else {
		seen[code] = true
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| `).FindAllStringSubmatch(string(readme), -1) {
		c, _ := strconv.Atoi(m[1])
		if !seen[c] {
			t.Errorf("the README documents exit code %d, which no row here produced", c)
		}
	}
}
