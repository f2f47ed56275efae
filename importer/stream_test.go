package importer

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/internal/heappeak"
	"github.com/connvault/connvault/tools/realistic"
)

func writeArchive(t testing.TB, s *archive.Snapshot) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar.zst")
	w, err := archive.Create(context.Background(), p, archive.Meta{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Connectors {
		if err := w.Add(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlannerFromStreamMatchesInMemory: planning from the archive file,
// whose connectors the comparison lets go of (a window of one byte), and
// loading what is to be written, gives the plan NewPlan makes from the
// archive in memory, data included.
func TestPlannerFromStreamMatchesInMemory(t *testing.T) {
	arch := realistic.New(30, 4<<10, 2).Snapshot()
	// The target: 10 connectors as they are, 10 changed, one under another
	// name (mapped), the rest missing (created).
	target := &archive.Snapshot{}
	for i, c := range arch.Connectors[:21] {
		switch {
		case i < 10:
			target.Connectors = append(target.Connectors, realistic.Clone(c))
		case i < 20:
			target.Connectors = append(target.Connectors, realistic.Change(c, i))
		default:
			r := realistic.Clone(c)
			r.Detail = []byte(strings.Replace(string(r.Detail), `"name":"Synthetic Connector 00021"`, `"name":"Renamed"`, 1))
			target.Connectors = append(target.Connectors, r)
		}
	}
	opts := Options{Mapping: map[string]string{"Synthetic Connector 00021": "Renamed"}}
	want, err := NewPlan(arch, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want.Counts != (Counts{Create: 9, Update: 10, Unchanged: 11}) {
		t.Fatalf("in-memory plan counts %+v", want.Counts)
	}
	src := diff.FileSource(writeArchive(t, arch), archive.ReadOptions{})
	pl, err := newPlannerFrom(context.Background(), src, opts, 1) // a stream that lets go of every connector that waits
	if err != nil {
		t.Fatal(err)
	}
	if pl.src == nil {
		t.Fatal("the planner kept the archive although it exceeds the window")
	}
	if g, w := pl.TargetNames(), mustTargetNames(t, arch, opts); !reflect.DeepEqual(g, w) {
		t.Errorf("target names %v, want %v", g, w)
	}
	got, err := pl.Plan(context.Background(), diff.SnapshotSource(target))
	if err != nil {
		t.Fatal(err)
	}
	lazy := 0
	for _, c := range got.Connectors {
		for _, it := range c.Items {
			if it.lazy {
				lazy++
			}
		}
	}
	if lazy == 0 {
		t.Errorf("every create was planned with its content: the stream kept it")
	}
	if err := got.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range want.Connectors {
			if i < len(got.Connectors) && !reflect.DeepEqual(got.Connectors[i], want.Connectors[i]) {
				t.Errorf("connector %d: got %+v\nwant %+v", i, got.Connectors[i], want.Connectors[i])
				break
			}
		}
		t.Fatalf("the streamed plan differs from the in-memory one")
	}
}

func mustTargetNames(t *testing.T, arch *archive.Snapshot, opts Options) []string {
	t.Helper()
	n, err := TargetNames(arch, opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPlannerFromStreamMemoryBounded: restoring an archive whose 64
// details are 2 MiB each (scaled down: 128 MiB
// expanded, a few KB compressed) into an empty target plans and loads what
// it writes without holding the archive.
func TestPlannerFromStreamMemoryBounded(t *testing.T) {
	arch := &archive.Snapshot{}
	for i := range 64 {
		sn := fmt.Sprintf("bomb-%02d", i)
		d := fmt.Sprintf(`{"className":"sailpoint.connector.OpenConnectorAdapter","name":"Bomb %02d","pad":%q,"scriptName":%q,"type":"custom Bomb"}`+"\n",
			i, strings.Repeat("0", 2<<20), sn)
		arch.Connectors = append(arch.Connectors, &archive.Connector{ScriptName: sn, Detail: []byte(d), SourceConfig: []byte("<Form/>\n")})
	}
	src := diff.FileSource(writeArchive(t, arch), archive.ReadOptions{})
	arch = nil
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	stop := heappeak.Watch()
	pl, err := newPlannerFrom(context.Background(), src, Options{}, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pl.Plan(context.Background(), diff.SnapshotSource(&archive.Snapshot{}))
	if err == nil {
		err = p.Load(context.Background(), src)
	}
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts.Create != 64 || p.Writes() != 128 {
		t.Fatalf("counts %+v, %d writes; want 64 creates, each with its source-config", p.Counts, p.Writes())
	}
	t.Logf("peak heap %.1f MiB for 128 MiB of expanded content", float64(peak)/(1<<20))
	// Live at the peak: the window (4 MiB), a few 2 MiB connectors in flight
	// and the zstd decoder's 8 MiB history; reading the archive whole would
	// hold all 128.
	if peak > 40<<20 {
		t.Errorf("peak heap %.1f MiB while planning an archive that expands to 128 MiB: memory must be bounded by a window, not by the archive", float64(peak)/(1<<20))
	}
}

// TestPlanLoadRefusesAnotherArchive: the documents a plan writes come from
// the archive it was made from; when that file was replaced between
// planning and writing, Load says so instead of writing something else.
func TestPlanLoadRefusesAnotherArchive(t *testing.T) {
	arch := realistic.New(4, 2<<10, 1).Snapshot()
	src := diff.FileSource(writeArchive(t, arch), archive.ReadOptions{})
	pl, err := newPlannerFrom(context.Background(), src, Options{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pl.Plan(context.Background(), diff.SnapshotSource(&archive.Snapshot{}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts.Create != 4 {
		t.Fatalf("counts %+v, want 4 creates", p.Counts)
	}
	other := &archive.Snapshot{Connectors: arch.Connectors[1:]}
	err = p.Load(context.Background(), diff.FileSource(writeArchive(t, other), archive.ReadOptions{}))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the archive no longer has connector %q", arch.Connectors[0].ScriptName)) {
		t.Errorf("Load from another archive: err = %v, want the missing connector named", err)
	}
}

// TestPlannerFromSmallArchiveReadsItOnce: an archive that fits the window is
// planned from the one read that indexed it, each detail split once: the
// plan and its data need no further pass over the file.
func TestPlannerFromSmallArchiveReadsItOnce(t *testing.T) {
	arch := realistic.New(10, 2<<10, 1).Snapshot()
	file := diff.FileSource(writeArchive(t, arch), archive.ReadOptions{})
	passes := 0
	src := file
	src.Each = func(ctx context.Context, emit func(*archive.Connector) error) error {
		passes++
		return file.Each(ctx, emit)
	}
	pl, err := NewPlannerFrom(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pl.Plan(context.Background(), diff.SnapshotSource(&archive.Snapshot{Connectors: arch.Connectors[:3]}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	want, err := NewPlan(arch, &archive.Snapshot{Connectors: arch.Connectors[:3]}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("plan from the kept archive differs from NewPlan's")
	}
	if passes != 1 {
		t.Errorf("the archive was read %d times, want once", passes)
	}
}
