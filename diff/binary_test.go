package diff

import (
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
)

// TestTextOutputIsTerminalSafe: a binary document is marked, not
// copied; control characters in text documents, names and fields are
// escaped; the colour codes are the only escape sequences in the output.
func TestTextOutputIsTerminalSafe(t *testing.T) {
	name := "Evil\x1b[2J\rName"
	mk := func(doc, tmpl string) *archive.Snapshot {
		return &archive.Snapshot{Connectors: []*archive.Connector{{
			ScriptName:     "evil",
			Detail:         detailJSON(t, baseDetail(name, "evil")),
			SourceConfig:   []byte(doc),
			SourceTemplate: []byte(tmpl),
		}}}
	}
	a := mk("<x>\x00\x01binary\xff</x>\n", "<t>\n<a/>\n</t>\n")
	b := mk("<x>\x00\x02binary</x>\n", "<t>\n<a x=\"\x1b]0;pwned\x07\"/>\r\n</t>\n")
	res, err := Compare(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, color := range []bool{false, true} {
		var out strings.Builder
		if err := WriteText(&out, res, TextOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if !strings.Contains(s, "Binary documents differ (a: binary, 17 bytes, sha256:") || !strings.Contains(s, "b: binary, 16 bytes, sha256:") {
			t.Errorf("color %v: the binary source-config is not marked:\n%q", color, s)
		}
		if strings.Contains(s, "binary</x>") || strings.Contains(s, "binary\\xff") {
			t.Errorf("color %v: the binary document's bytes were copied:\n%q", color, s)
		}
		plain := s
		for _, code := range []string{ansiReset, ansiBold, ansiRed, ansiGreen, ansiYellow, ansiCyan} {
			plain = strings.ReplaceAll(plain, code, "")
		}
		for _, bad := range []string{"\x00", "\x1b", "\x07", "\xff"} {
			if strings.Contains(plain, bad) {
				t.Errorf("color %v: the output holds %q:\n%q", color, bad, s)
			}
		}
		if strings.Contains(strings.ReplaceAll(plain, "\r\n", "\n"), "\r") {
			t.Errorf("color %v: a lone CR reached the output:\n%q", color, s)
		}
		if !strings.Contains(s, `\x1b]0;pwned\x07`) {
			t.Errorf("color %v: the template's control characters are not shown escaped:\n%q", color, s)
		}
	}
}

// TestSameTextOtherEncodingIsStillAChange: a document in UTF-8 and the same
// text in ISO-8859-1 read the same once decoded, but a restore writes other
// bytes: the diff says so, with both sides' digests.
func TestSameTextOtherEncodingIsStillAChange(t *testing.T) {
	a := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<x>caf\u00e9</x>\n"
	b := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<x>caf\xe9</x>\n"
	got := Unified("a/x", "b/x", a, b)
	if !strings.Contains(got, "The texts read the same but the bytes differ (a: text,") || !strings.Contains(got, "decoded from ISO-8859-1") {
		t.Errorf("diff:\n%s", got)
	}
}
