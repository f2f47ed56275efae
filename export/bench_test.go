package export

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
)

// BenchmarkExportSandbox exports 300 synthetic connectors (three 20 KB
// documents, three locales) from an in-process sandbox into an archive. It
// measures the CPU cost of the whole path; wall time under latency and rate
// limits is measured by `go run ./tools/bench`.
func BenchmarkExportSandbox(b *testing.B) {
	srv, err := sandbox.Start(context.Background(), "", sandbox.Options{Empty: true, Synthetic: 300, DocSize: 20 << 10, Locales: 3})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	var bytes int64
	for b.Loop() {
		w, err := archive.Create(context.Background(), filepath.Join(dir, "x.tar.zst"), archive.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := Run(context.Background(), client, Options{Concurrency: 16}, func(c *archive.Connector) error {
			return w.Add(context.Background(), c)
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		bytes = res.Bytes
	}
	b.SetBytes(bytes)
}
