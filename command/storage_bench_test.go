package command

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/tools/s3test"
)

// BenchmarkExportTarget exports the same tenant (300 synthetic connectors
// with 20 KB documents, no latency, no rate limit, so the archive's write is
// a visible share of the run) to a local file and to the local S3 server,
// where the archive is encoded for its SHA-256, then streamed over HTTP.
// docs/performance.md has the figures.
func BenchmarkExportTarget(b *testing.B) {
	s3 := s3test.Start(b)
	srv, err := sandbox.Start(context.Background(), "", sandbox.Options{Synthetic: 300})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	for _, tc := range []struct{ name, out string }{
		{"disk", filepath.Join(b.TempDir(), "bench.tar.zst")},
		{"s3", "s3://bench/nightly/bench.tar.zst?" + s3.Query()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if err := os.MkdirAll(filepath.Join(s3.Root, "bench"), 0o755); err != nil {
				b.Fatal(err)
			}
			args := append([]string{"export", "--output", tc.out, "--force", "--progress", "never"}, tenantArgs(srv)...)
			for b.Loop() {
				var stderr strings.Builder
				if code := run(context.Background(), append([]string{"connvault"}, args...), strings.NewReader(""), io.Discard, &stderr); code != 0 {
					b.Fatalf("export: exit %d\n%s", code, stderr.String())
				}
			}
		})
	}
}

// BenchmarkArchiveWrite isolates what the destination changes: the same
// snapshot (the tenant above, read back from a first export) is written
// with archivestore.Create, Add and archivestore.Commit to a local file and to the local
// S3 server.
func BenchmarkArchiveWrite(b *testing.B) {
	s3 := s3test.Start(b)
	srv, err := sandbox.Start(context.Background(), "", sandbox.Options{Synthetic: 300})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	first := filepath.Join(b.TempDir(), "first.tar.zst")
	var stderr strings.Builder
	if code := run(context.Background(), append([]string{"connvault", "export", "--output", first}, tenantArgs(srv)...), strings.NewReader(""), io.Discard, &stderr); code != 0 {
		b.Fatalf("export: exit %d\n%s", code, stderr.String())
	}
	snap, err := archive.ReadFile(first, archive.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var content int64
	for _, c := range snap.Connectors {
		content += int64(len(c.Detail) + len(c.SourceConfig) + len(c.SourceTemplate) + len(c.CorrelationConfig))
		for _, t := range c.Translations {
			content += int64(len(t))
		}
	}
	ctx := context.Background()
	for _, tc := range []struct{ name, out string }{
		{"disk", filepath.Join(b.TempDir(), "bench.tar.zst")},
		{"s3", s3.URL(b, "bench", "w")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var loc *storage.Location
			path, name := tc.out, ""
			if storage.IsBucket(tc.out) {
				if loc, err = storage.Open(ctx, tc.out); err != nil {
					b.Fatal(err)
				}
				defer loc.Close()
				name = "bench.tar.zst"
				path = loc.Path(name)
			}
			b.SetBytes(content)
			var size int64
			for b.Loop() {
				w, err := archivestore.Create(ctx, loc, path, snap.Manifest.Meta)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range snap.Connectors {
					if err := w.Add(ctx, c); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := archivestore.Commit(ctx, w, loc, name); err != nil {
					b.Fatal(err)
				}
				size = w.Size()
			}
			b.ReportMetric(float64(size), "archive-bytes")
		})
	}
}
