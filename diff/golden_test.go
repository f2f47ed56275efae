package diff

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// checkGolden compares got with testdata/<name> byte for byte, or rewrites the
// file under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diff -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n%s", path,
			unified("want", "got", string(want), string(got), false))
	}
}

func TestGolden(t *testing.T) {
	a, b, mapping := goldenSnapshots(t)
	cases := []struct {
		file string
		opts Options
		text *TextOptions // nil: JSON
	}{
		{"text.golden", Options{Mapping: mapping}, &TextOptions{}},
		{"text_stat.golden", Options{Mapping: mapping}, &TextOptions{Stat: true}},
		{"text_nameonly.golden", Options{Mapping: mapping}, &TextOptions{NameOnly: true}},
		{"text_color.golden", Options{Mapping: mapping}, &TextOptions{Color: true}},
		{"text_ignore_whitespace.golden", Options{Mapping: mapping, IgnoreWhitespace: true}, &TextOptions{}},
		{"text_ignore_fields.golden", Options{Mapping: mapping, Ignore: []string{"connectorMetadata", "applicationXml"}}, &TextOptions{}},
		{"diff.json.golden", Options{Mapping: mapping}, nil},
		{"diff_ignore_whitespace.json.golden", Options{Mapping: mapping, IgnoreWhitespace: true}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Compare(a, b, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if tc.text != nil {
				err = WriteText(&buf, r, *tc.text)
			} else {
				err = WriteJSON(&buf, r)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.file, buf.Bytes())
		})
	}
}

// TestJSONFieldsDocumented keeps docs/diff-format.md honest: every key the
// JSON output uses must be described there as `key`.
func TestJSONFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "diff-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	a, b, mapping := goldenSnapshots(t)
	r, err := Compare(a, b, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				// old/new hold connector data, not schema: do not descend.
				keys[k] = true
				if k != "old" && k != "new" {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	var missing []string
	for k := range keys {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("docs/diff-format.md does not document JSON keys: %s", strings.Join(missing, ", "))
	}
	for _, want := range []string{"version", "equal", "summary", "connectors", "changes", "diff", "renamed", "unmatchedMappings"} {
		if !keys[want] {
			t.Errorf("JSON output has no %q key; the golden snapshots should exercise it", want)
		}
	}
}
