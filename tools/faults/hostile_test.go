package main

import (
	"context"
	"strings"
	"testing"
)

// TestHostileCasesSafe: every hostile server ends safely, and the
// report carries a row per case.
func TestHostileCasesSafe(t *testing.T) {
	rows := runHostile(context.Background(), t.TempDir(), t.Logf)
	if len(rows) != len(hostileCases())*len(hostileLayouts) {
		t.Fatalf("%d rows, want %d cases in %d layouts", len(rows), len(hostileCases()), len(hostileLayouts))
	}
	// Every case runs in the default (auto, which picks /connectors/v1
	// here) and in v3, and its requests went to that layout (v3 lacks the
	// correlation-config route, which goes to v1).
	layouts := map[string]int{}
	for _, r := range rows {
		if !r.OK {
			t.Errorf("%s (%s): %s", r.Name, r.Layout, r.Outcome)
		}
		layouts[r.Layout]++
	}
	if n := len(hostileCases()); layouts["auto → v1"] != n || layouts["v3"]+layouts["v3 (+v1)"] != n || layouts["v3"] == 0 {
		t.Errorf("rows by layout %v, want %d in auto → v1 and %d in v3", layouts, n, n)
	}
	if err := checkHostile(rows); err != nil {
		t.Error(err)
	}
	report := withHostile("# Reliability\n\n## Also covered by\n", rows)
	for _, r := range rows {
		if !strings.Contains(report, "| "+r.Name+" | "+r.Layout+" | ") {
			t.Errorf("no row for %s", r.Name)
		}
	}
	if !strings.Contains(report, "## Hostile server") || strings.Index(report, "## Hostile server") > strings.Index(report, "## Also covered by") {
		t.Errorf("the section is missing or misplaced:\n%s", report)
	}
}
