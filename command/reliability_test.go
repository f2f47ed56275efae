package command

// Reliability at the CLI level: hostile server answers, faults,
// concurrency and secrets. Every test runs the real command line in-process
// and checks what an operator sees: the exit code, one line on stderr, and
// what is (not) left on disk.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// tune shortens the client's idle timeout and retries for one test, so a
// hostile server is given up on in a fraction of a second.
func tune(t *testing.T, idle time.Duration, attempts int) {
	t.Helper()
	tuneClient = func(cfg *apiclient.Config) {
		cfg.IdleTimeout = idle
		cfg.MaxAttempts = attempts
	}
	t.Cleanup(func() { tuneClient = nil })
}

// startSandbox serves a tenant for the test's lifetime.
func startSandbox(t *testing.T, opts sandbox.Options) *sandbox.Server {
	t.Helper()
	srv, err := sandbox.Start(context.Background(), "", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// checkFailure asserts a clean failure: the exit code, one "connvault:" line
// on stderr holding every key word, and no trace of a panic.
func checkFailure(t *testing.T, code int, stderr string, wantCode int, keywords ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	for _, bad := range []string{"panic", "goroutine", "runtime error"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr mentions %q:\n%s", bad, stderr)
		}
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "connvault: ") {
		t.Errorf("the last stderr line is not a connvault: message: %q", last)
	}
	for _, k := range keywords {
		if !strings.Contains(last, k) {
			t.Errorf("the error line lacks %q:\n%s", k, last)
		}
	}
}

// leftovers lists what is in dir apart from the directory lock.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != ".connvault.lock" {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestHostileServerAnswers: each bad answer ends the export with exit 1 and
// one error line naming the request and what was wrong, and leaves neither an
// archive nor a temporary file.
func TestHostileServerAnswers(t *testing.T) {
	clearSailEnv(t)
	victim := released(sandbox.New(sandbox.Options{}))[2]

	// other is a second host; a redirect must not reach it at all.
	var otherHits atomic.Int32
	var otherAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"name":"planted"}`)
	}))
	defer other.Close()

	cases := []struct {
		name     string
		answer   func(w http.ResponseWriter, r *http.Request) bool
		keywords []string
	}{
		{
			name: "malformed JSON detail",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDetail(r, victim) {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"name":"Okta","type":`)
				return true
			},
			keywords: []string{"export failed, no archive written", "connector " + victim, "detail answer", "not valid JSON"},
		},
		{
			name: "malformed JSON list",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isList(r) {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `[{"name":"Okta","scriptName":`)
				return true
			},
			keywords: []string{"export failed, no archive written", "list connectors", "decode answer"},
		},
		{
			name: "wrong content type",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDetail(r, victim) {
					return false
				}
				w.Header().Set("Content-Type", "text/xml")
				_, _ = io.WriteString(w, `<connector name="Okta"/>`)
				return true
			},
			keywords: []string{`get connector "` + victim + `"`, "expected JSON", `"text/xml"`},
		},
		{
			name: "HTML error page",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDetail(r, victim) {
					return false
				}
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>502</title></head><body><h1>Bad Gateway</h1><p>upstream unreachable</p></body></html>")
				return true
			},
			keywords: []string{`get connector "` + victim + `"`, "HTTP 502", "Bad Gateway", "upstream unreachable", "after 2 attempts"},
		},
		{
			name: "HTML login page at 200",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDoc(r, victim, "source-config") {
					return false
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, "<html><body><form>Sign in to continue</form></body></html>")
				return true
			},
			keywords: []string{`get source-config "` + victim + `"`, "expected a document", `"text/html; charset=utf-8"`},
		},
		{
			name: "body far larger than any real one",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDoc(r, victim, "source-template") {
					return false
				}
				w.Header().Set("Content-Type", "application/xml")
				chunk := bytes.Repeat([]byte("<x/>"), 16<<10)
				// Endless: only the client's cap stops it.
				for r.Context().Err() == nil {
					if _, err := w.Write(chunk); err != nil {
						break
					}
				}
				return true
			},
			keywords: []string{`get source-template "` + victim + `"`, "response body too large", fmt.Sprintf("%d bytes", apiclient.DefaultMaxBodyBytes)},
		},
		{
			name: "stall mid-body",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDetail(r, victim) {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"name":"Okta","type":"custom Okta",`)
				w.(http.Flusher).Flush()
				<-r.Context().Done() // until the client gives up
				return true
			},
			keywords: []string{`get connector "` + victim + `"`, "stopped sending its answer", "after 2 attempts"},
		},
		{
			name: "connection cut mid-body",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDoc(r, victim, "correlation-config") {
					return false
				}
				w.Header().Set("Content-Type", "application/xml")
				w.Header().Set("Content-Length", "5000")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, "<CorrelationConfig")
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return true
			},
			keywords: []string{`get correlation-config "` + victim + `"`, "unexpected EOF", "after 2 attempts"},
		},
		{
			name: "redirect to another host",
			answer: func(w http.ResponseWriter, r *http.Request) bool {
				if !isDetail(r, victim) {
					return false
				}
				http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
				return true
			},
			keywords: []string{`get connector "` + victim + `"`, "redirected to another host", "not followed", "token"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tune(t, 200*time.Millisecond, 2)
			srv := startSandbox(t, sandbox.Options{})
			srv.Tenant.SetHook(tc.answer)
			dir := t.TempDir()
			code, stdout, stderr := runCLI(t, context.Background(), append([]string{"export", "--output-dir", dir}, tenantArgs(srv)...)...)
			checkFailure(t, code, stderr, exitError, tc.keywords...)
			t.Logf("stderr: %s", strings.TrimSpace(stderr))
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
			if left := leftovers(t, dir); len(left) != 0 {
				t.Errorf("a failed export left %v", left)
			}
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host received %d requests (Authorization %q); a redirect must not be followed", n, otherAuth.Load())
	}
}

// faultyTenantOptions are every fault kind at once, sized for a unit test:
// 5xx answers, dropped connections, 429 storms (a one-second window far
// below what an unpaced client sends), tokens that live two seconds and
// jittered latency. The content is fixed by Seed, so it matches a fault-free
// tenant built from the same options.
func faultyTenantOptions(clean sandbox.Options) sandbox.Options {
	o := clean
	o.ErrorRate, o.DropRate = 0.10, 0.02
	o.RateLimit, o.RateWindow = 25, time.Second
	o.TokenTTL = 2 * time.Second
	o.Latency, o.Jitter = time.Millisecond, 5*time.Millisecond
	return o
}

// TestFaultsLoseNothing is the small, always-run version of
// `go run ./tools/faults`: an export under every fault kind gives the
// content digest of a fault-free export, and a restore under faults plus
// re-runs reaches the state a fault-free restore reaches.
func TestFaultsLoseNothing(t *testing.T) {
	clearSailEnv(t)
	clean := sandbox.Options{Empty: true, Synthetic: 10, DocSize: 1500, Locales: 2, Seed: 7}
	dir := t.TempDir()

	exportDigest := func(srv *sandbox.Server, name string) (string, exportSummary) {
		t.Helper()
		out := filepath.Join(dir, name)
		code, stdout, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out, "--json"}, tenantArgs(srv)...)...)
		if code != 0 {
			t.Fatalf("export %s: exit %d\n%s", name, code, stderr)
		}
		var sum exportSummary
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatalf("export %s --json: %v", name, err)
		}
		if ps := archive.Verify(out, archive.ReadOptions{}); len(ps) != 0 {
			t.Fatalf("export %s: archive does not verify: %v", name, ps)
		}
		return sum.ContentDigest, sum
	}
	want, _ := exportDigest(startSandbox(t, clean), "clean.tar.zst")
	faulty := startSandbox(t, faultyTenantOptions(clean))
	got, sum := exportDigest(faulty, "faulty.tar.zst")
	st := faulty.Tenant.Stats()
	t.Logf("export under faults: %d requests, %d retries, %d rate-limited; sandbox faults %v, 429s %d, 401s %d",
		sum.Requests, sum.Retries, sum.RateLimited, st.FaultsByKind, st.RateLimited, st.Unauthorized)
	if got != want {
		t.Errorf("content digest under faults %s, fault-free %s: something was lost or changed", got, want)
	}
	if st.Faults == 0 || st.RateLimited == 0 || sum.Retries == 0 {
		t.Errorf("faults %d, 429s %d, retries %d: the run was not under faults and proves nothing", st.Faults, st.RateLimited, sum.Retries)
	}

	// Restore the fault-free archive into a clean and a faulty empty tenant.
	arch := filepath.Join(dir, "clean.tar.zst")
	restoreUntilDone := func(srv *sandbox.Server) int {
		t.Helper()
		for run := 1; run <= 4; run++ {
			code, _, stderr := restore(t, srv, arch, "--no-backup")
			if code == 0 {
				return run
			}
			if code != exitPartial && code != exitError {
				t.Fatalf("restore run %d: exit %d\n%s", run, code, stderr)
			}
		}
		t.Fatal("restore under faults did not finish in 4 runs")
		return 0
	}
	emptyClean := clean
	emptyClean.Synthetic = 0
	b0 := startSandbox(t, emptyClean)
	restoreUntilDone(b0)
	b := startSandbox(t, faultyTenantOptions(emptyClean))
	runs := restoreUntilDone(b)
	t.Logf("restore under faults finished in %d run(s); sandbox faults %v, 429s %d", runs, b.Tenant.Stats().FaultsByKind, b.Tenant.Stats().RateLimited)

	res, err := diff.Compare(spectest.TenantSnapshot(t, b0.Tenant), spectest.TenantSnapshot(t, b.Tenant), diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Equal() || len(b.Tenant.ScriptNames()) != 10 {
		var buf strings.Builder
		_ = diff.WriteText(&buf, res, diff.TextOptions{Stat: true})
		t.Errorf("after restore under faults the tenant (%d connectors) differs from a fault-free restore:\n%s", len(b.Tenant.ScriptNames()), buf.String())
	}
	for name, n := range b.Tenant.Stats().Creates {
		if n != 1 {
			t.Errorf("%s: %d create requests reached the tenant, want 1", name, n)
		}
	}
}

// archivesIn lists the .tar.zst files in dir, sorted.
func archivesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tar.zst") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// startChild runs connvault with args in a child process (the test binary,
// through childArgsEnv) and returns a function that waits for it. urfave/cli
// keeps global state, so two runs at once in one process would race; and two
// processes are what overlapping cron jobs are.
func startChild(t *testing.T, args ...string) func() (int, string, string) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() (int, string, string) {
		err := cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("child connvault %v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
}

// TestConcurrentExportsSameDirectory: two exports started together into one
// directory (as two overlapping cron jobs with --wait) give two intact,
// distinct archives of the same content; without --wait the second one
// fails at once with a clear message and writes nothing.
func TestConcurrentExportsSameDirectory(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{Latency: time.Millisecond})
	dir := t.TempDir()
	type outcome struct {
		code           int
		stdout, stderr string
	}
	var waits []func() (int, string, string)
	for range 2 {
		waits = append(waits, startChild(t, append([]string{"export", "--output-dir", dir, "--wait", "--json"}, tenantArgs(srv)...)...))
	}
	var results []outcome
	for _, wait := range waits {
		code, stdout, stderr := wait()
		results = append(results, outcome{code, stdout, stderr})
	}
	var digests, paths []string
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("export %d: exit %d\n%s", i, r.code, r.stderr)
		}
		var sum exportSummary
		if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
			t.Fatalf("export %d --json: %v", i, err)
		}
		digests = append(digests, sum.ContentDigest)
		paths = append(paths, sum.Archive)
	}
	if got := archivesIn(t, dir); len(got) != 2 || paths[0] == paths[1] {
		t.Fatalf("archives %v (reported %v), want two distinct ones", got, paths)
	}
	for _, p := range paths {
		checkArchiveMatchesTenant(t, p, srv.Tenant)
	}
	if digests[0] != digests[1] {
		t.Errorf("digests %v differ for the same tenant", digests)
	}
	if left := leftovers(t, dir); len(left) != 2 {
		t.Errorf("directory holds %v, want only the two archives", left)
	}

	// Without --wait: the first export holds the lock (its list request is
	// held up) while the second one starts.
	dir2 := t.TempDir()
	entered, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if isList(r) {
			once.Do(func() { close(entered); <-gate })
		}
		return false
	})
	first := startChild(t, append([]string{"export", "--output-dir", dir2}, tenantArgs(srv)...)...)
	<-entered
	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "--output-dir", dir2}, tenantArgs(srv)...)...)
	close(gate)
	checkFailure(t, code, stderr, exitError, dir2, "is locked by another connvault run", "--wait")
	if code, _, stderr := first(); code != 0 {
		t.Fatalf("the export holding the lock: exit %d\n%s", code, stderr)
	}
	if got := archivesIn(t, dir2); len(got) != 1 {
		t.Errorf("archives %v, want the first export's only", got)
	}
}

// TestExportWhilePruneRuns: prune and export on one directory at the same
// time lose nothing: the new archive survives intact, and prune removes only
// old archives its policy does not keep.
func TestExportWhilePruneRuns(t *testing.T) {
	clearSailEnv(t)
	srv := startSandbox(t, sandbox.Options{})
	dir := t.TempDir()
	// Six nightly archives of this tenant from last year.
	src := filepath.Join(t.TempDir(), "src.tar.zst")
	if code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", src}, tenantArgs(srv)...)...); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tenantName := retention.TenantFromBaseURL(srv.URL)
	var old []string
	for i := range 6 {
		name := retention.FileName(tenantName, time.Date(2025, 3, 1+i, 3, 0, 0, 0, time.UTC))
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		old = append(old, name)
	}
	// The export holds the lock while prune starts and has to wait for it.
	gate := make(chan struct{})
	var once sync.Once
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if isList(r) {
			once.Do(func() { <-gate })
		}
		return false
	})
	waitExport := startChild(t, append([]string{"export", "--output-dir", dir, "--wait", "--json"}, tenantArgs(srv)...)...)
	pruned := make(chan struct{})
	var pruneCode int
	var pruneErr string
	go func() {
		defer close(pruned)
		pruneCode, _, pruneErr = runCLI(t, context.Background(), "prune", "--keep-last", "2", "--wait", dir)
	}()
	time.Sleep(100 * time.Millisecond) // let both start; correctness does not depend on it
	close(gate)
	exportCode, exportOut, exportErr := waitExport()
	<-pruned
	if exportCode != 0 || pruneCode != 0 {
		t.Fatalf("export exit %d, prune exit %d\nexport:\n%s\nprune:\n%s", exportCode, pruneCode, exportErr, pruneErr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(exportOut), &sum); err != nil {
		t.Fatal(err)
	}
	checkArchiveMatchesTenant(t, sum.Archive, srv.Tenant)
	left := archivesIn(t, dir)
	if !slices.Contains(left, filepath.Base(sum.Archive)) {
		t.Fatalf("the new archive %s is gone; left %v", sum.Archive, left)
	}
	// Whichever ran first, prune kept the newest two it saw: the old ones
	// left are the newest old ones.
	keptOld := len(left) - 1
	if keptOld < 1 || keptOld > 2 || !slices.Equal(left[:keptOld], old[len(old)-keptOld:]) {
		t.Errorf("left %v: want the new archive and the newest 1 or 2 old ones of %v", left, old)
	}
	if extra := leftovers(t, dir); len(extra) != len(left) {
		t.Errorf("directory holds %v, want only archives", extra)
	}
}

// tokenRecorder serves a tenant and remembers every access token the token
// endpoint issues, read from its answers.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (tr *tokenRecorder) issued() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.tokens)
}

func (tr *tokenRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/token" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil && tok.AccessToken != "" {
			tr.mu.Lock()
			tr.tokens = append(tr.tokens, tok.AccessToken)
			tr.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// TestSecretsNeverLeak runs export, diff and restore with a known client
// secret, at debug level in both log formats, plus failures whose server
// answers echo the credentials, and finds neither the secret nor any issued
// token in stdout, stderr, the archives (raw and decompressed) or any file
// left behind. Archives are 0600, and no temporary file survives success,
// failure or Ctrl-C.
func TestSecretsNeverLeak(t *testing.T) {
	clearSailEnv(t)
	const clientID, secret = "reliability-client", "s3cr3t-Zq9vX7-never-print-me"
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // anything written to the system temp dir lands here
	rec := &tokenRecorder{}
	serve := func(opts sandbox.Options) *sandbox.Server {
		opts.Clients = map[string]string{clientID: secret}
		tn := sandbox.New(opts)
		srv, err := sandbox.Serve(context.Background(), "", tn, rec.wrap(tn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return srv
	}
	a := serve(sandbox.Options{})
	b := serve(sandbox.Options{Empty: true})
	// Credentials come from the environment, as in a cron job.
	t.Setenv("SAIL_CLIENT_ID", clientID)
	t.Setenv("SAIL_CLIENT_SECRET", secret)

	work, backups := t.TempDir(), t.TempDir()
	var outputs []string
	cli := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		outputs = append(outputs, stdout, stderr)
		if code != wantCode {
			t.Fatalf("connvault %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, stderr)
		}
		return stderr
	}
	arch := filepath.Join(work, "a.tar.zst")
	cli(0, "export", "--base-url", a.URL, "--rate", "0", "--log-level", "debug", "-o", arch)
	cli(0, "export", "--base-url", a.URL, "--rate", "0", "--log-level", "debug", "--log-format", "json", "--output-dir", work)
	cli(0, "diff", "--base-url", a.URL, "--rate", "0", "--log-level", "debug", "--log-format", "json", arch, "tenant:")
	cli(1, "diff", "--base-url", b.URL, "--rate", "0", "--log-level", "debug", arch, "tenant:")
	cli(0, "restore", "--yes", "--backup-dir", backups, "--base-url", b.URL, "--rate", "0", "--log-level", "debug", arch)
	cli(0, "restore", "--yes", "--backup-dir", backups, "--base-url", b.URL, "--rate", "0", "--log-level", "debug", "--log-format", "json", arch)
	cli(0, "ls", arch)
	cli(0, "verify", arch)

	// Servers that echo the credentials back in their errors.
	a.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !isDetail(r, released(a.Tenant)[0]) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"detailCode":"403 Forbidden","trackingId":"t-echo","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"token `+
			strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+` may not read this"}]}`)
		return true
	})
	stderr := cli(1, "export", "--base-url", a.URL, "--rate", "0", "--log-level", "debug", "--output-dir", work)
	if !strings.Contains(stderr, "t-echo") || !strings.Contains(stderr, "REDACTED") {
		t.Errorf("the echoing 403 should be reported, token redacted:\n%s", stderr)
	}
	a.Tenant.SetHook(nil)
	echoToken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"client `+r.Form.Get("client_id")+` with secret `+r.Form.Get("client_secret")+` is unknown"}`)
	}))
	defer echoToken.Close()
	stderr = cli(1, "export", "--base-url", echoToken.URL, "--rate", "0", "--log-level", "debug", "--log-format", "json", "--output-dir", work)
	if !strings.Contains(stderr, "invalid_client") {
		t.Errorf("the token endpoint's refusal should be reported:\n%s", stderr)
	}
	// Ctrl-C in the middle of an export.
	ctx, cancel := context.WithCancel(context.Background())
	a.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if isDoc(r, released(a.Tenant)[3], "source-config") {
			cancel()
		}
		return false
	})
	code, stdout, stderr := runCLI(t, ctx, "export", "--base-url", a.URL, "--rate", "0", "--log-level", "debug", "--output-dir", work)
	outputs = append(outputs, stdout, stderr)
	if code != exitInterrupted {
		t.Fatalf("interrupted export: exit %d\n%s", code, stderr)
	}

	tokens := rec.issued()
	if len(tokens) < 2 {
		t.Fatalf("recorded %d issued tokens; the test would prove nothing", len(tokens))
	}
	needles := append([]string{secret}, tokens...)
	scan := func(where string, data []byte) {
		t.Helper()
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				what := "an access token"
				if n == secret {
					what = "the client secret"
				}
				t.Errorf("%s contains %s", where, what)
			}
		}
	}
	for i, o := range outputs {
		scan(fmt.Sprintf("output %d", i), []byte(o))
	}
	// Every file the runs left, archives decompressed too.
	nArchives := 0
	for _, root := range []string{work, backups, tmp} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if strings.Contains(d.Name(), ".tmp") || strings.Contains(d.Name(), ".spool") {
				t.Errorf("temporary file left: %s", path)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scan(path, raw)
			if !strings.HasSuffix(path, ".tar.zst") {
				return nil
			}
			nArchives++
			if fi, _ := d.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
			}
			zr, err := zstd.NewReader(bytes.NewReader(raw))
			if err != nil {
				return err
			}
			plain, err := io.ReadAll(zr)
			zr.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			scan(path+" (decompressed)", plain)
			snap, err := archive.ReadFile(path, archive.ReadOptions{})
			if err != nil {
				return err
			}
			for _, c := range snap.Connectors {
				for _, b := range [][]byte{c.Detail, c.SourceConfig, c.SourceTemplate, c.CorrelationConfig} {
					scan(path+" "+c.ScriptName, b)
				}
				for _, tr := range c.Translations {
					scan(path+" "+c.ScriptName+" translation", tr)
				}
			}
			m, _ := json.Marshal(snap.Manifest)
			scan(path+" manifest", m)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// a.tar.zst, the --output-dir export, and the restore's pre-restore snapshot.
	if nArchives != 3 {
		t.Errorf("found %d archives, want 3", nArchives)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the system temp dir holds %d entries after the runs", len(left))
	}
}
