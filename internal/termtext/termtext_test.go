package termtext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":             "plain name",
		"C:\\path and ümlaut 名前": "C:\\path and ümlaut 名前",
		"a\x1b[2Jb":              `a\x1b[2Jb`,
		"visible\rhidden":        `visible\rhidden`,
		"nul\x00cut":             `nul\x00cut`,
		"two\nlines\tand tab":    `two\nlines\tand tab`,
		"bad \xff byte":          `bad \xff byte`,
		"c1 \u009b csi":          `c1 \u009b csi`,
		"bidi \u202e txt":        `bidi \u202e txt`,
		"del \x7f":               `del \x7f`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := EscapeLines("row\tone\nrow\x1b two\rthree\r\n"); got != "row\tone\nrow\\x1b two\\rthree\r\n" {
		t.Errorf("EscapeLines = %q", got)
	}
}

// FuzzEscape: the result never holds a control character (but newlines and
// tabs in EscapeLines), is valid UTF-8, and is the input when that was safe.
func FuzzEscape(f *testing.F) {
	f.Add("a\x1b[31mred\r\x00\xff\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		for _, lines := range []bool{false, true} {
			out := Escape(s)
			if lines {
				out = EscapeLines(s)
			}
			if !utf8.ValidString(out) {
				t.Fatalf("%q -> %q: invalid UTF-8", s, out)
			}
			for i, r := range out {
				if lines && (r == '\n' || r == '\t' || r == '\r' && strings.HasPrefix(out[i:], "\r\n")) {
					continue
				}
				if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
					t.Fatalf("%q -> %q holds %U", s, out, r)
				}
			}
			if safe(s, lines) && out != s {
				t.Fatalf("safe %q changed to %q", s, out)
			}
			if !strings.Contains(s, "\\") && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f }) && out != s {
				t.Fatalf("plain %q changed to %q", s, out)
			}
		}
	})
}

// TestEscapeShowsInvisibleAndLineEnds: zero-width characters and
// bidirectional controls become visible escapes; EscapeLinesCR shows the CR
// of CRLF line ends as well, keeping tabs and newlines.
func TestEscapeShowsInvisibleAndLineEnds(t *testing.T) {
	for in, want := range map[string]string{
		"a\u200bb":       `a\u200bb`,
		"x\u202eevil":    `x\u202eevil`,
		"w\u2060j\ufeff": `w\u2060j\ufeff`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := EscapeLinesCR("a\tb\r\nc\rd\n"), "a\tb\\r\nc\\rd\n"; got != want {
		t.Errorf("EscapeLinesCR = %q, want %q", got, want)
	}
	if got, want := EscapeLines("a\r\nc\rd\n"), "a\r\nc\\rd\n"; got != want {
		t.Errorf("EscapeLines = %q, want %q", got, want)
	}
}
