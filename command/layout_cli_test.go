package command

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
	"github.com/connvault/connvault/tenants"
)

// exportJSON runs export -o into a temporary file with extra flags and
// returns its summary and manifest.
func exportJSON(t *testing.T, srv *sandbox.Server, extra ...string) (exportSummary, *archive.Snapshot) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "a.tar.zst")
	args := append(append([]string{"export", "-o", out, "--json"}, extra...), tenantArgs(srv)...)
	code, stdout, stderr := runCLI(t, context.Background(), args...)
	if code != 0 {
		t.Fatalf("export %v: exit %d\n%s", extra, code, stderr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("export --json: %v\n%s", err, stdout)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum.Archive = out
	return sum, snap
}

// TestLayoutsGiveTheSameArchive: auto picks /connectors/v1 when it answers
// and v3 when it does not, records the choice in the manifest, and the
// content is the same whichever layout served it; an archive made through
// one layout restores through the other.
func TestLayoutsGiveTheSameArchive(t *testing.T) {
	clearSailEnv(t)
	both := spectest.Start(t, sandbox.Options{})
	v3only := spectest.Start(t, sandbox.Options{Layouts: []string{"v3"}})
	auto1, snap1 := exportJSON(t, both, "--api-version", "auto")
	auto3, snap3 := exportJSON(t, v3only, "--api-version", "auto")
	v3, _ := exportJSON(t, both, "--api-version", "v3")
	if snap1.Manifest.Source.APIVersion != "v1" || snap3.Manifest.Source.APIVersion != "v3" || auto1.APIVersion != "v1" || auto3.APIVersion != "v3" {
		t.Errorf("recorded layouts %q and %q, want v1 and v3", snap1.Manifest.Source.APIVersion, snap3.Manifest.Source.APIVersion)
	}
	if snap1.Manifest.Fetch != "full" || len(snap1.Manifest.DocumentSources) != 0 {
		t.Errorf("manifest fetch %q, sources %v", snap1.Manifest.Fetch, snap1.Manifest.DocumentSources)
	}
	if auto1.ContentDigest != auto3.ContentDigest || auto1.ContentDigest != v3.ContentDigest {
		t.Errorf("digests differ by layout: v1 %s, v3-only %s, v3 %s", auto1.ContentDigest, auto3.ContentDigest, v3.ContentDigest)
	}
	// The v1 archive restores into a tenant that only speaks v3, and back.
	target := spectest.Start(t, sandbox.Options{Empty: true, Layouts: []string{"v3"}})
	if code, _, stderr := restore(t, target, auto1.Archive, "--api-version", "auto"); code != 0 {
		t.Fatalf("restore through v3: exit %d\n%s", code, stderr)
	}
	back := spectest.Start(t, sandbox.Options{Empty: true})
	if code, _, stderr := restore(t, back, auto3.Archive, "--api-version", "v1"); code != 0 {
		t.Fatalf("restore through v1: exit %d\n%s", code, stderr)
	}
	for _, tn := range []*sandbox.Tenant{target.Tenant, back.Tenant} {
		for _, c := range snap1.Connectors {
			got, ok := tn.Connector(c.ScriptName)
			if !ok {
				continue // restore creates custom connectors only
			}
			if !bytes.Equal(got.CorrelationConfig, c.CorrelationConfig) || !bytes.Equal(got.SourceConfig, c.SourceConfig) {
				t.Errorf("%s: restored documents differ from the archive's", c.ScriptName)
			}
		}
	}
}

// TestCorrelationConfigRestoredThroughAPublishingLayout: restoring through
// v3, whose correlation-config route answers 404, writes the correlation
// configs through /connectors/v1.
func TestCorrelationConfigRestoredThroughAPublishingLayout(t *testing.T) {
	clearSailEnv(t)
	src := spectest.Start(t, sandbox.Options{})
	sum, snap := exportJSON(t, src)
	for _, withheld := range [][]string{{"v3"}, sandbox.Layouts} {
		// Withheld on v3 only: written through v1. Withheld everywhere:
		// written as the detail's correlationConfigXml.
		target := spectest.Start(t, sandbox.Options{Empty: true, NoCorrelationConfig: withheld})
		if code, _, stderr := restore(t, target, sum.Archive, "--api-version", "v3"); code != 0 {
			t.Fatalf("restore with correlation-config withheld on %v: exit %d\n%s", withheld, code, stderr)
		}
		n := 0
		for _, c := range snap.Connectors {
			if got, ok := target.Tenant.Connector(c.ScriptName); ok && c.CorrelationConfig != nil {
				n++
				if !bytes.Equal(got.CorrelationConfig, c.CorrelationConfig) {
					t.Errorf("withheld on %v: %s: correlation config not restored", withheld, c.ScriptName)
				}
			}
		}
		if n == 0 {
			t.Fatal("setup: no restored connector has a correlation config")
		}
	}
}

// TestFromDetailCLI: same content digest as the full fetch on the sandbox,
// the mode in the manifest, fewer requests.
func TestFromDetailCLI(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{Synthetic: 30})
	full, _ := exportJSON(t, srv, "--api-version", "auto")
	fast, snap := exportJSON(t, srv, "--api-version", "auto", "--from-detail")
	if full.ContentDigest != fast.ContentDigest {
		t.Errorf("digest %s with --from-detail, %s without", fast.ContentDigest, full.ContentDigest)
	}
	if snap.Manifest.Fetch != "from-detail" || fast.Fetch != "from-detail" {
		t.Errorf("manifest fetch %q, summary %q", snap.Manifest.Fetch, fast.Fetch)
	}
	if fast.Requests*2 >= full.Requests {
		t.Errorf("--from-detail sent %d requests, the full fetch %d", fast.Requests, full.Requests)
	}
}

// TestInterruptDuringLongWait: Ctrl-C while the run waits out a 300 s
// Retry-After ends it at once with exit code 130.
func TestInterruptDuringLongWait(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/oauth/token" {
			return false
		}
		w.Header().Set("Retry-After", "300")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":" Rate Limit Exceeded "}`))
		return true
	})
	// Ctrl-C comes once the run has said it waits, not after a fixed pause
	// that a loaded machine may not fit the 429 and the log line into.
	stderr := &watchWriter{want: "waiting 5m0s", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := filepath.Join(t.TempDir(), "a.tar.zst")
	var code int
	done := make(chan struct{})
	go func() {
		var stdout bytes.Buffer
		code = run(ctx, append([]string{"connvault", "export", "-o", out}, tenantArgs(srv)...), strings.NewReader(""), &stdout, stderr)
		close(done)
	}()
	select {
	case <-stderr.seen:
	case <-done:
		t.Fatalf("the run ended (exit %d) without announcing the wait:\n%s", code, stderr)
	case <-time.After(time.Minute): // a safety net only: the 429 comes first
		t.Fatalf("no info line announcing the wait:\n%s", stderr)
	}
	cancel()
	cancelled := time.Now()
	<-done
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130\n%s", code, stderr)
	}
	// Any bound far below the 300 s wait tells an interrupted wait from one
	// waited out; 10 s leaves room for a loaded two-core CI machine under
	// -race.
	if d := time.Since(cancelled); d > 10*time.Second {
		t.Errorf("the run took %v to stop after Ctrl-C", d)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an interrupted export left an archive")
	}
}

// watchWriter is a stderr that can be read while the run writes to it, and
// closes seen once want has been written.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestEnormousRetryAfterWithKeepGoing, through the
// CLI: one document answered with Retry-After 999999 fails on its own and at
// once, naming --max-wait, and --keep-going writes the rest.
func TestEnormousRetryAfterWithKeepGoing(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !isDoc(r, "okta", "source-template") {
			return false
		}
		w.Header().Set("Retry-After", "999999")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":" Rate Limit Exceeded "}`))
		return true
	})
	out := filepath.Join(t.TempDir(), "a.tar.zst")
	start := time.Now()
	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out, "--keep-going", "--api-version", "auto"}, tenantArgs(srv)...)...)
	if code != exitPartial || !strings.Contains(stderr, "--max-wait") || !strings.Contains(stderr, "okta") {
		t.Errorf("exit %d, want 3 with okta failed naming --max-wait\n%s", code, stderr)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the run took %v: the enormous Retry-After stalled it", el)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil || !snap.Manifest.Partial || len(snap.Connectors) != len(released(srv.Tenant))-1 {
		t.Errorf("partial archive: %v", err)
	}
}

func TestDoctorCLI(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"doctor", "--json", "--api-version", "auto"}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("doctor on the sandbox: exit %d\n%s%s", code, stdout, stderr)
	}
	var rep struct {
		OK         bool   `json:"ok"`
		APIVersion string `json:"apiVersion"`
		Checks     []struct{ Name, Status string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || !rep.OK || rep.APIVersion != "v1" || len(rep.Checks) < 8 {
		t.Errorf("doctor --json: %v %+v", err, rep)
	}
	if strings.Contains(stdout+stderr, srv.ClientSecret) || strings.Contains(stdout, srv.ClientID) || strings.Contains(stdout, "eyJ") {
		t.Error("the doctor report holds a secret, the client id or a token")
	}
	bad := spectest.Start(t, sandbox.Options{Scopes: []string{"idn:connector-config:read"}})
	code, stdout, _ = runCLI(t, context.Background(), append([]string{"doctor"}, tenantArgs(bad)...)...)
	if code != 1 || !strings.Contains(stdout, "FAIL  permissions") || !strings.Contains(stdout, "what to do:") {
		t.Errorf("doctor with a read-only token: exit %d\n%s", code, stdout)
	}
}

// TestTenantsFileAcceptsTheLayouts: a named tenant's apiVersion takes the
// values --api-version does, auto and v1 included.
func TestTenantsFileAcceptsTheLayouts(t *testing.T) {
	for _, v := range []string{"auto", "v1", "v3", "v2026"} {
		in := `{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X","apiVersion":"` + v + `"}]}`
		cfg, err := tenants.Parse([]byte(in), "test")
		if err != nil {
			t.Errorf("apiVersion %s: %v", v, err)
			continue
		}
		if tn, _ := cfg.Get("a"); tn.APIVersion != v {
			t.Errorf("apiVersion %s read as %q", v, tn.APIVersion)
		}
	}
	if _, err := tenants.Parse([]byte(`{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X","apiVersion":"v9"}]}`), "test"); err == nil || !strings.Contains(err.Error(), "auto, v1, v3") {
		t.Errorf("apiVersion v9: %v, want the accepted values named", err)
	}
}
