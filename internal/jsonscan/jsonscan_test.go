package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzString holds String to encoding/json on a lone string: the same
// inputs accepted, and the whole input consumed when it is accepted.
func FuzzString(f *testing.F) {
	for _, s := range []string{
		`""`, `"abc"`, `"\u00e9\n\"q\""`, `"\q"`, `"\u12"`, `"\u12x4"`, "\"\x01\"", `"\xff"`, `"abc`, `"\`,
		`"` + strings.Repeat("x", 40) + `\"` + strings.Repeat("y", 9) + `"`, `"` + strings.Repeat(`\u003c`, 9) + `"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 || in[0] != '"' {
			return
		}
		end, err := String(in, 1)
		var s string
		werr := json.Unmarshal(in, &s)
		if err == nil && end < len(in) {
			// Something follows the string; encoding/json refuses the
			// whole, so check only the string itself.
			werr = json.Unmarshal(in[:end], &s)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("String(%q) = %d, %v; encoding/json: %v", in, end, err, werr)
		}
	})
}

func TestStringErrorsReadAsEncodingJSON(t *testing.T) {
	for in, want := range map[string]string{
		`"abc`:           "unexpected end of JSON input",
		"\"a\x01\"":      `invalid character '\x01' in string literal (at byte 2)`,
		`"\q"`:           `invalid character 'q' in string escape code (at byte 2)`,
		`"\u1\\"`:        `invalid character '\\' in \u hexadecimal character escape (at byte 4)`,
		`"0123456789\'"`: `invalid character '\'' in string escape code (at byte 12)`,
	} {
		_, err := String([]byte(in), 1)
		if err == nil || err.Error() != want {
			t.Errorf("String(%q) = %v, want %q", in, err, want)
		}
		var s string
		if jerr := json.Unmarshal([]byte(in), &s); jerr == nil || !strings.Contains(jerr.Error(), strings.SplitN(want, " (at", 2)[0]) {
			t.Errorf("encoding/json on %q says %v, not %q: the messages drifted apart", in, jerr, want)
		}
	}
}
