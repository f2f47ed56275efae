// Package archivestore is where connvault's archives live: files in local
// directories and objects under bucket prefixes, their names
// (<tenant>-connectors-<UTC time>.tar.zst), the directory lock, the newest
// archive of a tenant, the spool files of bucket uploads, and the state
// directories of pre-restore snapshots and promotions. Commands and workflows
// go through it instead of each knowing the layout.
package archivestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/dirlock"
	"github.com/connvault/connvault/internal/proc"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/storage"
)

// FreeObjectName picks the archive name for now under a bucket prefix,
// moving a second on while the name is taken, as FreeName does on disk.
func FreeObjectName(ctx context.Context, loc *storage.Location, tenant string, now time.Time) (string, error) {
	for i := 0; ; i++ {
		name := retention.FileName(tenant, now.Add(time.Duration(i)*time.Second))
		taken, err := loc.Exists(ctx, name)
		if err != nil || !taken {
			return name, err
		}
	}
}

// Create starts an archive bound for loc (a bucket) or, when loc is
// nil, for the file path. A bucket archive is spooled in the temporary
// directory ($TMPDIR) and streamed to the bucket by Commit.
func Create(ctx context.Context, loc *storage.Location, path string, meta archive.Meta) (*archive.Writer, error) {
	if loc == nil {
		return archive.Create(ctx, path, meta)
	}
	return CreateSpooled(ctx, storage.BaseName(path), meta)
}

// CreateSpooled starts an archive that is not bound for a local file (an
// object upload, stdout): it is spooled in this process's spool directory
// in $TMPDIR, whose leftovers a killed run leaves are removed by the next
// run (see CleanSpools).
func CreateSpooled(ctx context.Context, name string, meta archive.Meta) (*archive.Writer, error) {
	dir, err := spoolDir()
	if err != nil {
		return nil, fmt.Errorf("spool directory for %s: %w", name, err)
	}
	return archive.Create(ctx, filepath.Join(dir, name), meta)
}

// CommitTo commits a spooled archive to out (stdout for `export -o -`).
func CommitTo(ctx context.Context, w *archive.Writer, out io.Writer) (*archive.Manifest, error) {
	return w.CloseTo(ctx, func(context.Context, string, int64) (io.WriteCloser, error) {
		return nopWriteCloser{out}, nil
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// spoolPrefix names the per-process spool directories in $TMPDIR:
// connvault-spool-<pid>.
const spoolPrefix = "connvault-spool-"

// spoolDir is this process's spool directory, made private (0700) and
// refused when something else stands at its name (a link planted in a shared
// /tmp). It first removes the spool directories of runs that are gone.
func spoolDir() (string, error) {
	CleanSpools()
	d := filepath.Join(os.TempDir(), spoolPrefix+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(d)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is not a private directory (mode %v): remove it", d, fi.Mode())
	}
	return d, nil
}

// CleanSpools removes the spool directories of connvault runs that are no
// longer running (killed during an upload), and returns what it removed.
// Directories of live runs, and those it may not remove, are left alone.
func CleanSpools() []string {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), spoolPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(rest)
		if err != nil || pid <= 0 || pid == os.Getpid() || !proc.Gone(pid) {
			continue
		}
		p := filepath.Join(os.TempDir(), e.Name())
		if os.RemoveAll(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// MustExist refuses a local directory that does not exist, with a hint: a
// typo in -d must not start a new backup history that prune and --if-changed
// never see. Bucket prefixes need no creating and pass.
func MustExist(flag, dir string) error {
	local, ok := storage.Local(dir)
	if !ok {
		return nil
	}
	fi, err := os.Stat(local)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s does not exist: check the spelling, or create it first (mkdir -p %s)", flag, local, local)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, local, err)
	case !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory", flag, local)
	}
	return nil
}

// Commit commits w to the file it was created for or, with loc, as
// object name in the bucket with the archive's SHA-256 as metadata. The
// object appears only when the upload completes.
func Commit(ctx context.Context, w *archive.Writer, loc *storage.Location, name string) (*archive.Manifest, error) {
	if loc == nil {
		return w.Close(ctx)
	}
	return w.CloseTo(ctx, func(ctx context.Context, sum string, _ int64) (io.WriteCloser, error) {
		return loc.Create(ctx, name, storage.WriteOptions{SHA256: sum})
	})
}

// Open opens an archive named by a path or an object URL, or a snapshot
// directory, for streaming reads. The returned close releases the object
// and the reader.
func Open(ctx context.Context, arg string) (archive.SnapshotReader, int64, func(), error) {
	if p, ok := storage.Local(arg); ok {
		arg = p
		if archive.IsDir(arg) {
			return openDir(arg)
		}
		r, err := archive.Open(arg, archive.ReadOptions{})
		if err != nil {
			return nil, 0, nil, err
		}
		size := int64(0)
		if fi, err := os.Stat(arg); err == nil {
			size = fi.Size()
		}
		return r, size, func() { r.Close() }, nil
	}
	loc, obj, err := openObject(ctx, arg)
	if err != nil {
		return nil, 0, nil, err
	}
	r, err := archive.OpenReader(obj, arg, archive.ReadOptions{})
	if err != nil {
		obj.Close()
		loc.Close()
		return nil, 0, nil, err
	}
	return r, obj.Size, func() { r.Close(); obj.Close(); loc.Close() }, nil
}

func openObject(ctx context.Context, arg string) (*storage.Location, *storage.Object, error) {
	loc, name, err := storage.OpenObject(ctx, arg)
	if err != nil {
		return nil, nil, err
	}
	obj, err := loc.Open(ctx, name)
	if err != nil {
		loc.Close()
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w; check the archive's URL", err)
		}
		return nil, nil, fmt.Errorf("%w (check the URL, the credentials and, for an S3-compatible server, ?endpoint= and use_path_style=true)", err)
	}
	return loc, obj, nil
}

// Read reads a whole archive named by a path or an object URL, or a
// snapshot directory.
func Read(ctx context.Context, arg string) (*archive.Snapshot, error) {
	if p, ok := storage.Local(arg); ok {
		arg = p
		return archive.ReadAnyFile(arg, archive.ReadOptions{})
	}
	loc, obj, err := openObject(ctx, arg)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	defer obj.Close()
	return archive.ReadAll(obj, arg, archive.ReadOptions{})
}

// Verify verifies an archive named by a path or an object URL. For
// an object the SHA-256 in its metadata is checked too: a mismatch is a
// problem even when the archive itself reads clean.
func Verify(ctx context.Context, arg string) []archive.Problem {
	if p, ok := storage.Local(arg); ok {
		arg = p
		return archive.Verify(arg, archive.ReadOptions{})
	}
	loc, obj, err := openObject(ctx, arg)
	if err != nil {
		return []archive.Problem{{Archive: arg, Kind: archive.ErrNotArchive, Msg: "cannot open the archive: " + err.Error(), Err: err}}
	}
	defer loc.Close()
	defer obj.Close()
	probs := archive.VerifyReader(obj, arg, archive.ReadOptions{})
	// The archive reader may stop before the last byte (the end of the tar
	// stream); the metadata check needs all of them.
	if _, err := io.Copy(io.Discard, obj); err != nil {
		probs = append(probs, &archive.Error{Archive: arg, Kind: archive.ErrCorrupt, Msg: err.Error(), Err: err})
	}
	return probs
}

// NewestManifest reads the manifest of the newest archive of tenant in dir
// (a directory or a bucket prefix), or nil when there is none.
func NewestManifest(ctx context.Context, dir, tenant string) (*archive.Manifest, error) {
	var all []retention.Archive
	if p, ok := storage.Local(dir); ok {
		a, err := retention.Scan(p)
		if err != nil {
			return nil, err
		}
		all = a
	} else {
		loc, err := storage.Open(ctx, dir)
		if err != nil {
			return nil, err
		}
		defer loc.Close()
		if all, err = retention.ScanLocation(ctx, loc); err != nil {
			return nil, err
		}
	}
	var newest *retention.Archive
	for i := range all {
		if a := &all[i]; a.Tenant == tenant && (newest == nil || a.Time.After(newest.Time)) {
			newest = a
		}
	}
	if newest == nil {
		return nil, nil
	}
	m, err := ReadManifest(ctx, newest.Path)
	if err != nil {
		return nil, fmt.Errorf("--if-changed: reading the newest archive %s: %w (verify or remove it)", newest.Path, err)
	}
	return m, nil
}

// Exists reports whether the archive operand names something that
// exists, with an error that says what to give otherwise.
func Exists(ctx context.Context, arg string) error {
	if p, ok := storage.Local(arg); ok {
		arg = p
		_, err := os.Stat(arg)
		return err
	}
	loc, name, err := storage.OpenObject(ctx, arg)
	if err != nil {
		return err
	}
	defer loc.Close()
	ok, err := loc.Exists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no such object (%w)", os.ErrNotExist)
	}
	return nil
}

// ReadManifest reads only the manifest of an archive named by a path or
// an object URL, or of a snapshot directory (its files as they are).
func ReadManifest(ctx context.Context, arg string) (*archive.Manifest, error) {
	if p, ok := storage.Local(arg); ok {
		arg = p
		if archive.IsDir(arg) {
			return readDirManifest(arg)
		}
		return archive.ReadManifest(arg)
	}
	r, _, closeAll, err := Open(ctx, arg)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	return r.Manifest(), nil
}

// Dest is where a new archive goes: a file in a locked local
// directory, or an object under a bucket prefix (no lock there: see
// retention.ScanLocation).
type Dest struct {
	Bucket *storage.Location // nil for a directory
	Path   string            // file path or object URL
	Name   string            // object name in Bucket
	// Release closes the bucket or releases the directory's lock.
	Release func()
}

// ObjectDest is the archive object an --output URL names.
func ObjectDest(ctx context.Context, url string) (*Dest, error) {
	loc, name, err := storage.OpenObject(ctx, url)
	if err != nil {
		return nil, err
	}
	return &Dest{Bucket: loc, Path: loc.Path(name), Name: name, Release: func() { loc.Close() }}, nil
}

// DirDest picks a free archive name for tenant in dir, a directory or a
// bucket prefix; a directory is created if need be and locked (waiting for
// another run when wait is set) until release. flag names dir in errors.
func DirDest(ctx context.Context, flag, dir, tenant string, now time.Time, wait bool) (*Dest, error) {
	local, ok := storage.Local(dir)
	if !ok {
		loc, err := storage.Open(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		name, err := FreeObjectName(ctx, loc, tenant, now)
		if err != nil {
			loc.Close()
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return &Dest{Bucket: loc, Path: loc.Path(name), Name: name, Release: func() { loc.Close() }}, nil
	}
	if err := os.MkdirAll(local, 0o700); err != nil {
		return nil, fmt.Errorf("%s: creating %s: %w", flag, local, err)
	}
	if heldByCaller(ctx) {
		// The caller holds dir's lock for all its exports (a fleet run).
		return &Dest{Path: FreeName(local, tenant, now), Release: func() {}}, nil
	}
	lock, err := dirlock.Acquire(ctx, local, wait)
	if err != nil {
		return nil, err
	}
	// Holding the lock, no other run writes here: temporary files are
	// what a killed run left.
	_, _ = archive.RemoveTemps(local, archive.StaleAfter)
	return &Dest{Path: FreeName(local, tenant, now), Release: func() { lock.Release() }}, nil
}

// FreeName picks the archive name for now, moving a second on while the name
// is taken, so two runs in the same second still give two archives.
func FreeName(dir, tenant string, now time.Time) string {
	for i := 0; ; i++ {
		p := filepath.Join(dir, retention.FileName(tenant, now.Add(time.Duration(i)*time.Second)))
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
	}
}

// StateDir is flag when set, else the folder sub of connvault's directory in
// the XDG state directory (~/.local/state when $XDG_STATE_HOME is unset);
// alternative says what to give instead when there is no home directory.
func StateDir(flag, sub, alternative string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "connvault", sub), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for connvault's %s folder (%v): give %s", sub, err, alternative)
	}
	return filepath.Join(home, ".local", "state", "connvault", sub), nil
}

// Pre-restore snapshots and promotions keep their archives in these folders
// of the state directory unless told otherwise.
const (
	PreRestoreDir = "pre-restore"
	PromoteDir    = "promote"
)

type heldLockKey struct{}

// WithHeldLock marks ctx as run under a directory lock its caller holds
// (archivestore.LockDir), so DirDest does not take it again: a fleet export
// writes many tenants' archives into one directory at once under one lock.
func WithHeldLock(ctx context.Context) context.Context {
	return context.WithValue(ctx, heldLockKey{}, true)
}

func heldByCaller(ctx context.Context) bool {
	held, _ := ctx.Value(heldLockKey{}).(bool)
	return held
}
