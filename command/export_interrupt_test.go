package command

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
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

// TestExportWithoutTerminalLogsProgress: with stderr not a terminal (cron,
// CI) there is no bar, and the run logs how far it got at a steady
// interval: done/total with the percentage, the rate and the expected end,
// the total known from the list's first page.
func TestExportWithoutTerminalLogsProgress(t *testing.T) {
	clearSailEnv(t)
	old := progressLogEvery
	progressLogEvery = 50 * time.Millisecond
	t.Cleanup(func() { progressLogEvery = old })
	srv := spectest.Start(t, sandbox.Options{Empty: true, Synthetic: 300, DocSize: 256, Locales: 1, Latency: 3 * time.Millisecond})
	out := filepath.Join(t.TempDir(), "a.tar.zst")
	code, _, stderr := runCLI(t, t.Context(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	lines := regexp.MustCompile(`exporting[^:]*: \d+/300 connectors \(\d+%\), [0-9.]+ connectors/s`).FindAllString(stderr, -1)
	if len(lines) < 2 || !strings.Contains(stderr, "expected end") {
		t.Errorf("want steady progress lines with the total 300 and an expected end:\n%s", stderr)
	}
}

// TestRestorePlanningInterruptedSaysHowFar: Ctrl-C while restore reads the
// target to plan ends with exit 130 and a line saying how far the planning
// got and that nothing was written; planning logs its progress too.
func TestRestorePlanningInterruptedSaysHowFar(t *testing.T) {
	clearSailEnv(t)
	src := spectest.Start(t, sandbox.Options{})
	archive := exportCustom(t, src)
	// Not the spec-checking proxy: the held request is answered by nobody.
	dst, err := sandbox.Start(t.Context(), "", sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cancelAtRequest(dst.Tenant, 6, cancel)
	code, _, stderr := runCLI(t, ctx, append([]string{"restore", archive, "--dry-run"}, tenantArgs(dst)...)...)
	if code != exitInterrupted || !regexp.MustCompile(`interrupted while planning: \d+ target connectors read for the archive's \d+; nothing was written`).MatchString(stderr) {
		t.Errorf("restore --dry-run interrupted: exit %d\n%s", code, stderr)
	}
	if w := dst.Tenant.Stats().Writes; w != 0 {
		t.Errorf("%d writes", w)
	}
}
