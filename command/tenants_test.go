package command

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
	"github.com/connvault/connvault/tenants"
)

// namedEnv is a test's world of named tenants: a tenants file, sandboxes
// with their own client pairs, and a record of everything connvault printed,
// which must never show a secret.
type namedEnv struct {
	t       *testing.T
	config  string
	secrets []string
	mu      sync.Mutex
	printed strings.Builder
}

func newNamedEnv(t *testing.T) *namedEnv {
	t.Helper()
	clearSailEnv(t)
	e := &namedEnv{t: t, config: filepath.Join(t.TempDir(), "conf", "tenants.json")}
	t.Setenv(tenants.EnvConfig, e.config)
	t.Setenv("CONNVAULT_TENANT", "")
	t.Cleanup(e.checkNoSecrets)
	return e
}

// sandbox starts a spec-validating sandbox whose only client is name's, and
// returns it with its secret, which goes in the environment variable the
// tenants file names (CV_TEST_<NAME>_SECRET).
func (e *namedEnv) sandbox(name string, opts sandbox.Options) *sandbox.Server {
	e.t.Helper()
	secret := "sec-" + name + "-7f3c9d2e41b8"
	opts.Clients = map[string]string{name + "-client": secret}
	srv := spectest.Start(e.t, opts)
	e.secrets = append(e.secrets, secret)
	e.t.Setenv(secretVar(name), secret)
	return srv
}

func secretVar(name string) string {
	return "CV_TEST_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_SECRET"
}

// run runs connvault and records what it printed.
func (e *namedEnv) run(args ...string) (int, string, string) {
	e.t.Helper()
	code, stdout, stderr := runCLI(e.t, context.Background(), args...)
	e.mu.Lock()
	e.printed.WriteString(stdout + stderr)
	e.mu.Unlock()
	return code, stdout, stderr
}

// add names srv in the tenants file with `tenants add`, NAME first as
// people type it.
func (e *namedEnv) add(name string, srv *sandbox.Server, extra ...string) {
	e.t.Helper()
	args := append([]string{"tenants", "add", name, "--base-url", srv.URL, "--client-id", name + "-client",
		"--client-secret-env", secretVar(name)}, extra...)
	if code, _, stderr := e.run(args...); code != 0 {
		e.t.Fatalf("tenants add %s: exit %d\n%s", name, code, stderr)
	}
}

func (e *namedEnv) checkNoSecrets() {
	e.mu.Lock()
	printed := e.printed.String()
	e.mu.Unlock()
	file, _ := os.ReadFile(e.config)
	for _, s := range e.secrets {
		if strings.Contains(printed, s) {
			e.t.Errorf("a secret appeared in connvault's output")
		}
		if strings.Contains(string(file), s) {
			e.t.Errorf("a secret appeared in the tenants file")
		}
	}
}

func TestTenantsAddListRemove(t *testing.T) {
	e := newNamedEnv(t)
	dev := e.sandbox("dev", sandbox.Options{})
	prod := e.sandbox("prod", sandbox.Options{Empty: true})
	e.add("dev", dev)
	// A secret file instead of a variable, flags before NAME this time.
	secretFile := filepath.Join(t.TempDir(), "prod.secret")
	if err := os.WriteFile(secretFile, []byte(prod.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.run("tenants", "add", "--base-url", prod.URL, "--client-id", prod.ClientID,
		"--client-secret-file", secretFile, "--protected", "--api-version", "v2025", "prod"); code != 0 {
		t.Fatalf("tenants add prod: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := e.run("tenants", "add", "dev", "--base-url", dev.URL, "--client-id", "x", "--client-secret-env", "X"); code != exitUsage ||
		!strings.Contains(stderr, "already exists") {
		t.Errorf("adding dev twice: exit %d\n%s", code, stderr)
	}

	if runtime.GOOS != "windows" {
		st, err := os.Stat(e.config)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("tenants file: %v, mode %v; want 0600", err, st.Mode().Perm())
		}
	}
	cfg, err := tenants.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Get("prod")
	if !p.Protected || p.APIVersion != "v2025" || p.ClientSecretFile != secretFile || p.ClientSecretEnv != "" {
		t.Errorf("prod as saved: %+v", p)
	}

	code, stdout, stderr := e.run("tenants")
	if code != 0 {
		t.Fatalf("tenants: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"dev ", "prod ", "env " + secretVar("dev"), "file " + secretFile, "yes", "ok, "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("listing lacks %q:\n%s", want, stdout)
		}
	}
	if n := strings.Count(stdout, "ok, "); n != 2 {
		t.Errorf("%d tenants checked ok, want 2:\n%s", n, stdout)
	}

	// A missing secret and wrong credentials are both reported, per tenant.
	t.Setenv(secretVar("dev"), "")
	if err := os.WriteFile(secretFile, []byte("wrong-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = e.run("tenants", "ls", "--json")
	if code != exitError {
		t.Errorf("tenants ls with broken credentials: exit %d, want 1", code)
	}
	var list []tenantStatus
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("tenants ls --json: %v\n%s", err, stdout)
	}
	if len(list) != 2 || list[0].OK || list[1].OK || !strings.Contains(list[0].Error, secretVar("dev")) || list[1].Error == "" {
		t.Errorf("broken credentials not reported: %+v", list)
	}
	t.Setenv(secretVar("dev"), e.secrets[0])

	if code, _, stderr := e.run("tenants", "rm", "prod"); code != 0 {
		t.Fatalf("tenants rm: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := e.run("tenants", "rm", "prod"); code != exitUsage || !strings.Contains(stderr, "have: dev") {
		t.Errorf("second rm: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := e.run("tenants", "--no-check"); code != 0 || strings.Contains(stdout, "prod") || !strings.Contains(stdout, "not checked") {
		t.Errorf("after rm: exit %d\n%s", code, stdout)
	}
}

func TestTenantsRefuseSecrets(t *testing.T) {
	e := newNamedEnv(t)
	const literal = "literal-secret-c0ffee"
	e.secrets = append(e.secrets, literal)

	// No command takes a literal secret for the file.
	code, _, stderr := e.run("tenants", "add", "dev", "--base-url", "https://acme.api.identitynow.com", "--client-id", "c", "--client-secret", literal)
	if code != exitUsage || !strings.Contains(stderr, "client-secret") {
		t.Errorf("tenants add --client-secret: exit %d\n%s", code, stderr)
	}
	code, _, stderr = e.run("tenants", "add", "dev", "--base-url", "https://acme.api.identitynow.com", "--client-id", "c")
	if code != exitUsage || !strings.Contains(stderr, "--client-secret-env VAR or --client-secret-file FILE") {
		t.Errorf("tenants add without a secret source: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(e.config); err == nil {
		t.Error("a refused add wrote the tenants file")
	}

	// A hand-written file with a secret in it is refused by every command
	// that reads it, without echoing the secret (checked at cleanup).
	if err := os.MkdirAll(filepath.Dir(e.config), 0o700); err != nil {
		t.Fatal(err)
	}
	doc := `{"tenants":[{"name":"dev","baseUrl":"https://acme.api.identitynow.com","clientId":"c","clientSecret":"` + literal + `"}]}`
	if err := os.WriteFile(e.config, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"tenants"}, {"export", "--tenant", "dev"}, {"diff", "tenant:dev", "tenant:dev"}} {
		code, _, stderr := e.run(args...)
		if code != exitUsage || !strings.Contains(stderr, `literal secret in field "clientSecret"`) {
			t.Errorf("%v with a secret in the file: exit %d\n%s", args, code, stderr)
		}
	}
	// The file was written by the test, not by a command: out of the check.
	os.Remove(e.config)
}

func TestTenantResolution(t *testing.T) {
	e, a, b := promotePair(t)

	exportWith := func(args ...string) (int, *archive.Manifest, string, string) {
		t.Helper()
		dir := t.TempDir()
		code, _, stderr := e.run(append([]string{"export", "--rate", "0", "-d", dir}, args...)...)
		archives, _ := filepath.Glob(filepath.Join(dir, "*.tar.zst"))
		if code != 0 || len(archives) != 1 {
			return code, nil, "", stderr
		}
		m, err := archive.ReadManifest(archives[0])
		if err != nil {
			t.Fatal(err)
		}
		return code, m, filepath.Base(archives[0]), stderr
	}

	code, m, name, stderr := exportWith("--tenant", "a")
	if code != 0 || m == nil || m.Source.BaseURL != a.URL || !strings.HasPrefix(name, "a-connectors-") {
		t.Fatalf("export --tenant a: exit %d, %v, %s\n%s", code, m, name, stderr)
	}
	t.Setenv("CONNVAULT_TENANT", "b")
	if code, m, name, stderr = exportWith(); code != 0 || m == nil || m.Source.BaseURL != b.URL || !strings.HasPrefix(name, "b-connectors-") {
		t.Fatalf("export with CONNVAULT_TENANT=b: exit %d, %v, %s\n%s", code, m, name, stderr)
	}
	// SAIL_* naming another tenant than --tenant (or $CONNVAULT_TENANT):
	// refused before any request, naming both.
	t.Setenv("SAIL_BASE_URL", a.URL)
	t.Setenv("SAIL_CLIENT_ID", "a-client")
	t.Setenv("SAIL_CLIENT_SECRET", e.secrets[0])
	for _, args := range [][]string{{"--tenant", "b"}, nil} {
		if code, _, _, stderr = exportWith(args...); code != exitUsage || !strings.Contains(stderr, `tenant "b"`) || !strings.Contains(stderr, a.URL) {
			t.Fatalf("export with SAIL_* and tenant b %v: exit %d, want 2 naming both\n%s", args, code, stderr)
		}
	}
	// SAIL_* naming the same tenant: no conflict, and --tenant's name labels it.
	t.Setenv("CONNVAULT_TENANT", "")
	if code, m, name, stderr = exportWith("--tenant", "a"); code != 0 || m == nil || m.Source.BaseURL != a.URL || !strings.HasPrefix(name, "a-connectors-") {
		t.Fatalf("export with SAIL_* and --tenant a: exit %d, %v, %s\n%s", code, m, name, stderr)
	}
	clearSailEnv(t)
	t.Setenv("CONNVAULT_TENANT", "")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export"}, "--tenant NAME"},
		{[]string{"export", "--tenant", "nope"}, `no tenant "nope"`},
		{[]string{"export", "--tenant", "Bad Name"}, "lower-case letters"},
		{[]string{"diff", "--rate", "0", "tenant:a", "tenant:nope"}, "have: a, b"},
		{[]string{"export", "--tenant", "a", "--config", filepath.Join(t.TempDir(), "none.json")}, `no tenant "a"`},
	} {
		code, _, stderr := e.run(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

// TestDiffNamedTenants: `diff tenant:a tenant:b` says what diffing the
// exports of both says, byte for byte in JSON, with the same exit code.
func TestDiffNamedTenants(t *testing.T) {
	e := newNamedEnv(t)
	a := e.sandbox("a", sandbox.Options{})
	b := e.sandbox("b", sandbox.Options{})
	e.add("a", a)
	e.add("b", b)
	mutateForUpdate(t, b.Tenant)

	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.tar.zst"), filepath.Join(dir, "b.tar.zst")
	for p, n := range map[string]string{pa: "a", pb: "b"} {
		if code, _, stderr := e.run("export", "--tenant", n, "--rate", "0", "-o", p); code != 0 {
			t.Fatalf("export %s: exit %d\n%s", n, code, stderr)
		}
	}
	codeArch, wantOut, stderr := e.run("diff", "--format", "json", pa, pb)
	if codeArch != 1 {
		t.Fatalf("diff of the archives: exit %d, want 1 (they differ)\n%s", codeArch, stderr)
	}
	codeLive, gotOut, stderr := e.run("diff", "--rate", "0", "--format", "json", "tenant:a", "tenant:b")
	if codeLive != codeArch || gotOut != wantOut {
		t.Errorf("diff tenant:a tenant:b: exit %d, want %d; same JSON: %v\n%s", codeLive, codeArch, gotOut == wantOut, stderr)
	}
	// And with one side an archive.
	codeMixed, mixedOut, stderr := e.run("diff", "--rate", "0", "--format", "json", pa, "tenant:b")
	if codeMixed != codeArch || mixedOut != wantOut {
		t.Errorf("diff ARCHIVE tenant:b: exit %d, same JSON: %v\n%s", codeMixed, mixedOut == wantOut, stderr)
	}
	// The tenant itself: no differences.
	if code, _, stderr := e.run("diff", "--rate", "0", pa, "tenant:a"); code != 0 {
		t.Errorf("diff a's export with tenant:a: exit %d\n%s", code, stderr)
	}
}

func TestTenantsAddFromSail(t *testing.T) {
	e := newNamedEnv(t)
	sail := filepath.Join(t.TempDir(), "config.yaml")
	const yaml = `activeenvironment: acme
environments:
  acme:
    baseurl: https://acme.api.identitynow.com
    pat:
      clientid: sail-client
  Keyring-Only:
    baseurl: https://other.api.identitynow.com
`
	if err := os.WriteFile(sail, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.run("tenants", "add", "acme", "--from-sail", "acme", "--sail-config", sail, "--client-secret-env", "ACME_SECRET"); code != 0 {
		t.Fatalf("add --from-sail: exit %d\n%s", code, stderr)
	}
	cfg, err := tenants.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.Get("acme"); got.BaseURL != "https://acme.api.identitynow.com" || got.ClientID != "sail-client" {
		t.Errorf("from sail: %+v", got)
	}
	code, _, stderr := e.run("tenants", "add", "other", "--from-sail", "Keyring-Only", "--sail-config", sail, "--client-secret-env", "X")
	if code != exitUsage || !strings.Contains(stderr, "give --client-id") {
		t.Errorf("sail environment without a client id: exit %d\n%s", code, stderr)
	}
	code, _, stderr = e.run("tenants", "add", "x", "--from-sail", "nope", "--sail-config", sail, "--client-secret-env", "X")
	if code != exitUsage || !strings.Contains(stderr, "have: Keyring-Only, acme") {
		t.Errorf("unknown sail environment: exit %d\n%s", code, stderr)
	}
}
