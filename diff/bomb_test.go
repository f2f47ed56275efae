package diff

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/internal/heappeak"
)

// bombSnapshot is the shape of the hostile archive,
// scaled down: n connectors whose details are padded to padMiB MiB of '0's,
// which compress to almost nothing. scriptNames start with prefix; the
// names, which connectors are matched by, do not depend on it.
func bombSnapshot(n, padMiB int, prefix string, changed int) *archive.Snapshot {
	s := &archive.Snapshot{}
	for i := range n {
		pad := strings.Repeat("0", padMiB<<20)
		if i == changed {
			pad = pad[:len(pad)-1] + "1"
		}
		sn := fmt.Sprintf("%s%02d", prefix, i)
		d := fmt.Sprintf(`{"name":"Bomb %02d","pad":%q,"scriptName":%q}`+"\n", i, pad, sn)
		s.Connectors = append(s.Connectors, &archive.Connector{ScriptName: sn, Detail: []byte(d)})
	}
	return s
}

// TestCompareSourcesMemoryBoundedByWindow: two archives that expand to
// 128 MiB each (64 details of 2 MiB, a few KB compressed), whose connectors
// share no scriptName, so lock-step cannot pair them as they are read and
// all of A waits for B. diff must hold a window of them, not the archives:
// before, diff read both archives whole (the 39 KB archive
// took 1 GiB).
func TestCompareSourcesMemoryBoundedByWindow(t *testing.T) {
	dir := t.TempDir()
	pa := writeArchive(t, dir, "a.tar.zst", bombSnapshot(64, 2, "a-", -1))
	pb := writeArchive(t, dir, "b.tar.zst", bombSnapshot(64, 2, "b-", 7))
	defer debug.SetGCPercent(debug.SetGCPercent(20)) // keep the heap close to what is live

	stop := heappeak.Watch()
	r, err := CompareSources(context.Background(), FileSource(pa, archive.ReadOptions{}), FileSource(pb, archive.ReadOptions{}), Options{Window: 8 << 20, ChangesOnly: true})
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Summary.Connectors; s.Changed != 1 || s.Unchanged != 63 {
		t.Fatalf("summary %+v, want 1 changed (Bomb 07) and 63 unchanged", s)
	}
	if c := r.Connectors[7]; c.Name != "Bomb 07" || c.Status != StatusChanged || len(c.Changes) != 1 || c.Changes[0].Field != "pad" {
		t.Errorf("connector 7: %+v, want Bomb 07 changed in pad", c)
	}
	const expanded = 2 * 64 * 2 << 20
	t.Logf("peak heap %.1f MiB for %d MiB of expanded content", float64(peak)/(1<<20), expanded>>20)
	// Live at the peak (heap profile): the window (8 MiB), the connectors
	// in flight (a few of 2 MiB per side) and the two zstd decoders' 8 MiB
	// histories, about 40 MiB, plus garbage not yet collected. Reading the
	// archives whole would hold all 256.
	if peak > 80<<20 {
		t.Errorf("peak heap %.1f MiB while comparing archives that expand to %d MiB: memory must be bounded by the window, not by the archives",
			float64(peak)/(1<<20), expanded>>20)
	}
}

// TestLiveSideHeldBackToTheWindow: a side that cannot be read again (a
// live tenant) and comes in another order than an archive's, faster than
// the archive is read: its connectors waiting for a partner are held to
// the window (that side waits while the archive catches up) instead of
// piling up. Before, a directory compared with a tenant held all of the
// tenant (1.8 GB at 5,000 connectors).
func TestLiveSideHeldBackToTheWindow(t *testing.T) {
	dir := t.TempDir()
	pa := writeArchive(t, dir, "a.tar.zst", bombSnapshot(64, 2, "a-", -1))
	live := Source{Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		// Reverse order, made one at a time: nothing of it is in memory but
		// what diff keeps.
		for i := 63; i >= 0; i-- {
			c := bombSnapshot(1, 2, "b-", -1).Connectors[0]
			c.ScriptName = fmt.Sprintf("b-%02d", i)
			c.Detail = []byte(strings.Replace(string(c.Detail), "Bomb 00", fmt.Sprintf("Bomb %02d", i), 1))
			c.Detail = []byte(strings.Replace(string(c.Detail), `"b-00"`, fmt.Sprintf("%q", c.ScriptName), 1))
			if err := emit(c); err != nil {
				return err
			}
		}
		return nil
	}}
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	stop := heappeak.Watch()
	// The archive side is slow (a directory read file by file), so the live
	// side runs ahead of it.
	file := FileSource(pa, archive.ReadOptions{})
	slow := file
	slow.Each = func(ctx context.Context, emit func(*archive.Connector) error) error {
		return file.Each(ctx, func(c *archive.Connector) error {
			time.Sleep(10 * time.Millisecond)
			return emit(c)
		})
	}
	r, err := CompareSources(context.Background(), slow, live, Options{Window: 8 << 20, ChangesOnly: true})
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Summary.Connectors; s.Unchanged != 64 {
		t.Fatalf("summary %+v, want 64 unchanged", s)
	}
	t.Logf("peak heap %.1f MiB for 2 × 128 MiB of content", float64(peak)/(1<<20))
	// Held back: the window (8 MiB), a few 2 MiB connectors in flight, the
	// decoder; not held back, the live side piles up (about 90 MiB here).
	if peak > 64<<20 {
		t.Errorf("peak heap %.1f MiB: the live side was not held back to the window", float64(peak)/(1<<20))
	}
}
