package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// CloseTo finishes the archive like Close but writes it to a stream instead
// of a file: create is called with a context, the archive's hex SHA-256 and
// its size, and returns where the archive goes (an object-store upload, for
// instance). The SHA-256 is known before the first byte is sent because the
// output is deterministic: the archive is encoded once into a hash, then
// again into the stream, and the second pass must hash the same.
//
// The stream must commit only on a Close whose context was not cancelled:
// on any failure CloseTo cancels that context before closing it, so nothing
// appears at the destination. The spool file is removed either way. The
// Writer's own path is then only where its spool file lives.
func (w *Writer) CloseTo(ctx context.Context, create func(ctx context.Context, sha256Hex string, size int64) (io.WriteCloser, error)) (*Manifest, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	m, err := w.stream(ctx, create)
	if err != nil {
		return nil, w.fail(err)
	}
	w.closed = true
	if err := w.cleanup(); err != nil {
		return nil, fmt.Errorf("archive %s: remove temporary file: %w", w.path, err)
	}
	return m, nil
}

func (w *Writer) stream(ctx context.Context, create func(context.Context, string, int64) (io.WriteCloser, error)) (*Manifest, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("archive %s: %s: %w", w.path, what, err) }
	m, mb, err := w.finish(ctx)
	if err != nil {
		return nil, err
	}

	first := sha256.New()
	size, err := w.encode(ctx, m, mb, first)
	if err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(first.Sum(nil))

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dst, err := create(sctx, sum, size)
	if err != nil {
		return nil, wrap("open destination", err)
	}
	second := sha256.New()
	n, err := w.encode(ctx, m, mb, io.MultiWriter(dst, second))
	if err == nil && (n != size || hex.EncodeToString(second.Sum(nil)) != sum) {
		err = wrap("write", errors.New("the archive encoded differently on the second pass (the spool file changed on disk?); nothing was stored, retry"))
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		_ = dst.Close() // aborts: its context is cancelled
		return nil, err
	}
	if err := dst.Close(); err != nil {
		return nil, wrap("commit", err)
	}
	w.size = size
	return m, nil
}

// OpenReader reads an archive from r (for example an object-store download)
// as Open reads a file; name is what errors call it. Closing the Reader
// does not close r.
func OpenReader(r io.Reader, name string, opts ReadOptions) (*Reader, error) {
	return newReader(r, name, opts)
}

// ReadAll reads and checks a whole archive from r into memory, as ReadFile.
func ReadAll(r io.Reader, name string, opts ReadOptions) (*Snapshot, error) {
	rd, err := newReader(r, name, opts)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return readAll(rd)
}

// VerifyReader checks an archive read from r, as Verify checks a file.
func VerifyReader(r io.Reader, name string, opts ReadOptions) []Problem {
	return verify(r, name, opts)
}
