package command

// Hostile input at the CLI: broken and randomly corrupted archives,
// bad flags and bad mapping files. Each must end in one clear error line
// with the documented exit code, never a panic, and leave nothing behind.

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

const fixtures = "../testdata/archive"

// brokenArchives are the broken fixtures of testdata/archive with the key
// words of the error each must give (archive/fixtures_test.go has the full
// messages).
var brokenArchives = []struct {
	file     string
	keywords []string
}{
	{"truncated.tar.zst", []string{"ends in the middle of its compressed data", "copy it again or use another backup"}},
	{"bitflip.tar.zst", []string{"compressed data is damaged", "use another backup"}},
	{"dotdot.tar.zst", []string{`"../evil.sh"`, "unsafe entry name", "'..'"}},
	{"oversized.tar.zst", []string{"connectors/hello/detail.json", "above the per-entry limit of " + strconv.Itoa(archive.DefaultMaxEntrySize)}},
	{"version2.tar.zst", []string{"format version 2 is newer than this connvault reads", "upgrade connvault"}},
	{"mismatch.tar.zst", []string{"connectors/acme-ldap/translations/fr.properties", "SHA-256", "the archive was altered"}},
	{"duplicate.tar.zst", []string{"connectors/acme-ldap/detail.json", "appears twice"}},
	{"bomb.tar.zst", []string{"decompresses to more than", "decompression bomb", "not reading further"}},
}

// snapshotDir lists a directory's names, to show a command wrote nothing.
func snapshotDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestBrokenArchiveFixtures: every command that reads an archive refuses
// each broken fixture with its exit code and the fixture's error.
func TestBrokenArchiveFixtures(t *testing.T) {
	clearSailEnv(t)
	// Every fixture but the good v1 one is covered, so a new fixture cannot
	// be added without a CLI expectation.
	var files []string
	for _, n := range snapshotDir(t, fixtures) {
		if strings.HasSuffix(n, ".tar.zst") && n != "v1.tar.zst" {
			files = append(files, n)
		}
	}
	var covered []string
	for _, b := range brokenArchives {
		covered = append(covered, b.file)
	}
	slices.Sort(files)
	slices.Sort(covered)
	if !slices.Equal(files, covered) {
		t.Fatalf("broken fixtures %v, covered here %v", files, covered)
	}

	good := filepath.Join(fixtures, "v1.tar.zst")
	before := snapshotDir(t, fixtures)
	for _, b := range brokenArchives {
		t.Run(b.file, func(t *testing.T) {
			path := filepath.Join(fixtures, b.file)
			want := append([]string{"connvault: " + path + ": "}, b.keywords...)
			work := t.TempDir()
			for _, tc := range []struct {
				args []string
				code int
			}{
				{[]string{"ls", path}, exitError},
				{[]string{"ls", "--json", path}, exitError},
				{[]string{"diff", path, good}, 2},
				{[]string{"diff", "--format", "json", good, path}, 2},
				{[]string{"restore", "--dry-run", "--sandbox", path}, exitError},
				{[]string{"restore", "--yes", "--sandbox", "--backup-dir", work, path}, exitError},
			} {
				code, stdout, stderr := runCLI(t, context.Background(), tc.args...)
				t.Run(tc.args[0], func(t *testing.T) {
					checkFailure(t, code, stderr, tc.code, want...)
					if strings.Count(stderr, "\n") != 1 {
						t.Errorf("want exactly one stderr line:\n%s", stderr)
					}
					if slices.Contains(tc.args, "--json") {
						// --json: one JSON document, the error and the code.
						var doc failureJSON
						if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.ExitCode != code || doc.Error == "" {
							t.Errorf("stdout with --json: %q", stdout)
						}
					} else if stdout != "" {
						t.Errorf("stdout: %q", stdout)
					}
				})
			}
			// verify lists the problem on stdout and fails.
			code, stdout, stderr := runCLI(t, context.Background(), "verify", good, path)
			checkFailure(t, code, stderr, exitError, "1 of 2 archive(s) failed verification")
			// Verify collects every problem, so a fixture may show more than one.
			if !strings.Contains(stdout, good+": ok (") || !strings.Contains(stdout, path+": ") || !strings.Contains(stdout, "problem(s)") {
				t.Errorf("verify output:\n%s", stdout)
			}
			for _, k := range b.keywords {
				if !strings.Contains(stdout, k) {
					t.Errorf("verify output lacks %q:\n%s", k, stdout)
				}
			}
			if left := snapshotDir(t, work); len(left) != 0 {
				t.Errorf("restore of a broken archive wrote %v", left)
			}
		})
	}
	if after := snapshotDir(t, fixtures); !slices.Equal(before, after) {
		t.Errorf("reading the fixtures changed their directory: %v -> %v", before, after)
	}
}

// TestIfChangedWithBrokenNewest: export --if-changed compares with the newest
// archive in the directory; a broken one there is reported by name, not
// overwritten, not taken for "unchanged".
func TestIfChangedWithBrokenNewest(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(fixtures, "bitflip.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	name := retention.FileName("sandbox", time.Now().Add(-time.Hour))
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, context.Background(), "export", "--sandbox", "--output-dir", dir, "--if-changed")
	checkFailure(t, code, stderr, exitError, "--if-changed", name, "verify or remove it")
	if left := leftovers(t, dir); !slices.Equal(left, []string{name}) {
		t.Errorf("directory holds %v, want only the broken archive", left)
	}
}

// corrupt damages a copy of b in one of several ways, chosen by rng.
func corrupt(rng *rand.Rand, b []byte) ([]byte, string) {
	out := slices.Clone(b)
	switch rng.IntN(5) {
	case 0:
		n := 1 + rng.IntN(4)
		for range n {
			out[rng.IntN(len(out))] ^= byte(1 + rng.IntN(255))
		}
		return out, "flipped bytes"
	case 1:
		return out[:rng.IntN(len(out))], "truncated"
	case 2:
		at := rng.IntN(len(out))
		junk := make([]byte, 1+rng.IntN(64))
		for i := range junk {
			junk[i] = byte(rng.IntN(256))
		}
		return slices.Insert(out, at, junk...), "inserted bytes"
	case 3:
		at := rng.IntN(len(out))
		end := min(len(out), at+1+rng.IntN(512))
		clear(out[at:end])
		return out, "zeroed range"
	default:
		at, n := rng.IntN(len(out)), 1+rng.IntN(256)
		return slices.Delete(out, at, min(len(out), at+n)), "deleted bytes"
	}
}

// TestRandomCorruption damages archives at random, again and again: the v1
// fixture and a fresh export of the seeded sandbox. Every command either
// refuses the damaged file with one error line (exit 1) or, when the damage
// happens to be harmless, reads exactly the original content. A corruption
// is never accepted as different content.
func TestRandomCorruption(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.tar.zst")
	if code, _, stderr := runCLI(t, context.Background(), "export", "--sandbox", "-o", fresh); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	type base struct {
		raw  []byte
		snap *archive.Snapshot
	}
	var bases []base
	for _, p := range []string{filepath.Join(fixtures, "v1.tar.zst"), fresh} {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := archive.ReadFile(p, archive.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base{raw, snap})
	}
	if err := os.Remove(fresh); err != nil {
		t.Fatal(err)
	}
	iterations := 80
	if testing.Short() {
		iterations = 20
	}
	rng := rand.New(rand.NewPCG(7, 11))
	path := filepath.Join(dir, "damaged.tar.zst")
	refused := 0
	for i := range iterations {
		b := bases[i%len(bases)]
		want := b.snap
		data, how := corrupt(rng, b.raw)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		codes := map[string]int{}
		cmds := [][]string{{"verify", path}, {"ls", path}}
		if i%5 == 0 { // restore reads archives as ls does; a sample keeps the test quick under -race
			cmds = append(cmds, []string{"restore", "--dry-run", "--sandbox", path})
		}
		for _, args := range cmds {
			code, _, stderr := runCLI(t, context.Background(), args...)
			codes[args[0]] = code
			switch code {
			case exitOK:
			case exitError:
				checkFailure(t, code, stderr, exitError, "connvault: ")
				if args[0] != "verify" && !strings.Contains(stderr, path) {
					t.Errorf("iteration %d (%s), %s: the error does not name the file:\n%s", i, how, args[0], stderr)
				}
			default:
				t.Errorf("iteration %d (%s), %s: exit %d\n%s", i, how, args[0], code, stderr)
			}
		}
		if codes["verify"] != codes["ls"] {
			t.Errorf("iteration %d (%s): verify exit %d but ls exit %d", i, how, codes["verify"], codes["ls"])
		}
		if codes["verify"] == exitOK {
			got, err := archive.ReadFile(path, archive.ReadOptions{})
			if err != nil {
				t.Fatalf("iteration %d (%s): verify passed but reading fails: %v", i, how, err)
			}
			if got.Manifest.ContentDigest != want.Manifest.ContentDigest || len(got.Connectors) != len(want.Connectors) {
				t.Fatalf("iteration %d (%s): a damaged archive was accepted with other content", i, how)
			}
			for j, c := range got.Connectors {
				w := want.Connectors[j]
				if !bytes.Equal(c.Detail, w.Detail) || !bytes.Equal(c.SourceConfig, w.SourceConfig) || !bytes.Equal(c.SourceTemplate, w.SourceTemplate) || !bytes.Equal(c.CorrelationConfig, w.CorrelationConfig) {
					t.Errorf("iteration %d (%s): %s differs from the original", i, how, c.ScriptName)
				}
			}
		} else {
			refused++
		}
		if left := snapshotDir(t, dir); !slices.Equal(left, []string{"damaged.tar.zst"}) {
			t.Fatalf("iteration %d: directory holds %v", i, left)
		}
	}
	t.Logf("%d of %d damaged archives refused, the rest read back unchanged", refused, iterations)
	if refused < iterations/2 {
		t.Errorf("only %d of %d damaged archives refused: the corruption is too mild to test anything", refused, iterations)
	}
}

// TestBadFlags: every malformed command line is a usage error (exit 2) with
// one line saying what was wrong and how to put it right.
func TestBadFlags(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	good := filepath.Join(fixtures, "v1.tar.zst")
	emptySecret := filepath.Join(dir, "empty-secret")
	if err := os.WriteFile(emptySecret, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args     []string
		keywords []string
	}{
		{[]string{"nosuchcommand"}, []string{`unknown command "nosuchcommand"`, "connvault --help"}},
		{[]string{"exprot"}, []string{`unknown command "exprot"; did you mean "export"?`}},
		{[]string{"prune", "--keep-daily", "abc", "/tmp"}, []string{`--keep-daily "abc": not a valid value; give a whole number`}},
		{[]string{"export", "--sandbox", "--bogus"}, []string{"unknown flag --bogus", "--help"}},
		{[]string{"export", "--sandbox", "--ouput", "x"}, []string{"unknown flag --ouput; did you mean --output?"}},
		{[]string{"--ouput", "x", "export", "--sandbox"}, []string{"unknown flag --ouput before the command; did you mean --output?", "`connvault export`"}},
		{[]string{"--base-ur", "x", "export", "--sandbox"}, []string{"unknown flag --base-ur; did you mean --base-url?"}},
		{[]string{"export", "--sandbox", "extra"}, []string{"export takes no arguments", "--output"}},
		{[]string{"export", "--sandbox", "--concurrency", "0"}, []string{"--concurrency 0", "1 to 256"}},
		{[]string{"export", "--sandbox", "--concurrency", "many"}, []string{`"many"`, "concurrency"}},
		{[]string{"export", "--sandbox", "--rate", "-1"}, []string{"--rate -1", "0 for no pacing"}},
		{[]string{"export", "--sandbox", "--log-level", "loud"}, []string{`--log-level "loud"`, "debug, info, warn or error"}},
		{[]string{"export", "--sandbox", "--log-format", "xml"}, []string{`--log-format "xml"`, "text or json"}},
		{[]string{"export", "--sandbox", "--progress", "sometimes"}, []string{`--progress "sometimes"`, "auto, always or never"}},
		{[]string{"export", "--sandbox", "--api-version", "v9"}, []string{`--api-version "v9"`, "v3, v2024, v2025, v2026"}},
		{[]string{"export", "--sandbox", "-o", filepath.Join(dir, "x"), "-d", dir}, []string{"--output and --output-dir exclude each other"}},
		{[]string{"export", "--sandbox", "--no-list"}, []string{"--no-list needs at least one --script-name"}},
		{[]string{"export", "--sandbox", "--if-changed", "-o", filepath.Join(dir, "x")}, []string{"--if-changed needs --output-dir"}},
		{[]string{"export", "-o", filepath.Join(dir, "x")}, []string{"no tenant configured", "SAIL_BASE_URL", "--sandbox"}},
		{[]string{"export", "--base-url", "https://acme.api.identitynow.com", "--client-id", "a", "--client-secret-file", filepath.Join(dir, "missing")}, []string{"--client-secret-file", "no such file"}},
		{[]string{"export", "--base-url", "https://acme.api.identitynow.com", "--client-id", "a", "--client-secret-file", emptySecret}, []string{"is empty", "put the client secret in it"}},
		{[]string{"export", "--base-url", "ftp://acme", "--client-id", "a", "--client-secret-file", secretFile("b")}, []string{`"ftp://acme"`, "https://TENANT.api.identitynow.com"}},
		{[]string{"export", "--base-url", "https://acme.api.identitynow.com/v3", "--client-id", "a", "--client-secret-file", secretFile("b")}, []string{"must not include the API version", "drop the /v3"}},
		{[]string{"diff", good}, []string{"diff needs two operands", "got 1"}},
		{[]string{"diff", "--match", "id", good, good}, []string{`--match "id"`, "name or scriptName"}},
		{[]string{"diff", "--format", "yaml", good, good}, []string{`--format "yaml"`, "text, json, markdown or html"}},
		{[]string{"diff", "--stat", "--name-only", good, good}, []string{"--stat and --name-only exclude each other"}},
		{[]string{"diff", "--color", "sometimes", good, good}, []string{`--color "sometimes"`}},
		{[]string{"diff", "--map", "a", good, good}, []string{`--map "a"`, "OLD=NEW"}},
		{[]string{"diff", "--map", "a=b", "--map", "a=c", good, good}, []string{`"a" is already mapped`}},
		{[]string{"restore"}, []string{"restore needs one archive file", "got 0"}},
		{[]string{"restore", "--sandbox", good}, []string{"stdin is not a terminal", "--yes", "--dry-run"}},
		{[]string{"restore", "--sandbox", "--format", "yaml", "--dry-run", good}, []string{`--format "yaml"`, "text, json, markdown or html"}},
		{[]string{"restore", "--sandbox", "--no-backup", "--backup-dir", dir, "--yes", good}, []string{"--no-backup and --backup-dir exclude each other"}},
		{[]string{"restore", "--sandbox", "--log-level", "error", "--dry-run", "--only", "No Such Connector", good}, []string{`--only "No Such Connector"`, "no such connector in the archive"}},
		{[]string{"prune", dir}, []string{"no --keep-* flag given", "--keep-daily 7"}},
		{[]string{"prune", "--keep-last", "-1", dir}, []string{"--keep-last must be 0 or more"}},
		{[]string{"prune"}, []string{"missing DIR"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), tc.args...)
			checkFailure(t, code, stderr, exitUsage, tc.keywords...)
			if strings.Count(stderr, "\n") != 1 || stdout != "" {
				t.Errorf("want one stderr line and no stdout; stdout %q, stderr:\n%s", stdout, stderr)
			}
		})
	}
	if left := snapshotDir(t, dir); !slices.Equal(left, []string{"empty-secret"}) {
		t.Errorf("bad command lines wrote %v", left)
	}
}

// TestBadMappingFiles: diff and restore refuse a bad --map-file the same way,
// naming the file and line and what to fix, before touching any tenant.
func TestBadMappingFiles(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	good := filepath.Join(fixtures, "v1.tar.zst")
	cases := []struct {
		name     string
		content  string
		extra    []string
		keywords []string
	}{
		{"no equals sign", "# renames\nAcme LDAP\n", nil, []string{":2:", "want OLD=NEW"}},
		{"empty old name", "=Acme LDAP\n", nil, []string{":1:", "empty OLD name"}},
		{"empty new name", "Acme LDAP =  \n", nil, []string{":1:", "empty NEW name"}},
		{"old mapped twice", "Acme LDAP=X\nAcme LDAP=Y\n", nil, []string{":2:", `"Acme LDAP" is already mapped on line 1`}},
		{"new mapped twice", "A=X\nB=X\n", nil, []string{":2:", `"X" is already the target of line 1`}},
		{"control character", "Acme\x01LDAP=X\n", nil, []string{":1:", "U+0001", "no control characters"}},
		{"not UTF-8", "Acme \xff LDAP=X\n", nil, []string{":1:", "not valid UTF-8"}},
		{"binary file", "\x7fELF\x02\x01\x01\x00\x00\x00=\x00\x00", nil, []string{":1:", "no control characters"}},
		{"one endless line", strings.Repeat("x", 70<<10) + "=y\n", nil, []string{":1:", "line longer than", "not a mapping file"}},
		{"conflicts with --map", "Acme LDAP=X\n", []string{"--map", "Acme LDAP=Y"}, []string{`"Acme LDAP" is mapped to "Y" by --map and to "X" by`, "keep one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".map")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				append(append([]string{"diff", "--map-file", path}, tc.extra...), good, good),
				append(append([]string{"restore", "--sandbox", "--dry-run", "--map-file", path}, tc.extra...), good),
			} {
				code, stdout, stderr := runCLI(t, context.Background(), args...)
				checkFailure(t, code, stderr, exitUsage, append([]string{path}, tc.keywords...)...)
				if stdout != "" || strings.Count(stderr, "\n") != 1 {
					t.Errorf("%s: want one stderr line and no stdout; stdout %q, stderr:\n%s", args[0], stdout, stderr)
				}
			}
		})
	}
	for _, missing := range []string{filepath.Join(dir, "missing.map"), dir} {
		for _, args := range [][]string{{"diff", "--map-file", missing, good, good}, {"restore", "--sandbox", "--dry-run", "--map-file", missing, good}} {
			code, _, stderr := runCLI(t, context.Background(), args...)
			checkFailure(t, code, stderr, exitUsage, missing)
		}
	}
}

// TestBaseURLThatLeaksTheSecretRefused: plain http:// to a host that is not
// this machine, or a base URL holding a password, is refused before any
// request, naming the setting and where it came from; the password is never
// printed. --allow-insecure-http lets plain http through.
func TestBaseURLThatLeaksTheSecretRefused(t *testing.T) {
	clearSailEnv(t)
	secret := secretFile("b")
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	t.Setenv("SAIL_BASE_URL", "http://acme.api.identitynow.com")
	code, _, stderr := runCLI(t, t.Context(), "export", "--client-id", "a", "--client-secret-file", secret, "-o", out)
	if code != exitUsage || !strings.Contains(stderr, "plain http://") || !strings.Contains(stderr, "env $SAIL_BASE_URL") || !strings.Contains(stderr, "--allow-insecure-http") {
		t.Errorf("http:// from SAIL_BASE_URL: exit %d\n%s", code, stderr)
	}
	clearSailEnv(t)
	code, _, stderr = runCLI(t, t.Context(), "export", "--base-url", "https://u:hunter2@acme.api.identitynow.com", "--client-id", "a", "--client-secret-file", secret, "-o", out)
	if code != exitUsage || !strings.Contains(stderr, "user name or password") || strings.Contains(stderr, "hunter2") {
		t.Errorf("a base URL with a password: exit %d\n%s", code, stderr)
	}
	// Allowed, the run gets as far as the network (nothing listens there).
	code, _, stderr = runCLI(t, t.Context(), "export", "--allow-insecure-http", "--base-url", "http://192.0.2.1:9", "--client-id", "a", "--client-secret-file", secret, "-o", out, "--max-wait", "1s")
	if strings.Contains(stderr, "plain http://") {
		t.Errorf("--allow-insecure-http still refused: exit %d\n%s", code, stderr)
	}
}

// TestForeignHostIsSaidLoudly: a base URL whose host is not a SailPoint API
// host gets a warning naming it and --allow-host, which silences it; the
// web UI's host gets the API host's name.
func TestForeignHostIsSaidLoudly(t *testing.T) {
	clearSailEnv(t)
	for _, tc := range []struct {
		url, allow string
		want       string
	}{
		{"https://attacker.example", "", "the client secret goes to attacker.example (the base URL's host, from flag --base-url), which is NOT a SailPoint API host"},
		{"https://attacker.example", "attacker.example", ""},
		{"https://acme.identitynow.com", "", "the API host is acme.api.identitynow.com"},
		{"https://acme.api.identitynow.com", "", ""},
	} {
		// settings resolves the tenant's settings, where the check is,
		// without a request.
		args := []string{"settings", "--base-url", tc.url, "--client-id", "a", "--client-secret-file", secretFile("b")}
		if tc.allow != "" {
			args = append(args, "--allow-host", tc.allow)
		}
		_, _, stderr := runCLI(t, t.Context(), args...)
		switch {
		case tc.want != "" && !strings.Contains(stderr, tc.want):
			t.Errorf("%s (allow %q): stderr lacks %q\n%s", tc.url, tc.allow, tc.want, stderr)
		case tc.want == "" && (strings.Contains(stderr, "NOT a SailPoint API host") || strings.Contains(stderr, "web UI")):
			t.Errorf("%s (allow %q): unexpected warning\n%s", tc.url, tc.allow, stderr)
		}
	}
}

// TestMessagesLeadWithTheCause: only the secret missing leads with it; a
// refused secret is said once; a host that does not resolve is named with
// what an ISC API host looks like.
func TestMessagesLeadWithTheCause(t *testing.T) {
	clearSailEnv(t)
	t.Setenv("SAIL_BASE_URL", "https://acme.api.identitynow.com")
	t.Setenv("SAIL_CLIENT_ID", "x")
	out := filepath.Join(t.TempDir(), "x.tar.zst")
	code, _, stderr := runCLI(t, t.Context(), "export", "-o", out)
	if code != exitUsage || !strings.HasPrefix(stderr, "connvault: missing SAIL_CLIENT_SECRET") || !strings.Contains(stderr, "base-url from env $SAIL_BASE_URL") {
		t.Errorf("only the secret missing: exit %d\n%s", code, stderr)
	}
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	code, _, stderr = runCLI(t, t.Context(), "export", "-o", out, "--rate", "0", "--base-url", srv.URL, "--client-id", srv.ClientID, "--client-secret-file", secretFile("wrong"))
	if code != exitError || strings.Count(strings.ToLower(stderr), "refused") != 1 {
		t.Errorf("a wrong secret: exit %d, want 1 saying it once\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, t.Context(), "export", "-o", out, "--max-wait", "1s", "--allow-host", "nosuch-tenant.invalid",
		"--base-url", "https://nosuch-tenant.invalid", "--client-id", "x", "--client-secret-file", secretFile("y"))
	if strings.Contains(stderr, "no such host") && !strings.Contains(stderr, "The host nosuch-tenant.invalid does not resolve") {
		t.Errorf("an unknown host: exit %d, no hint naming it\n%s", code, stderr)
	}
}
