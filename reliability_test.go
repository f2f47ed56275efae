package main

// Reliability at the CLI level (issue 7): hostile server answers, faults,
// concurrency and secrets. Every test runs the real command line in-process
// and checks what an operator sees: the exit code, one line on stderr, and
// what is (not) left on disk.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
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

// isDetail, isList and isDoc recognise the export's requests in a hook.
func isDetail(r *http.Request, sn string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/connectors/"+sn)
}
func isList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/connectors")
}
func isDoc(r *http.Request, sn, doc string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/connectors/"+sn+"/"+doc)
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
			keywords: []string{`get source-template "` + victim + `"`, "response body too large", "67108864 bytes"},
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
