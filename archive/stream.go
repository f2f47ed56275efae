package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
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
	if err := ctx.Err(); err != nil {
		return nil, wrap("write", err)
	}
	if err := w.spoolBuf.Flush(); err != nil {
		return nil, wrap("flush temporary file", err)
	}
	m := w.manifest()
	mb, err := encodeManifest(m)
	if err != nil {
		return nil, wrap("encode manifest", err)
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

// encode writes the whole archive (manifest, then the spooled entries in
// path order) to out and returns its size. It is the byte-for-byte same
// stream Close writes to a file.
func (w *Writer) encode(ctx context.Context, m *Manifest, mb []byte, out io.Writer) (int64, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("archive %s: %s: %w", w.path, what, err) }
	counter := &countWriter{w: out}
	bw := bufio.NewWriterSize(counter, 256<<10)
	zw, err := newEncoder(bw)
	if err != nil {
		return 0, wrap("start zstd", err)
	}
	defer zw.Close()
	tw := tar.NewWriter(zw)
	mtime := headerTime(m.CreatedAt)
	header := func(name string, size int64) *tar.Header {
		h := &tar.Header{Name: name, Size: size, Mode: fileMode, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if size < 0 {
			h.Size, h.Mode, h.Typeflag = 0, dirMode, tar.TypeDir
		}
		return h
	}
	if err := tw.WriteHeader(header(manifestName, int64(len(mb)))); err != nil {
		return 0, wrap("write manifest", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return 0, wrap("write manifest", err)
	}
	prev := ""
	emitted := make(map[string]bool)
	put := func(name string, size int64) error {
		if name <= prev {
			return fmt.Errorf("entry %s out of order after %s", name, prev)
		}
		prev = name
		return tw.WriteHeader(header(name, size))
	}
	h := sha256.New()
	var sum [sha256.Size]byte
	buf := make([]byte, 64<<10)
	for _, f := range w.files {
		if err := ctx.Err(); err != nil {
			return 0, wrap("write", err)
		}
		for _, d := range parentDirs(f.path) {
			if !emitted[d] {
				emitted[d] = true
				if err := put(d, -1); err != nil {
					return 0, wrap("write "+d, err)
				}
			}
		}
		if err := put(f.path, f.size); err != nil {
			return 0, wrap("write "+f.path, err)
		}
		h.Reset()
		if _, err := io.CopyBuffer(io.MultiWriter(tw, h), io.NewSectionReader(w.spool, f.off, f.size), buf); err != nil {
			return 0, wrap("write "+f.path, err)
		}
		if !bytes.Equal(h.Sum(sum[:0]), f.sum[:]) {
			return 0, wrap("write "+f.path, errors.New("the temporary spool file changed on disk while being copied; check the disk and retry"))
		}
	}
	if err := tw.Close(); err != nil {
		return 0, wrap("finish tar", err)
	}
	if err := zw.Close(); err != nil {
		return 0, wrap("finish zstd", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, wrap("write", err)
	}
	return counter.n, nil
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
	return rd.readAll()
}

// VerifyReader checks an archive read from r, as Verify checks a file.
func VerifyReader(r io.Reader, name string, opts ReadOptions) []Problem {
	return verify(r, name, opts)
}
