package diff

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMappingLine bounds one line of a mapping file. Connector names are short;
// a longer line means the file is not a mapping file, and reading it whole
// would let a bad input take unbounded memory.
const maxMappingLine = 64 << 10

// ParseMappingFile reads a rename mapping: which connector of side A (the
// key) is the same connector as which connector of side B (the value). Both
// diff and restore read it. name is the file's name, used only in errors.
//
// The format is line based, UTF-8:
//
//	# dev tenant name = prod tenant name
//	Active Directory (dev)=Active Directory
//	  HR Feed v2 = HR Feed
//
// Each line is OLD=NEW, split at the first '=', so OLD cannot contain '='
// while NEW can. Whitespace around each name is trimmed, so a name cannot
// begin or end with whitespace. A line whose first non-blank character is '#'
// is a comment (a '#' elsewhere is part of the name); blank lines are
// ignored; CRLF line endings and a leading byte-order mark are accepted.
// Names may not contain control characters (tabs included) or U+FEFF.
// An empty name on either side, an OLD given twice, or a NEW given twice is an
// error naming the line: a mapping must pair each connector with exactly one
// other. Mapping a name to itself is allowed and means nothing.
func ParseMappingFile(r io.Reader, name string) (map[string]string, error) {
	br := bufio.NewReader(r)
	m := map[string]string{}
	oldLine := map[string]int{}
	newLine := map[string]int{}
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) && line == "" {
			break
		}
		if errors.Is(err, errLongLine) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes: this is not a mapping file of OLD=NEW lines", name, lineNo, maxMappingLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading mapping file %s: %w", name, err)
		}
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if errors.Is(err, io.EOF) {
				break
			}
			continue
		}
		from, to, perr := parsePair(trimmed)
		if perr != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, perr)
		}
		if prev, dup := oldLine[from]; dup {
			return nil, fmt.Errorf("%s:%d: %q is already mapped on line %d: each connector may be mapped once", name, lineNo, from, prev)
		}
		if prev, dup := newLine[to]; dup {
			return nil, fmt.Errorf("%s:%d: %q is already the target of line %d: two connectors cannot map to one", name, lineNo, to, prev)
		}
		oldLine[from], newLine[to] = lineNo, lineNo
		m[from] = to
		if errors.Is(err, io.EOF) {
			break
		}
	}
	return m, nil
}

var errLongLine = errors.New("line too long")

// readLine returns one line without its terminator, or errLongLine. At the end
// of input it returns the last (unterminated) line together with io.EOF.
func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		chunk, err := br.ReadSlice('\n')
		if sb.Len()+len(chunk) > maxMappingLine+2 { // +2: the CRLF itself
			return "", errLongLine
		}
		sb.Write(chunk)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		s := strings.TrimSuffix(sb.String(), "\n")
		return s, err
	}
}

// ParseMapFlags parses the values of repeated --map OLD=NEW flags, with the
// same rules as one line of a mapping file (see ParseMappingFile), except that
// a value starting with '#' is a name, not a comment.
func ParseMapFlags(values []string) (map[string]string, error) {
	m := map[string]string{}
	targets := map[string]string{}
	for _, v := range values {
		from, to, err := parsePair(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("--map %q: %w", v, err)
		}
		if prev, dup := m[from]; dup {
			return nil, fmt.Errorf("--map %q: %q is already mapped to %q: each connector may be mapped once", v, from, prev)
		}
		if prev, dup := targets[to]; dup {
			return nil, fmt.Errorf("--map %q: %q is already the target of %q: two connectors cannot map to one", v, to, prev)
		}
		m[from], targets[to] = to, from
	}
	return m, nil
}

// parsePair splits one OLD=NEW entry, already trimmed.
func parsePair(s string) (string, string, error) {
	if !utf8.ValidString(s) {
		return "", "", errors.New("not valid UTF-8: connector names are UTF-8 text")
	}
	from, to, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", errors.New("want OLD=NEW (the A-side connector, '=', the B-side connector)")
	}
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if from == "" {
		return "", "", errors.New("empty OLD name before '=': want OLD=NEW")
	}
	if to == "" {
		return "", "", errors.New("empty NEW name after '=': want OLD=NEW")
	}
	for _, n := range []string{from, to} {
		if i := strings.IndexFunc(n, badNameRune); i >= 0 {
			r, _ := utf8.DecodeRuneInString(n[i:])
			return "", "", fmt.Errorf("name %q contains %U: connector names hold no control characters or byte-order marks", n, r)
		}
	}
	return from, to, nil
}

// badNameRune rejects runes no connector name has. Besides catching binary
// input early, it keeps the format unambiguous: a name that began with a
// byte-order mark would read differently on a file's first line.
func badNameRune(r rune) bool {
	return unicode.IsControl(r) || r == '\uFEFF'
}
