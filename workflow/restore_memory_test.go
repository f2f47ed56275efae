package workflow

import (
	"context"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/internal/heappeak"
	"github.com/connvault/connvault/sandbox"
)

// TestDryRunPlanKeepsNothingOfTheTarget: a dry run that prints a text plan
// holds a window of the target it reads, not the target: the heap stays
// well under the tenant's content.
func TestDryRunPlanKeepsNothingOfTheTarget(t *testing.T) {
	srv, err := sandbox.Start(t.Context(), "", sandbox.Options{Empty: true, Synthetic: 120, DocSize: 192 << 10, Locales: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tn := tenantOf(t, srv, "big")
	path := filepath.Join(t.TempDir(), "a.tar.zst")
	if _, err := Export(context.Background(), testEnv(), ExportOptions{Tenant: tn, Output: path}); err != nil {
		t.Fatal(err)
	}
	src := diff.FileSource(path, archive.ReadOptions{})
	planner, err := importer.NewPlannerFrom(context.Background(), src, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := archive.ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	var content int64
	for _, e := range m.Entries {
		content += e.Size
	}
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	stop := heappeak.Watch()
	res, err := Restore(context.Background(), testEnv(), RestoreOptions{Target: tenantOf(t, srv, "big"), Planner: planner, Source: &src,
		DryRun: true, DiscardTarget: true})
	peak := stop()
	if err != nil || res.Plan.Counts.Unchanged != 120 {
		t.Fatalf("dry run: %v, %+v", err, res.Plan.Counts)
	}
	t.Logf("peak heap %.1f MiB for a target of %.1f MiB", float64(peak)/(1<<20), float64(content)/(1<<20))
	// The window (32 MiB), the connectors in flight (8 of about 1.3 MiB, on
	// each side) and two zstd decoders: about 80 MiB. Keeping the target
	// would hold all of it.
	if content < 150<<20 || peak > 128<<20 {
		t.Errorf("peak heap %.1f MiB for a target of %.1f MiB: the target was kept", float64(peak)/(1<<20), float64(content)/(1<<20))
	}
}
