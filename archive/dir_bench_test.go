package archive

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func writeDirBench(b *testing.B, dir string, cs []*Connector) {
	ctx := context.Background()
	w, err := CreateDir(ctx, dir, fixtureMeta())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	for _, c := range cs {
		if err := w.Add(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDirWrite writes the benchmark snapshot into an empty directory:
// every file is new (temporary file, fsync, rename).
func BenchmarkDirWrite(b *testing.B) {
	cs, size := benchConnectors()
	b.SetBytes(size)
	b.ReportAllocs()
	parent := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp(parent, "w")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		writeDirBench(b, dir, cs)
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}

// BenchmarkDirRewriteUnchanged is the nightly export of an unchanged tenant
// into its Git working tree: every file is compared and none written.
func BenchmarkDirRewriteUnchanged(b *testing.B) {
	cs, size := benchConnectors()
	dir := filepath.Join(b.TempDir(), "snap")
	writeDirBench(b, dir, cs)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		writeDirBench(b, dir, cs)
	}
}

// BenchmarkDirRead opens the directory (listing and hashing every file) and
// reads every connector (reading and rechecking every file), as diff and
// restore do.
func BenchmarkDirRead(b *testing.B) {
	cs, size := benchConnectors()
	dir := filepath.Join(b.TempDir(), "snap")
	writeDirBench(b, dir, cs)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		r, err := OpenDir(dir, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			c, err := r.Next()
			if err != nil {
				break
			}
			n += len(c.Detail)
		}
		r.Close()
		if n == 0 {
			b.Fatal("read nothing")
		}
	}
}
