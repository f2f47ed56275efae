package archive

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/connvault/connvault/internal/proc"
)

// The writer's temporary files beside an archive:
// ".<base>.<host>-<pid>-<digits>.spool" while connectors are added,
// ".<base>.<host>-<pid>-<digits>.tmp" while Close writes. <host> (8 hex
// digits, proc.HostTag) and <pid> say which process writes it, so the next
// run holding the directory's lock removes a killed run's at once. Older
// versions, and a host whose name is unknown, wrote ".<base>.<digits>.spool"
// (no owner): those go by age only.
const (
	spoolSuffix = ".spool"
	tmpSuffix   = ".tmp"
	// tempBaseMax bounds the part of the archive's name repeated in a
	// temporary name: a name may be up to 255 bytes, and the rest is a dot,
	// the owner (8 + 1 + up to 19 + 1 bytes), up to 20 digits of
	// os.CreateTemp and the suffix. Any legal archive name (248 bytes and
	// more) then still gives a legal temporary name.
	tempBaseMax = 128
)

// hostTag is this host's tag in temporary names.
var hostTag = proc.HostTag()

// tempPattern is os.CreateTemp's pattern for a temporary file beside the
// archive called base: the owner (this host and process) before the random
// digits.
func tempPattern(base, suffix string) string {
	owner := ""
	if hostTag != "" {
		owner = hostTag + "-" + strconv.Itoa(os.Getpid()) + "-"
	}
	return TempPrefix(base) + owner + "*" + suffix
}

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
	_, _, ok := tempOwner(name)
	return ok
}

// tempOwner parses a temporary file's name: the host tag and PID of the
// process writing it ("" and 0 for a name without an owner), and whether
// name is a temporary file's name at all.
func tempOwner(name string) (host string, pid int, ok bool) {
	if !strings.HasPrefix(name, ".") {
		return "", 0, false
	}
	var rest string
	switch {
	case strings.HasSuffix(name, spoolSuffix):
		rest = strings.TrimSuffix(name, spoolSuffix)
	case strings.HasSuffix(name, tmpSuffix):
		rest = strings.TrimSuffix(name, tmpSuffix)
	default:
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return "", 0, false
	}
	last := rest[i+1:]
	parts := strings.Split(last, "-")
	switch {
	case len(parts) == 1 && digitsOnly(parts[0]):
		return "", 0, true
	case len(parts) == 3 && len(parts[0]) == 8 && strings.Trim(parts[0], "0123456789abcdef") == "" &&
		digitsOnly(parts[1]) && digitsOnly(parts[2]):
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid <= 0 {
			return "", 0, false
		}
		return parts[0], pid, true
	}
	return "", 0, false
}

func digitsOnly(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// StaleAfter is how long a temporary file whose writer cannot be checked
// (another host's, or one named without its owner) must have gone unmodified
// before RemoveTemps takes it for a killed run's. A live writer appends to
// its spool after every connector; an export with -o FILE into a directory
// takes no lock, so the age is what keeps another host's files safe.
const StaleAfter = time.Hour

// RemoveTemps removes the writer's temporary files directly in dir that a
// killed run left, and returns their paths: at once those of a process of
// this host that is gone, and those of other hosts (or without an owner in
// their name) last modified before olderThan ago. A live process's files are
// never removed, however old. Call it while holding dir's lock (package
// dirlock): then no run writing archives into dir by its lock is using them.
func RemoveTemps(dir string, olderThan time.Duration) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		host, pid, ok := tempOwner(e.Name())
		if !e.Type().IsRegular() || !ok {
			continue
		}
		if host != "" && host == hostTag {
			if pid == os.Getpid() || !proc.Gone(pid) {
				continue
			}
		} else if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < olderThan {
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
