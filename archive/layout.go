package archive

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Entry names of format version 1 (docs/archive-format.md, "Layout").
const (
	manifestName      = "manifest.json"
	connectorsDir     = "connectors/"
	detailName        = "detail.json"
	sourceConfigName  = "source-config.xml"
	sourceTemplName   = "source-template.xml"
	correlationName   = "correlation-config.xml"
	translationsDir   = "translations/"
	translationSuffix = ".properties"
	maxComponentBytes = 255 // NAME_MAX on common file systems, so `tar -x` can create it
)

// file is one regular-file entry of a connector, before it is written.
type file struct {
	path string
	data []byte
}

// connectorFiles lists the entries of c in ascending path order. A nil
// document has no entry; an empty one has an empty entry.
func connectorFiles(c *Connector) []file {
	dir := connectorsDir + c.ScriptName + "/"
	fs := make([]file, 0, 4+len(c.Translations))
	add := func(name string, b []byte) {
		if b != nil {
			fs = append(fs, file{dir + name, b})
		}
	}
	add(detailName, c.Detail)
	add(sourceConfigName, c.SourceConfig)
	add(sourceTemplName, c.SourceTemplate)
	add(correlationName, c.CorrelationConfig)
	for loc, b := range c.Translations {
		if b == nil {
			b = []byte{} // a present locale with no text is still a present locale
		}
		fs = append(fs, file{dir + translationsDir + loc + translationSuffix, b})
	}
	slices.SortFunc(fs, func(a, b file) int { return cmp.Compare(a.path, b.path) })
	return fs
}

// snapshotWords are how an Add refusal names the snapshot form: the form,
// what storing a connector is called in it, how often a scriptName may be
// stored.
type snapshotWords struct{ form, stored, once string }

var (
	archiveWords = snapshotWords{"archive", "archived", "once per archive"}
	dirWords     = snapshotWords{"snapshot directory", "saved", "once"}
)

// checkConnector refuses a connector (not nil) that the layout cannot hold
// or that was already added: a scriptName or locale that cannot be a name,
// no detail. Writer.Add and DirWriter.Add share it so that an archive and a
// snapshot directory take the same connectors; path is the archive's or the
// directory's.
func checkConnector(path string, words snapshotWords, c *Connector, added map[string]struct{}) error {
	if why := checkComponent(c.ScriptName); why != "" {
		return newErr(path, "", ErrUnsafePath, fmt.Sprintf(
			"connector scriptName %q cannot be a folder name: %s; this connector cannot be %s, please report it", c.ScriptName, why, words.stored), nil)
	}
	if c.Detail == nil {
		return fmt.Errorf("%s %s: connector %q has no detail; every %s connector needs its detail JSON", words.form, path, c.ScriptName, words.stored)
	}
	for loc := range c.Translations {
		if why := checkComponent(loc); why != "" {
			return newErr(path, "", ErrUnsafePath, fmt.Sprintf(
				"connector %q: locale %q cannot be a file name: %s", c.ScriptName, loc, why), nil)
		}
	}
	if _, dup := added[c.ScriptName]; dup {
		return newErr(path, "", ErrDuplicate, fmt.Sprintf(
			"connector %q was already added; each scriptName is saved %s", c.ScriptName, words.once), nil)
	}
	return nil
}

// checkComponent says why s cannot be one path component (a scriptName or a
// locale), or returns "" when it can.
func checkComponent(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case s == "." || s == "..":
		return fmt.Sprintf("%q is a relative directory name", s)
	case len(s) > maxComponentBytes:
		return fmt.Sprintf("it is %d bytes long (at most %d)", len(s), maxComponentBytes)
	case !utf8.ValidString(s):
		return "it is not valid UTF-8"
	case strings.ContainsAny(s, `/\`):
		return "it contains a slash or backslash"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("it contains the control character %U", r)
		}
	}
	return ""
}

// checkName says why a tar entry name is not a plain local path, or returns
// "". Directory names end with one '/'.
func checkName(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.HasPrefix(name, "/"):
		return "it is an absolute path"
	case !utf8.ValidString(name):
		return "it is not valid UTF-8"
	case strings.Contains(name, `\`):
		return "it contains a backslash"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Sprintf("it contains the control character %U", r)
		}
	}
	for _, c := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		switch c {
		case "..":
			return "it contains a '..' component"
		case ".", "":
			return "it contains an empty or '.' component"
		}
	}
	return ""
}

// entryKind is what a version-1 file entry holds.
type entryKind int

const (
	kindDetail entryKind = iota
	kindSourceConfig
	kindSourceTemplate
	kindCorrelation
	kindTranslation
)

// parsedPath is a version-1 file entry path taken apart.
type parsedPath struct {
	scriptName string
	kind       entryKind
	locale     string // kindTranslation only
}

// parseEntryPath recognises the file entries of the version-1 layout.
func parseEntryPath(p string) (parsedPath, bool) {
	rest, ok := strings.CutPrefix(p, connectorsDir)
	if !ok {
		return parsedPath{}, false
	}
	sn, name, ok := strings.Cut(rest, "/")
	if !ok || checkComponent(sn) != "" {
		return parsedPath{}, false
	}
	pp := parsedPath{scriptName: sn}
	switch name {
	case detailName:
		pp.kind = kindDetail
	case sourceConfigName:
		pp.kind = kindSourceConfig
	case sourceTemplName:
		pp.kind = kindSourceTemplate
	case correlationName:
		pp.kind = kindCorrelation
	default:
		loc, ok := strings.CutPrefix(name, translationsDir)
		if !ok {
			return parsedPath{}, false
		}
		loc, ok = strings.CutSuffix(loc, translationSuffix)
		if !ok || checkComponent(loc) != "" {
			return parsedPath{}, false
		}
		pp.kind, pp.locale = kindTranslation, loc
	}
	return pp, true
}

// parentDirs lists the directory entries a file entry lives in, outermost
// first, each with its trailing '/'.
func parentDirs(p string) []string {
	var dirs []string
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			dirs = append(dirs, p[:i+1])
		}
	}
	return dirs
}

// ContentDigest is the archive's content identity: "sha256:" and the
// lowercase hex SHA-256 of, for every entry in ascending byte order of path,
// the path, one NUL byte, the entry's lowercase hex SHA-256 and one newline.
// It covers what was saved and nothing else (no time, no tool version), so two
// exports of an unchanged tenant have the same digest. Entries need not be
// sorted; the slice is not modified.
func ContentDigest(entries []Entry) string {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b Entry) int { return cmp.Compare(a.Path, b.Path) })
	h := sha256.New()
	for _, e := range sorted {
		h.Write([]byte(e.Path))
		h.Write([]byte{0})
		h.Write([]byte(e.SHA256))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// isHexSHA256 reports whether s is 64 lowercase hex digits.
func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
