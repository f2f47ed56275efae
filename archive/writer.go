package archive

import (
	"archive/tar"
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/connvault/connvault/internal/iocount"
)

// The encoder settings are part of what makes output byte-for-byte
// reproducible (with the zstd version pinned in go.mod): a fixed level, one
// encoder goroutine (concurrent blocks would make output depend on timing-free
// but GOMAXPROCS-dependent job splitting), the frame checksum on.
func newEncoder(w io.Writer) (*zstd.Encoder, error) {
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),
		zstd.WithZeroFrames(true),
	)
}

const (
	fileMode = 0o644 // tar header mode of file entries
	dirMode  = 0o755 // tar header mode of directory entries
)

// Writer writes one archive. Connectors are spooled to a temporary file beside
// the destination as they are added, so memory holds only their entry list
// (path, size, hash; with the manifest at Close, about 600 bytes per file),
// never their content. On Close the manifest, which must come first, is
// written and the spooled entries follow it in path order into a second
// temporary file that is then fsynced and renamed over the destination.
//
// A Writer is not safe for concurrent use; to stop it from elsewhere, cancel
// the context passed to Add or Close. Always `defer w.Abort()`.
type Writer struct {
	path string
	dir  string
	snapshotMeta

	spool    *os.File
	spoolBuf *bufio.Writer
	spoolOff int64
	files    []spooled
	frames   []frame
	enc      *zstd.Encoder // reused for every connector's frame
	names    map[string]struct{}
	// limitCheck keeps the archive within a default reader's limits, so
	// that it stays readable (limits.go).
	limitCheck

	tmpName string // the final temporary file, while Close writes it
	replace Replace
	size    int64
	closed  bool // committed or aborted
	err     error
}

type spooled struct {
	path string
	size int64
	sum  [sha256.Size]byte
}

// frame is one connector's tar entries, compressed as one zstd frame in the
// spool. A tar.zst may be any sequence of zstd frames (they decompress to the
// concatenation), and a connector's entries are contiguous in path order, so
// Close only copies frames in order behind the manifest: compression happens
// in Add, while the export is still waiting on the network, and a streamed
// archive (CloseTo) that is encoded twice costs two copies, not two
// compressions.
type frame struct {
	key  string // "connectors/<scriptName>/": frames sort by it as their entries sort by path
	off  int64
	size int64
	crc  uint32 // rechecked when copying out of the spool
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Create starts an archive that Close will write to path. The temporary files
// live in path's directory (so the final rename is atomic) and are named
// ".<base>.<host>-<pid>-*.spool" and ".<base>.<host>-<pid>-*.tmp", base cut
// short (see TempPrefix and tempPattern). An
// existing file at path is replaced only when Close succeeds.
func Create(ctx context.Context, path string, meta Meta) (*Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create archive %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("create archive %s: it is a directory; give a file name ending in .tar.zst", path)
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	spool, err := os.CreateTemp(dir, tempPattern(base, spoolSuffix))
	if err != nil {
		return nil, fmt.Errorf("create archive %s: %w", path, err)
	}
	enc, err := newEncoder(nil)
	if err != nil {
		spool.Close()
		os.Remove(spool.Name())
		return nil, fmt.Errorf("create archive %s: start zstd: %w", path, err)
	}
	return &Writer{
		enc:          enc,
		path:         path,
		dir:          dir,
		snapshotMeta: newSnapshotMeta(meta),
		spool:        spool,
		spoolBuf:     bufio.NewWriterSize(spool, 256<<10),
		names:        make(map[string]struct{}),
		limitCheck:   limitCheck{limits: defaultLimits},
	}, nil
}

// Add spools one connector. A connector that cannot be archived (bad
// scriptName or locale, no detail, already added) is refused with an error and
// the writer stays usable; an I/O error or a cancelled context ends the
// writer and removes its temporary files.
func (w *Writer) Add(ctx context.Context, c *Connector) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return w.fail(fmt.Errorf("archive %s: %w", w.path, err))
	}
	if c == nil {
		return fmt.Errorf("archive %s: nil connector", w.path)
	}
	if err := checkConnector(w.path, archiveWords, c, w.names); err != nil {
		return refuse(err)
	}
	files := connectorFiles(c)
	if err := w.checkEntries(w.path, archiveWords, c, files); err != nil {
		return err
	}
	fr, err := w.writeFrame(connectorsDir+c.ScriptName+"/", files)
	if err != nil {
		return w.fail(fmt.Errorf("archive %s: spool connector %q: %w", w.path, c.ScriptName, err))
	}
	for _, f := range files {
		w.files = append(w.files, spooled{path: f.path, size: int64(len(f.data)), sum: sha256.Sum256(f.data)})
	}
	w.frames = append(w.frames, fr)
	w.names[c.ScriptName] = struct{}{}
	return nil
}

// writeFrame compresses one connector's tar entries (its directories, then
// its files in path order, without the end-of-archive marker) as one zstd
// frame appended to the spool.
func (w *Writer) writeFrame(key string, files []file) (frame, error) {
	fr := frame{key: key, off: w.spoolOff}
	crc := crc32.New(castagnoli)
	counter := &iocount.Writer{W: io.MultiWriter(w.spoolBuf, crc)}
	w.enc.Reset(counter)
	tw := tar.NewWriter(w.enc)
	header := tarHeader(headerTime(w.meta.CreatedAt))
	emitted := map[string]bool{connectorsDir: true} // the manifest's frame holds "connectors/"
	for _, f := range files {
		for _, d := range parentDirs(f.path) {
			if !emitted[d] {
				emitted[d] = true
				if err := tw.WriteHeader(header(d, -1)); err != nil {
					return fr, err
				}
			}
		}
		if err := tw.WriteHeader(header(f.path, int64(len(f.data)))); err != nil {
			return fr, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return fr, err
		}
	}
	// Flush pads the last entry; Close would add the end marker, which only
	// the archive's last frame carries.
	if err := tw.Flush(); err != nil {
		return fr, err
	}
	if err := w.enc.Close(); err != nil {
		return fr, err
	}
	fr.size, fr.crc = counter.N, crc.Sum32()
	w.spoolOff += counter.N
	return fr, nil
}

// tarHeader makes the fixed-field headers of every entry: regular files
// 0644, directories (size < 0) 0755, one mtime, no owner.
func tarHeader(mtime time.Time) func(name string, size int64) *tar.Header {
	return func(name string, size int64) *tar.Header {
		h := &tar.Header{Name: name, Size: size, Mode: fileMode, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if size < 0 {
			h.Size, h.Mode, h.Typeflag = 0, dirMode, tar.TypeDir
		}
		return h
	}
}

// encode writes the whole archive to out and returns its size: a frame with
// the manifest (and the "connectors/" directory), the connectors' frames in
// path order, and a last frame with the tar end marker. Close and CloseTo
// both write exactly this stream.
func (w *Writer) encode(ctx context.Context, m *Manifest, mb []byte, out io.Writer) (int64, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("archive %s: %s: %w", w.path, what, err) }
	counter := &iocount.Writer{W: out}
	bw := bufio.NewWriterSize(counter, 256<<10)
	// The encoder that compressed the connectors does the head and tail
	// frames too: a second one would double the writer's largest buffers.
	zw := w.enc
	zw.Reset(bw)
	tw := tar.NewWriter(zw)
	header := tarHeader(headerTime(m.CreatedAt))
	if err := tw.WriteHeader(header(manifestName, int64(len(mb)))); err != nil {
		return 0, wrap("write manifest", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return 0, wrap("write manifest", err)
	}
	if len(w.frames) > 0 {
		if err := tw.WriteHeader(header(connectorsDir, -1)); err != nil {
			return 0, wrap("write "+connectorsDir, err)
		}
	}
	if err := tw.Flush(); err != nil {
		return 0, wrap("write manifest", err)
	}
	if err := zw.Close(); err != nil {
		return 0, wrap("write manifest", err)
	}

	frames := slices.Clone(w.frames)
	slices.SortFunc(frames, func(a, b frame) int { return cmp.Compare(a.key, b.key) })
	buf := make([]byte, 256<<10)
	for _, f := range frames {
		if err := ctx.Err(); err != nil {
			return 0, wrap("write", err)
		}
		h := crc32.New(castagnoli)
		if _, err := io.CopyBuffer(io.MultiWriter(bw, h), io.NewSectionReader(w.spool, f.off, f.size), buf); err != nil {
			return 0, wrap("write "+f.key, err)
		}
		// The manifest's hashes must describe the bytes written: a spool
		// changed on disk is caught now, not when someone restores from
		// this backup.
		if h.Sum32() != f.crc {
			return 0, wrap("write "+f.key, errors.New("the temporary spool file changed on disk while being copied; check the disk and retry"))
		}
	}

	zw.Reset(bw)
	if err := tar.NewWriter(zw).Close(); err != nil {
		return 0, wrap("finish tar", err)
	}
	if err := zw.Close(); err != nil {
		return 0, wrap("finish zstd", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, wrap("write", err)
	}
	return counter.N, nil
}

// Close writes the archive and commits it atomically at the destination:
// temporary file fsynced, renamed, directory fsynced, mode 0600. On any error,
// or if ctx is cancelled, nothing is left at the destination (an existing file
// there is untouched) and the temporary files are removed.
func (w *Writer) Close(ctx context.Context) (*Manifest, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	m, err := w.commit(ctx)
	if err != nil {
		return nil, w.fail(err)
	}
	w.closed = true
	return m, nil
}

// Size is the size in bytes of the committed archive (0 before Close).
func (w *Writer) Size() int64 { return w.size }

// Abort removes the temporary files and ends the writer. It is safe to call
// more than once and after Close (then it does nothing).
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.err == nil {
		w.err = fmt.Errorf("archive %s: writer aborted", w.path)
	}
	return w.cleanup()
}

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("archive %s: writer already closed", w.path)
	}
	return nil
}

// fail ends the writer: it keeps err for later calls and removes the
// temporary files.
func (w *Writer) fail(err error) error {
	w.err = err
	w.closed = true
	if cerr := w.cleanup(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

func (w *Writer) cleanup() error {
	var errs []error
	if w.spool != nil {
		w.spool.Close()
		if err := os.Remove(w.spool.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove temporary file: %w", err))
		}
		w.spool = nil
	}
	if w.tmpName != "" {
		if err := os.Remove(w.tmpName); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove temporary file: %w", err))
		}
		w.tmpName = ""
	}
	return errors.Join(errs...)
}

// headerTime is the mtime of every tar header: createdAt to the second, or
// the epoch when it is unset or earlier.
func headerTime(createdAt time.Time) time.Time {
	if createdAt.IsZero() || createdAt.Unix() < 0 {
		return time.Unix(0, 0).UTC()
	}
	return createdAt.UTC().Truncate(time.Second)
}

func (w *Writer) manifest() *Manifest {
	slices.SortStableFunc(w.files, func(a, b spooled) int { return cmp.Compare(a.path, b.path) })
	entries := make([]Entry, len(w.files))
	for i, f := range w.files {
		entries[i] = Entry{Path: f.path, Size: f.size, SHA256: hex.EncodeToString(f.sum[:])}
	}
	return &Manifest{
		Format:         FormatName,
		FormatVersion:  MaxVersion,
		Meta:           w.manifestMeta(),
		ConnectorCount: len(w.names),
		Entries:        entries,
		ContentDigest:  ContentDigest(entries),
	}
}

// encodeManifest is the manifest.json bytes: two-space indented JSON and a
// newline, fields in struct order, so equal manifests give equal bytes.
func encodeManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// finish flushes the spool and makes the manifest and its bytes: the first
// step of Close and CloseTo alike.
func (w *Writer) finish(ctx context.Context) (*Manifest, []byte, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("archive %s: %s: %w", w.path, what, err) }
	if err := ctx.Err(); err != nil {
		return nil, nil, wrap("write", err)
	}
	if err := w.spoolBuf.Flush(); err != nil {
		return nil, nil, wrap("flush temporary file", err)
	}
	m := w.manifest()
	mb, err := encodeManifest(m)
	if err != nil {
		return nil, nil, wrap("encode manifest", err)
	}
	if err := w.checkManifest(mb); err != nil {
		return nil, nil, err
	}
	return m, mb, nil
}

func (w *Writer) commit(ctx context.Context) (*Manifest, error) {
	wrap := func(what string, err error) error { return fmt.Errorf("archive %s: %s: %w", w.path, what, err) }
	m, mb, err := w.finish(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(w.dir, tempPattern(filepath.Base(w.path), tmpSuffix))
	if err != nil {
		return nil, wrap("create temporary file", err)
	}
	w.tmpName = tmp.Name()
	defer tmp.Close() // after the explicit Close below this only returns an ignored error

	size, err := w.encode(ctx, m, mb, tmp)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap("write", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return nil, wrap("chmod", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, wrap("fsync", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, wrap("close", err)
	}
	if err := w.place(); err != nil {
		return nil, wrap("put into place", err)
	}
	w.size = size
	// The rename is durable only once the directory is synced. The archive is
	// complete and in place either way, so a failure here is reported but the
	// file is left: removing it would lose a good backup.
	if err := syncDir(w.dir); err != nil {
		w.cleanup()
		return nil, wrap("fsync directory (the archive is written but may not survive a crash)", err)
	}
	if err := w.cleanup(); err != nil {
		return nil, wrap("remove temporary file", err)
	}
	return m, nil
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // Windows cannot flush a directory handle (FlushFileBuffers is denied)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
