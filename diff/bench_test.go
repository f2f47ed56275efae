package diff

import (
	"context"
	"io"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/tools/realistic"
)

// benchSnapshots builds two snapshots of n realistic connectors (the
// sandbox's 20 KB documents and 3 locales, details of ~84 KB embedding
// them). B is a deep copy of A (distinct memory, as two archives read from
// disk would be) in which changed connectors, spread evenly, differ in a
// source-config line, a translation line or connectorMetadata, in turn.
func benchSnapshots(n, changed int) (*archive.Snapshot, *archive.Snapshot, int64) {
	g := realistic.New(n, 20<<10, 3)
	sa, sb := &archive.Snapshot{}, &archive.Snapshot{}
	var size int64
	step := n / changed
	for i := range n {
		c := g.Connector(i)
		size += int64(len(c.Detail) + len(c.SourceConfig) + len(c.SourceTemplate) + len(c.CorrelationConfig))
		for _, t := range c.Translations {
			size += int64(len(t))
		}
		c2 := realistic.Clone(c)
		if i%step == step/2 {
			c2 = realistic.Change(c, i/step)
		}
		sa.Connectors = append(sa.Connectors, c)
		sb.Connectors = append(sb.Connectors, c2)
	}
	return sa, sb, size
}

// BenchmarkCompareAndWriteText is the CPU of `connvault diff` between two
// 1,000-connector realistic archives that differ in 10, once read (reading
// is the archive package's benchmark; the whole command is the bench
// harness's diff1000 case): Compare plus the text output.
func BenchmarkCompareAndWriteText(b *testing.B) {
	a, bb, size := benchSnapshots(1000, 10)
	b.SetBytes(2 * size) // both sides are read
	b.ReportAllocs()
	for b.Loop() {
		r, err := Compare(a, bb, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if r.Summary.Connectors.Changed != 10 {
			b.Fatalf("changed = %d, want 10", r.Summary.Connectors.Changed)
		}
		if err := WriteText(io.Discard, r, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareSourcesUnordered is the same comparison with B streamed
// in another order than A (a live tenant's list order) through a small
// window, so that most of A is let go and compared by hash.
func BenchmarkCompareSourcesUnordered(b *testing.B) {
	a, bb, size := benchSnapshots(1000, 10)
	b.SetBytes(2 * size)
	b.ReportAllocs()
	rev := &archive.Snapshot{}
	for i := len(bb.Connectors) - 1; i >= 0; i-- {
		rev.Connectors = append(rev.Connectors, bb.Connectors[i])
	}
	src := func(s *archive.Snapshot, reread bool) Source {
		return Source{Reread: reread, Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
			for _, c := range s.Connectors {
				if err := emit(c); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	for b.Loop() {
		r, err := CompareSources(context.Background(), src(a, true), src(rev, false), Options{Window: 8 << 20})
		if err != nil {
			b.Fatal(err)
		}
		if r.Summary.Connectors.Changed != 10 {
			b.Fatalf("changed = %d, want 10", r.Summary.Connectors.Changed)
		}
	}
}
