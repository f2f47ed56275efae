package archive

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/connvault/connvault/domain"
)

// The directory form of a snapshot (docs/archive-format.md, "Directory form")
// holds the same file entries as an archive, as plain files under DIR, plus
// DIR/manifest.json. That manifest is the archive's without the fields that
// change on every run (toolVersion, createdAt), so exporting an unchanged
// tenant into a directory under version control changes no byte. It records
// what the export wrote; the files may be edited afterwards, and readers take
// the files as they are: the content a reader hands out is the files', and the
// manifest it reports is recomputed from them. VerifyDir lists what changed
// since the export.

// SnapshotReader reads a snapshot one connector at a time. An archive
// (*Reader) and a directory (*DirReader) are both one, so a command that
// reads one reads the other.
type SnapshotReader interface {
	// Manifest describes the snapshot. For a directory its entries, count
	// and digest are those of the files as they are now.
	Manifest() *Manifest
	// Next returns the next connector in entry path order, or io.EOF.
	Next() (*Connector, error)
	Close() error
}

var (
	_ SnapshotReader = (*Reader)(nil)
	_ SnapshotReader = (*DirReader)(nil)
)

// File modes of the directory form. Connector configuration can be sensitive,
// so, as for archives, only the owner reads it; Git records neither mode.
const (
	dirFileMode = 0o600
	dirDirMode  = 0o700
)

// dirWriters is how many connector folders Close writes at once.
const dirWriters = 8

// IsDir reports whether path names an existing directory (following a
// symbolic link at path itself): such an operand is read as a snapshot
// directory, anything else as an archive.
func IsDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// OpenAny opens path as a snapshot directory when it is a directory and as
// an archive file otherwise.
func OpenAny(path string, opts ReadOptions) (SnapshotReader, error) {
	if IsDir(path) {
		return OpenDir(path, opts)
	}
	return Open(path, opts)
}

// ReadAnyFile reads a whole snapshot directory or archive file into memory.
func ReadAnyFile(path string, opts ReadOptions) (*Snapshot, error) {
	if IsDir(path) {
		return ReadDir(path, opts)
	}
	return ReadFile(path, opts)
}

// dirManifest is manifest.json of a directory: Manifest without toolVersion
// and createdAt, fields in the archive manifest's order.
type dirManifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"formatVersion"`
	Source        Source    `json:"source"`
	Selection     Selection `json:"selection"`
	Partial       bool      `json:"partial"`
	Skipped       []Skipped `json:"skipped,omitempty"`
	// Fetch and DocumentSources depend on the tenant and the flags, not
	// on the run, so they stay (an unchanged re-export keeps them equal).
	Fetch           string                  `json:"fetch,omitempty"`
	DocumentSources []domain.DocumentSource `json:"documentSources,omitempty"`
	ConnectorCount  int                     `json:"connectorCount"`
	Entries         []Entry                 `json:"entries"`
	ContentDigest   string                  `json:"contentDigest"`
}

func encodeDirManifest(m *Manifest) ([]byte, error) {
	dm := dirManifest{
		Format: m.Format, FormatVersion: m.FormatVersion, Source: m.Source, Selection: m.Selection,
		Partial: m.Partial, Skipped: m.Skipped, Fetch: m.Fetch, DocumentSources: m.DocumentSources, ConnectorCount: m.ConnectorCount,
		Entries: m.Entries, ContentDigest: m.ContentDigest,
	}
	if dm.Entries == nil {
		dm.Entries = []Entry{}
	}
	b, err := json.MarshalIndent(dm, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ---------------------------------------------------------------- writing

// DirWriter writes a snapshot into a directory. Like Writer it spools the
// connectors it is given (to a temporary file in os.TempDir, so nothing
// appears in the directory while an export runs) and touches the directory
// only in Close: a failed or aborted export leaves it as it was.
//
// Close makes DIR/connectors/ hold exactly the connectors added: it writes
// each file whose content differs (atomically: a temporary file in the same
// folder, fsynced, renamed over the old one), leaves files with the same
// content untouched, and removes everything else under connectors/ (gone
// connectors, documents and locales, stray files). Nothing outside
// connectors/ and manifest.json is touched but DIR/.gitattributes (written
// when missing, so Git never converts line ends) and, while Close writes,
// the InterruptedMarker, so DIR may be, or be inside, a Git working tree. An
// interruption during Close does not cut its write phase short. In a partial export (SetPartial) the folders of the skipped
// connectors are kept as they were, so a connector that failed once does not
// show up as deleted.
//
// A DirWriter is not safe for concurrent use; the caller keeps two writers
// off one directory (connvault takes the directory lock). Always
// `defer w.Abort()`.
type DirWriter struct {
	dir string
	snapshotMeta
	spool *os.File
	buf   *bufio.Writer
	off   int64
	files []dirSpooled
	names map[string]struct{}
	// limitCheck keeps the directory within what a default reader (and
	// Close's own re-scan) accepts, so an over-limit connector is refused
	// when added rather than written and then found at Close (limits.go).
	limitCheck

	closed bool
	err    error
}

type dirSpooled struct {
	path string
	off  int64
	size int64
	sum  [sha256.Size]byte
}

// CreateDir starts a snapshot that Close writes into dir, which is created
// when missing. It refuses a directory whose connectors/ folder is not
// connvault's (there is no manifest.json beside it), since Close would
// delete what is in that folder.
func CreateDir(ctx context.Context, dir string, meta Meta) (*DirWriter, error) {
	return CreateDirSpooled(ctx, dir, "", meta)
}

// CreateDirSpooled is CreateDir with the spool file in spoolDir ("" for
// os.TempDir), such as a directory whose leftovers the next run removes.
func CreateDirSpooled(ctx context.Context, dir, spoolDir string, meta Meta) (*DirWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("snapshot directory %s: %w", dir, err)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("snapshot directory %s: it is a file, not a directory; give a directory (created when missing)", dir)
	}
	if st, err := os.Lstat(filepath.Join(dir, strings.TrimSuffix(connectorsDir, "/"))); err == nil {
		if !st.IsDir() {
			return nil, fmt.Errorf("snapshot directory %s: connectors is a link or a file, not a folder; connvault writes only into a plain folder", dir)
		}
		if _, err := os.Lstat(filepath.Join(dir, manifestName)); err != nil {
			return nil, fmt.Errorf("snapshot directory %s: it has a connectors folder but no manifest.json, so it was not written by connvault "+
				"and exporting would replace what that folder holds; give a new or empty directory", dir)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, manifestName)); err == nil {
		// Someone else's manifest.json is not ours to overwrite.
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("snapshot directory %s: %w", dir, err)
		}
		_, err = readDirManifest(root, dir, ReadOptions{MaxManifestSize: DefaultMaxManifestSize})
		root.Close()
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("%w; connvault does not overwrite it: give a new or empty directory", err)
		}
	}
	spool, err := os.CreateTemp(spoolDir, "connvault-dir-*.spool")
	if err != nil {
		return nil, fmt.Errorf("snapshot directory %s: create temporary file: %w", dir, err)
	}
	return &DirWriter{dir: dir, snapshotMeta: newSnapshotMeta(meta), spool: spool, buf: bufio.NewWriterSize(spool, 256<<10), names: map[string]struct{}{},
		limitCheck: limitCheck{limits: defaultLimits}}, nil
}

func (w *DirWriter) usable() error {
	if w.closed {
		return fmt.Errorf("snapshot directory %s: the writer is already closed", w.dir)
	}
	return w.err
}

func (w *DirWriter) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	w.Abort()
	return err
}

// Add spools one connector. A connector that cannot be written (bad
// scriptName or locale, no detail, already added, an entry or the totals
// above a reader's limits) is refused with ErrRefused, as Writer.Add refuses
// it, and the writer stays usable: an export going on past failed connectors
// records it and saves the others. An I/O error or a cancelled context ends
// the writer.
func (w *DirWriter) Add(ctx context.Context, c *Connector) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return w.fail(fmt.Errorf("snapshot directory %s: %w", w.dir, err))
	}
	if c == nil {
		return fmt.Errorf("snapshot directory %s: nil connector", w.dir)
	}
	if err := checkConnector(w.dir, dirWords, c, w.names); err != nil {
		return refuse(err)
	}
	files := connectorFiles(c)
	if err := w.checkEntries(w.dir, dirWords, c, files); err != nil {
		return err
	}
	// detail.json in its directory form (detailform.go): one field per
	// line, no copy of a document stored beside it.
	siblings := connectorSiblings(c)
	for i := range files {
		if strings.HasSuffix(files[i].path, "/"+detailName) {
			files[i].data = dirDetail(files[i].data, siblings)
		}
	}
	for _, f := range files {
		if _, err := w.buf.Write(f.data); err != nil {
			return w.fail(fmt.Errorf("snapshot directory %s: spool connector %q: %w", w.dir, c.ScriptName, err))
		}
		w.files = append(w.files, dirSpooled{path: f.path, off: w.off, size: int64(len(f.data)), sum: sha256.Sum256(f.data)})
		w.off += int64(len(f.data))
	}
	w.names[c.ScriptName] = struct{}{}
	return nil
}

// Abort drops the spooled connectors; the directory is left as it was
// unless Close already ran. It is safe to call more than once.
func (w *DirWriter) Abort() {
	if w.spool != nil {
		w.spool.Close()
		os.Remove(w.spool.Name())
		w.spool = nil
	}
	w.closed = true
}

// Close writes the snapshot into the directory (see DirWriter) and returns
// its manifest, recomputed from the files as they are afterwards.
func (w *DirWriter) Close(ctx context.Context) (*Manifest, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	m, err := w.commit(ctx)
	if err != nil {
		return nil, w.fail(err)
	}
	w.Abort()
	return m, nil
}

func (w *DirWriter) commit(ctx context.Context) (*Manifest, error) {
	wrap := func(what string, err error) error {
		return fmt.Errorf("snapshot directory %s: %s: %w", w.dir, what, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap("write", err)
	}
	// From here on the directory changes. An interruption (SIGINT, SIGTERM:
	// a cancelled CI job) must not leave files of two tenant states under one
	// manifest, so the write phase, local and short, is finished rather than
	// cut; a SIGKILL, which nothing can finish, leaves the marker that
	// readers and verify name (see checkNotInterrupted) and the next export
	// removes.
	ctx = context.WithoutCancel(ctx)
	marker := filepath.Join(w.dir, InterruptedMarker)
	if err := os.MkdirAll(w.dir, dirDirMode); err != nil {
		return nil, wrap("create folder", err)
	}
	if err := writeFileAtomic(marker, fmt.Appendf(nil, "connvault export writing since %s, pid %d\n", time.Now().UTC().Format(time.RFC3339), os.Getpid())); err != nil {
		return nil, wrap("mark the write phase", err)
	}
	if err := syncDir(w.dir); err != nil {
		return nil, wrap("fsync", err)
	}
	if err := writeGitAttributes(w.dir); err != nil {
		return nil, wrap("write .gitattributes", err)
	}
	if err := w.buf.Flush(); err != nil {
		return nil, wrap("flush temporary file", err)
	}
	conns := filepath.Join(w.dir, strings.TrimSuffix(connectorsDir, "/"))
	if err := os.MkdirAll(conns, dirDirMode); err != nil {
		return nil, wrap("create folder", err)
	}
	keep := map[string]bool{}
	if w.meta.Partial {
		for _, s := range w.meta.Skipped {
			keep[s.ScriptName] = true
		}
	}
	// Folders of connectors that are gone, and anything else that is not a
	// connector folder, go first.
	old, err := os.ReadDir(conns)
	if err != nil {
		return nil, wrap("list connectors", err)
	}
	for _, e := range old {
		_, added := w.names[e.Name()]
		if added && e.IsDir() || keep[e.Name()] && e.IsDir() {
			continue
		}
		if err := os.RemoveAll(filepath.Join(conns, e.Name())); err != nil {
			return nil, wrap("remove "+connectorsDir+e.Name(), err)
		}
	}
	slices.SortFunc(w.files, func(a, b dirSpooled) int { return cmp.Compare(a.path, b.path) })
	// Connector folders are independent, and a new file costs an fsync, so
	// a first export of thousands of files waits on the disk rather than
	// the CPU: several folders are written at once.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(dirWriters)
	for i := 0; i < len(w.files); {
		sn, _, _ := strings.Cut(strings.TrimPrefix(w.files[i].path, connectorsDir), "/")
		j := i
		for j < len(w.files) && strings.HasPrefix(w.files[j].path, connectorsDir+sn+"/") {
			j++
		}
		files := w.files[i:j]
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return wrap("write", err)
			}
			return w.writeConnector(sn, files)
		})
		i = j
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := syncDir(conns); err != nil {
		return nil, wrap("fsync", err)
	}
	entries, err := scanDirEntries(w.dir, ReadOptions{}, nil)
	if err != nil {
		return nil, err
	}
	m := w.manifest(entries)
	mb, err := encodeDirManifest(m)
	if err != nil {
		return nil, wrap("encode manifest", err)
	}
	mp := filepath.Join(w.dir, manifestName)
	if same, err := sameContent(mp, int64(len(mb)), sha256.Sum256(mb)); err != nil {
		return nil, wrap("read manifest.json", err)
	} else if !same {
		if err := writeFileAtomic(mp, mb); err != nil {
			return nil, wrap("write manifest.json", err)
		}
	}
	if err := os.Remove(marker); err != nil {
		return nil, wrap("end the write phase", err)
	}
	if err := syncDir(w.dir); err != nil {
		return nil, wrap("fsync", err)
	}
	return m, nil
}

// DirManifest reads only a snapshot directory's manifest.json, as the
// export that wrote it recorded it (nil, nil when dir has none).
func DirManifest(dir string) (*Manifest, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if _, err := root.Lstat(manifestName); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return readDirManifest(root, dir, ReadOptions{MaxManifestSize: DefaultMaxManifestSize})
}

// CaseClashes lists the added scriptNames that differ from another only in
// case ("Okta" and "okta"): two folders that a checkout on macOS or Windows,
// whose file systems do not tell them apart, merges into one.
func (w *DirWriter) CaseClashes() [][2]string {
	return caseClashes(slices.Collect(maps.Keys(w.names)))
}

func caseClashes(names []string) [][2]string {
	slices.Sort(names)
	first := map[string]string{}
	var out [][2]string
	for _, n := range names {
		k := strings.ToLower(n)
		if f, ok := first[k]; ok {
			out = append(out, [2]string{f, n})
			continue
		}
		first[k] = n
	}
	return out
}

// caseInsensitive reports whether dir's file system takes names without
// case (macOS, Windows by default): it looks manifest.json up as
// MANIFEST.JSON. A variable so tests can play such a file system.
var caseInsensitive = func(root *os.Root) bool {
	a, err1 := root.Lstat(manifestName)
	b, err2 := root.Lstat(strings.ToUpper(manifestName))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// checkCaseClashes refuses a snapshot directory on a file system without
// case whose manifest records connectors that differ only in case: the
// checkout has merged their folders, so what it holds is neither.
func checkCaseClashes(root *os.Root, dir string, rec *Manifest) *Error {
	var names []string
	seen := map[string]bool{}
	for _, e := range rec.Entries {
		sn, _, ok := strings.Cut(strings.TrimPrefix(e.Path, connectorsDir), "/")
		if ok && !seen[sn] {
			seen[sn] = true
			names = append(names, sn)
		}
	}
	clashes := caseClashes(names)
	if len(clashes) == 0 || !caseInsensitive(root) {
		return nil
	}
	return newErr(dir, "", ErrCorrupt, fmt.Sprintf("the connectors %q and %q differ only in case, and this file system does not tell them apart, so the checkout merged their folders; read this snapshot on a case-sensitive file system (Linux), or from an archive",
		clashes[0][0], clashes[0][1]), nil)
}

// InterruptedMarker is the file in a snapshot directory while an export
// writes its files. Found by a reader, it means the export was killed
// midway: the files may mix the old and the new tenant state.
const InterruptedMarker = ".connvault-writing"

// gitAttributes keeps Git from converting what connvault compares byte for
// byte: a Windows checkout with core.autocrlf=true would turn every LF into
// CRLF, and a restore of the checkout would rewrite every document.
const gitAttributes = `# Written by connvault export --format dir: these files are the tenant's
# documents byte for byte, so Git must not convert their line ends.
manifest.json -text
connectors/** -text
`

// writeGitAttributes writes DIR/.gitattributes when DIR has none; one the
// user wrote is theirs and left alone (docs/gitops.md says what it needs).
func writeGitAttributes(dir string) error {
	p := filepath.Join(dir, ".gitattributes")
	if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeFileAtomic(p, []byte(gitAttributes))
}

// checkNotInterrupted refuses a snapshot directory whose export was killed
// while writing (InterruptedMarker is there).
func checkNotInterrupted(root *os.Root, dir string) *Error {
	b, err := root.ReadFile(InterruptedMarker)
	if err != nil {
		return nil
	}
	return newErr(dir, "", ErrInterrupted, fmt.Sprintf("an export was interrupted while writing this directory (%s): its files may mix two tenant states; run the export again, which repairs it",
		strings.TrimSpace(string(b[:min(len(b), 200)]))), nil)
}

// manifest makes the directory's manifest from the entries found on disk
// after writing (they include the kept folders of a partial export).
func (w *DirWriter) manifest(entries []Entry) *Manifest {
	// createdAt is returned, not written (dirManifest leaves it out).
	return &Manifest{Format: FormatName, FormatVersion: MaxVersion, Meta: w.manifestMeta(),
		ConnectorCount: countConnectors(entries), Entries: entries, ContentDigest: ContentDigest(entries)}
}

func countConnectors(entries []Entry) int {
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Path, "/"+detailName) {
			n++
		}
	}
	return n
}

// writeConnector makes the folder of connector sn hold exactly files.
func (w *DirWriter) writeConnector(sn string, files []dirSpooled) error {
	folder := filepath.Join(w.dir, filepath.FromSlash(connectorsDir+sn))
	wrap := func(what string, err error) error {
		return fmt.Errorf("snapshot directory %s: connector %q: %s: %w", w.dir, sn, what, err)
	}
	if st, err := os.Lstat(folder); err == nil && !st.IsDir() {
		if err := os.Remove(folder); err != nil {
			return wrap("remove", err)
		}
	}
	want := map[string]bool{}
	for _, f := range files {
		rel := strings.TrimPrefix(f.path, connectorsDir+sn+"/")
		want[rel] = true
		if dir, _, ok := strings.Cut(rel, "/"); ok {
			want[dir] = true
		}
	}
	// Remove what the connector no longer has (and stray files), deepest first.
	var stale []string
	err := filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == folder {
				return fs.SkipAll
			}
			return err
		}
		rel, _ := filepath.Rel(folder, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		link := d.Type()&fs.ModeSymlink != 0
		if !want[rel] || link || d.IsDir() != (rel == strings.TrimSuffix(translationsDir, "/")) {
			stale = append(stale, p)
			if d.IsDir() && !link {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return wrap("list folder", err)
	}
	for _, p := range slices.Backward(stale) {
		if err := os.RemoveAll(p); err != nil {
			return wrap("remove", err)
		}
	}
	changed := map[string]bool{}
	for _, f := range files {
		dst := filepath.Join(w.dir, filepath.FromSlash(f.path))
		if same, err := sameContent(dst, f.size, f.sum); err != nil {
			return wrap("read "+path.Base(f.path), err)
		} else if same {
			continue
		}
		data := make([]byte, f.size)
		if _, err := w.spool.ReadAt(data, f.off); err != nil {
			return wrap("read temporary file", err)
		}
		if sha256.Sum256(data) != f.sum {
			return wrap("read temporary file", errors.New("the spooled content changed on disk; nothing more was written, run the export again"))
		}
		if err := os.MkdirAll(filepath.Dir(dst), dirDirMode); err != nil {
			return wrap("create folder", err)
		}
		if err := writeFileAtomic(dst, data); err != nil {
			return wrap("write "+strings.TrimPrefix(f.path, connectorsDir+sn+"/"), err)
		}
		changed[filepath.Dir(dst)] = true
	}
	for d := range changed {
		if err := syncDir(d); err != nil {
			return wrap("fsync", err)
		}
	}
	return nil
}

// sameContent reports whether the regular file at p holds exactly the
// content of the given size and hash.
func sameContent(p string, size int64, sum [sha256.Size]byte) (bool, error) {
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() || st.Size() != size {
		return false, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), sum[:]), nil
}

// writeFileAtomic replaces p with data: a temporary file in the same folder,
// fsynced, then renamed over p, so a reader (or a crash) sees the old file or
// the new one, never a mix.
func writeFileAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(dirFileMode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, p); err != nil {
		return err
	}
	ok = true
	return nil
}

// ---------------------------------------------------------------- reading

// scanDirEntries lists the file entries of the directory snapshot at dir,
// with each file's size and SHA-256, sorted by path. Anything under
// connectors/ that is not part of the layout is a problem (ErrUnsafePath for
// links and other non-regular files, ErrCorrupt for unknown names, a
// connector without detail.json, ErrLimit beyond the limits): in strict mode
// (collect == nil) the first one is returned, otherwise each is passed to
// collect and the scan goes on. Files outside connectors/ are not looked at.
func scanDirEntries(dir string, opts ReadOptions, collect func(*Error)) ([]Entry, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, newErr(dir, "", ErrNotArchive, fmt.Sprintf("cannot open the snapshot directory: %v", err), err)
	}
	defer root.Close()
	return scanRoot(root, dir, opts, collect)
}

func scanRoot(root *os.Root, dir string, opts ReadOptions, collect func(*Error)) ([]Entry, error) {
	problem := func(e *Error) error {
		if collect == nil {
			return e
		}
		collect(e)
		return nil
	}
	layout := func(p, msg string) error {
		return problem(newErr(dir, p, ErrCorrupt, msg+"; it is not part of a connvault snapshot directory: move it out of connectors/ (export --format dir removes it)", nil))
	}
	st, err := root.Lstat(strings.TrimSuffix(connectorsDir, "/"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []Entry{}, nil // no connectors (Git does not keep empty folders)
	case err != nil:
		return nil, newErr(dir, connectorsDir, ErrCorrupt, fmt.Sprintf("cannot read: %v", err), err)
	case !st.IsDir():
		return nil, newErr(dir, connectorsDir, ErrUnsafePath, "connectors is not a folder (a link or a file); a snapshot directory keeps its connectors in a plain folder", nil)
	}
	list, err := readDirNames(root, strings.TrimSuffix(connectorsDir, "/"))
	if err != nil {
		return nil, newErr(dir, connectorsDir, ErrCorrupt, fmt.Sprintf("cannot list: %v", err), err)
	}
	entries := []Entry{}
	var total int64
	for _, d := range list {
		cpath := connectorsDir + d.Name() + "/"
		if why := checkComponent(d.Name()); why != "" {
			if err := problem(newErr(dir, cpath, ErrUnsafePath, "not a valid scriptName folder: "+why, nil)); err != nil {
				return nil, err
			}
			continue
		}
		if d.Type()&fs.ModeSymlink != 0 || !d.IsDir() && !d.Type().IsRegular() {
			if err := problem(newErr(dir, cpath, ErrUnsafePath, "a link or special file where a connector folder belongs; connvault reads only plain folders and files", nil)); err != nil {
				return nil, err
			}
			continue
		}
		if !d.IsDir() {
			if err := layout(strings.TrimSuffix(cpath, "/"), "a file directly in connectors/"); err != nil {
				return nil, err
			}
			continue
		}
		files, err := scanConnector(root, dir, d.Name(), opts, problem, layout)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			total += f.Size
			entries = append(entries, f)
			if len(entries) > opts.MaxEntries {
				return nil, newErr(dir, "", ErrLimit, fmt.Sprintf("more than %d files under connectors/ (MaxEntries); raise it only if you trust this directory", opts.MaxEntries), nil)
			}
			if total > opts.MaxTotalSize {
				return nil, newErr(dir, "", ErrLimit, fmt.Sprintf("the files under connectors/ add up to more than %d bytes (MaxTotalSize); raise it only if you trust this directory", opts.MaxTotalSize), nil)
			}
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return cmp.Compare(a.Path, b.Path) })
	return entries, nil
}

func readDirNames(root *os.Root, name string) ([]fs.DirEntry, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.ReadDir(-1)
	slices.SortFunc(list, func(a, b fs.DirEntry) int { return cmp.Compare(a.Name(), b.Name()) })
	return list, err
}

// scanConnector lists and hashes the files of one connector folder.
func scanConnector(root *os.Root, dir, sn string, opts ReadOptions, problem func(*Error) error, layout func(p, msg string) error) ([]Entry, error) {
	base := connectorsDir + sn + "/"
	list, err := readDirNames(root, strings.TrimSuffix(base, "/"))
	if err != nil {
		return nil, newErr(dir, base, ErrCorrupt, fmt.Sprintf("cannot list: %v", err), err)
	}
	var out []Entry
	hasDetail := false
	files := map[string][]byte{}
	addFile := func(p string, d fs.DirEntry) error {
		if d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
			return problem(newErr(dir, p, ErrUnsafePath, "a link or special file; connvault reads only regular files", nil))
		}
		// A file with another name elsewhere (a hard link) is not what a
		// checkout or an export makes: its content is not this directory's.
		if fi, err := d.Info(); err == nil && hardLinks(fi) > 1 {
			return problem(newErr(dir, p, ErrUnsafePath, fmt.Sprintf("a file with %d hard links (other names elsewhere); connvault reads only files of their own: copy it in place of the link", hardLinks(fi)), nil))
		}
		data, err := readRootFile(root, dir, p, opts.MaxEntrySize)
		if err != nil {
			return problem(err)
		}
		sum := sha256.Sum256(data)
		out = append(out, Entry{Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
		// Kept while the folder is scanned: detail.json's archive form is
		// rebuilt from them (its source template is never referred to).
		if name := strings.TrimPrefix(p, base); name != sourceTemplName {
			files[name] = data
		}
		return nil
	}
	for _, d := range list {
		p := base + d.Name()
		switch d.Name() {
		case detailName, sourceConfigName, sourceTemplName, correlationName:
			if d.Name() == detailName {
				hasDetail = true
			}
			if err := addFile(p, d); err != nil {
				return nil, err
			}
		case strings.TrimSuffix(translationsDir, "/"):
			if d.Type()&fs.ModeSymlink != 0 || !d.IsDir() {
				if err := problem(newErr(dir, p, ErrUnsafePath, "translations is not a plain folder", nil)); err != nil {
					return nil, err
				}
				continue
			}
			locs, err := readDirNames(root, p)
			if err != nil {
				return nil, newErr(dir, p+"/", ErrCorrupt, fmt.Sprintf("cannot list: %v", err), err)
			}
			for _, l := range locs {
				lp := p + "/" + l.Name()
				loc, ok := strings.CutSuffix(l.Name(), translationSuffix)
				if !ok || checkComponent(loc) != "" {
					if err := layout(lp, "not a translation file (<locale>.properties)"); err != nil {
						return nil, err
					}
					continue
				}
				if err := addFile(lp, l); err != nil {
					return nil, err
				}
			}
		default:
			if err := layout(p, "not a connector file (detail.json, source-config.xml, source-template.xml, correlation-config.xml or translations/)"); err != nil {
				return nil, err
			}
		}
	}
	if !hasDetail {
		if err := problem(newErr(dir, base+detailName, ErrCorrupt, "the connector folder has no detail.json, which every connector needs; restore it (git checkout) or remove the folder", nil)); err != nil {
			return nil, err
		}
		return out, nil
	}
	// The entry of detail.json is the archive's: rebuilt from the
	// directory form, so the digest is the archive's.
	detail := files[detailName]
	delete(files, detailName)
	data, rerr := rebuildDetail(dir, base, detail, files)
	if rerr != nil {
		if err := problem(rerr); err != nil {
			return nil, err
		}
		return out, nil
	}
	for i := range out {
		if out[i].Path == base+detailName {
			sum := sha256.Sum256(data)
			out[i].Size, out[i].SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
		}
	}
	return out, nil
}

// rebuildDetail is archiveDetail with its error as the reader reports it.
func rebuildDetail(dir, base string, detail []byte, files map[string][]byte) ([]byte, *Error) {
	data, err := archiveDetail(detail, files)
	if err != nil {
		return nil, newErr(dir, base+detailName, ErrCorrupt, err.Error(), err)
	}
	return data, nil
}

// readRootFile reads one regular file under root, refusing more than max
// bytes. An empty file gives an empty, non-nil slice.
func readRootFile(root *os.Root, dir, p string, max int64) ([]byte, *Error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, newErr(dir, p, ErrCorrupt, fmt.Sprintf("cannot read: %v", err), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, newErr(dir, p, ErrCorrupt, fmt.Sprintf("cannot read: %v", err), err)
	}
	if !st.Mode().IsRegular() {
		return nil, newErr(dir, p, ErrUnsafePath, "not a regular file; connvault reads only regular files", nil)
	}
	if st.Size() > max {
		return nil, newErr(dir, p, ErrLimit, fmt.Sprintf("the file is %d bytes, above the per-file limit of %d (MaxEntrySize)", st.Size(), max), nil)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, newErr(dir, p, ErrCorrupt, fmt.Sprintf("cannot read: %v", err), err)
	}
	if int64(len(data)) > max {
		return nil, newErr(dir, p, ErrLimit, fmt.Sprintf("the file grew above the per-file limit of %d bytes (MaxEntrySize) while it was read", max), nil)
	}
	return data, nil // io.ReadAll gives an empty, non-nil slice for an empty file
}

// readDirManifest reads DIR/manifest.json and checks its format and version
// first, as the archive reader does. Only its metadata is used by readers.
func readDirManifest(root *os.Root, dir string, opts ReadOptions) (*Manifest, error) {
	st, err := root.Lstat(manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newErr(dir, "", ErrNotArchive, "the folder has no manifest.json, so it is not a connvault snapshot directory "+
			"(write one with connvault export --format dir or connvault unpack)", nil)
	}
	if err != nil {
		return nil, newErr(dir, manifestName, ErrCorrupt, fmt.Sprintf("cannot read: %v", err), err)
	}
	if !st.Mode().IsRegular() {
		return nil, newErr(dir, manifestName, ErrUnsafePath, "manifest.json is not a regular file (a link?); connvault reads only regular files", nil)
	}
	raw, rerr := readRootFile(root, dir, manifestName, opts.MaxManifestSize)
	if rerr != nil {
		return nil, rerr
	}
	var probe struct {
		Format        *string `json:"format"`
		FormatVersion *int    `json:"formatVersion"`
	}
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return nil, newErr(dir, manifestName, ErrCorrupt, "manifest.json starts with a UTF-8 byte-order mark (EF BB BF), which JSON does not allow: an editor added it; save the file without one", nil)
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, newErr(dir, manifestName, ErrCorrupt, fmt.Sprintf("manifest.json is not valid JSON (%v); restore it from version control or export again", err), err)
	}
	switch {
	case probe.Format == nil || *probe.Format != FormatName:
		got := "none"
		if probe.Format != nil {
			got = fmt.Sprintf("%q", *probe.Format)
		}
		return nil, newErr(dir, manifestName, ErrNotArchive, fmt.Sprintf("the manifest's format is %s, not %q: not a connvault snapshot directory", got, FormatName), nil)
	case probe.FormatVersion == nil:
		return nil, newErr(dir, manifestName, ErrCorrupt, "the manifest has no formatVersion; restore it from version control or export again", nil)
	case *probe.FormatVersion > MaxVersion:
		return nil, newErr(dir, manifestName, ErrUnsupportedVersion, fmt.Sprintf(
			"format version %d is newer than this connvault reads (versions %d to %d): upgrade connvault to read it", *probe.FormatVersion, MinVersion, MaxVersion), nil)
	case *probe.FormatVersion < MinVersion:
		return nil, newErr(dir, manifestName, ErrUnsupportedVersion, fmt.Sprintf(
			"format version %d is older than this connvault reads (versions %d to %d): read it with an older connvault release", *probe.FormatVersion, MinVersion, MaxVersion), nil)
	}
	m := new(Manifest)
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, newErr(dir, manifestName, ErrCorrupt, fmt.Sprintf("manifest.json does not match format version %d (%v); restore it from version control or export again", *probe.FormatVersion, err), err)
	}
	return m, nil
}

// DirReader reads a snapshot directory one connector at a time, like Reader
// reads an archive. Open lists and hashes the files (so Manifest describes
// them as they are); Next reads one connector's files again and checks them
// against those hashes, so a file that changes while being read is an error
// rather than a silent mix.
type DirReader struct {
	dir      string
	root     *os.Root
	opts     ReadOptions
	m        *Manifest
	recorded *Manifest
	pos      int
	err      error
}

// OpenDir opens the snapshot directory dir: its manifest.json (format and
// version) and the layout of connectors/, which must be intact (see
// scanDirEntries). Edited files are fine: they are read as they are.
func OpenDir(dir string, opts ReadOptions) (*DirReader, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open snapshot directory: %w", err)
	}
	if e := checkNotInterrupted(root, dir); e != nil {
		root.Close()
		return nil, e
	}
	rec, err := readDirManifest(root, dir, opts)
	if err != nil {
		root.Close()
		return nil, err
	}
	if e := checkCaseClashes(root, dir, rec); e != nil {
		root.Close()
		return nil, e
	}
	entries, err := scanRoot(root, dir, opts, nil)
	if err != nil {
		root.Close()
		return nil, err
	}
	m := &Manifest{Format: FormatName, FormatVersion: MaxVersion, Meta: rec.Meta,
		ConnectorCount: countConnectors(entries), Entries: entries, ContentDigest: ContentDigest(entries)}
	return &DirReader{dir: dir, root: root, opts: opts, m: m, recorded: rec}, nil
}

// Manifest describes the directory as it is: the recorded metadata (source,
// selection, skipped) with entries, count and digest of the files now.
func (r *DirReader) Manifest() *Manifest { return r.m }

// Recorded is manifest.json as the export wrote it (or as it was edited).
func (r *DirReader) Recorded() *Manifest { return r.recorded }

// Next returns the next connector in entry path order (as Reader.Next), or
// io.EOF after the last one.
func (r *DirReader) Next() (*Connector, error) {
	if r.err != nil {
		return nil, r.err
	}
	es := r.m.Entries
	if r.pos >= len(es) {
		return nil, io.EOF
	}
	pp, _ := parseEntryPath(es[r.pos].Path)
	c := &Connector{ScriptName: pp.scriptName}
	base := connectorsDir + c.ScriptName + "/"
	var mine []Entry
	files := map[string][]byte{}
	fail := func(err *Error) (*Connector, error) {
		r.err = err
		return nil, err
	}
	for ; r.pos < len(es); r.pos++ {
		e := es[r.pos]
		pp, _ := parseEntryPath(e.Path)
		if pp.scriptName != c.ScriptName {
			break
		}
		data, err := readRootFile(r.root, r.dir, e.Path, r.opts.MaxEntrySize)
		if err != nil {
			return fail(err)
		}
		mine = append(mine, e)
		files[strings.TrimPrefix(e.Path, base)] = data
	}
	// detail.json comes back in the archive's form, rebuilt from the
	// directory's and its siblings (detailform.go).
	if d, ok := files[detailName]; ok {
		delete(files, detailName)
		rebuilt, err := rebuildDetail(r.dir, base, d, files)
		if err != nil {
			return fail(err)
		}
		files[detailName] = rebuilt
	}
	for _, e := range mine {
		data := files[strings.TrimPrefix(e.Path, base)]
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != e.SHA256 {
			return fail(newErr(r.dir, e.Path, ErrMismatch, "the file changed while connvault was reading the directory; run the command again once nothing writes to it", nil))
		}
		pp, _ := parseEntryPath(e.Path)
		put(c, &fileEntry{path: e.Path, pp: pp, data: data})
	}
	return c, nil
}

// Close releases the directory.
func (r *DirReader) Close() error { return r.root.Close() }

// ReadDir reads a whole snapshot directory into memory.
func ReadDir(dir string, opts ReadOptions) (*Snapshot, error) {
	r, err := OpenDir(dir, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r)
}

// FileChange is a file of a snapshot directory that differs from what its
// manifest.json records, i.e. from what the export wrote.
type FileChange struct {
	Path   string `json:"path"`
	Change string `json:"change"` // ChangeModified, ChangeAdded or ChangeRemoved
}

// FileChange.Change values.
const (
	ChangeModified = "modified"
	ChangeAdded    = "added"
	ChangeRemoved  = "removed"
)

// DirStatus is the outcome of VerifyDir.
type DirStatus struct {
	// Manifest describes the files as they are (nil when the directory
	// could not be read at all).
	Manifest *Manifest
	// Changes are the files edited, added or removed since the export, by
	// path. They are not problems: a snapshot directory is meant to be
	// edited.
	Changes []FileChange
	// Problems are what makes the directory unreadable or its manifest.json
	// untrustworthy: a damaged layout, links, unknown files under
	// connectors/, a manifest that is not connvault's or contradicts itself.
	Problems []Problem
}

// VerifyDir checks a snapshot directory without stopping at the first
// problem, and lists the files changed since the export.
func VerifyDir(dir string, opts ReadOptions) DirStatus {
	var st DirStatus
	collect := func(e *Error) {
		if len(st.Problems) < maxProblems {
			st.Problems = append(st.Problems, e)
		}
	}
	opts, err := opts.withDefaults()
	if err != nil {
		collect(asError(dir, err))
		return st
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		collect(newErr(dir, "", ErrNotArchive, fmt.Sprintf("cannot open the snapshot directory: %v", err), err))
		return st
	}
	defer root.Close()
	if e := checkNotInterrupted(root, dir); e != nil {
		collect(e)
	}
	rec, err := readDirManifest(root, dir, opts)
	if err != nil {
		collect(asError(dir, err))
		return st
	}
	checkRecorded(dir, rec, opts, collect)
	if e := checkCaseClashes(root, dir, rec); e != nil {
		collect(e)
	}
	entries, err := scanRoot(root, dir, opts, collect)
	if err != nil {
		collect(asError(dir, err))
		return st
	}
	st.Manifest = &Manifest{Format: FormatName, FormatVersion: MaxVersion, Meta: rec.Meta,
		ConnectorCount: countConnectors(entries), Entries: entries, ContentDigest: ContentDigest(entries)}
	was := make(map[string]string, len(rec.Entries))
	for _, e := range rec.Entries {
		was[e.Path] = e.SHA256
	}
	for _, e := range entries {
		sum, ok := was[e.Path]
		switch {
		case !ok:
			st.Changes = append(st.Changes, FileChange{e.Path, ChangeAdded})
		case sum != e.SHA256:
			st.Changes = append(st.Changes, FileChange{e.Path, ChangeModified})
		}
		delete(was, e.Path)
	}
	for p := range was {
		st.Changes = append(st.Changes, FileChange{p, ChangeRemoved})
	}
	slices.SortFunc(st.Changes, func(a, b FileChange) int { return cmp.Compare(a.Path, b.Path) })
	return st
}

// checkRecorded checks manifest.json on its own, as the archive reader
// checks an archive's manifest: layout paths, order, hashes, count, digest.
func checkRecorded(dir string, m *Manifest, opts ReadOptions, collect func(*Error)) {
	bad := func(msg string) {
		collect(newErr(dir, manifestName, ErrCorrupt, msg+"; manifest.json was edited by hand or damaged: restore it from version control, or export again", nil))
	}
	if len(m.Entries) > opts.MaxEntries {
		collect(newErr(dir, manifestName, ErrLimit, fmt.Sprintf("the manifest lists %d entries, above the limit of %d (MaxEntries)", len(m.Entries), opts.MaxEntries), nil))
		return
	}
	details := map[string]bool{}
	for i, e := range m.Entries {
		pp, ok := parseEntryPath(e.Path)
		switch {
		case checkName(e.Path) != "" || !ok:
			bad(fmt.Sprintf("entry %d (%q) is not a path of the layout", i, e.Path))
			continue
		case i > 0 && e.Path <= m.Entries[i-1].Path:
			bad(fmt.Sprintf("entry %d (%q) is out of order or listed twice", i, e.Path))
		case !isHexSHA256(e.SHA256):
			bad(fmt.Sprintf("entry %d (%q) has a sha256 that is not 64 lowercase hex digits", i, e.Path))
		case e.Size < 0:
			bad(fmt.Sprintf("entry %d (%q) has a negative size", i, e.Path))
		}
		details[pp.scriptName] = details[pp.scriptName] || pp.kind == kindDetail
	}
	for _, sn := range slices.Sorted(maps.Keys(details)) {
		if !details[sn] {
			bad(fmt.Sprintf("connector %q has entries but no detail.json", sn))
		}
	}
	if m.ConnectorCount != len(details) {
		bad(fmt.Sprintf("connectorCount is %d but the entries hold %d connectors", m.ConnectorCount, len(details)))
	}
	if d := ContentDigest(m.Entries); m.ContentDigest != d {
		bad(fmt.Sprintf("contentDigest is %q but the entries give %q", m.ContentDigest, d))
	}
}
