package command

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// With --json a failure still prints one JSON object on stdout: the error
// and the exit code.
func TestJSONFailureDocument(t *testing.T) {
	clearSailEnv(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"export", "--json", "-d", filepath.Join(t.TempDir(), "missing")}, exitUsage},
		{[]string{"export", "--json", "--sandbox", "--script-name", "nope", "-d", t.TempDir()}, exitError},
		{[]string{"restore", "--json", "--sandbox", "--yes", "/no/such.tar.zst"}, exitUsage},
	} {
		code, stdout, stderr := runCLI(t, t.Context(), tc.args...)
		var doc failureJSON
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil || dec.More() {
			t.Errorf("%v: stdout is not one JSON document: %v\n%q", tc.args, err, stdout)
			continue
		}
		if code != tc.code || doc.ExitCode != code || doc.Error == "" || !strings.Contains(stderr, doc.Error) {
			t.Errorf("%v: exit %d (want %d), document %+v\n%s", tc.args, code, tc.code, doc, stderr)
		}
	}
}

// With --log-format json every stderr line is a JSON object, the final
// error and the standard library's log (third-party packages) included.
func TestLogFormatJSONEveryLine(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"connvault", "--log-format", "json", "export", "--sandbox", "-d", dir, "--script-name", "nope", "--keep-going"},
		strings.NewReader(""), &stdout, &stderr)
	if code != exitPartial {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	code2 := run(t.Context(), []string{"connvault", "--log-format", "json", "export", "--sandbox", "-d", filepath.Join(dir, "missing")},
		strings.NewReader(""), &stdout, &stderr)
	if code2 != exitUsage {
		t.Fatalf("exit %d", code2)
	}
	// A third-party package logging while a command runs.
	var mid bytes.Buffer
	restore := routeStdLog(newJSONLines(&mid))
	log.Print("SDK WARN something")
	restore()
	stderr.Write(mid.Bytes())
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("too few lines:\n%s", stderr.String())
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
			t.Errorf("not a JSON log record: %q", l)
		}
	}
	if !strings.Contains(stderr.String(), `"exitCode":2`) || !strings.Contains(stderr.String(), "SDK WARN something") {
		t.Errorf("the final error or the routed log line is missing:\n%s", stderr.String())
	}
}

// Ctrl-C during a restore's writes prints one line saying what was done
// and what was not, not a line per cancelled request.
func TestRestoreInterruptedSaysOneLine(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{Empty: true})
	path := exportCustom(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var writes atomic.Int32
	b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/oauth/token") && writes.Add(1) == 3 {
			cancel()
		}
		return false
	})
	code, _, stderr := runCLI(t, ctx, "restore", "--yes", "--no-backup", "--concurrency", "1",
		"--base-url", b.URL, "--client-id", b.ClientID, "--client-secret", b.ClientSecret, "--rate", "0", path)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, stderr)
	}
	var interrupted []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "interrupted") || strings.Contains(l, "context canceled") {
			interrupted = append(interrupted, l)
		}
	}
	if len(interrupted) != 1 || !strings.Contains(interrupted[0], "not finished") || !strings.Contains(interrupted[0], "run the same restore again") {
		t.Errorf("want one line saying what was done and what was not, got %d:\n%s", len(interrupted), stderr)
	}
}

// FuzzJSONLines: whatever is written to stderr under --log-format json comes
// out as JSON records only.
func FuzzJSONLines(f *testing.F) {
	f.Add("connvault: warn: x\nplain\n{\"level\":\"INFO\",\"msg\":\"ok\"}\n{broken\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		j := newJSONLines(&out)
		_, _ = j.Write([]byte(in))
		j.Flush()
		for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
			if l == "" && out.Len() == 0 {
				continue
			}
			if !json.Valid([]byte(l)) {
				t.Errorf("not JSON: %q", l)
			}
		}
	})
}
