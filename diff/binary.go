package diff

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/connvault/connvault/internal/termtext"
)

// What a report shows of a document must be what a restore writes, byte for
// byte: a document is shown as text unless it truly is not (it holds a NUL
// byte), and nothing in it may draw a picture other than its bytes. So:
//   - a document in the encoding its XML declaration names (ISO-8859-1,
//     windows-1252) is decoded for display, and the report says so;
//   - other bytes that are not UTF-8 are shown escaped (\xe9) in their lines,
//     and a side that is not UTF-8 while the other is is flagged;
//   - lone CRs, bidirectional controls and zero-width characters are shown
//     as escapes, in every format; when the two sides' line ends differ, the
//     CR of every CRLF is shown too, with a note;
//   - a document with a NUL byte is binary: both sides' size and SHA-256.

// isBinary reports whether a document is not text: it holds a NUL byte (as
// git decides). Its lines would mean nothing in a unified diff.
func isBinary(s string) bool {
	return strings.IndexByte(s, 0) >= 0
}

// binaryDiff marks a change of a binary document instead of showing its
// bytes: the ---/+++ headers and one line with each side's size and SHA-256,
// so that any change, even of equal size, is visible.
func binaryDiff(la, lb, a, b string) string {
	return fmt.Sprintf("--- %s\n+++ %s\nBinary documents differ (%s)\n", la, lb, bothSides(a, b))
}

// bothSides describes each side's bytes: kind, size and SHA-256.
func bothSides(a, b string) string {
	side := func(s string) string {
		if s == "" {
			return "empty"
		}
		kind := "text"
		if isBinary(s) {
			kind = "binary"
		}
		sum := sha256.Sum256([]byte(s))
		return fmt.Sprintf("%s, %d bytes, sha256:%s", kind, len(s), hex.EncodeToString(sum[:]))
	}
	return "a: " + side(a) + "; b: " + side(b)
}

// xmlEncoding reads the encoding an XML declaration names.
var xmlEncoding = regexp.MustCompile(`^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// declaredEncodings are the single-byte encodings connector documents are
// written in besides UTF-8, by the names an XML declaration uses.
var declaredEncodings = map[string]struct {
	name string
	enc  encoding.Encoding
}{
	"iso-8859-1":   {"ISO-8859-1", charmap.ISO8859_1},
	"iso8859-1":    {"ISO-8859-1", charmap.ISO8859_1},
	"latin1":       {"ISO-8859-1", charmap.ISO8859_1},
	"iso-8859-15":  {"ISO-8859-15", charmap.ISO8859_15},
	"windows-1252": {"windows-1252", charmap.Windows1252},
	"cp1252":       {"windows-1252", charmap.Windows1252},
}

// displayText is a text document as a report shows it, before escaping: its
// own text when it is UTF-8, decoded when it is not but its XML declaration
// names an encoding it is in, else its bytes (escaped later). note says
// what the report must say about it ("" when nothing).
func displayText(s string) (text, note string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	if m := xmlEncoding.FindStringSubmatch(s); m != nil {
		if d, ok := declaredEncodings[strings.ToLower(m[1])]; ok {
			if t, err := d.enc.NewDecoder().String(s); err == nil {
				return t, "decoded from " + d.name + ", as its XML declaration says"
			}
		}
	}
	return s, "not valid UTF-8: bytes that are not are shown as \\xNN"
}

// lineEnds names a text's line ends: "CRLF", "LF", "mixed" or "" (none).
func lineEnds(s string) string {
	crlf := strings.Count(s, "\r\n")
	lf := strings.Count(s, "\n") - crlf
	switch {
	case crlf > 0 && lf > 0:
		return "mixed CRLF and LF"
	case crlf > 0:
		return "CRLF"
	case lf > 0:
		return "LF"
	}
	return ""
}

// textNotes are the note lines a diff of a and b carries above its hunks,
// and whether the CR of CRLF line ends must be shown: each side that was
// decoded or is not UTF-8, and line ends that differ.
func textNotes(a, b string) (notes []string, showCR bool) {
	for _, side := range []struct{ name, s string }{{"a", a}, {"b", b}} {
		if _, note := displayText(side.s); note != "" {
			notes = append(notes, "Note: "+side.name+" is "+note)
		}
	}
	ea, eb := lineEnds(a), lineEnds(b)
	if ea != eb && ea != "" && eb != "" {
		showCR = true
		what := "Note: line ends differ (a: " + ea + ", b: " + eb + "); CRs are shown as \\r"
		if strings.ReplaceAll(a, "\r\n", "\n") == strings.ReplaceAll(b, "\r\n", "\n") {
			what = "Note: the documents differ only in line ends (a: " + ea + ", b: " + eb + "); CRs are shown as \\r"
		}
		notes = append(notes, what)
	}
	return notes, showCR
}

// visible escapes a unified diff for every report: lone CRs, controls,
// bytes that are not UTF-8, bidirectional controls and zero-width
// characters, and with showCR the CR of CRLF line ends.
func visible(diff string, showCR bool) string {
	if showCR {
		return termtext.EscapeLinesCR(diff)
	}
	return termtext.EscapeLines(diff)
}

// withNotes puts note lines after a unified diff's ---/+++ headers, where
// every format shows them above the hunks.
func withNotes(diff string, notes []string) string {
	if len(notes) == 0 {
		return diff
	}
	head := 0
	for range 2 {
		i := strings.IndexByte(diff[head:], '\n')
		if i < 0 {
			head = len(diff)
			break
		}
		head += i + 1
	}
	return diff[:head] + strings.Join(notes, "\n") + "\n" + diff[head:]
}

// Unified is the unified diff of two documents as every report shows one
// (decoded, escaped, notes above the hunks), labelled la and lb; "" when
// they are equal.
func Unified(la, lb, a, b string) string {
	if a == b {
		return ""
	}
	return unified(la, lb, a, b, false)
}
