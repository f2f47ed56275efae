package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/connvault/connvault/sandbox"
)

// The implementation Canonical replaced, kept verbatim (renamed) as the
// reference the single-pass scanner must match byte for byte: the archive
// digest of every existing backup depends on it.

// referenceCanonical re-encodes a JSON document with sorted object keys, no
// insignificant whitespace and a trailing newline, so the same server content
// always gives the same bytes (and the same archive digest). Strings and
// numbers keep the server's exact text: a detail carries every document as a
// JSON string, and copying those instead of decoding and re-escaping them is
// what keeps a large backup from being bound by JSON work.
func referenceCanonical(raw []byte) ([]byte, error) {
	return referenceCanonicalDoc(raw, nil)
}

// referenceCanonicalDoc is referenceCanonical; top, when not nil, receives the top-level
// object's fields, so a caller can read a few of them without parsing the
// document a second time.
func referenceCanonicalDoc(raw []byte, top *map[string]json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(raw) + 1)
	if err := referenceCanonicalValue(&buf, raw, 0, top); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// referenceMaxJSONDepth bounds the recursion on hostile input; a real detail nests
// three levels deep.
const referenceMaxJSONDepth = 64

// referenceTrimJSONSpace trims what JSON counts as whitespace (bytes.TrimSpace would
// also take a form feed, which JSON rejects).
func referenceTrimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// referenceCanonicalValue writes raw's canonical form to dst (top as for referenceCanonicalDoc).
func referenceCanonicalValue(dst *bytes.Buffer, raw []byte, depth int, top *map[string]json.RawMessage) error {
	raw = referenceTrimJSONSpace(raw)
	if len(raw) == 0 {
		return errors.New("not valid JSON: empty")
	}
	if depth > referenceMaxJSONDepth {
		return fmt.Errorf("not valid JSON for a connector: nested deeper than %d levels", referenceMaxJSONDepth)
	}
	switch raw[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("not valid JSON: %w", err)
		}
		if top != nil {
			*top = m
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				dst.WriteByte(',')
			}
			kb, err := json.Marshal(k)
			if err != nil {
				return err
			}
			dst.Write(kb)
			dst.WriteByte(':')
			if err := referenceCanonicalValue(dst, m[k], depth+1, nil); err != nil {
				return err
			}
		}
		dst.WriteByte('}')
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("not valid JSON: %w", err)
		}
		dst.WriteByte('[')
		for i, v := range a {
			if i > 0 {
				dst.WriteByte(',')
			}
			if err := referenceCanonicalValue(dst, v, depth+1, nil); err != nil {
				return err
			}
		}
		dst.WriteByte(']')
	default:
		// A string, number or literal: already validated by the enclosing
		// Unmarshal (checked here for a top-level scalar) and free of
		// insignificant whitespace, so it is copied as the server wrote it.
		if depth == 0 && !json.Valid(raw) {
			return errors.New("not valid JSON")
		}
		dst.Write(raw)
	}
	return nil
}

// referenceCanonicalDetail is referenceCanonical for a ConnectorDetail, which must be an
// object; it also returns the fields export needs: the name and the locales
// of translationProperties.
func referenceCanonicalDetail(raw []byte) ([]byte, string, []string, error) {
	trimmed := referenceTrimJSONSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, "", nil, errors.New("not valid JSON")
		}
		return nil, "", nil, errors.New("not a JSON object")
	}
	var top map[string]json.RawMessage
	b, err := referenceCanonicalDoc(trimmed, &top)
	if err != nil {
		return nil, "", nil, err
	}
	// Only the small fields are decoded; the documents were copied as they are.
	var name string
	_ = json.Unmarshal(top["name"], &name)
	var tp map[string]json.RawMessage
	_ = json.Unmarshal(top["translationProperties"], &tp)
	locales := make([]string, 0, len(tp))
	for l := range tp {
		locales = append(locales, l)
	}
	return b, name, locales, nil
}

// canonicalCases are inputs with the exact canonical form both
// implementations must give.
var canonicalCases = []struct {
	name, in, want string
}{
	{"whitespace and nesting", " { \"b\" : 1.50, \"a\" : {\"z\":\"<x>&\\u00e9\", \"y\" : [ true, null, {\"d\":1,\"c\":2} ] } } \n",
		`{"a":{"y":[true,null,{"c":2,"d":1}],"z":"<x>&\u00e9"},"b":1.50}`},
	{"sorted already", `{"a":1,"b":{"c":[]}}`, `{"a":1,"b":{"c":[]}}`},
	{"empty containers", "{ \"b\" : { } , \"a\" : [ \t] }", `{"a":[],"b":{}}`},
	{"duplicate key: last wins", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
	{"duplicate key: last wins when sorted", `{"a":1,"a":2}`, `{"a":2}`},
	{"duplicate key: escaped spelling", `{"\u0061":1,"a":2,"b":0,"\u0061":{"x":[3]}}`, `{"a":{"x":[3]},"b":0}`},
	{"duplicate nested object", `{"o":{"k":1,"j":2},"o":{"z":1,"y":[{"b":1,"a":2}]}}`, `{"o":{"y":[{"a":2,"b":1}],"z":1}}`},
	// An object is rearranged in place behind a longer prefix, or rebuilt
	// with its prefix in the other buffer behind a shorter one.
	{"reorder behind a long prefix", `["` + strings.Repeat("x", 40) + `",{"b":1,"a":2}]`, `["` + strings.Repeat("x", 40) + `",{"a":2,"b":1}]`},
	{"reorder behind a short prefix", `[1,{"b":"` + strings.Repeat("x", 40) + `","a":2}]`, `[1,{"a":2,"b":"` + strings.Repeat("x", 40) + `"}]`},
	{"sort by decoded key", `{"\u0062":1,"a":2,"\u0041":3}`, `{"A":3,"a":2,"b":1}`},
	{"escaped key written as json.Marshal does", `{"\/\u00e9\t\"":1}`, `{"/é\t\"":1}`},
	{"html characters in keys", `{"<":1,"\u003e":2,"&":3}`, `{"\u0026":3,"\u003c":1,"\u003e":2}`},
	{"control escapes in keys", `{"\b\f\n\r\u0001":1}`, `{"\b\f\n\r\u0001":1}`},
	{"unicode keys sort by bytes", `{"é":1,"z":2,"A":3,"日本":4}`, `{"A":3,"z":2,"é":1,"日本":4}`},
	{"U+2028 in a key", "{\"a\u2028\":1}", `{"a\u2028":1}`},
	{"invalid UTF-8 in a key", "{\"a\xff\":1,\"a\xfe\":2}", "{\"a\ufffd\":2}"},
	{"lone surrogate in a key", `{"\ud800":1}`, "{\"\ufffd\":1}"},
	{"surrogate pair in a key", `{"\ud83d\ude00":1}`, `{"😀":1}`},
	{"DEL in a key", "{\"\x7f\":1}", "{\"\x7f\":1}"},
	{"strings and numbers verbatim", `[ "\u003c\/a\u003e" , -0 , 1E+2 , 0.5e-3 , "é" ]`, `["\u003c\/a\u003e",-0,1E+2,0.5e-3,"é"]`},
	{"invalid UTF-8 in a value verbatim", "{\"a\":\"\xff\xc3\"}", "{\"a\":\"\xff\xc3\"}"},
	{"top-level string", ` "s" `, `"s"`},
	{"top-level number", "\r\n12\t", `12`},
	{"top-level literal", `false`, `false`},
	{"depth 64 scalar", strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64), strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64)},
	{"depth 64 empty array", strings.Repeat("[", 65) + strings.Repeat("]", 65), strings.Repeat("[", 65) + strings.Repeat("]", 65)},
	{"depth 64 objects", strings.Repeat(`{"a":`, 64) + "{}" + strings.Repeat("}", 64), strings.Repeat(`{"a":`, 64) + "{}" + strings.Repeat("}", 64)},
}

// badJSON are inputs both implementations reject.
var badJSON = []string{
	``, " \n\t", "\f0", `{`, `}`, `{} {}`, `{}x`, `nul`, `nulL`, `tru`, `truex`, `[truex]`, `{"a":[1,}`, `[1,]`, `{"a":1,}`,
	`{"a" 1}`, `{a:1}`, `{"a":}`, `{,}`, `[,1]`, `[1 2]`, `"unterminated`, `"\`, `"\u12`, `"\u12x4"`, `"\x"`, `"\'"`,
	"\"a\x01\"", "\"\t\"", "{\"\n\":1}", `01`, `-`, `-a`, `1.`, `1.e5`, `.5`, `+1`, `1e`, `1e+`, `0x10`, `[01]`, `NaN`,
	"\xef\xbb\xbf{}", `{"a":1}}`, `[[]`, `]`,
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	strings.Repeat("[", 65) + "1" + strings.Repeat("]", 65),
	strings.Repeat(`{"a":`, 65) + "{}" + strings.Repeat("}", 65),
	strings.Repeat("[", 65) + strings.Repeat("]", 64),
}

func TestCanonicalCases(t *testing.T) {
	for _, c := range canonicalCases {
		for impl, f := range map[string]func([]byte) ([]byte, error){"new": Canonical, "reference": referenceCanonical} {
			got, err := f([]byte(c.in))
			if err != nil {
				t.Errorf("%s: %s: %v", c.name, impl, err)
				continue
			}
			if string(got) != c.want+"\n" {
				t.Errorf("%s: %s(%q) =\n%q, want\n%q", c.name, impl, c.in, got, c.want+"\n")
			}
		}
	}
}

func TestCanonicalRejects(t *testing.T) {
	for _, in := range badJSON {
		if _, err := referenceCanonical([]byte(in)); err == nil {
			t.Errorf("the reference accepts %q: not a case for this test", in)
		}
		_, err := Canonical([]byte(in))
		if err == nil {
			t.Errorf("Canonical(%q) accepted bad JSON", in)
		} else if !strings.HasPrefix(err.Error(), "not valid JSON") {
			t.Errorf("Canonical(%q): error %q does not start with \"not valid JSON\"", in, err)
		}
	}
}

func TestCanonicalDetailFields(t *testing.T) {
	cases := []struct {
		name, in, wantName string
		wantLocales        []string
		wantErr            string
	}{
		{"plain", `{"translationProperties":{"fr":"x","de":"y"},"name":"Okta"}`, "Okta", []string{"de", "fr"}, ""},
		{"escaped name", `{"name":"A\u00e9 \u003cB\u003e"}`, "Aé <B>", []string{}, ""},
		{"no fields", `{}`, "", []string{}, ""},
		{"name not a string", `{"name":12,"translationProperties":[1]}`, "", []string{}, ""},
		{"name null", `{"name":null}`, "", []string{}, ""},
		{"last duplicate wins", `{"name":"a","translationProperties":{"fr":""},"\u006eame":"b","translationProperties":{"ja":"","en":{"x":1}}}`, "b", []string{"en", "ja"}, ""},
		{"last duplicate not an object", `{"translationProperties":{"fr":""},"translationProperties":null}`, "", []string{}, ""},
		{"duplicate locale", `{"translationProperties":{"fr":"1","fr":"2"}}`, "", []string{"fr"}, ""},
		{"empty translations", `{"translationProperties":{}}`, "", []string{}, ""},
		{"nested fields are not the detail's", `{"x":{"name":"inner","translationProperties":{"de":""}}}`, "", []string{}, ""},
		{"not an object", `[1]`, "", nil, "not a JSON object"},
		{"not an object nor JSON", `[1`, "", nil, "not valid JSON"},
		{"empty", ` `, "", nil, "not valid JSON"},
		{"malformed detail", `{"name":"Okta","type":`, "", nil, "not valid JSON"},
	}
	for _, c := range cases {
		out, name, locales, err := canonicalDetail([]byte(c.in))
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if name != c.wantName || !slices.Equal(locales, c.wantLocales) || locales == nil {
			t.Errorf("%s: name %q, locales %#v; want %q, %#v", c.name, name, locales, c.wantName, c.wantLocales)
		}
		ref, _, _, _ := referenceCanonicalDetail([]byte(c.in))
		if !bytes.Equal(out, ref) {
			t.Errorf("%s: %q, reference %q", c.name, out, ref)
		}
	}
}

// sandboxDetail is a connector detail as the sandbox builds it: three XML
// strings of docSize bytes (the correlation config, and the source config
// twice, as sourceConfigXml and sourceConfig), the translations of three
// locales and some small fields. escapeHTML writes <, > and & as \u003c,
// \u003e and \u0026, as json.Marshal does.
func sandboxDetail(tb testing.TB, docSize int, escapeHTML bool) []byte {
	tb.Helper()
	tn := sandbox.New(sandbox.Options{Empty: true, Synthetic: 1, DocSize: docSize, Locales: 3})
	d, ok := tn.Detail(tn.ScriptNames()[0])
	if !ok {
		tb.Fatal("the sandbox has no synthetic connector")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(d); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestCanonicalDetailMatchesReferenceOnSandboxDetail(t *testing.T) {
	for _, escape := range []bool{true, false} {
		raw := sandboxDetail(t, 20<<10, escape)
		checkAgainstReference(t, raw)
		_, name, locales, err := canonicalDetail(raw)
		if err != nil || name == "" || len(locales) != 3 {
			t.Errorf("escapeHTML %v: name %q, locales %v, err %v", escape, name, locales, err)
		}
	}
}

// checkAgainstReference fails unless Canonical and canonicalDetail agree with
// the reference on in: the same bytes, name and locales, or both an error.
func checkAgainstReference(t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := referenceCanonical(in)
	got, err := Canonical(in)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("Canonical(%q): err %v, reference err %v", in, err, wantErr)
	case err != nil && !strings.HasPrefix(err.Error(), "not valid JSON"):
		t.Fatalf("Canonical(%q): error %q does not start with \"not valid JSON\"", in, err)
	case !bytes.Equal(got, want):
		t.Fatalf("Canonical(%q) =\n%q, reference\n%q", in, got, want)
	}

	wantB, wantName, wantLocales, wantErr := referenceCanonicalDetail(in)
	gotB, gotName, gotLocales, err := canonicalDetail(in)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("canonicalDetail(%q): err %v, reference err %v", in, err, wantErr)
	}
	if err != nil {
		if err.Error() != wantErr.Error() && !strings.HasPrefix(err.Error(), "not valid JSON") {
			t.Fatalf("canonicalDetail(%q): err %q, reference %q", in, err, wantErr)
		}
		return
	}
	// The reference lists the locales in map order.
	sort.Strings(wantLocales)
	if !bytes.Equal(gotB, wantB) || gotName != wantName || !slices.Equal(gotLocales, wantLocales) {
		t.Fatalf("canonicalDetail(%q) = %q, %q, %q; reference %q, %q, %q", in, gotB, gotName, gotLocales, wantB, wantName, wantLocales)
	}
}

// TestCanonicalStringsMatchReference runs strings of every length, with
// escapes, quotes and control characters at every offset, through the
// eight-bytes-at-a-time loop and the byte loop that finishes a string,
// against the reference.
func TestCanonicalStringsMatchReference(t *testing.T) {
	pieces := []string{"a", "abcdefg", "é", "\xff", `\"`, `\\`, `\/`, `\n`, `\u003c`, `\u00E9`, `\ud83d\ude00`,
		`\u00g9`, `\u12`, `\x`, `"`, "\x01", "\x1f", " ", "\x7f", "<", "\u2028"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			// Mostly valid pieces, so most strings get far enough to matter.
			p := pieces[r.IntN(len(pieces))]
			if r.IntN(4) != 0 {
				p = pieces[r.IntN(11)]
			}
			b.WriteString(p)
		}
		str := `"` + b.String() + `"`
		pad := strings.Repeat(" ", r.IntN(8))
		for _, in := range []string{str, `{"k":` + pad + str + `}`, `{` + pad + str + `:0,"k":1}`, `[` + str + "," + str + `]`, str[:len(str)-1]} {
			checkAgainstReference(t, []byte(in))
		}
	}
}

// FuzzCanonicalMatchesReference: whatever the server sends, the single-pass
// scanner accepts exactly what the old implementation accepted and writes the
// same bytes, or an archive made before it would no longer compare equal.
func FuzzCanonicalMatchesReference(f *testing.F) {
	seeds := []string{
		// FuzzCanonical's seeds.
		`{}`, `{"b":1,"a":"x"}`, `{"a":{"z":[1,{"y":2,"x":3}]}}`, `[1,2]`, `"s"`, `{"a":"\u003c"}`, ` {"a" : 1e5 } `, `{"a":1,"a":2}`,
		// Nesting, escapes, duplicates, unicode and invalid UTF-8.
		`{"c":{"b":{"a":[{"z":1,"y":[[],{}]}]}},"a":null}`,
		`{"x":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\u003c","\t":1}`,
		`{"a":1,"b":2,"a":3,"\u0062":4}`,
		`{"é":1,"z":2,"\u00e9":3,"<&>":4,"\u2028":5}`,
		"{\"\xff\":\"\xfe\xc3\",\"\xfe\":1}",
		`{"\ud800":1,"\udc00x":2}`,
		`{"name":"x","translationProperties":{"fr":"a","de":"b"},"name":1}`,
		`[-0,0.5,1E+2,-1e-05,123456789012345678901234567890]`,
		`[true,false,null]`,
		strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64),
		strings.Repeat("[", 65) + "1" + strings.Repeat("]", 65),
		strings.Repeat(`{"a":`, 64) + "{}" + strings.Repeat("}", 64),
		"\f0", `{"a":[1,}`, `"\u12x4"`, "\"a\x01\"", `01`, `1.`, `{}x`,
	}
	for _, c := range canonicalCases {
		seeds = append(seeds, c.in)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add(sandboxDetail(f, 256, true))
	f.Add(sandboxDetail(f, 256, false))
	f.Fuzz(checkAgainstReference)
}

func benchmarkDetail(b *testing.B, canon func([]byte) ([]byte, string, []string, error)) {
	for _, bc := range []struct {
		name   string
		escape bool
	}{{"escapeHTML", true}, {"sandbox", false}} {
		raw := sandboxDetail(b, 20<<10, bc.escape)
		b.Run(fmt.Sprintf("%s-%dKB", bc.name, len(raw)>>10), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := canon(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCanonicalDetail canonicalises a ~85 KB synthetic detail: escapeHTML
// is as json.Marshal writes it (every < and > a \u003c, \u003e), sandbox as
// the sandbox and the real API send it.
func BenchmarkCanonicalDetail(b *testing.B) { benchmarkDetail(b, canonicalDetail) }

func BenchmarkCanonicalDetailReference(b *testing.B) {
	benchmarkDetail(b, referenceCanonicalDetail)
}
