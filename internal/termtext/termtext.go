// Package termtext makes text from a server or an archive safe to print on a
// terminal: a connector name holding ESC could rewrite the screen,
// a CR could hide the start of a line, a NUL could cut it. Control
// characters, invalid UTF-8 and the bidirectional overrides become visible
// Go-style escapes; everything else, backslashes included, is left as it is
// so that ordinary messages read unchanged.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every control character (newlines and tabs
// included), invalid UTF-8 byte, bidirectional control and zero-width
// character escaped: one line of plain text.
func Escape(s string) string {
	if safe(s, false) {
		return s
	}
	return escape(s, false)
}

// EscapeLines is Escape for a block of text: it keeps newlines, CRLF line
// ends and tabs, and escapes everything else Escape does.
func EscapeLines(s string) string {
	if safe(s, true) {
		return s
	}
	return escape(s, true)
}

// EscapeLinesCR is EscapeLines that shows the CR of a CRLF line end too, for
// text whose difference may lie in its line ends.
func EscapeLinesCR(s string) string {
	if !strings.Contains(s, "\r") {
		return EscapeLines(s)
	}
	return escapeCR(s)
}

func escapeCR(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		b.WriteString(escape(line, true))
		if i >= 0 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// invisible reports the zero-width characters that draw nothing and so can
// hide a difference: zero-width space, joiners, word joiner and the
// invisible operators, and the byte-order mark inside text.
func invisible(r rune) bool {
	return r >= '\u200b' && r <= '\u200d' || r >= '\u2060' && r <= '\u2064' || r == '\ufeff'
}

func safe(s string, lines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		crlf := c == '\r' && i+1 < len(s) && s[i+1] == '\n'
		if c >= utf8.RuneSelf || c < 0x20 && !(lines && (c == '\n' || c == '\t' || crlf)) || c == 0x7f {
			return false
		}
	}
	return true
}

func escape(s string, lines bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case lines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case lines && r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// A CRLF line end is harmless; a lone CR would hide the
			// start of its line.
			b.WriteByte('\r')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
