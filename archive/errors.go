package archive

import (
	"errors"
	"strings"
)

// Error kinds. Every error this package returns about an archive's content is
// an *Error whose Kind is one of these, so callers can branch with errors.Is.
// ErrTruncated, ErrMismatch, ErrDuplicate and ErrUnsafePath also match
// ErrCorrupt: they all mean "this file is not what connvault wrote".
var (
	// ErrNotArchive: the file is not a connvault archive at all (not zstd, no
	// manifest first, or another format name).
	ErrNotArchive = errors.New("not a connvault archive")
	// ErrUnsupportedVersion: a connvault archive of a format version this
	// build does not read.
	ErrUnsupportedVersion = errors.New("unsupported archive format version")
	// ErrCorrupt: damaged compressed data, a malformed tar stream or manifest.
	ErrCorrupt = errors.New("archive is corrupt")
	// ErrTruncated: the archive ends early.
	ErrTruncated = errors.New("archive is truncated")
	// ErrMismatch: an entry differs from what the manifest says, is missing,
	// or is not listed.
	ErrMismatch = errors.New("archive does not match its manifest")
	// ErrDuplicate: the same entry or connector appears twice.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrUnsafePath: a name that is not a plain local path (absolute, "..",
	// control characters), or an entry that is a link or a device.
	ErrUnsafePath = errors.New("unsafe entry name or type")
	// ErrLimit: a reader limit (ReadOptions) was reached. The archive may be
	// fine but larger than allowed, or it may be a decompression bomb.
	ErrLimit = errors.New("archive exceeds a reader limit")
	// ErrInterrupted: a snapshot directory whose export was killed while it
	// wrote its files: they may mix two tenant states. The next export
	// repairs it.
	ErrInterrupted = errors.New("snapshot directory export was interrupted")
)

// Error describes one problem with one archive, and with one entry of it when
// Entry is set. Msg says what is wrong and what to do about it.
type Error struct {
	Archive string // the archive file
	Entry   string // the entry (path inside the archive), or ""
	Kind    error  // one of the Err* kinds above
	Msg     string
	Err     error // the underlying cause, if any
}

// Problem is one finding of Verify.
type Problem = *Error

func (e *Error) Error() string {
	var b strings.Builder
	if e.Archive != "" {
		b.WriteString(e.Archive)
		b.WriteString(": ")
	}
	if e.Entry != "" {
		b.WriteString(e.Entry)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Is makes the integrity kinds match ErrCorrupt too.
func (e *Error) Is(target error) bool {
	if target != ErrCorrupt {
		return false
	}
	switch e.Kind {
	case ErrTruncated, ErrMismatch, ErrDuplicate, ErrUnsafePath:
		return true
	}
	return false
}

func newErr(archive, entry string, kind error, msg string, cause error) *Error {
	return &Error{Archive: archive, Entry: entry, Kind: kind, Msg: msg, Err: cause}
}
