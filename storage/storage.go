// Package storage is where connvault keeps archives: a local directory or a
// prefix in an object store (S3 and S3-compatible servers, Azure Blob Storage,
// Google Cloud Storage), through gocloud.dev/blob.
//
// A location is a plain path ("backups", "/var/backups/connvault"), a
// file:// URL, or a bucket URL: "s3://bucket/prefix", "azblob://container/prefix",
// "gs://bucket/prefix". The query of a bucket URL carries the driver's
// settings (for S3: region, endpoint, use_path_style, profile, ...);
// credentials come from each cloud's usual provider chain, never from the URL.
//
// Writes are atomic on every backend: an object or file appears under its name
// only when its writer is closed successfully. Local files keep connvault's
// rules: a temporary file beside the destination, mode 0600, fsynced, renamed,
// directory fsynced.
package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // registers azblob://
	_ "gocloud.dev/blob/gcsblob"   // registers gs://
	_ "gocloud.dev/blob/s3blob"    // registers s3://
	"gocloud.dev/gcerrors"
)

// MetaSHA256 is the object metadata key holding the hex SHA-256 of an
// object's bytes (x-amz-meta-sha256 on S3).
const MetaSHA256 = "sha256"

// Location is an opened directory or bucket prefix. Close it when done.
type Location struct {
	raw    string // as the user gave it, for messages
	dir    string // local directory, when bucket is nil
	bucket *blob.Bucket
	base   string // scheme://bucket/prefix, without the query
	prefix string // object key prefix: "" or ending in "/"
	query  string // raw query of a bucket URL
}

// ObjectInfo is one archive (or other object) directly in a location.
type ObjectInfo struct {
	Name    string // base name, no prefix
	Size    int64
	ModTime time.Time
}

// IsURL reports whether s names a location by URL (s3://, gs://, azblob://,
// file://) rather than by a plain path.
func IsURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, `/\`)
}

// Local returns the local path s names: s itself for a plain path, the path
// of a file:// URL. ok is false for a bucket URL and for a URL connvault
// cannot use (Open and OpenObject then say what is wrong with it).
func Local(s string) (path string, ok bool) {
	if !IsURL(s) {
		return s, true
	}
	sp, err := parse(s)
	if err != nil || sp.scheme != "" {
		return "", false
	}
	return sp.dir, true
}

// IsBucket reports whether s must be opened with Open rather than used as a
// local path: a bucket URL, or a URL Open will refuse with a clear error.
func IsBucket(s string) bool {
	_, local := Local(s)
	return !local
}

// spec is a parsed location.
type spec struct {
	scheme string // "" for the local filesystem
	dir    string // local directory
	bucket string
	prefix string // "" or ending in "/"
	query  string
}

var bucketSchemes = []string{"s3", "gs", "azblob"}

// parse splits a location into its parts without touching the network or
// the disk.
func parse(location string) (spec, error) {
	if location == "" {
		return spec{}, errors.New("empty location: give a directory or a bucket URL such as s3://bucket/prefix")
	}
	if !IsURL(location) {
		return spec{dir: location}, nil
	}
	u, err := url.Parse(location)
	if err != nil {
		return spec{}, fmt.Errorf("location %q is not a valid URL: %w", location, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return spec{}, fmt.Errorf("location %q: a file:// URL names a local path (file:///dir), not host %q", location, u.Host)
		}
		if u.Path == "" {
			return spec{}, fmt.Errorf("location %q: the file:// URL has no path; write file:///absolute/dir", location)
		}
		return spec{dir: filepath.FromSlash(u.Path)}, nil
	}
	if !slices.Contains(bucketSchemes, scheme) {
		return spec{}, fmt.Errorf("location %q: unsupported scheme %q; use s3://, gs://, azblob://, file:// or a plain path", location, u.Scheme)
	}
	if u.User != nil {
		// Credentials in a URL would show in process listings and logs.
		return spec{}, fmt.Errorf("location %s://%s: credentials do not go in the URL; use the cloud's own settings (AWS_ACCESS_KEY_ID/AWS_PROFILE, AZURE_*, GOOGLE_APPLICATION_CREDENTIALS)", u.Scheme, u.Host)
	}
	if u.Host == "" {
		return spec{}, fmt.Errorf("location %q: no bucket name; write %s://BUCKET/prefix", location, scheme)
	}
	if u.Fragment != "" {
		return spec{}, fmt.Errorf("location %q: unexpected #fragment", location)
	}
	prefix := strings.Trim(u.Path, "/")
	for _, part := range strings.Split(prefix, "/") {
		if part == "." || part == ".." || (part == "" && prefix != "") {
			return spec{}, fmt.Errorf("location %q: the prefix %q has an empty, '.' or '..' part", location, prefix)
		}
	}
	if prefix != "" {
		prefix += "/"
	}
	return spec{scheme: scheme, bucket: u.Host, prefix: prefix, query: u.RawQuery}, nil
}

// Open opens a location. A local directory is not created here; a bucket
// must exist and its driver's settings must be valid, but
// nothing is read from it yet.
func Open(ctx context.Context, location string) (*Location, error) {
	sp, err := parse(location)
	if err != nil {
		return nil, err
	}
	if sp.scheme == "" {
		return &Location{raw: location, dir: sp.dir}, nil
	}
	burl := sp.scheme + "://" + sp.bucket
	if sp.query != "" {
		burl += "?" + sp.query
	}
	b, err := blob.OpenBucket(ctx, burl)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", location, err)
	}
	return &Location{
		raw:    location,
		bucket: b,
		base:   sp.scheme + "://" + sp.bucket + "/" + sp.prefix,
		prefix: sp.prefix,
		query:  sp.query,
	}, nil
}

// OpenObject opens the location holding one object or file named by arg (a
// path or an object URL) and returns the object's name in it.
func OpenObject(ctx context.Context, arg string) (*Location, string, error) {
	sp, err := parse(arg)
	if err != nil {
		return nil, "", err
	}
	if sp.scheme == "" {
		name := filepath.Base(sp.dir)
		loc, err := Open(ctx, filepath.Dir(sp.dir))
		return loc, name, err
	}
	key := strings.TrimSuffix(sp.prefix, "/")
	if key == "" {
		return nil, "", fmt.Errorf("%s: names a bucket, not an archive; add the archive's name: %s://%s/NAME.tar.zst", arg, sp.scheme, sp.bucket)
	}
	dir, name := path.Split(key)
	u := sp.scheme + "://" + sp.bucket + "/" + dir
	if sp.query != "" {
		u += "?" + sp.query
	}
	loc, err := Open(ctx, u)
	if err != nil {
		return nil, "", err
	}
	loc.raw = arg
	return loc, name, nil
}

// String is the location as given.
func (l *Location) String() string { return l.raw }

// Path names an object or file of the location the way a user can pass it
// back to connvault: a file path, or the object's URL with the location's
// query (driver settings, never credentials).
func (l *Location) Path(name string) string {
	if l.bucket == nil {
		return filepath.Join(l.dir, name)
	}
	p := l.base + name
	if l.query != "" {
		p += "?" + l.query
	}
	return p
}

// BaseName is the last element of a path or object URL, without the query.
func BaseName(p string) string {
	if IsURL(p) {
		if u, err := url.Parse(p); err == nil {
			return path.Base(u.Path)
		}
	}
	return filepath.Base(p)
}

// Close releases the bucket's client.
func (l *Location) Close() error {
	if l.bucket == nil {
		return nil
	}
	return l.bucket.Close()
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("%q is not a file name (no separators, not . or ..)", name)
	}
	return nil
}

// notFoundError is a missing object: it says so in three words (the
// driver's message names the key, the HTTP status and request ids) and
// matches fs.ErrNotExist and the driver's error.
type notFoundError struct{ cause error }

func (e *notFoundError) Error() string   { return "no such object" }
func (e *notFoundError) Unwrap() []error { return []error{fs.ErrNotExist, e.cause} }

// wrap names the object in err, and turns the driver's "not found" into a
// notFoundError.
func (l *Location) wrap(op, name string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		err = &notFoundError{cause: err}
	}
	return fmt.Errorf("%s %s: %w", op, l.Path(name), err)
}

// WriteOptions adjusts Create.
type WriteOptions struct {
	// SHA256, when set, is the hex SHA-256 the content must have. It is
	// stored as the object's MetaSHA256 metadata, and Close refuses (and
	// commits nothing) if the bytes written hash differently.
	SHA256 string
}

// Writer writes one object or file. The object appears under its name only
// when Close succeeds; cancelling the context given to Create, or calling
// Abort, discards it. A Writer is not safe for concurrent use.
type Writer struct {
	ctx    context.Context
	cancel context.CancelFunc
	loc    *Location
	name   string
	want   string
	h      hash.Hash
	n      int64

	bw  *blob.Writer
	tmp *os.File

	done bool
	err  error
}

// Create starts writing name in the location.
func (l *Location) Create(ctx context.Context, name string, opts WriteOptions) (*Writer, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("create in %s: %w", l.raw, err)
	}
	if opts.SHA256 != "" {
		if b, err := hex.DecodeString(opts.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("create %s: SHA256 %q is not a hex SHA-256", l.Path(name), opts.SHA256)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Writer{ctx: ctx, cancel: cancel, loc: l, name: name, want: opts.SHA256, h: sha256.New()}
	if l.bucket == nil {
		f, err := os.CreateTemp(l.dir, "."+name+".*.tmp")
		if err != nil {
			cancel()
			return nil, fmt.Errorf("create %s: %w", l.Path(name), err)
		}
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			os.Remove(f.Name())
			cancel()
			return nil, fmt.Errorf("create %s: %w", l.Path(name), err)
		}
		w.tmp = f
		return w, nil
	}
	wo := &blob.WriterOptions{ContentType: "application/zstd"}
	if opts.SHA256 != "" {
		wo.Metadata = map[string]string{MetaSHA256: opts.SHA256}
	}
	bw, err := l.bucket.NewWriter(ctx, l.prefix+name, wo)
	if err != nil {
		cancel()
		return nil, l.wrap("create", name, err)
	}
	w.bw = bw
	return w, nil
}

// Write writes p to the object.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, fmt.Errorf("write %s: writer closed", w.loc.Path(w.name))
	}
	var n int
	var err error
	if w.tmp != nil {
		n, err = w.tmp.Write(p)
	} else {
		n, err = w.bw.Write(p)
	}
	w.h.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		w.err = w.loc.wrap("write", w.name, err)
		return n, w.err
	}
	return n, nil
}

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// Close commits the object, unless the context was cancelled, a write
// failed, or the content does not match WriteOptions.SHA256: then nothing
// appears under the name and the error says why.
func (w *Writer) Close() error {
	if w.done {
		if w.err != nil {
			return w.err
		}
		return fmt.Errorf("close %s: writer already closed", w.loc.Path(w.name))
	}
	w.done = true
	defer w.cancel()
	fail := w.err
	if fail == nil {
		fail = w.ctx.Err()
	}
	if fail == nil && w.want != "" {
		if got := hex.EncodeToString(w.h.Sum(nil)); got != w.want {
			fail = fmt.Errorf("content SHA-256 %s differs from the expected %s", got, w.want)
		}
	}
	if fail != nil {
		w.cancel() // makes the blob writer abort instead of committing
		w.discard()
		w.err = w.loc.wrap("write", w.name, fail)
		return w.err
	}
	if w.tmp != nil {
		w.err = w.commitFile()
	} else if err := w.bw.Close(); err != nil {
		w.err = w.loc.wrap("write", w.name, err)
	}
	return w.err
}

// Abort discards the object. It is safe after Close (then it does nothing).
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.err = fmt.Errorf("write %s: aborted", w.loc.Path(w.name))
	w.cancel()
	w.discard()
}

func (w *Writer) discard() {
	if w.tmp != nil {
		w.tmp.Close()
		os.Remove(w.tmp.Name())
		return
	}
	_ = w.bw.Close() // with the context cancelled this aborts the upload
}

func (w *Writer) commitFile() error {
	tmp := w.tmp.Name()
	dest := w.loc.Path(w.name)
	fail := func(what string, err error) error {
		w.tmp.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %s: %w", dest, what, err)
	}
	if err := w.tmp.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := w.tmp.Close(); err != nil {
		return fail("close", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: rename into place: %w", dest, err)
	}
	// The file is complete and in place; a failed directory sync is
	// reported but the file stays, as removing it would lose good data.
	d, err := os.Open(w.loc.dir)
	if err != nil {
		return fmt.Errorf("write %s: fsync directory (the file is written but may not survive a crash): %w", dest, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync directory (the file is written but may not survive a crash): %w", dest, err)
	}
	return nil
}

// Object is an open object or file for reading. When the object carries a
// MetaSHA256, reading it to the end checks the bytes against it and a
// mismatch is returned by the last Read instead of io.EOF.
type Object struct {
	Name   string // as Location.Path names it
	Size   int64
	SHA256 string // the MetaSHA256 metadata, "" when absent (always for files)

	r   io.ReadCloser
	h   hash.Hash
	eof bool
}

// Open opens name for reading. A missing object gives an error matching
// fs.ErrNotExist.
func (l *Location) Open(ctx context.Context, name string) (*Object, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("open in %s: %w", l.raw, err)
	}
	if l.bucket == nil {
		f, err := os.Open(l.Path(name))
		if err != nil {
			return nil, fmt.Errorf("open archive: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("open archive: %w", err)
		}
		if !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("open archive %s: not a regular file", l.Path(name))
		}
		return &Object{Name: l.Path(name), Size: st.Size(), r: f}, nil
	}
	attrs, err := l.bucket.Attributes(ctx, l.prefix+name)
	if err != nil {
		return nil, l.wrap("open", name, err)
	}
	r, err := l.bucket.NewReader(ctx, l.prefix+name, nil)
	if err != nil {
		return nil, l.wrap("open", name, err)
	}
	o := &Object{Name: l.Path(name), Size: r.Size(), SHA256: attrs.Metadata[MetaSHA256], r: r}
	if o.SHA256 != "" {
		o.h = sha256.New()
	}
	return o, nil
}

// Read reads from the object.
func (o *Object) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if o.h != nil {
		o.h.Write(p[:n])
		if err == io.EOF && !o.eof {
			o.eof = true
			if got := hex.EncodeToString(o.h.Sum(nil)); got != o.SHA256 {
				return n, fmt.Errorf("read %s: content SHA-256 %s differs from the %s recorded in its metadata: the object was changed or damaged", o.Name, got, o.SHA256)
			}
		}
	}
	return n, err
}

// Close releases the object.
func (o *Object) Close() error { return o.r.Close() }

// Exists reports whether name exists in the location.
func (l *Location) Exists(ctx context.Context, name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, fmt.Errorf("look up in %s: %w", l.raw, err)
	}
	if l.bucket == nil {
		_, err := os.Lstat(l.Path(name))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, nil
	}
	ok, err := l.bucket.Exists(ctx, l.prefix+name)
	if err != nil {
		return false, l.wrap("look up", name, err)
	}
	return ok, nil
}

// List returns the regular files (objects) directly in the location, not in
// subdirectories (sub-prefixes), sorted by name.
func (l *Location) List(ctx context.Context) ([]ObjectInfo, error) {
	if l.bucket == nil {
		entries, err := os.ReadDir(l.dir)
		if err != nil {
			return nil, fmt.Errorf("reading archive directory %s: %w", l.dir, err)
		}
		var out []ObjectInfo
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			info := ObjectInfo{Name: e.Name()}
			if fi, err := e.Info(); err == nil {
				info.Size, info.ModTime = fi.Size(), fi.ModTime()
			}
			out = append(out, info)
		}
		return out, nil
	}
	var out []ObjectInfo
	it := l.bucket.List(&blob.ListOptions{Prefix: l.prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.raw, err)
		}
		name := strings.TrimPrefix(obj.Key, l.prefix)
		if obj.IsDir || name == "" || strings.Contains(name, "/") {
			continue
		}
		out = append(out, ObjectInfo{Name: name, Size: obj.Size, ModTime: obj.ModTime})
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete removes name. A missing object gives an error matching
// fs.ErrNotExist.
func (l *Location) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("delete in %s: %w", l.raw, err)
	}
	if l.bucket == nil {
		if err := os.Remove(l.Path(name)); err != nil {
			return err
		}
		return nil
	}
	if err := l.bucket.Delete(ctx, l.prefix+name); err != nil {
		return l.wrap("delete", name, err)
	}
	return nil
}

// OpenHead reads an archive from its start, fetching it chunk bytes at a
// time as it is read (range reads on a bucket; a plain file locally), so a
// reader that needs only the first entry (the manifest) costs only the
// chunks it touched. BytesRead says how many bytes were fetched.
func (l *Location) OpenHead(ctx context.Context, name string, chunk int64) (*HeadReader, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("open in %s: %w", l.raw, err)
	}
	h := &HeadReader{ctx: ctx, l: l, name: name, chunk: chunk}
	if l.bucket == nil {
		f, err := os.Open(l.Path(name))
		if err != nil {
			return nil, fmt.Errorf("open archive: %w", err)
		}
		h.file = f
	}
	return h, nil
}

// HeadReader is OpenHead's reader.
type HeadReader struct {
	ctx       context.Context
	l         *Location
	name      string
	chunk     int64
	file      *os.File
	buf       []byte
	off       int64 // of the next chunk
	eof       bool
	BytesRead int64
}

func (h *HeadReader) Read(p []byte) (int, error) {
	if len(h.buf) == 0 {
		if h.eof {
			return 0, io.EOF
		}
		if err := h.fill(); err != nil {
			return 0, err
		}
		if len(h.buf) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, h.buf)
	h.buf = h.buf[n:]
	return n, nil
}

func (h *HeadReader) fill() error {
	buf := make([]byte, h.chunk)
	var n int
	var err error
	if h.file != nil {
		n, err = io.ReadFull(h.file, buf)
	} else {
		var r *blob.Reader
		r, err = h.l.bucket.NewRangeReader(h.ctx, h.l.prefix+h.name, h.off, h.chunk, nil)
		if err != nil {
			return h.l.wrap("read", h.name, err)
		}
		n, err = io.ReadFull(r, buf)
		r.Close()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		h.eof, err = true, nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", h.name, err)
	}
	h.buf = buf[:n]
	h.off += int64(n)
	h.BytesRead += int64(n)
	return nil
}

// Close releases the file.
func (h *HeadReader) Close() error {
	if h.file != nil {
		return h.file.Close()
	}
	return nil
}
