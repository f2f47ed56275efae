package archive

import (
	"errors"
	"fmt"
)

// ErrRefused marks an Add refused for that connector alone (a scriptName or
// locale that cannot be a name, a duplicate, an entry above a reader limit):
// the writer stays usable, so an export that goes on past failed connectors
// (--keep-going) can record it and go on.
var ErrRefused = errors.New("this connector cannot be archived")

// refusal wraps an Add error that concerns one connector.
type refusal struct{ err error }

func (r *refusal) Error() string   { return r.err.Error() }
func (r *refusal) Unwrap() []error { return []error{r.err, ErrRefused} }

func refuse(err error) error { return &refusal{err} }

// limitCheck keeps a snapshot within the limits a reader applies. Writer
// and DirWriter both embed it, so an archive and a snapshot directory refuse
// the same connectors with the same words.
type limitCheck struct {
	// limits are a default reader's unless a test narrows them.
	limits ReadOptions
	// entries and total are the file entries and bytes accepted so far.
	entries int
	total   int64
}

// checkEntries refuses a connector whose entries a reader with default
// limits would refuse: a snapshot its own reader
// rejects is a backup that cannot be restored, so the writer applies the
// reader's limits and says so when the connector is added, before anything
// is written. It also checks the running totals: entries and bytes of the
// whole snapshot. path is the archive's or the directory's; the refusal is
// ErrLimit and ErrRefused, and the totals count only accepted connectors.
func (l *limitCheck) checkEntries(path string, words snapshotWords, c *Connector, files []file) error {
	var size int64
	for _, f := range files {
		n := int64(len(f.data))
		if n > l.limits.MaxEntrySize {
			return refuse(newErr(path, f.path, ErrLimit, fmt.Sprintf(
				"connector %q: the entry would be %d bytes, above the %d-byte limit every reader applies (MaxEntrySize); the %s would not be readable, so this connector is not %s",
				c.ScriptName, n, l.limits.MaxEntrySize, words.form, words.stored), nil))
		}
		size += n
	}
	if l.entries+len(files) > l.limits.MaxEntries {
		return refuse(newErr(path, "", ErrLimit, fmt.Sprintf(
			"connector %q would bring the %s to %d entries, above the %d readers accept (MaxEntries); split the export (--filters)",
			c.ScriptName, words.form, l.entries+len(files), l.limits.MaxEntries), nil))
	}
	if l.total+size > l.limits.MaxTotalSize {
		return refuse(newErr(path, "", ErrLimit, fmt.Sprintf(
			"connector %q would bring the %s to %d bytes, above the %d readers accept (MaxTotalSize); split the export (--filters)",
			c.ScriptName, words.form, l.total+size, l.limits.MaxTotalSize), nil))
	}
	l.entries += len(files)
	l.total += size
	return nil
}

// checkManifest refuses a manifest a reader would refuse as too large.
func (w *Writer) checkManifest(mb []byte) error {
	if int64(len(mb)) > w.limits.MaxManifestSize {
		return newErr(w.path, manifestName, ErrLimit, fmt.Sprintf(
			"manifest.json would be %d bytes, above the %d-byte limit readers apply (MaxManifestSize); split the export (--filters)",
			len(mb), w.limits.MaxManifestSize), nil)
	}
	return nil
}

// defaultLimits are the limits of a reader given no ReadOptions (zero
// options cannot be negative, so withDefaults cannot fail here).
var defaultLimits, _ = ReadOptions{}.withDefaults()
