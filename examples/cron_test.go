package examples_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// cronRun runs examples/cron/nightly as Debian's cron runs a job of
// /etc/cron.d: a bare environment with PATH=/usr/bin:/bin. It returns the
// exit code and what cron would mail (everything the script printed).
func cronRun(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	script, err := filepath.Abs("cron/nightly")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "SHELL=/bin/sh"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// cronSetup is one tenant's configuration for the script: its env file, its
// secret file, an archive directory and a log, all in a temporary
// directory.
func cronSetup(t *testing.T, srv *sandbox.Server, secret string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "acme.env")
	if err := os.WriteFile(envFile, []byte("SAIL_BASE_URL="+srv.URL+"\nSAIL_CLIENT_ID="+srv.ClientID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "acme.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"CONNVAULT":             connvaultBinary(t),
		"CONNVAULT_ENV_FILE":    envFile,
		"CONNVAULT_SECRET_FILE": secretFile,
		"CONNVAULT_DIR":         filepath.Join(dir, "backups"),
		"CONNVAULT_LOG":         filepath.Join(dir, "log", "acme.log"),
		"CONNVAULT_RATE":        "0",
	}
}

// TestCronScriptAlertsOnEveryFailure: under cron's environment the nightly
// script finds connvault by its full path, stays silent on success (cron
// mails nothing), and prints one alert naming the exit code on a failed
// export (1), a partial one (3) and a missing binary (127), exiting with
// that code.
func TestCronScriptAlertsOnEveryFailure(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout(1) here")
	}
	srv := spectest.Start(t, sandbox.Options{})

	env := cronSetup(t, srv, srv.ClientSecret)
	code, mail := cronRun(t, env)
	if code != 0 || mail != "" {
		t.Errorf("a good night: exit %d, cron would mail %q", code, mail)
	}
	if log, _ := os.ReadFile(env["CONNVAULT_LOG"]); !strings.Contains(string(log), "wrote ") {
		t.Errorf("the log lacks the export's summary:\n%s", log)
	}
	if archives, _ := filepath.Glob(filepath.Join(env["CONNVAULT_DIR"], "*.tar.zst")); len(archives) != 1 {
		t.Errorf("archives written: %v", archives)
	}

	code, mail = cronRun(t, cronSetup(t, srv, "not-the-secret"))
	if code != 1 || !strings.Contains(mail, "export exited 1 (error: nothing was saved)") {
		t.Errorf("a refused secret: exit %d, cron would mail %q", code, mail)
	}

	victim := ""
	for _, sn := range srv.Tenant.ScriptNames() {
		if c, _ := srv.Tenant.Connector(sn); c.Status == "RELEASED" {
			victim = sn
		}
	}
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if rt := sandbox.RouteOf(r); rt.Op == "getConnector" && rt.ScriptName == victim {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"detailCode":"400.1 Bad Request Content","trackingId":"t1","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"broken"}]}`))
			return true
		}
		return false
	})
	code, mail = cronRun(t, cronSetup(t, srv, srv.ClientSecret))
	srv.Tenant.SetHook(nil)
	if code != 3 || !strings.Contains(mail, "export exited 3 (partial") {
		t.Errorf("a partial night: exit %d, cron would mail %q", code, mail)
	}

	env = cronSetup(t, srv, srv.ClientSecret)
	env["CONNVAULT"] = "/nonexistent/connvault"
	code, mail = cronRun(t, env)
	if code != 127 || !strings.Contains(mail, "/nonexistent/connvault is not an executable file") {
		t.Errorf("no binary: exit %d, cron would mail %q", code, mail)
	}
}

// TestGitHubStepsFailOnAFailedExport: the export step of the S3 workflow,
// run as `shell: bash` runs it (bash -eo pipefail), fails when connvault
// exits 1 or 3 even though its output goes through tee; under the default
// `bash -e` it would pass.
func TestGitHubStepsFailOnAFailedExport(t *testing.T) {
	raw, err := os.ReadFile("github-actions/nightly-s3.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "defaults:\n  run:\n") || !strings.Contains(string(raw), "    shell: bash") {
		t.Fatal("the workflow does not run its steps with shell: bash")
	}
	step := ""
	for _, l := range strings.Split(string(raw), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), "run: connvault export"); ok {
			step = "connvault export" + s
		}
	}
	if step == "" {
		t.Fatal("no export step found")
	}
	bin := t.TempDir()
	for _, code := range []string{"1", "3"} {
		fake := "#!/bin/sh\necho '{\"error\": \"x\"}'\nexit " + code + "\n"
		if err := os.WriteFile(filepath.Join(bin, "connvault"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		run := func(shell ...string) int {
			cmd := exec.Command("bash", append(shell, "-c", step)...)
			cmd.Dir = t.TempDir()
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "DEST=s3://b/p"}
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			return 0
		}
		if got := run("--noprofile", "--norc", "-eo", "pipefail"); got == 0 {
			t.Errorf("connvault exit %s: the step passed under shell: bash", code)
		}
		if got := run("-e"); got != 0 {
			t.Errorf("connvault exit %s: bash -e without pipefail failed too (%d); the check above proves nothing", code, got)
		}
	}
}

// TestSystemdServiceCommandLinesRun: the service's ExecStart and
// ExecStartPost, with systemd's specifiers filled in as it would (%i the
// tenant, %S the state directory, %d the credentials directory) and its
// EnvironmentFile's variables, export from the sandbox and prune.
func TestSystemdServiceCommandLinesRun(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{})
	raw, err := os.ReadFile("systemd/connvault-export@.service")
	if err != nil {
		t.Fatal(err)
	}
	state, creds := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(state, "connvault", "acme"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "client-secret"), []byte(srv.ClientSecret), 0o400); err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("%i", "acme", "%S", state, "%d", creds, "/usr/local/bin/connvault", connvaultBinary(t))
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		for _, key := range []string{"ExecStart=", "ExecStartPost="} {
			if cmd, ok := strings.CutPrefix(l, key); ok {
				lines = append(lines, fill.Replace(cmd))
			}
		}
	}
	if len(lines) != 2 {
		t.Fatalf("found %d command lines, want ExecStart and ExecStartPost", len(lines))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		cmd := exec.Command(f[0], f[1:]...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "SAIL_BASE_URL=" + srv.URL, "SAIL_CLIENT_ID=" + srv.ClientID, "CONNVAULT_RATE=0"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", l, err, out)
		}
	}
	if archives, _ := filepath.Glob(filepath.Join(state, "connvault", "acme", "*.tar.zst")); len(archives) != 1 {
		t.Errorf("archives in the state directory: %v", archives)
	}
}
