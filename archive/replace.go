package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Replace says what Close does about a file already at the archive's path.
type Replace int

const (
	// ReplaceAny renames over whatever stands at the path (the default).
	ReplaceAny Replace = iota
	// ReplaceNone never replaces anything: Close fails with ErrExists when
	// a file appeared at the path, even one made after the caller checked.
	ReplaceNone
	// ReplaceRegular replaces a regular file only, never a symlink (its
	// target is not what the user named), a device, a pipe or a directory.
	ReplaceRegular
)

// ErrExists is returned (wrapped) by Close when ReplaceNone or
// ReplaceRegular forbade replacing what stands at the path; nothing was
// replaced and no archive was written.
var ErrExists = errors.New("a file that may not be replaced stands at the archive's path")

// SetReplace sets what Close may replace. Call it before Close.
func (w *Writer) SetReplace(r Replace) { w.replace = r }

// place moves the finished temporary file to the archive's path as the
// Replace policy allows.
func (w *Writer) place() error {
	switch w.replace {
	case ReplaceNone:
		// A hard link never replaces: it is the atomic "create if absent".
		err := os.Link(w.tmpName, w.path)
		if err == nil {
			return nil // cleanup removes the temporary name
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w (it appeared while the archive was written); nothing was replaced", ErrExists)
		}
		// A file system without hard links: check, then rename.
		if _, lerr := os.Lstat(w.path); lerr == nil {
			return fmt.Errorf("%w (it appeared while the archive was written); nothing was replaced", ErrExists)
		}
	case ReplaceRegular:
		if fi, err := os.Lstat(w.path); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: it is not a regular file (%v); nothing was replaced", ErrExists, fi.Mode().Type())
		}
	}
	if err := os.Rename(w.tmpName, w.path); err != nil {
		return err
	}
	w.tmpName = ""
	return nil
}
