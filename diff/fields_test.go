package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connvault/connvault/tools/realistic"
)

// FuzzSplitObject holds splitObject to encoding/json: the same documents
// accepted, the same members (keys decoded alike, values byte for byte).
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{
		`{}`, ` {"a":1} `, `{"name":"x","n":-1.5e+3,"t":true,"f":false,"z":null,"o":{"k":[1,{"x":[]}]},"s":"\u00e9\n\"q\""}`,
		`{"na\u006de":"x"}`, `{"a":1,"a":2}`, `{"\xff":1}`, `{"a":"\xffb"}`, `null`, `[]`, `"x"`, `{"a":01}`, `{"a":1.}`,
		`{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`, `{"a" 1}`, `{"a":1,}`, `{,}`,
		`{"a":[1,]}`, `{"a":1}x`, `{"a":1}{}`, `{"a"`, `{"a":"` + strings.Repeat("x", 40) + `\"` + strings.Repeat("y", 9) + `"}`,
		strings.Repeat("[", 5) + `{"a":1}`, `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal(in, &want)
		if werr == nil && want == nil {
			werr = errNull // splitObject refuses null, which Unmarshal leaves as a nil map
		}
		ms, err := splitObject(in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("splitObject(%q): err %v, encoding/json: %v", in, err, werr)
		}
		if err != nil {
			return
		}
		got := map[string]json.RawMessage{}
		for _, m := range ms {
			got[m.key] = m.value
		}
		if len(got) != len(want) {
			t.Fatalf("splitObject(%q): %d members, encoding/json %d", in, len(got), len(want))
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
				t.Fatalf("splitObject(%q): member %q = %q, encoding/json %q", in, k, g, v)
			}
		}
	})
}

var errNull = json.Unmarshal([]byte(`1`), new(bool))

func TestSplitObjectErrorsNameTheProblem(t *testing.T) {
	for in, want := range map[string]string{
		`null`:             "JSON null, not an object",
		`[1]`:              "not a JSON object: it starts with '['",
		`{"a":1`:           "unexpected end of JSON input",
		"{\"a\":\"\x01\"}": `invalid character '\x01' in string literal (at byte 6)`,
		`{"a":[1,]}`:       "invalid character ']' looking for beginning of value (at byte 8)",
		`{"a":1} true`:     "invalid character 't' after top-level value (at byte 8)",
		`{"a":"\u12x"}`:    "invalid character 'x' in \\u hexadecimal character escape",
	} {
		_, err := splitObject([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("splitObject(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

// BenchmarkSplitDetail splits a realistic detail (documents embedded as JSON
// strings, ~84 KB); compare BenchmarkUnmarshalDetail, what rawFields did before.
func BenchmarkSplitDetail(b *testing.B) {
	d := realistic.New(1, 20<<10, 3).Connector(0).Detail
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		if _, err := splitObject(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalDetail(b *testing.B) {
	d := realistic.New(1, 20<<10, 3).Connector(0).Detail
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(d, &m); err != nil {
			b.Fatal(err)
		}
	}
}
