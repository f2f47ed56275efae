package archive

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
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

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkWrite reports write throughput over the uncompressed content, the
// compression ratio, and how far the heap grew above the in-memory input
// while writing (the writer's own memory).
func BenchmarkWrite(b *testing.B) {
	cs, size := benchConnectors()
	dir := b.TempDir()
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	var archiveSize int64
	var peak uint64
	for i := 0; b.Loop(); i++ {
		path := filepath.Join(dir, "bench.tar.zst")
		runtime.GC()
		base := heapInUse()
		w, err := Create(ctx, path, fixtureMeta())
		if err != nil {
			b.Fatal(err)
		}
		for j, c := range cs {
			if err := w.Add(ctx, c); err != nil {
				b.Fatal(err)
			}
			if j%40 == 0 {
				peak = max(peak, heapInUse()-min(base, heapInUse()))
			}
		}
		if _, err := w.Close(ctx); err != nil {
			b.Fatal(err)
		}
		peak = max(peak, heapInUse()-min(base, heapInUse()))
		archiveSize = w.Size()
	}
	b.ReportMetric(float64(size)/float64(archiveSize), "ratio")
	b.ReportMetric(float64(archiveSize)/1e6, "archive-MB")
	b.ReportMetric(float64(peak)/(1<<20), "writer-heap-MiB")
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
	b.ReportMetric(float64(size)/float64(st.Size()), "ratio")
}

// BenchmarkVerify is `connvault verify`: read and check without keeping
// anything.
func BenchmarkVerify(b *testing.B) {
	cs, size := benchConnectors()
	path := filepath.Join(b.TempDir(), "bench.tar.zst")
	writeArchive(b, path, fixtureMeta(), cs)
	b.SetBytes(size)
	for b.Loop() {
		if ps := Verify(path, ReadOptions{}); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
}
