package importer

import (
	"context"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/internal/cputime"
	"github.com/connvault/connvault/tools/realistic"
)

// benchPlan plans a restore of 200 realistic connectors (the sandbox's
// 20 KB documents and 3 locales; details of ~84 KB embedding them) into a
// target read into memory: the planning CPU restore spends besides its
// requests, in restore's order: the planner, the names to read, the plan.
func benchPlan(b *testing.B, target func(*archive.Snapshot) *archive.Snapshot, want Counts) {
	arch := realistic.New(200, 20<<10, 3).Snapshot()
	tgt := target(arch)
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		pl, err := NewPlanner(arch, Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = pl.TargetNames()
		p, err := pl.Plan(context.Background(), diff.SnapshotSource(tgt))
		if err != nil {
			b.Fatal(err)
		}
		if p.Counts != want {
			b.Fatalf("counts %+v, want %+v", p.Counts, want)
		}
	}
	// The budget is CPU (0.3 s per 200 connectors), which a
	// loaded machine's wall clock does not show.
	b.ReportMetric((cputime.Process()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkPlanNoop is a re-run: the target already has every connector
// (distinct memory, as read from the tenant).
func BenchmarkPlanNoop(b *testing.B) {
	benchPlan(b, func(a *archive.Snapshot) *archive.Snapshot {
		t := &archive.Snapshot{}
		for _, c := range a.Connectors {
			t.Connectors = append(t.Connectors, realistic.Clone(c))
		}
		return t
	}, Counts{Unchanged: 200})
}

// BenchmarkPlanCreate is a first restore into an empty tenant.
func BenchmarkPlanCreate(b *testing.B) {
	benchPlan(b, func(*archive.Snapshot) *archive.Snapshot { return &archive.Snapshot{} }, Counts{Create: 200})
}

// BenchmarkPlanUpdate: every tenth connector differs (a source-config
// line, a translation or connectorMetadata).
func BenchmarkPlanUpdate(b *testing.B) {
	benchPlan(b, func(a *archive.Snapshot) *archive.Snapshot {
		t := &archive.Snapshot{}
		for i, c := range a.Connectors {
			if i%10 == 3 {
				t.Connectors = append(t.Connectors, realistic.Change(c, i/10))
				continue
			}
			t.Connectors = append(t.Connectors, realistic.Clone(c))
		}
		return t
	}, Counts{Update: 20, Unchanged: 180})
}
