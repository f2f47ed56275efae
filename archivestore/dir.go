package archivestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/dirlock"
	"github.com/connvault/connvault/storage"
)

// openDir opens a snapshot directory for Open; its size is that of its
// connector files.
func openDir(dir string) (archive.SnapshotReader, int64, func(), error) {
	r, err := archive.OpenDir(dir, archive.ReadOptions{})
	if err != nil {
		return nil, 0, nil, err
	}
	size := int64(0)
	for _, e := range r.Manifest().Entries {
		size += e.Size
	}
	return r, size, func() { r.Close() }, nil
}

func readDirManifest(dir string) (*archive.Manifest, error) {
	r, err := archive.OpenDir(dir, archive.ReadOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Manifest(), nil
}

// IsSnapshotDir reports whether arg names a local directory, which every
// command reading an archive reads as a snapshot directory.
func IsSnapshotDir(arg string) bool {
	p, ok := storage.Local(arg)
	return ok && archive.IsDir(p)
}

// VerifyDir checks the snapshot directory arg (see archive.VerifyDir): a
// damaged layout is a problem, files changed since the export are listed.
func VerifyDir(arg string) archive.DirStatus {
	p, _ := storage.Local(arg)
	return archive.VerifyDir(p, archive.ReadOptions{})
}

// LockDir keeps two connvault runs from writing one snapshot directory at
// once. The lock file cannot live in the directory, which holds only what
// is tracked (a stray file would show in `git status`), so it lives in the
// user's cache directory, named after the directory's absolute path: that
// guards the runs of one machine, which is what a CI runner or a cron job
// needs.
func LockDir(ctx context.Context, dir string, wait bool) (*dirlock.Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(abs))
	ld := filepath.Join(base, "connvault", "dir-locks", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(ld, 0o700); err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return dirlock.Acquire(ctx, ld, wait)
}

// CreateDir starts writing the snapshot directory dir, spooling in this
// process's spool directory (so a killed run's spool is removed by the next
// run, as for archives bound for a bucket).
func CreateDir(ctx context.Context, dir string, meta archive.Meta) (*archive.DirWriter, error) {
	sd, err := spoolDir()
	if err != nil {
		return nil, fmt.Errorf("spool directory for %s: %w", dir, err)
	}
	return archive.CreateDirSpooled(ctx, dir, sd, meta)
}
