package diff

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseMappingFile(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string // substring; "" means success
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "comments and blanks", in: "# header\n\n   \n  # indented comment\n", want: map[string]string{}},
		{name: "simple", in: "Old=New\n", want: map[string]string{"Old": "New"}},
		{name: "no final newline", in: "a=b\nc=d", want: map[string]string{"a": "b", "c": "d"}},
		{name: "trimmed", in: "  HR Feed v2 \t=  HR Feed  \n", want: map[string]string{"HR Feed v2": "HR Feed"}},
		{name: "crlf and bom", in: "\uFEFFa=b\r\nc=d\r\n", want: map[string]string{"a": "b", "c": "d"}},
		{name: "split at first equals", in: "a=b=c\n", want: map[string]string{"a": "b=c"}},
		{name: "hash inside a name", in: "C# Connector=C# Connector #2\n", want: map[string]string{"C# Connector": "C# Connector #2"}},
		{name: "identity", in: "same=same\n", want: map[string]string{"same": "same"}},
		{name: "chain", in: "x=y\ny=z\n", want: map[string]string{"x": "y", "y": "z"}},
		{name: "no equals", in: "# c\nJust A Name\n", wantErr: "map.txt:2: want OLD=NEW"},
		{name: "empty old", in: " = New\n", wantErr: "map.txt:1: empty OLD"},
		{name: "empty new", in: "a=b\nOld =  \n", wantErr: "map.txt:2: empty NEW"},
		{name: "duplicate old", in: "a=b\n\na=c\n", wantErr: `map.txt:3: "a" is already mapped on line 1`},
		{name: "duplicate new", in: "a=b\nc=b\n", wantErr: `map.txt:2: "b" is already the target of line 1`},
		{name: "invalid utf8", in: "a=\xff\n", wantErr: "map.txt:1: not valid UTF-8"},
		{name: "long line", in: "a=" + strings.Repeat("x", maxMappingLine+10) + "\n", wantErr: "map.txt:1: line longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMappingFile(strings.NewReader(tc.in), "map.txt")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("mapping (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseMappingFileLongLineUnderLimit(t *testing.T) {
	name := strings.Repeat("n", maxMappingLine-10)
	got, err := ParseMappingFile(strings.NewReader("a="+name+"\r\n"), "m")
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != name {
		t.Errorf("long name lost: got %d bytes", len(got["a"]))
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseMappingFileReadError(t *testing.T) {
	_, err := ParseMappingFile(io.MultiReader(strings.NewReader("a=b\n"), failingReader{}), "map.txt")
	if err == nil || !strings.Contains(err.Error(), "map.txt") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the read error naming the file", err)
	}
}

func TestParseMapFlags(t *testing.T) {
	cases := []struct {
		in      []string
		want    map[string]string
		wantErr string
	}{
		{in: nil, want: map[string]string{}},
		{in: []string{"a=b", " c = d "}, want: map[string]string{"a": "b", "c": "d"}},
		{in: []string{"#tag=x"}, want: map[string]string{"#tag": "x"}},
		{in: []string{"a=b", "a=c"}, wantErr: `--map "a=c": "a" is already mapped to "b"`},
		{in: []string{"a=b", "c=b"}, wantErr: `--map "c=b": "b" is already the target of "a"`},
		{in: []string{"ab"}, wantErr: `--map "ab": want OLD=NEW`},
		{in: []string{"=b"}, wantErr: `--map "=b": empty OLD`},
		{in: []string{"a="}, wantErr: `--map "a=": empty NEW`},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			got, err := ParseMapFlags(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("mapping (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzParseMappingFile checks that any input either fails cleanly or gives a
// well-formed one-to-one mapping that survives being written back out.
func FuzzParseMappingFile(f *testing.F) {
	for _, seed := range []string{
		"", "a=b\n", "# c\n\nOld Name = New Name\r\nx=y=z", "\uFEFFa=b", "a=b\na=c\n", "a=b\nc=b\n",
		" = \n", "=\n", "C# x=#y\n", "a=\xff", "  \t# only comment", "a=b\rc=d\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMappingFile(strings.NewReader(string(data)), "fuzz.map")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.map:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		targets := map[string]bool{}
		for k, v := range m {
			if k == "" || v == "" || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
				t.Fatalf("untrimmed or empty entry %q=%q", k, v)
			}
			if strings.Contains(k, "=") || strings.ContainsAny(k+v, "\n") || strings.HasPrefix(k, "#") {
				t.Fatalf("entry %q=%q could not have come from one line", k, v)
			}
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 in %q=%q", k, v)
			}
			if targets[v] {
				t.Fatalf("target %q mapped twice", v)
			}
			targets[v] = true
		}
		var sb strings.Builder
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&sb, "%s=%s\n", k, m[k])
		}
		again, err := ParseMappingFile(strings.NewReader(sb.String()), "again")
		if err != nil {
			t.Fatalf("re-parsing %q: %v", sb.String(), err)
		}
		if !maps.Equal(m, again) {
			t.Fatalf("round trip changed the mapping: %v -> %v", m, again)
		}
	})
}
