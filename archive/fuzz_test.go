package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// fuzzOpts keeps each fuzz input cheap while still exercising every limit.
var fuzzOpts = ReadOptions{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxEntries: 1000, MaxWindow: 1 << 20, MaxManifestSize: 1 << 20}

func fuzzSeeds(f *testing.F) [][]byte {
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.tar.zst"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed fixtures in %s: %v", fixtureDir, err)
	}
	var seeds [][]byte
	for _, p := range paths {
		seeds = append(seeds, readBytes(f, p))
	}
	return seeds
}

// checkRead is the property both fuzz targets check on one compressed input:
// reading never panics; every failure is an *Error with a kind; the strict
// reader fails exactly when Verify finds a problem, with the same first
// problem; and what reads cleanly writes back to the same content digest.
func checkRead(t *testing.T, data []byte) {
	const name = "fuzz.tar.zst"
	var snap *Snapshot
	r, err := newReader(bytes.NewReader(data), name, fuzzOpts)
	if err == nil {
		snap, err = readAll(r)
		r.Close()
	}
	problems := verify(bytes.NewReader(data), name, fuzzOpts)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) || ae.Kind == nil {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if len(problems) == 0 {
			t.Fatalf("the reader failed (%v) but Verify found nothing", err)
		}
		if problems[0].Error() != err.Error() {
			t.Fatalf("reader and Verify disagree:\nreader: %v\nverify: %v", err, problems[0])
		}
		return
	}
	if len(problems) != 0 {
		t.Fatalf("the reader succeeded but Verify found %v", problems)
	}
	path := filepath.Join(t.TempDir(), "again.tar.zst")
	ctx := context.Background()
	w, err := Create(ctx, path, snap.Manifest.Meta)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range snap.Connectors {
		if err := w.Add(ctx, c); err != nil {
			t.Fatalf("a connector the reader accepted cannot be written again: %v", err)
		}
	}
	m, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.ContentDigest != snap.Manifest.ContentDigest || m.ConnectorCount != snap.Manifest.ConnectorCount {
		t.Fatalf("rewritten archive has digest %s and %d connectors, the original %s and %d",
			m.ContentDigest, m.ConnectorCount, snap.Manifest.ContentDigest, snap.Manifest.ConnectorCount)
	}
}

// FuzzOpen feeds arbitrary files to the reader.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte(zstdMagic))
	f.Fuzz(checkRead)
}

// FuzzTarStream feeds arbitrary tar streams, compressed the way the writer
// compresses, so mutations reach the tar and manifest checks instead of
// mostly breaking the zstd layer.
func FuzzTarStream(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if tarBytes, err := decompress(s); err == nil {
			f.Add(tarBytes)
		}
	}
	f.Fuzz(func(t *testing.T, tarBytes []byte) {
		var buf bytes.Buffer
		zw, err := newEncoder(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(tarBytes); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		checkRead(t, buf.Bytes())
	})
}

// decompress returns a seed's tar stream, or an error for seeds that do not
// decompress to a small one (truncated, damaged, the bomb).
func decompress(b []byte) ([]byte, error) {
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(out) > 1<<20 {
		return nil, errors.New("too large for a seed")
	}
	return out, nil
}
