package command

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/sandbox"
)

// TestExportInterruptedSaysOneLine: Ctrl-C during an export prints one line
// saying what was done (connectors fetched) and what was not (no archive, or
// the directory left as it was), exit code 130, as restore does.
func TestExportInterruptedSaysOneLine(t *testing.T) {
	clearSailEnv(t)
	for _, tc := range []struct {
		name string
		args func(dir string) []string
		want string
	}{
		{"archive", func(dir string) []string { return []string{"--output-dir", dir} }, "no archive written"},
		{"directory", func(dir string) []string { return []string{"--format", "dir", "-o", filepath.Join(dir, "snap")} }, "snap left as it was"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := sandbox.Start(context.Background(), "", sandbox.Options{Synthetic: 200, DocSize: 2000, Latency: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cancelAtRequest(srv.Tenant, 50, cancel)
			args := append(append([]string{"export"}, tc.args(t.TempDir())...), tenantArgs(srv)...)
			code, _, stderr := runCLI(t, ctx, args...)
			if code != exitInterrupted {
				t.Fatalf("exit %d, want 130\n%s", code, stderr)
			}
			var lines []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "interrupted") || strings.Contains(l, "context canceled") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "connectors fetched") || !strings.Contains(lines[0], tc.want) ||
				!strings.Contains(lines[0], "run the export again") {
				t.Errorf("want one line saying what was done and what was not, got %d:\n%s", len(lines), stderr)
			}
		})
	}
}
