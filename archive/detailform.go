package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/connvault/connvault/internal/jsonscan"
)

// The directory form keeps detail.json readable in Git: one top-level field
// per line, and the fields that repeat a document stored beside it byte for
// byte (sourceConfigXml and sourceConfig as source-config.xml,
// correlationConfigXml as correlation-config.xml, each locale of
// translationProperties as translations/<locale>.properties) replaced by a
// reference to that file:
//
//	"sourceConfigXml": {"connvault:file": "source-config.xml"},
//
// so an edited document shows up once, in its own file, line by line. The
// archive's detail.json (canonical JSON) is rebuilt from the directory's
// whenever it is read, which is why an archive and the directory it was
// unpacked into have the same entries and content digest. A field whose
// text differs from the file beside it (or that the server escaped in a way
// connvault would not) stays in detail.json as it is, so that difference
// stays visible.

// refKey names the file a detail field's value is in.
const refKey = "connvault:file"

// detailRefs are the top-level detail fields that may be replaced by a
// reference, with the file each repeats; translationProperties is handled
// per locale.
var detailRefs = map[string]string{
	"sourceConfigXml":      sourceConfigName,
	"sourceConfig":         sourceConfigName,
	"correlationConfigXml": correlationName,
}

const translationsField = "translationProperties"

// member is one "key":value of a JSON object, both as raw bytes.
type member struct{ key, value []byte }

// splitMembers splits a compact JSON object into its members, raw.
func splitMembers(obj []byte) ([]member, bool) {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, false
	}
	var out []member
	i := 1
	if obj[i] == '}' {
		return out, true
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return nil, false
		}
		end, err := jsonscan.String(obj, i+1)
		if err != nil || end >= len(obj) || obj[end] != ':' {
			return nil, false
		}
		key := obj[i:end]
		j := end + 1
		start := j
		depth := 0
		for ; j < len(obj); j++ {
			c := obj[j]
			if c == '"' {
				e, err := jsonscan.String(obj, j+1)
				if err != nil {
					return nil, false
				}
				j = e - 1
				continue
			}
			if c == '{' || c == '[' {
				depth++
			}
			if c == '}' || c == ']' {
				if depth == 0 {
					break
				}
				depth--
			}
			if c == ',' && depth == 0 {
				break
			}
		}
		if j >= len(obj) {
			return nil, false
		}
		out = append(out, member{key, obj[start:j]})
		if obj[j] == '}' {
			return out, j == len(obj)-1
		}
		i = j + 1
	}
	return nil, false
}

// jsonText is s as a JSON string escaped as little as JSON allows: quote,
// backslash and control characters. It is how a server that keeps documents
// as they are writes them.
func jsonText(s []byte) ([]byte, bool) {
	valid := utf8.Valid(s)
	if !valid {
		// A JSON string holds only UTF-8: bytes that are not become U+FFFD,
		// as every JSON encoder makes them. The file itself keeps its bytes.
		s = []byte(strings.ToValidUTF8(string(s), "\uFFFD"))
	}
	var b bytes.Buffer
	b.Grow(len(s) + 16)
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.Bytes(), valid
}

func refTo(name string) []byte {
	q, _ := json.Marshal(name)
	return []byte(`{"` + refKey + `":` + string(q) + `}`)
}

// dirDetail is the directory form of an archive's detail.json: one field
// per line, the fields that repeat a sibling document replaced by a
// reference. files are the connector's other entries by name within its
// folder ("source-config.xml", "translations/de.properties"). A detail that
// is not a compact JSON object is kept as it is.
func dirDetail(detail []byte, files map[string][]byte) []byte {
	body, canonical := bytes.CutSuffix(detail, []byte("\n"))
	ms, ok := splitMembers(body)
	if !canonical || !ok || len(ms) == 0 {
		return detail // not what export writes: kept byte for byte
	}
	same := func(value []byte, name string) bool {
		content, ok := files[name]
		if !ok {
			return false
		}
		text, ok := jsonText(content)
		return ok && bytes.Equal(text, value)
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, m := range ms {
		value := m.value
		var key string
		if json.Unmarshal(m.key, &key) == nil {
			if name, ok := detailRefs[key]; ok && same(value, name) {
				value = refTo(name)
			}
			if key == translationsField {
				value, _ = mapLocales(value, func(loc string, lv []byte) ([]byte, error) {
					if name := translationsDir + loc + translationSuffix; checkComponent(loc) == "" && same(lv, name) {
						return refTo(name), nil
					}
					return lv, nil
				})
			}
		}
		b.WriteByte('\t')
		b.Write(m.key)
		b.WriteString(": ")
		b.Write(value)
		if i < len(ms)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// mapLocales rewrites each locale's value of a translationProperties
// object with f; a value that is not a compact object is returned as it is.
func mapLocales(obj []byte, f func(loc string, value []byte) ([]byte, error)) ([]byte, error) {
	locs, ok := splitMembers(obj)
	if !ok {
		return obj, nil
	}
	var t bytes.Buffer
	t.WriteByte('{')
	for k, l := range locs {
		var loc string
		lv := l.value
		if json.Unmarshal(l.key, &loc) == nil {
			var err error
			if lv, err = f(loc, lv); err != nil {
				return nil, err
			}
		}
		if k > 0 {
			t.WriteByte(',')
		}
		t.Write(l.key)
		t.WriteByte(':')
		t.Write(lv)
	}
	t.WriteByte('}')
	return t.Bytes(), nil
}

// errMissingRef is a reference in detail.json to a file that is not there.
var errMissingRef = errors.New("refers to a file the connector folder does not have")

// archiveDetail rebuilds the archive's detail.json from the directory's:
// whitespace between tokens dropped (string text kept byte for byte) and
// each reference replaced by its file's text. files are the connector's
// other files by name within its folder. A detail.json that is not in the
// directory form (one a person reformatted, or an archive's that was not
// canonical to begin with) and holds no reference is taken as it is, so
// whatever an archive held comes back byte for byte; one that is not a JSON
// object is also returned as it is, for the reader to report.
func archiveDetail(dir []byte, files map[string][]byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, dir); err != nil {
		return dir, nil
	}
	ms, ok := splitMembers(compact.Bytes())
	if !ok {
		return dir, nil
	}
	refs := 0
	resolve := func(value []byte) ([]byte, error) {
		if !bytes.HasPrefix(value, []byte(`{"`+refKey+`":`)) {
			return value, nil
		}
		var ref map[string]string
		if json.Unmarshal(value, &ref) != nil || len(ref) != 1 {
			return value, nil
		}
		refs++
		name := ref[refKey]
		content, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%s %s %q: restore that file, or put the document back into detail.json", detailName, errMissingRef, name)
		}
		text, _ := jsonText(content)
		return text, nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		value, err := resolve(m.value)
		if err != nil {
			return nil, err
		}
		var key string
		if json.Unmarshal(m.key, &key) == nil && key == translationsField {
			if value, err = mapLocales(value, func(_ string, lv []byte) ([]byte, error) { return resolve(lv) }); err != nil {
				return nil, err
			}
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(m.key)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteString("}\n")
	rebuilt := b.Bytes()
	if refs == 0 && !bytes.Equal(dirDetail(rebuilt, files), dir) {
		return dir, nil
	}
	return rebuilt, nil
}

// connectorSiblings are c's documents by their name in its folder.
func connectorSiblings(c *Connector) map[string][]byte {
	files := map[string][]byte{}
	prefix := connectorsDir + c.ScriptName + "/"
	for _, f := range connectorFiles(c) {
		if name := strings.TrimPrefix(f.path, prefix); name != detailName {
			files[name] = f.data
		}
	}
	return files
}
