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

// checkEntries refuses a connector whose entries a reader with default
// limits would refuse (issue 18, defect 7): an archive its own reader
// rejects is a backup that cannot be restored, so the writer applies the
// reader's limits and says so at export time. It also checks the running
// totals: entries and bytes of the whole archive.
func (w *Writer) checkEntries(c *Connector, files []file) error {
	var size int64
	for _, f := range files {
		n := int64(len(f.data))
		if n > w.limits.MaxEntrySize {
			return refuse(newErr(w.path, f.path, ErrLimit, fmt.Sprintf(
				"connector %q: the entry would be %d bytes, above the %d-byte limit every reader applies (MaxEntrySize); the archive would not be readable, so this connector is not saved",
				c.ScriptName, n, w.limits.MaxEntrySize), nil))
		}
		size += n
	}
	if len(w.files)+len(files) > w.limits.MaxEntries {
		return refuse(newErr(w.path, "", ErrLimit, fmt.Sprintf(
			"connector %q would bring the archive to %d entries, above the %d readers accept (MaxEntries); split the export (--filters)",
			c.ScriptName, len(w.files)+len(files), w.limits.MaxEntries), nil))
	}
	if w.total+size > w.limits.MaxTotalSize {
		return refuse(newErr(w.path, "", ErrLimit, fmt.Sprintf(
			"connector %q would bring the archive to %d bytes, above the %d readers accept (MaxTotalSize); split the export (--filters)",
			c.ScriptName, w.total+size, w.limits.MaxTotalSize), nil))
	}
	w.total += size
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
