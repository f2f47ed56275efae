package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Default reader limits. They fit a 5,000-connector tenant with 100 KB XML
// documents and all 19 locales (about 115,000 entries and 6 GB) with room to
// spare, and any connector the API client can fetch: an entry may be twice
// the client's body cap (apiclient.DefaultMaxBodyBytes, 128 MiB), so a
// detail repeating several documents of tens of MiB is archived and read
// back (docs/archive-format.md, "Limits"). A hostile file still cannot make
// a reader use more than about MaxEntrySize + MaxWindow of memory per entry,
// or read more than the manifest accounts for. The writer applies the same
// limits, so an archive connvault writes is one it reads.
const (
	DefaultMaxEntrySize    = 256 << 20 // one file entry (a detail JSON holds every document again)
	DefaultMaxTotalSize    = 64 << 30  // sum of all file entries, uncompressed
	DefaultMaxEntries      = 500_000   // file entries listed in the manifest
	DefaultMaxWindow       = 32 << 20  // zstd window; connvault writes 8 MiB windows
	DefaultMaxManifestSize = 128 << 20 // manifest.json (about 200 bytes per entry)
)

// ReadOptions bounds what a reader accepts. A zero field takes its default.
type ReadOptions struct {
	MaxEntrySize    int64  // largest file entry
	MaxTotalSize    int64  // all file entries together, uncompressed
	MaxEntries      int    // file entries in the manifest
	MaxWindow       uint64 // zstd window size (decoder memory)
	MaxManifestSize int64  // manifest.json
}

func (o ReadOptions) withDefaults() (ReadOptions, error) {
	if o.MaxEntrySize < 0 || o.MaxTotalSize < 0 || o.MaxEntries < 0 || o.MaxManifestSize < 0 {
		return o, errors.New("archive: negative reader limit in ReadOptions")
	}
	if o.MaxEntrySize == 0 {
		o.MaxEntrySize = DefaultMaxEntrySize
	}
	if o.MaxTotalSize == 0 {
		o.MaxTotalSize = DefaultMaxTotalSize
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxWindow == 0 {
		o.MaxWindow = DefaultMaxWindow
	}
	if o.MaxWindow < zstd.MinWindowSize {
		o.MaxWindow = zstd.MinWindowSize
	}
	if o.MaxManifestSize == 0 {
		o.MaxManifestSize = DefaultMaxManifestSize
	}
	return o, nil
}

// Overheads used to bound the decompressed stream by what the manifest
// accounts for: a tar header block, a PAX header for a long or non-ASCII
// name, padding to 512 bytes, and slack for writers that pad the tar stream to
// a record size (GNU tar pads to 10 KiB).
const (
	blockSize     = 512
	manifestSlack = 64 << 10
	trailingSlack = 1 << 20
	maxProblems   = 1000
	zstdMagic     = "\x28\xb5\x2f\xfd"
)

func roundBlock(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// entryOverhead bounds the tar bytes around an entry's content.
func entryOverhead(name string) int64 {
	return 2*blockSize + roundBlock(int64(len(name))+64)
}

// limitReader counts the decompressed bytes and refuses to produce more than
// max: zstd's MaxMemory does not bound a stream, and this is what stops a
// small file that decompresses to gigabytes.
type limitReader struct {
	s   *scanner
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n >= l.max {
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			return 0, l.s.err("", ErrLimit, fmt.Sprintf(
				"the data decompresses to more than the %d bytes its manifest accounts for; "+
					"this is not an archive connvault wrote (possibly a decompression bomb): not reading further", l.max), nil)
		}
		return 0, l.s.zstdErr(err)
	}
	if rest := l.max - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, l.s.zstdErr(err)
}

// fileEntry is one checked file entry.
type fileEntry struct {
	path string
	pp   parsedPath
	data []byte
	// Until readData: the content's size and the manifest's SHA-256.
	size   int64
	sha256 string
	read   bool
}

// scanner walks an archive's tar stream and checks every entry against the
// manifest. In strict mode (collect == nil) the first problem is returned as
// an error; in collect mode problems that do not stop the stream are passed to
// collect and reading goes on.
type scanner struct {
	name    string
	opts    ReadOptions
	collect func(*Error)

	zr *zstd.Decoder
	lr *limitReader
	tr *tar.Reader

	m      *Manifest
	index  map[string]int // path -> position in m.Entries
	state  []uint8        // per manifest entry: unseen, seen, reported missing
	cursor int            // manifest entries before it are seen or reported
	dirs   map[string]bool
	prev   string
	count  int
	total  int64

	eof      bool
	finished bool
	finalErr error
}

const (
	unseen uint8 = iota
	seen
	missing
)

func (s *scanner) err(entry string, kind error, msg string, cause error) *Error {
	return newErr(s.name, entry, kind, msg, cause)
}

// problem reports a problem that does not break the stream: in strict mode
// it is returned, in collect mode it is recorded and nil is returned.
func (s *scanner) problem(e *Error) error {
	if s.collect == nil {
		return e
	}
	s.collect(e)
	return nil
}

// zstdErr turns decoder errors into *Error; io.EOF and nil pass through.
func (s *scanner) zstdErr(err error) error {
	var ae *Error
	switch {
	case err == nil || err == io.EOF || errors.As(err, &ae):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return s.err("", ErrTruncated, "the file ends in the middle of its compressed data: "+
			"it is incomplete (an interrupted copy or download?); copy it again or use another backup", err)
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return s.err("", ErrLimit, fmt.Sprintf("the compressed data needs a zstd window larger than the %d-byte limit; "+
			"connvault writes 8 MiB windows, so this file was recompressed or crafted: raise MaxWindow only if you trust it", s.opts.MaxWindow), err)
	case errors.Is(err, zstd.ErrCRCMismatch):
		return s.err("", ErrCorrupt, "the compressed data fails its checksum: the file was damaged after it was written; use another backup", err)
	default:
		return s.err("", ErrCorrupt, fmt.Sprintf("the compressed data is damaged (%v): the file was altered after it was written; use another backup", err), err)
	}
}

// tarErr turns tar reader errors into *Error.
func (s *scanner) tarErr(entry string, err error) error {
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return s.err(entry, ErrTruncated, "the archive ends in the middle of an entry: "+
			"it is incomplete (an interrupted copy or download?); copy it again or use another backup", err)
	default:
		return s.err(entry, ErrCorrupt, fmt.Sprintf("the tar stream is malformed (%v): the file was altered after it was written; use another backup", err), err)
	}
}

// newScanner starts reading r and reads and checks the manifest.
func newScanner(r io.Reader, name string, opts ReadOptions, collect func(*Error)) (*scanner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &scanner{name: name, opts: opts, collect: collect}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(len(zstdMagic))
	if string(magic) != zstdMagic {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read archive %s: %w", name, err)
		}
		what := "it is empty"
		if len(magic) > 0 {
			what = fmt.Sprintf("it starts with % x, not the zstd magic number", magic)
		}
		return nil, s.err("", ErrNotArchive, "not a zstd-compressed file ("+what+"); a connvault archive is a .tar.zst file written by connvault export", nil)
	}
	s.zr, err = zstd.NewReader(br,
		zstd.WithDecoderConcurrency(1), // synchronous: no goroutines to leak, memory bounded by one window
		zstd.WithDecoderMaxWindow(opts.MaxWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("read archive %s: %w", name, err)
	}
	s.lr = &limitReader{s: s, r: s.zr, max: opts.MaxManifestSize + manifestSlack}
	s.tr = tar.NewReader(s.lr)
	if err := s.readManifest(); err != nil {
		s.zr.Close()
		return nil, err
	}
	return s, nil
}

func (s *scanner) readManifest() error {
	hdr, err := s.tr.Next()
	if err == io.EOF {
		return s.err("", ErrNotArchive, "the archive holds no entries, so no manifest.json: not a connvault archive", nil)
	}
	if err != nil {
		return s.tarErr(manifestName, err)
	}
	if hdr.Name != manifestName {
		return s.err("", ErrNotArchive, fmt.Sprintf("the first entry is %q, not manifest.json: not a connvault archive, or one repacked by another tool", hdr.Name), nil)
	}
	if hdr.Typeflag != tar.TypeReg {
		return s.err(manifestName, ErrCorrupt, "manifest.json is not a regular file: the archive was altered; use another backup", nil)
	}
	if hdr.Size > s.opts.MaxManifestSize {
		return s.err(manifestName, ErrLimit, fmt.Sprintf("manifest.json is %d bytes, above the %d-byte limit (MaxManifestSize); raise it only if you trust this archive",
			hdr.Size, s.opts.MaxManifestSize), nil)
	}
	raw := make([]byte, hdr.Size)
	if _, err := io.ReadFull(s.tr, raw); err != nil {
		return s.tarErr(manifestName, err)
	}
	s.count = 1 // the other entries follow in ascending order, s.prev starts empty

	probe, perr := probeManifest(raw)
	if perr != nil {
		return s.err(manifestName, perr.kind, perr.msg, perr.err)
	}
	switch {
	case probe.Format == nil || *probe.Format != FormatName:
		got := "none"
		if probe.Format != nil {
			got = fmt.Sprintf("%q", *probe.Format)
		}
		return s.err(manifestName, ErrNotArchive, fmt.Sprintf("the manifest's format is %s, not %q: not a connvault archive", got, FormatName), nil)
	case probe.FormatVersion == nil:
		return s.err(manifestName, ErrCorrupt, "the manifest has no formatVersion: the archive was damaged; use another backup", nil)
	case *probe.FormatVersion > MaxVersion:
		return s.err(manifestName, ErrUnsupportedVersion, fmt.Sprintf(
			"archive format version %d is newer than this connvault reads (versions %d to %d): upgrade connvault to read it",
			*probe.FormatVersion, MinVersion, MaxVersion), nil)
	case *probe.FormatVersion < MinVersion:
		return s.err(manifestName, ErrUnsupportedVersion, fmt.Sprintf(
			"archive format version %d is older than this connvault reads (versions %d to %d): read it with an older connvault release",
			*probe.FormatVersion, MinVersion, MaxVersion), nil)
	}
	m := new(Manifest)
	if err := json.Unmarshal(raw, m); err != nil {
		return s.err(manifestName, ErrCorrupt, fmt.Sprintf("manifest.json does not match format version %d (%v): the archive was damaged; use another backup", *probe.FormatVersion, err), err)
	}
	s.m = m
	return s.checkManifest()
}

// checkManifest checks the manifest on its own and prepares the entry index.
func (s *scanner) checkManifest() error {
	m := s.m
	if len(m.Entries) > s.opts.MaxEntries {
		return s.err(manifestName, ErrLimit, fmt.Sprintf("the manifest lists %d entries, above the limit of %d (MaxEntries); raise it only if you trust this archive",
			len(m.Entries), s.opts.MaxEntries), nil)
	}
	s.index = make(map[string]int, len(m.Entries))
	s.state = make([]uint8, len(m.Entries))
	s.dirs = make(map[string]bool)
	details := make(map[string]bool)
	var total, expect int64 // content bytes, and tar overhead around them
	for i, e := range m.Entries {
		bad := func(kind error, msg string) error {
			return s.problem(s.err(manifestName, kind, fmt.Sprintf("entry %d (%q): %s", i, e.Path, msg), nil))
		}
		if why := checkName(e.Path); why != "" {
			if err := bad(ErrUnsafePath, "unsafe path: "+why+"; connvault refuses archives that could write outside their folder"); err != nil {
				return err
			}
			continue
		}
		pp, ok := parseEntryPath(e.Path)
		if !ok {
			if err := bad(ErrCorrupt, fmt.Sprintf("not a path of format version %d; the archive was altered or written by another tool", m.FormatVersion)); err != nil {
				return err
			}
			continue
		}
		if i > 0 && e.Path <= m.Entries[i-1].Path {
			kind, msg := ErrCorrupt, "the entries are not in ascending path order; the manifest was altered"
			if e.Path == m.Entries[i-1].Path {
				kind, msg = ErrDuplicate, "listed twice; the manifest was altered"
			}
			if err := bad(kind, msg); err != nil {
				return err
			}
		}
		switch {
		case e.Size < 0:
			if err := bad(ErrCorrupt, "negative size; the manifest was altered"); err != nil {
				return err
			}
		case e.Size > s.opts.MaxEntrySize:
			if err := bad(ErrLimit, fmt.Sprintf("%d bytes, above the per-entry limit of %d (MaxEntrySize); raise it only if you trust this archive", e.Size, s.opts.MaxEntrySize)); err != nil {
				return err
			}
		}
		if !isHexSHA256(e.SHA256) {
			if err := bad(ErrCorrupt, "the sha256 is not 64 lowercase hex digits; the manifest was altered"); err != nil {
				return err
			}
		}
		if _, dup := s.index[e.Path]; !dup {
			s.index[e.Path] = i
		}
		if pp.kind == kindDetail {
			details[pp.scriptName] = true
		} else if _, ok := details[pp.scriptName]; !ok {
			details[pp.scriptName] = false
		}
		for _, d := range parentDirs(e.Path) {
			if _, ok := s.dirs[d]; !ok {
				s.dirs[d] = false
				expect += entryOverhead(d)
			}
		}
		// Clamped, so a manifest with absurd sizes (reported above) cannot
		// raise the stream bound past the limits.
		size := min(max(e.Size, 0), s.opts.MaxEntrySize)
		total += size
		expect += entryOverhead(e.Path) + roundBlock(size) - size
	}
	if total > s.opts.MaxTotalSize {
		if err := s.problem(s.err(manifestName, ErrLimit, fmt.Sprintf("the entries add up to %d bytes, above the limit of %d (MaxTotalSize); raise it only if you trust this archive",
			total, s.opts.MaxTotalSize), nil)); err != nil {
			return err
		}
	}
	for sn, ok := range details {
		if !ok {
			if err := s.problem(s.err(manifestName, ErrCorrupt, fmt.Sprintf("connector %q has entries but no detail.json; the manifest was altered", sn), nil)); err != nil {
				return err
			}
		}
	}
	if m.ConnectorCount != len(details) {
		if err := s.problem(s.err(manifestName, ErrCorrupt, fmt.Sprintf("connectorCount is %d but the entries hold %d connectors; the manifest was altered",
			m.ConnectorCount, len(details)), nil)); err != nil {
			return err
		}
	}
	if d := ContentDigest(m.Entries); m.ContentDigest != d {
		if err := s.problem(s.err(manifestName, ErrCorrupt, fmt.Sprintf("contentDigest is %q but the entries give %q; the manifest was altered", m.ContentDigest, d), nil)); err != nil {
			return err
		}
	}
	// From here on the stream may hold only what the manifest lists.
	s.lr.max = s.lr.n + min(total, s.opts.MaxTotalSize) + expect + 2*blockSize + trailingSlack
	return nil
}

// next returns the next checked file entry, or io.EOF after the last one
// (then call finish).
func (s *scanner) next() (*fileEntry, error) {
	for {
		fe, err := s.nextHeader()
		if err != nil {
			return nil, err
		}
		if fe, err = s.readData(fe); err != nil || fe != nil {
			return fe, err
		}
	}
}

// nextHeader is next without the content: the entry's header is checked,
// its content is left in the stream for readData, which must be called
// before the next call. A streaming reader can so see where a connector ends
// without holding the next one's first entry.
func (s *scanner) nextHeader() (*fileEntry, error) {
	for {
		if s.eof {
			return nil, io.EOF
		}
		hdr, err := s.tr.Next()
		if err == io.EOF {
			s.eof = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, s.tarErr("", err)
		}
		s.count++
		if s.count > 1+len(s.state)+len(s.dirs)+maxProblems {
			return nil, s.err("", ErrLimit, fmt.Sprintf("the archive holds more than the %d entries its manifest accounts for; not reading further", 1+len(s.state)+len(s.dirs)), nil)
		}
		fe, err := s.entry(hdr)
		if err != nil || fe != nil {
			return fe, err
		}
	}
}

// entry checks one tar entry. It returns (nil, nil) for a directory or, in
// collect mode, for an entry with a problem.
func (s *scanner) entry(hdr *tar.Header) (*fileEntry, error) {
	name := hdr.Name
	if why := checkName(name); why != "" {
		return nil, s.problem(s.err(fmt.Sprintf("%q", name), ErrUnsafePath, "unsafe entry name: "+why+"; connvault refuses archives that could write outside their folder", nil))
	}
	isDir := false
	switch hdr.Typeflag {
	case tar.TypeReg:
	case tar.TypeDir:
		isDir = true
		if !strings.HasSuffix(name, "/") {
			name += "/"
		}
	default:
		return nil, s.problem(s.err(name, ErrUnsafePath, fmt.Sprintf("the entry is a %s; connvault archives hold only regular files and directories", typeName(hdr.Typeflag)), nil))
	}

	idx, listed := s.index[name]
	switch {
	case name == manifestName,
		isDir && s.dirs[name],
		!isDir && listed && s.state[idx] == seen:
		return nil, s.problem(s.err(name, ErrDuplicate, "the entry appears twice; the archive was altered or not written by connvault: use another backup", nil))
	}
	if name <= s.prev {
		if err := s.problem(s.err(name, ErrCorrupt, fmt.Sprintf("the entry is out of order (it comes after %q); the archive was altered: use another backup", s.prev), nil)); err != nil {
			return nil, err
		}
	} else {
		s.prev = name
	}
	if isDir {
		if _, ok := s.dirs[name]; !ok {
			return nil, s.problem(s.err(name, ErrMismatch, "directory not implied by the manifest; the archive was altered: use another backup", nil))
		}
		s.dirs[name] = true
		return nil, nil
	}
	if !listed {
		return nil, s.problem(s.err(name, ErrMismatch, "the entry is not listed in the manifest; the archive was altered: use another backup", nil))
	}
	if hdr.Size > s.opts.MaxEntrySize {
		return nil, s.problem(s.err(name, ErrLimit, fmt.Sprintf("the entry is %d bytes, above the per-entry limit of %d (MaxEntrySize); raise it only if you trust this archive",
			hdr.Size, s.opts.MaxEntrySize), nil))
	}
	// Entries the stream skipped past are missing; reporting them now, not at
	// the end, keeps a streaming reader from handing out an incomplete
	// connector.
	for ; s.cursor < idx; s.cursor++ {
		if s.state[s.cursor] == unseen {
			s.state[s.cursor] = missing
			if err := s.problem(s.missingErr(s.m.Entries[s.cursor].Path)); err != nil {
				return nil, err
			}
		}
	}
	s.cursor = max(s.cursor, idx+1)
	s.state[idx] = seen
	want := s.m.Entries[idx]
	if hdr.Size != want.Size {
		return nil, s.problem(s.err(name, ErrMismatch, fmt.Sprintf("the entry is %d bytes but the manifest says %d; the archive was altered: use another backup", hdr.Size, want.Size), nil))
	}
	s.total += hdr.Size
	if s.total > s.opts.MaxTotalSize {
		return nil, s.err(name, ErrLimit, fmt.Sprintf("the entries add up to more than the %d-byte limit (MaxTotalSize); raise it only if you trust this archive", s.opts.MaxTotalSize), nil)
	}
	pp, _ := parseEntryPath(name) // listed entries passed checkManifest
	return &fileEntry{path: name, pp: pp, size: hdr.Size, sha256: want.SHA256}, nil
}

// readData reads and checks the content of the entry nextHeader returned.
// In collect mode an entry whose content does not match gives (nil, nil).
func (s *scanner) readData(fe *fileEntry) (*fileEntry, error) {
	if fe.read {
		return fe, nil
	}
	data := make([]byte, fe.size)
	if _, err := io.ReadFull(s.tr, data); err != nil {
		return nil, s.tarErr(fe.path, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != fe.sha256 {
		return nil, s.problem(s.err(fe.path, ErrMismatch, fmt.Sprintf("the content's SHA-256 is %s but the manifest says %s; the archive was altered: use another backup", got, fe.sha256), nil))
	}
	fe.data, fe.read = data, true
	return fe, nil
}

func (s *scanner) missingErr(path string) *Error {
	return s.err(path, ErrMismatch, "listed in the manifest but not found where it belongs in the archive (entries are in path order); the archive was altered: use another backup", nil)
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}

// finish runs the end-of-stream checks once: every listed entry was seen, and
// what follows the tar stream is only zero padding that ends where the
// compressed data does (which also verifies the zstd checksum).
func (s *scanner) finish() error {
	if s.finished {
		return s.finalErr
	}
	s.finished = true
	s.finalErr = s.finishChecks()
	return s.finalErr
}

func (s *scanner) finishChecks() error {
	for ; s.cursor < len(s.state); s.cursor++ {
		if s.state[s.cursor] == unseen {
			s.state[s.cursor] = missing
			if err := s.problem(s.missingErr(s.m.Entries[s.cursor].Path)); err != nil {
				return err
			}
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := s.lr.Read(buf)
		if !allZero(buf[:n]) {
			return s.err("", ErrCorrupt, "there is data after the end of the tar stream; the archive was altered: use another backup", nil)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unchecked is the number of manifest entries not yet seen or reported.
func (s *scanner) unchecked() int {
	n := 0
	for _, st := range s.state[s.cursor:] {
		if st == unseen {
			n++
		}
	}
	return n
}

// Reader reads an archive one connector at a time. Memory holds one
// connector, never the whole archive.
type Reader struct {
	f       *os.File
	s       *scanner
	pending *fileEntry
	err     error
}

// Open opens an archive and reads and checks its manifest: format name,
// version, limits, entry paths and the content digest. Entries are read and
// checked by Next.
func Open(path string, opts ReadOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	r, err := newReader(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.f = f
	return r, nil
}

func newReader(rd io.Reader, name string, opts ReadOptions) (*Reader, error) {
	s, err := newScanner(rd, name, opts, nil)
	if err != nil {
		return nil, err
	}
	return &Reader{s: s}, nil
}

// Manifest is the archive's manifest. Callers must not modify it.
func (r *Reader) Manifest() *Manifest { return r.s.m }

// Next returns the next connector, in ascending order of entry path (which is
// scriptName order, except that "a" follows "a-b", "a.b" and other names
// extending "a" with a byte below '/'). It returns io.EOF after the last one,
// once the end of the archive has been checked too. Every entry has been
// checked against the manifest, and a connector is returned only when all of
// its listed entries are present; the first problem is returned as an
// *Error and again on later calls.
func (r *Reader) Next() (*Connector, error) {
	if r.err != nil {
		return nil, r.err
	}
	c, err := r.next()
	if err != nil {
		r.err = err
	}
	return c, err
}

func (r *Reader) next() (*Connector, error) {
	if r.pending == nil {
		fe, err := r.s.nextHeader()
		if err == io.EOF {
			if err := r.s.finish(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		r.pending = fe
	}
	c := &Connector{ScriptName: r.pending.pp.scriptName}
	for {
		// Only the next entry's header is read to see where this connector
		// ends: memory holds one connector, not also the next one's first
		// entry (a detail can be hundreds of MiB).
		fe, err := r.s.readData(r.pending)
		if err != nil {
			return nil, err
		}
		put(c, fe)
		fe, err = r.s.nextHeader()
		r.pending = fe
		if err == io.EOF {
			if err := r.s.finish(); err != nil {
				return nil, err
			}
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		if fe.pp.scriptName != c.ScriptName {
			return c, nil
		}
	}
}

func put(c *Connector, fe *fileEntry) {
	switch fe.pp.kind {
	case kindDetail:
		c.Detail = fe.data
	case kindSourceConfig:
		c.SourceConfig = fe.data
	case kindSourceTemplate:
		c.SourceTemplate = fe.data
	case kindCorrelation:
		c.CorrelationConfig = fe.data
	case kindTranslation:
		if c.Translations == nil {
			c.Translations = make(map[string][]byte)
		}
		c.Translations[fe.pp.locale] = fe.data
	}
}

// Close releases the file and the decoder.
func (r *Reader) Close() error {
	r.s.zr.Close()
	if r.f == nil {
		return nil
	}
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("close archive %s: %w", r.s.name, err)
	}
	return nil
}

// ReadFile reads and checks a whole archive into memory.
func ReadFile(path string, opts ReadOptions) (*Snapshot, error) {
	r, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r)
}

// readAll reads the rest of an archive or a snapshot directory into memory.
func readAll(r SnapshotReader) (*Snapshot, error) {
	snap := &Snapshot{Manifest: *r.Manifest()}
	err := Each(context.Background(), r, func(c *Connector) error {
		snap.Connectors = append(snap.Connectors, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// ReadManifest reads only the manifest (the first entry), with the default
// limits, and checks it on its own. It does not check the other entries: use
// Verify for that.
func ReadManifest(path string) (*Manifest, error) {
	r, err := Open(path, ReadOptions{})
	if err != nil {
		return nil, err
	}
	m := r.Manifest()
	return m, r.Close()
}

// Verify reads the whole archive and reports every problem it finds rather
// than stopping at the first, like restic check: manifest problems, then each
// entry that is unsafe, duplicated, unlisted, oversized or different from the
// manifest, then each listed entry that is missing. A problem that makes the
// rest of the stream unreadable (damaged or truncated compressed data, a
// limit) ends the scan and is followed by a count of the entries left
// unchecked. An empty result means the archive is intact. At most 1,000
// problems are listed, then one that counts the rest.
func Verify(path string, opts ReadOptions) []Problem {
	f, err := os.Open(path)
	if err != nil {
		return []Problem{newErr(path, "", ErrNotArchive, fmt.Sprintf("cannot open the archive: %v", err), err)}
	}
	defer f.Close()
	return verify(f, path, opts)
}

func verify(rd io.Reader, name string, opts ReadOptions) []Problem {
	var problems []Problem
	dropped := 0
	collect := func(e *Error) {
		if len(problems) < maxProblems {
			problems = append(problems, e)
		} else {
			dropped++
		}
	}
	s, err := newScanner(rd, name, opts, collect)
	if err != nil {
		return append(problems, asError(name, err))
	}
	defer s.zr.Close()
	for {
		_, err := s.next()
		if err == io.EOF {
			if err := s.finish(); err != nil {
				collect(asError(name, err))
			}
			break
		}
		if err != nil {
			fatal := asError(name, err)
			collect(fatal)
			if n := s.unchecked(); n > 0 {
				collect(newErr(name, "", fatal.Kind, fmt.Sprintf("reading stopped early: %d entries listed in the manifest were not checked", n), nil))
			}
			break
		}
	}
	if dropped > 0 {
		problems = append(problems, newErr(name, "", ErrCorrupt, fmt.Sprintf("and %d more problems", dropped), nil))
	}
	return problems
}

func asError(path string, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return newErr(path, "", ErrCorrupt, err.Error(), err)
}
