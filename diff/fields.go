package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/connvault/connvault/internal/jsonscan"
)

// A connector's detail embeds every document as a JSON string (about 84 KB
// on average against the sandbox, megabytes for big connectors), and diff and
// restore need only its top-level fields, most of them just to compare bytes.
// encoding/json's Unmarshal into map[string]json.RawMessage scans each byte
// with its general state machine (about 120 MB/s here, half of a whole
// archive diff); splitObject below validates the same grammar and cuts the
// object into members at memchr-like speed, decoding nothing.

// member is one top-level member of a JSON object.
type member struct {
	key   string
	value json.RawMessage // the value's bytes, a sub-slice of the input
}

// maxDepth is encoding/json's nesting limit, kept so that both accept and
// refuse the same documents.
const maxDepth = 10000

// splitObject checks that in is exactly one JSON object (with optional
// surrounding whitespace) and returns its members in order, keys decoded as
// encoding/json decodes them. It accepts and refuses what json.Unmarshal
// into a map[string]json.RawMessage accepts and refuses, except that JSON
// null is refused here (it is no object); a fuzz test holds it to that.
func splitObject(in []byte) ([]member, error) {
	s := fieldScanner{in: in}
	s.space()
	if s.i >= len(in) {
		return nil, errors.New("unexpected end of JSON input")
	}
	if bytes.HasPrefix(in[s.i:], []byte("\xef\xbb\xbf")) {
		return nil, errors.New("it starts with a UTF-8 byte-order mark (EF BB BF), which JSON does not allow: an editor added it; save the file without one")
	}
	if in[s.i] != '{' {
		if s.literalAt("null") {
			return nil, errors.New("JSON null, not an object")
		}
		return nil, fmt.Errorf("not a JSON object: it starts with %s", jsonscan.QuoteChar(in[s.i]))
	}
	ms, err := s.object(1, true)
	if err != nil {
		return nil, err
	}
	s.space()
	if s.i < len(in) {
		return nil, fmt.Errorf("invalid character %s after top-level value (at byte %d)", jsonscan.QuoteChar(in[s.i]), s.i)
	}
	return ms, nil
}

type fieldScanner struct {
	in []byte
	i  int
}

func (s *fieldScanner) space() {
	for s.i < len(s.in) {
		switch s.in[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *fieldScanner) literalAt(lit string) bool {
	return len(s.in)-s.i >= len(lit) && string(s.in[s.i:s.i+len(lit)]) == lit
}

func (s *fieldScanner) unexpected(what string) error {
	if s.i >= len(s.in) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %s %s (at byte %d)", jsonscan.QuoteChar(s.in[s.i]), what, s.i)
}

// value checks one value starting at s.i (whitespace already skipped).
func (s *fieldScanner) value(depth int) error {
	if s.i >= len(s.in) {
		return errors.New("unexpected end of JSON input")
	}
	switch c := s.in[s.i]; {
	case c == '"':
		end, err := jsonscan.String(s.in, s.i+1)
		if err != nil {
			return err
		}
		s.i = end
		return nil
	case c == '{':
		_, err := s.object(depth+1, false)
		return err
	case c == '[':
		return s.array(depth + 1)
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.unexpected("looking for beginning of value")
}

func (s *fieldScanner) literal(lit string) error {
	for j := 0; j < len(lit); j++ {
		if s.i >= len(s.in) {
			return errors.New("unexpected end of JSON input")
		}
		if s.in[s.i] != lit[j] {
			return s.unexpected("in literal " + lit)
		}
		s.i++
	}
	return nil
}

func (s *fieldScanner) digits() int {
	n := 0
	for s.i < len(s.in) && '0' <= s.in[s.i] && s.in[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *fieldScanner) number() error {
	if s.in[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.in) && s.in[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return s.unexpected("in numeric literal")
	}
	if s.i < len(s.in) && s.in[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.unexpected("after decimal point in numeric literal")
		}
	}
	if s.i < len(s.in) && (s.in[s.i] == 'e' || s.in[s.i] == 'E') {
		s.i++
		if s.i < len(s.in) && (s.in[s.i] == '+' || s.in[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.unexpected("in exponent of numeric literal")
		}
	}
	return nil
}

func (s *fieldScanner) array(depth int) error {
	if depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	s.i++ // '['
	s.space()
	if s.i < len(s.in) && s.in[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.space()
		if err := s.value(depth); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.in) {
			return errors.New("unexpected end of JSON input")
		}
		switch s.in[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.unexpected("after array element")
		}
	}
}

// object checks an object at s.i; with keep it returns the members.
func (s *fieldScanner) object(depth int, keep bool) ([]member, error) {
	if depth > maxDepth {
		return nil, errors.New("exceeded max depth")
	}
	var ms []member
	if keep {
		ms = make([]member, 0, 24) // a ConnectorDetail has about 20 fields
	}
	s.i++ // '{'
	s.space()
	if s.i < len(s.in) && s.in[s.i] == '}' {
		s.i++
		return ms, nil
	}
	for {
		s.space()
		if s.i >= len(s.in) || s.in[s.i] != '"' {
			return nil, s.unexpected("looking for beginning of object key string")
		}
		start := s.i
		end, err := jsonscan.String(s.in, s.i+1)
		if err != nil {
			return nil, err
		}
		s.i = end
		s.space()
		if s.i >= len(s.in) || s.in[s.i] != ':' {
			return nil, s.unexpected("after object key")
		}
		s.i++
		s.space()
		vstart := s.i
		if err := s.value(depth); err != nil {
			return nil, err
		}
		if keep {
			ms = append(ms, member{key: decodeKey(s.in[start:end]), value: s.in[vstart:s.i:s.i]})
		}
		s.space()
		if s.i >= len(s.in) {
			return nil, errors.New("unexpected end of JSON input")
		}
		switch s.in[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return ms, nil
		default:
			return nil, s.unexpected("after object key:value pair")
		}
	}
}

// decodeKey decodes a quoted key already checked by jsonscan.String. Plain
// keys (every key connvault knows) are copied; the rest go through
// encoding/json so that escapes and invalid UTF-8 decode exactly as there.
func decodeKey(q []byte) string {
	inner := q[1 : len(q)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(inner)
	}
	var k string
	_ = json.Unmarshal(q, &k) // jsonscan.String accepted it
	return k
}
