package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestSecretAsUsersStoreIt: a secret with a trailing newline or CR in the
// environment, or a byte-order mark and a CRLF in its file, is the secret
// without them; the token endpoint accepts it.
func TestSecretAsUsersStoreIt(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{Clients: map[string]string{"cid": "s3cr3t-value"}})
	t.Setenv("SAIL_BASE_URL", srv.URL)
	t.Setenv("SAIL_CLIENT_ID", "cid")
	for _, v := range []string{"s3cr3t-value\n", "s3cr3t-value\r\n", " s3cr3t-value\r"} {
		t.Setenv("SAIL_CLIENT_SECRET", v)
		if code, _, stderr := runCLI(t, t.Context(), "export", "--rate", "0", "-o", filepath.Join(t.TempDir(), "a.tar.zst")); code != 0 {
			t.Errorf("SAIL_CLIENT_SECRET=%q: exit %d\n%s", v, code, stderr)
		}
	}
	t.Setenv("SAIL_CLIENT_SECRET", "")
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("\uFEFFs3cr3t-value\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, t.Context(), "export", "--rate", "0", "--log-level", "debug", "--client-secret-file", file, "-o", filepath.Join(t.TempDir(), "a.tar.zst"))
	if code != 0 {
		t.Errorf("a secret file with a BOM: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "a byte-order mark and blanks stripped") || strings.Contains(stderr, "s3cr3t-value") {
		t.Errorf("the debug log should say a BOM was stripped, never the secret:\n%s", stderr)
	}
}

// TestClientSecretFlagWarnsOnce: a secret on the command line shows in
// process listings; the run says so once.
func TestClientSecretFlagWarnsOnce(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	code, _, stderr := runCLI(t, t.Context(), "export", "-o", filepath.Join(t.TempDir(), "a.tar.zst"), "--rate", "0",
		"--base-url", srv.URL, "--client-id", srv.ClientID, "--client-secret", srv.ClientSecret)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "--client-secret shows the secret in process listings"); n != 1 {
		t.Errorf("the warning appears %d times, want once:\n%s", n, stderr)
	}
}
