package main

import (
	"context"
	"strings"
	"testing"
)

// TestHostileCasesSafe: every hostile server of issue 18 ends safely, and the
// report carries a row per case.
func TestHostileCasesSafe(t *testing.T) {
	rows := runHostile(context.Background(), t.TempDir(), t.Logf)
	if len(rows) != len(hostileCases()) {
		t.Fatalf("%d rows, want %d", len(rows), len(hostileCases()))
	}
	for _, r := range rows {
		if !r.OK {
			t.Errorf("%s: %s", r.Name, r.Outcome)
		}
	}
	if err := checkHostile(rows); err != nil {
		t.Error(err)
	}
	report := withHostile("# Reliability\n\n## Also covered by\n", rows)
	for _, r := range rows {
		if !strings.Contains(report, "| "+r.Name+" | ") {
			t.Errorf("no row for %s", r.Name)
		}
	}
	if !strings.Contains(report, "## Hostile server") || strings.Index(report, "## Hostile server") > strings.Index(report, "## Also covered by") {
		t.Errorf("the section is missing or misplaced:\n%s", report)
	}
}
