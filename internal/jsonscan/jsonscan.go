// Package jsonscan holds the JSON string scanner that diff's member splitter
// and export's canonicaliser share: both validate every string of a
// connector detail, whose documents are embedded as JSON strings, so the
// string loop is where most of their time goes and one tuned copy serves
// both. Its errors read as encoding/json's syntax errors do.
package jsonscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// String checks the string whose first byte after the opening quote is at
// i and returns the index just past its closing quote. Like encoding/json
// it accepts any byte from 0x20 up, invalid UTF-8 included.
//
// It goes eight bytes at a time: a word is let through unless one of its
// bytes is below 0x20, a quote or a backslash. An XML document carries an
// escape every dozen bytes or so (\", \n, \u003c), so the path from one
// escape back into the word loop is kept short too.
func String(in []byte, i int) (int, error) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(in) {
		x := binary.LittleEndian.Uint64(in[i:])
		q := x ^ (lo * '"')
		b := x ^ (lo * '\\')
		// The classic has-zero-byte and has-byte-less-than tests, or'ed
		// (q and b share x's top bits, so one &^ x serves all three). A
		// borrow can flag a byte above a true hit, never below one, so the
		// lowest flag is exact.
		m := ((x - lo*0x20) | (q - lo) | (b - lo)) &^ x & hi
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) >> 3
		if in[i] != '\\' || i+6 > len(in) {
			break
		}
		switch escapeLen[in[i+1]] {
		case 2:
			i += 2
			continue
		case 6:
			if isHex[in[i+2]] && isHex[in[i+3]] && isHex[in[i+4]] && isHex[in[i+5]] {
				i += 6
				continue
			}
		}
		break // a bad escape, which the loop below reports
	}
	// The last few bytes, the closing quote and errors, a byte at a time.
	for {
		for i < len(in) && plain[in[i]] {
			i++
		}
		if i >= len(in) || in[i] != '\\' {
			return stringEnd(in, i)
		}
		n, err := escape(in, i)
		if err != nil {
			return 0, err
		}
		i += n
	}
}

// stringEnd is what String does on a byte at i that is neither plain nor a
// backslash: the closing quote, a control character or the end of the
// input.
func stringEnd(in []byte, i int) (int, error) {
	switch {
	case i >= len(in):
		return 0, errors.New("unexpected end of JSON input")
	case in[i] == '"':
		return i + 1, nil
	default:
		return 0, fmt.Errorf("invalid character %s in string literal (at byte %d)", QuoteChar(in[i]), i)
	}
}

// escape checks the escape sequence whose backslash is at i and returns its
// length.
func escape(in []byte, i int) (int, error) {
	if i+1 >= len(in) {
		return 0, errors.New("unexpected end of JSON input")
	}
	switch n := int(escapeLen[in[i+1]]); n {
	case 2:
		return 2, nil
	case 6:
		for j := i + 2; j < i+6; j++ {
			if j >= len(in) {
				return 0, errors.New("unexpected end of JSON input")
			}
			if !isHex[in[j]] {
				return 0, fmt.Errorf("invalid character %s in \\u hexadecimal character escape (at byte %d)", QuoteChar(in[j]), j)
			}
		}
		return 6, nil
	default:
		return 0, fmt.Errorf("invalid character %s in string escape code (at byte %d)", QuoteChar(in[i+1]), i+1)
	}
}

// QuoteChar formats c as encoding/json's syntax errors do.
func QuoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

var (
	// plain holds the bytes that neither end a string nor start an escape
	// and that JSON allows unescaped.
	plain [256]bool
	isHex [256]bool
	// escapeLen: the length of an escape sequence by the byte after its
	// backslash, 0 for none JSON allows.
	escapeLen [256]uint8
)

func init() {
	for c := 0x20; c < 256; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	for _, c := range "0123456789abcdefABCDEF" {
		isHex[c] = true
	}
	for _, c := range `"\/bfnrt` {
		escapeLen[c] = 2
	}
	escapeLen['u'] = 6
}
