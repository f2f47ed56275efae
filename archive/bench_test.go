package archive

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/connvault/connvault/internal/cputime"
)

// The benchmarks behind docs/performance.md ("Archive"):
//
//	go test ./archive -run '^$' -bench . -benchtime 5x
//
// The snapshot is about 50 MB of XML, JSON and properties text (synth_test.go).
var (
	benchOnce sync.Once
	benchSnap []*Connector
	benchSize int64
)

func benchConnectors() ([]*Connector, int64) {
	benchOnce.Do(func() {
		benchSnap = synthConnectors(240, 64<<10)
		benchSize = contentSize(benchSnap)
	})
	return benchSnap, benchSize
}

// reportCPU adds content megabytes per CPU second (all of the process's
// threads: encoder, GC, I/O system time).
func reportCPU(b *testing.B, size int64, start time.Duration) {
	if used := cputime.Process() - start; used > 0 && start > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/used.Seconds(), "MB/cpu-s")
	}
}

// liveHeap is the heap that survives a collection: what is really retained.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// samplingCtx calls sample on every n-th Err: the writer asks its context
// once per connector in Add and once per entry in Close, which gives
// measurement points inside Close too.
type samplingCtx struct {
	context.Context
	n, calls int
	sample   func()
}

func (c *samplingCtx) Err() error {
	if c.calls++; c.calls%c.n == 0 {
		c.sample()
	}
	return nil
}

// BenchmarkWrite reports write throughput over the uncompressed content and
// the compression ratio.
func BenchmarkWrite(b *testing.B) {
	cs, size := benchConnectors()
	dir := b.TempDir()
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	var archiveSize int64
	start := cputime.Process()
	for b.Loop() {
		w, err := Create(ctx, filepath.Join(dir, "bench.tar.zst"), fixtureMeta())
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cs {
			if err := w.Add(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		archiveSize = w.Size()
	}
	reportCPU(b, size, start)
	b.ReportMetric(float64(size)/float64(archiveSize), "ratio")
	b.ReportMetric(float64(archiveSize)/1e6, "archive-MB")
}

// BenchmarkWriterMemory reports the most live heap the writer held above its
// in-memory input (after a collection, every 100 connectors in Add and every
// 100 entries in Close), for ten times more connectors in the second case:
// only the entry list and the manifest (about 600 bytes per file, at Close)
// may grow with their number.
func BenchmarkWriterMemory(b *testing.B) {
	for _, tc := range []struct{ n, doc int }{{240, 64 << 10}, {2400, 4 << 10}} {
		b.Run(fmt.Sprintf("connectors=%d", tc.n), func(b *testing.B) {
			cs := synthConnectors(tc.n, tc.doc)
			dir := b.TempDir()
			var peak uint64
			for b.Loop() {
				base := liveHeap()
				ctx := &samplingCtx{Context: context.Background(), n: 100, sample: func() {
					l := liveHeap()
					peak = max(peak, l-min(base, l))
				}}
				w, err := Create(ctx, filepath.Join(dir, "bench.tar.zst"), fixtureMeta())
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range cs {
					if err := w.Add(ctx, c); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := w.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "writer-live-MiB")
			b.ReportMetric(float64(contentSize(cs))/1e6, "content-MB")
		})
	}
}

// BenchmarkRead streams the archive with Next (one connector in memory at a
// time), checking every entry, as diff and restore do.
func BenchmarkRead(b *testing.B) {
	cs, size := benchConnectors()
	path := filepath.Join(b.TempDir(), "bench.tar.zst")
	writeArchive(b, path, fixtureMeta(), cs)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		r, err := Open(path, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != len(cs) {
			b.Fatalf("read %d connectors, wrote %d", n, len(cs))
		}
	}
	reportCPU(b, size, start)
	b.ReportMetric(float64(size)/float64(st.Size()), "ratio")
}

// BenchmarkVerify is `connvault verify`: read and check without keeping
// anything.
func BenchmarkVerify(b *testing.B) {
	cs, size := benchConnectors()
	path := filepath.Join(b.TempDir(), "bench.tar.zst")
	writeArchive(b, path, fixtureMeta(), cs)
	b.SetBytes(size)
	start := cputime.Process()
	for b.Loop() {
		if ps := Verify(path, ReadOptions{}); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
	reportCPU(b, size, start)
}
