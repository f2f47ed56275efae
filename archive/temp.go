package archive

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// The writer's temporary files beside an archive: ".<base>.<digits>.spool"
// while connectors are added, ".<base>.<digits>.tmp" while Close writes.
const (
	spoolSuffix = ".spool"
	tmpSuffix   = ".tmp"
	// tempBaseMax bounds the part of the archive's name repeated in a
	// temporary name: a name may be up to 255 bytes, and os.CreateTemp adds
	// up to 20 digits, the dots and the suffix. Any legal archive name
	// (248 bytes and more) then still gives a legal temporary name.
	tempBaseMax = 128
)

// TempPrefix is the start of the temporary names beside an archive called
// base: a dot (hidden, and never taken for an archive) and base, cut to
// tempBaseMax bytes on a character boundary.
func TempPrefix(base string) string {
	if len(base) > tempBaseMax {
		base = base[:tempBaseMax]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
	}
	return "." + base + "."
}

// IsTemp reports whether name (a base name) is one of the writer's temporary
// files.
func IsTemp(name string) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	var rest string
	switch {
	case strings.HasSuffix(name, spoolSuffix):
		rest = strings.TrimSuffix(name, spoolSuffix)
	case strings.HasSuffix(name, tmpSuffix):
		rest = strings.TrimSuffix(name, tmpSuffix)
	default:
		return false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return false
	}
	for _, c := range rest[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// StaleAfter is how long a temporary file must have gone unmodified before
// RemoveTemps takes it for a killed run's. A live writer appends to its spool
// after every connector; an export with -o FILE into a directory takes no
// lock, so the age is what keeps its files safe.
const StaleAfter = time.Hour

// RemoveTemps removes the writer's temporary files directly in dir that were
// last modified before olderThan ago, and returns their paths. Call it while
// holding dir's lock (package dirlock): then no run writing archives into dir
// by its lock can be using them, and they are what a killed run left behind.
func RemoveTemps(dir string, olderThan time.Duration) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsTemp(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < olderThan {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
