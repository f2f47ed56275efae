package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// memDest is a stream destination that, like an object-store upload, keeps
// the bytes only when closed with its context still live.
type memDest struct {
	ctx       context.Context
	buf       bytes.Buffer
	committed []byte
	failAfter int // fail writes after this many bytes; 0: never
}

func (d *memDest) Write(p []byte) (int, error) {
	if d.failAfter > 0 && d.buf.Len()+len(p) > d.failAfter {
		return 0, errors.New("connection reset")
	}
	return d.buf.Write(p)
}

func (d *memDest) Close() error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	d.committed = bytes.Clone(d.buf.Bytes())
	return nil
}

func streamFixture(t *testing.T, dir string, dest *memDest, gotSum *string, gotSize *int64) (*Manifest, error) {
	t.Helper()
	ctx := context.Background()
	w, err := Create(ctx, filepath.Join(dir, "spool.tar.zst"), fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range fixtureConnectors() {
		if err := w.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return w.CloseTo(ctx, func(ctx context.Context, sum string, size int64) (io.WriteCloser, error) {
		dest.ctx = ctx
		*gotSum, *gotSize = sum, size
		return dest, nil
	})
}

// CloseTo streams exactly the bytes Close writes to a file, announces their
// SHA-256 and size before the first byte, and leaves no spool file.
func TestCloseToMatchesClose(t *testing.T) {
	dir := t.TempDir()
	fileM := writeArchive(t, filepath.Join(dir, "file.tar.zst"), fixtureMeta(), fixtureConnectors())
	want := readBytes(t, filepath.Join(dir, "file.tar.zst"))

	spoolDir := t.TempDir()
	dest := &memDest{}
	var sum string
	var size int64
	m, err := streamFixture(t, spoolDir, dest, &sum, &size)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dest.committed, want) {
		t.Fatalf("streamed archive (%d bytes) differs from the file archive (%d bytes)", len(dest.committed), len(want))
	}
	wantSum := sha256.Sum256(want)
	if sum != hex.EncodeToString(wantSum[:]) || size != int64(len(want)) {
		t.Errorf("announced sha256 %s size %d, want %x size %d", sum, size, wantSum, len(want))
	}
	if m.ContentDigest != fileM.ContentDigest || m.ContentDigest != fixtureDigest {
		t.Errorf("content digest %s, want %s", m.ContentDigest, fixtureDigest)
	}
	if left := listDir(t, spoolDir); len(left) != 0 {
		t.Errorf("spool directory not empty after CloseTo: %v", left)
	}
	snap, err := ReadAll(bytes.NewReader(dest.committed), "mem", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) != 2 || snap.Connectors[0].ScriptName != "acme-ldap" {
		t.Errorf("read back %d connectors", len(snap.Connectors))
	}
	if probs := VerifyReader(bytes.NewReader(dest.committed), "mem", ReadOptions{}); len(probs) != 0 {
		t.Errorf("VerifyReader: %v", probs)
	}
}

// A failing upload is aborted (its context cancelled before Close), so the
// destination keeps nothing, and the spool file is removed.
func TestCloseToFailureCommitsNothing(t *testing.T) {
	spoolDir := t.TempDir()
	dest := &memDest{failAfter: 100}
	var sum string
	var size int64
	_, err := streamFixture(t, spoolDir, dest, &sum, &size)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("connection reset")) {
		t.Fatalf("error %v, want the write failure", err)
	}
	if dest.committed != nil {
		t.Errorf("destination committed %d bytes after a failed write", len(dest.committed))
	}
	if left := listDir(t, spoolDir); len(left) != 0 {
		t.Errorf("spool directory not empty: %v", left)
	}
}

func TestVerifyReaderFindsDamage(t *testing.T) {
	dir := t.TempDir()
	writeArchive(t, filepath.Join(dir, "a.tar.zst"), fixtureMeta(), fixtureConnectors())
	b := readBytes(t, filepath.Join(dir, "a.tar.zst"))
	b = b[:len(b)-20]
	probs := VerifyReader(bytes.NewReader(b), "cut", ReadOptions{})
	if len(probs) == 0 {
		t.Fatal("truncated archive verified clean")
	}
	if !errors.Is(probs[0], ErrCorrupt) {
		t.Errorf("first problem %v is not ErrCorrupt", probs[0])
	}
}
