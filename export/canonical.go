package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/connvault/connvault/internal/jsonscan"
)

// Canonical re-encodes a JSON document with sorted object keys, no
// insignificant whitespace and a trailing newline, so the same server content
// always gives the same bytes (and the same archive digest). Strings and
// numbers keep the server's exact text: a detail carries every document as a
// JSON string, and copying those instead of decoding and re-escaping them is
// what keeps a large backup from being bound by JSON work.
func Canonical(raw []byte) ([]byte, error) {
	s := canonScanner{in: raw}
	return s.canonicalDoc()
}

// maxJSONDepth bounds the nesting on hostile input; a real detail nests
// three levels deep.
const maxJSONDepth = 64

// trimJSONSpace trims what JSON counts as whitespace (bytes.TrimSpace would
// also take a form feed, which JSON rejects).
func trimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// canonicalDetail is Canonical for a ConnectorDetail, which must be an
// object; it also returns the fields export needs: the name and the locales
// of translationProperties (sorted).
func canonicalDetail(raw []byte) ([]byte, string, []string, error) {
	trimmed := trimJSONSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		// The error path can afford encoding/json, and it keeps the message
		// telling a malformed answer from a well-formed one of the wrong shape.
		if !json.Valid(trimmed) {
			return nil, "", nil, errors.New("not valid JSON")
		}
		return nil, "", nil, errors.New("not a JSON object")
	}
	s := canonScanner{in: trimmed, detail: true}
	b, err := s.canonicalDoc()
	if err != nil {
		return nil, "", nil, err
	}
	// Only the small name is decoded; a non-string name reads as "", as
	// json.Unmarshal into a string leaves it.
	var name string
	if len(s.name) > 0 && s.name[0] == '"' {
		if err := json.Unmarshal(s.name, &name); err != nil {
			return nil, "", nil, fmt.Errorf("not valid JSON: the name: %w", err)
		}
	}
	locales := s.locales
	if locales == nil {
		locales = []string{}
	}
	return b, name, locales, nil
}

// canonScanner canonicalises in one pass over the input: it validates as
// encoding/json does and writes the canonical form as it goes, so each byte
// of a long string is looked at once and then copied in bulk. An object's
// members are written in input order and, when that is not already sorted,
// rearranged once the object closes: moving bytes is far cheaper than
// scanning them again.
type canonScanner struct {
	in  []byte
	pos int
	out []byte

	// members is a stack shared by the open objects: each uses the entries
	// above the length it found on entry.
	members []member
	scratch []byte

	// With detail set, the top-level object's "name" value (its raw text)
	// and the keys of its "translationProperties" object are kept; the last
	// of duplicate keys wins, as in the map the fields used to be read from.
	detail    bool
	name      []byte
	captureTP bool
	locales   []string
}

// member is one "key":value of an object being written.
type member struct {
	key        []byte // decoded: the sort order and duplicates go by it
	start, end int    // span in out, from the object's first member
}

// bufPool holds what a document is built in, so that a call allocates only
// the copy it returns: reordering a detail's top-level object goes through a
// second buffer the size of the whole detail.
var bufPool = sync.Pool{New: func() any { return new(canonBufs) }}

type canonBufs struct {
	out, scratch []byte
	members      []member
}

// maxPooledBuf keeps one hostile giant from pinning its buffers.
const maxPooledBuf = 4 << 20

func (s *canonScanner) canonicalDoc() ([]byte, error) {
	bufs := bufPool.Get().(*canonBufs)
	s.out = slices.Grow(bufs.out[:0], len(s.in)+1)
	s.scratch, s.members = bufs.scratch[:0], bufs.members[:0]
	defer func() {
		if cap(s.out) > maxPooledBuf || cap(s.scratch) > maxPooledBuf {
			return
		}
		// The keys point into the caller's input.
		clear(s.members[:cap(s.members)])
		bufs.out, bufs.scratch, bufs.members = s.out[:0], s.scratch[:0], s.members[:0]
		bufPool.Put(bufs)
	}()
	s.skipSpace()
	if s.pos == len(s.in) {
		return nil, errors.New("not valid JSON: empty")
	}
	if err := s.value(0); err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.pos < len(s.in) {
		return nil, s.syntaxError("invalid character " + jsonscan.QuoteChar(s.in[s.pos]) + " after top-level value")
	}
	s.out = append(s.out, '\n')
	return bytes.Clone(s.out), nil
}

func (s *canonScanner) syntaxError(msg string) error {
	return fmt.Errorf("not valid JSON: %s (at byte %d)", msg, s.pos)
}

func (s *canonScanner) unexpected(context string) error {
	if s.pos >= len(s.in) {
		return errors.New("not valid JSON: unexpected end of JSON input")
	}
	return s.syntaxError("invalid character " + jsonscan.QuoteChar(s.in[s.pos]) + " " + context)
}

func (s *canonScanner) skipSpace() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// value writes the value at s.pos, which is nested depth levels deep.
func (s *canonScanner) value(depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("not valid JSON for a connector: nested deeper than %d levels", maxJSONDepth)
	}
	if s.pos >= len(s.in) {
		return s.unexpected("")
	}
	switch c := s.in[s.pos]; c {
	case '{':
		return s.object(depth)
	case '[':
		return s.array(depth)
	case '"':
		end, err := scanString(s.in, s.pos+1)
		if err != nil {
			return err
		}
		s.out = append(s.out, s.in[s.pos:end]...)
		s.pos = end
		return nil
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.number()
		}
		return s.unexpected("looking for beginning of value")
	}
}

func (s *canonScanner) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if s.pos+i >= len(s.in) || s.in[s.pos+i] != lit[i] {
			s.pos += i
			return s.unexpected("in literal " + lit + " (expecting " + jsonscan.QuoteChar(lit[i]) + ")")
		}
	}
	s.out = append(s.out, lit...)
	s.pos += len(lit)
	return nil
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and copies
// the text as written; what may follow it is the caller's to check.
func (s *canonScanner) number() error {
	in, start := s.in, s.pos
	i := start
	if in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		i = skipDigits(in, i+1)
	default:
		s.pos = i
		return s.unexpected("in numeric literal")
	}
	if i < len(in) && in[i] == '.' {
		i++
		if i >= len(in) || !isDigit(in[i]) {
			s.pos = i
			return s.unexpected("after decimal point in numeric literal")
		}
		i = skipDigits(in, i+1)
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if i >= len(in) || !isDigit(in[i]) {
			s.pos = i
			return s.unexpected("in exponent of numeric literal")
		}
		i = skipDigits(in, i+1)
	}
	s.out = append(s.out, in[start:i]...)
	s.pos = i
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(in []byte, i int) int {
	for i < len(in) && isDigit(in[i]) {
		i++
	}
	return i
}

func (s *canonScanner) array(depth int) error {
	s.pos++
	s.out = append(s.out, '[')
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == ']' {
		s.pos++
		s.out = append(s.out, ']')
		return nil
	}
	for {
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.in) {
			return s.unexpected("")
		}
		switch s.in[s.pos] {
		case ',':
			s.pos++
			s.out = append(s.out, ',')
			s.skipSpace()
		case ']':
			s.pos++
			s.out = append(s.out, ']')
			return nil
		default:
			return s.unexpected("after array element")
		}
	}
}

func (s *canonScanner) object(depth int) error {
	capture := s.captureTP
	s.captureTP = false
	s.pos++
	s.out = append(s.out, '{')
	first := len(s.out)
	base := len(s.members)
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == '}' {
		s.pos++
		s.out = append(s.out, '}')
		if capture {
			s.locales = []string{}
		}
		return nil
	}
	for {
		if s.pos >= len(s.in) || s.in[s.pos] != '"' {
			return s.unexpected("looking for beginning of object key string")
		}
		start := len(s.out)
		key, err := s.key()
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.in) || s.in[s.pos] != ':' {
			return s.unexpected("after object key")
		}
		s.pos++
		s.out = append(s.out, ':')
		s.skipSpace()
		valueAt := s.pos
		isName := false
		if depth == 0 && s.detail {
			switch string(key) {
			case "name":
				isName = true
			case "translationProperties":
				// A later duplicate that is not an object leaves no locales,
				// as json.Unmarshal into a map would.
				s.locales = nil
				s.captureTP = s.pos < len(s.in) && s.in[s.pos] == '{'
			}
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if isName {
			s.name = s.in[valueAt:s.pos]
		}
		s.members = append(s.members, member{key: key, start: start - first, end: len(s.out) - first})
		s.skipSpace()
		if s.pos >= len(s.in) {
			return s.unexpected("")
		}
		if s.in[s.pos] == ',' {
			s.pos++
			s.out = append(s.out, ',')
			s.skipSpace()
			continue
		}
		if s.in[s.pos] != '}' {
			return s.unexpected("after object key:value pair")
		}
		s.pos++
		break
	}
	ms := s.sortMembers(s.members[base:], first)
	if capture {
		s.locales = make([]string, len(ms))
		for i, m := range ms {
			s.locales[i] = string(m.key)
		}
	}
	s.members = s.members[:base]
	s.out = append(s.out, '}')
	return nil
}

// key reads the object key at s.pos and writes it as json.Marshal would
// write its decoded string; it returns the decoded key.
func (s *canonScanner) key() ([]byte, error) {
	i := s.pos + 1
	for i < len(s.in) && keyPlain[s.in[i]] {
		i++
	}
	if i < len(s.in) && s.in[i] == '"' {
		// Nothing to decode and nothing json.Marshal would escape: the key
		// is its own text, by far the usual case.
		raw := s.in[s.pos : i+1]
		s.out = append(s.out, raw...)
		s.pos = i + 1
		return raw[1 : len(raw)-1], nil
	}
	end, err := scanString(s.in, i)
	if err != nil {
		return nil, err
	}
	// Escapes, HTML characters, U+2028 and invalid UTF-8 are rare in keys;
	// encoding/json decides them, so the output matches it by construction.
	var k string
	if err := json.Unmarshal(s.in[s.pos:end], &k); err != nil {
		return nil, fmt.Errorf("not valid JSON: object key: %w", err)
	}
	enc, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("object key %q: %w", k, err)
	}
	s.out = append(s.out, enc...)
	s.pos = end
	return []byte(k), nil
}

// sortMembers puts the object whose members ms start at out[first:] in key
// order, keeping only the last of duplicate keys (a Go map keeps the last
// value stored), and returns the members that remain.
func (s *canonScanner) sortMembers(ms []member, first int) []member {
	sorted := true
	for i := 1; i < len(ms); i++ {
		if bytes.Compare(ms[i-1].key, ms[i].key) >= 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return ms
	}
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	kept := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(m.key, ms[i+1].key) {
			continue
		}
		kept = append(kept, m)
	}
	if first <= len(s.out)-first {
		// Less to keep in front of the object than in it (always so for a
		// top-level object): build the whole in scratch and swap the two,
		// which moves the object's bytes once rather than there and back.
		buf := append(s.scratch[:0], s.out[:first]...)
		buf = appendMembers(buf, s.out[first:], kept)
		s.out, s.scratch = buf, s.out
	} else {
		s.scratch = append(s.scratch[:0], s.out[first:]...)
		s.out = appendMembers(s.out[:first], s.scratch, kept)
	}
	return kept
}

// appendMembers appends the members ms, whose spans are in src, to dst,
// comma-separated.
func appendMembers(dst, src []byte, ms []member) []byte {
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, src[m.start:m.end]...)
	}
	return dst
}

// scanString checks the string whose first byte after the opening quote is
// at i and returns the index just past its closing quote (see
// jsonscan.String, which diff's member splitter shares).
func scanString(in []byte, i int) (int, error) {
	end, err := jsonscan.String(in, i)
	if err != nil {
		return 0, fmt.Errorf("not valid JSON: %w", err)
	}
	return end, nil
}

// keyPlain: the bytes of a string that JSON allows unescaped and that
// json.Marshal writes as they are: ASCII, no quote or backslash, none of
// the <, > and & it escapes for HTML.
var keyPlain [256]bool

func init() {
	for c := 0x20; c < 0x80; c++ {
		keyPlain[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
}
