package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
)

// TestSuiteLosesNothing runs the whole suite on a small tenant: every
// scenario injects its faults and loses nothing, and the report has a row
// per scenario.
func TestSuiteLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every fault scenario; skipped with -short")
	}
	c := config{
		Connectors: 6, Locales: 2, DocSize: 1000, Seed: 3,
		TokenTTL: time.Second, Slow: 40 * time.Millisecond,
		RateLimit: 40, RateWindow: time.Second, Spike: 150 * time.Millisecond,
		StallShare: 0.05, Idle: 200 * time.Millisecond, MaxRuns: 5,
		Dir: t.TempDir(), Log: t.Logf,
	}
	rows, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(scenarios(c)) {
		t.Fatalf("%d rows, want the baseline and %d scenarios", len(rows), len(scenarios(c)))
	}
	layouts := map[string]int{}
	for _, r := range rows {
		if r.Lost != 0 || r.Connectors != 6 || r.RestoredConns != 6 || r.Documents != r.RestoredDocs || r.Documents == 0 {
			t.Errorf("%s", summary(r))
		}
		layouts[r.Layout]++
	}
	// The default users get (auto, resolving to /connectors/v1 on the
	// sandbox) carries the suite; all faults at once run in v3 too.
	if layouts["auto → v1"] != len(rows)-1 || layouts["v3"] != 1 || rows[len(rows)-1].Name != "all together" {
		t.Errorf("rows by layout %v, want all but one in auto → v1 and all together in v3", layouts)
	}
	if rows[0].injected() != 0 || rows[0].Retries != 0 {
		t.Errorf("the baseline saw faults: %s", summary(rows[0]))
	}
	// Every kind but the token one (the tenant is too small to outlast a
	// token here) must have injected something.
	for _, r := range rows[1:] {
		if r.Name != "short tokens" && r.injected() == 0 {
			t.Errorf("%s injected nothing", r.Name)
		}
	}
	out := render(c, rows, time.Second)
	for _, r := range rows {
		if !strings.Contains(out, "| "+r.Name+" | "+r.Layout+" | ") {
			t.Errorf("the report has no row for %s", r.Name)
		}
	}
	if !strings.Contains(out, "go run ./tools/faults") || !strings.Contains(out, "Lost in total: 0.") {
		t.Errorf("report:\n%s", out)
	}
}

// TestCheckAndLostEntries: a lost, changed or extra entry and a row without
// faults fail the run.
func TestCheckAndLostEntries(t *testing.T) {
	want := &archive.Manifest{Entries: []archive.Entry{{Path: "connectors/a/detail.json", SHA256: "1"}, {Path: "connectors/b/detail.json", SHA256: "2"}}}
	got := &archive.Manifest{Entries: []archive.Entry{{Path: "connectors/a/detail.json", SHA256: "9"}, {Path: "connectors/c/detail.json", SHA256: "3"}}}
	lost := lostEntries(want, got)
	wantLost := []string{"changed entry connectors/a/detail.json", "extra entry connectors/c/detail.json", "missing entry connectors/b/detail.json"}
	if strings.Join(lost, "|") != strings.Join(wantLost, "|") {
		t.Errorf("lostEntries = %q, want %q", lost, wantLost)
	}
	if l := lostEntries(want, want); len(l) != 0 {
		t.Errorf("identical manifests: %q", l)
	}
	base := row{Name: "none (baseline)"}
	ok := row{Name: "5xx answers", Faults: map[string]int{"500": 3}}
	if err := check([]row{base, ok}); err != nil {
		t.Errorf("check(ok) = %v", err)
	}
	for _, bad := range []row{
		{Name: "5xx answers", Faults: map[string]int{"500": 3}, Lost: 1, LostWhat: []string{"missing entry x"}},
		{Name: "dropped connections", Faults: map[string]int{}},
	} {
		if err := check([]row{base, ok, bad}); err == nil || !strings.Contains(err.Error(), bad.Name) {
			t.Errorf("check(%+v) = %v, want an error naming it", bad, err)
		}
	}
}

// TestRunRefusesBadArguments: bad arguments are a usage error, exit 2.
func TestRunRefusesBadArguments(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"-connectors", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("-connectors 0: exit %d", code)
	}
	if code := run([]string{"extra"}, &stdout, &stderr); code != 2 {
		t.Errorf("an argument: exit %d", code)
	}

}
