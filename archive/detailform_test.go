package archive

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A detail as export writes it (canonical JSON) with documents that repeat
// the files beside it, and one whose copy differs.
const canonicalDetail = `{"correlationConfigXml":"<c>\n  <x/>\n</c>\n","name":"HR \"Feed\"","scriptName":"hr","sourceConfig":"<s a=\"1\"/>\n",` +
	`"sourceConfigXml":"<s a=\"1\"/>\n","status":"RELEASED","translationProperties":{"de":"t=Titel\n","en":"t=stale copy\n"}}` + "\n"

func detailSiblings() map[string][]byte {
	return map[string][]byte{
		sourceConfigName: []byte("<s a=\"1\"/>\n"),
		correlationName:  []byte("<c>\n  <x/>\n</c>\n"),
		translationsDir + "de" + translationSuffix: []byte("t=Titel\n"),
		translationsDir + "en" + translationSuffix: []byte("t=Title\n"),
	}
}

// TestDetailDirectoryFormOneFieldPerLineNoCopies: the directory form has
// one field per line, references where a field repeats a file beside it,
// keeps a copy that differs (the en translation) inline, and rebuilds the
// archive's bytes exactly.
func TestDetailDirectoryFormOneFieldPerLineNoCopies(t *testing.T) {
	files := detailSiblings()
	dir := dirDetail([]byte(canonicalDetail), files)
	lines := strings.Split(strings.TrimSuffix(string(dir), "\n"), "\n")
	if len(lines) != 9 || lines[0] != "{" || lines[len(lines)-1] != "}" {
		t.Fatalf("not one field per line:\n%s", dir)
	}
	for _, want := range []string{`"sourceConfigXml": {"connvault:file":"source-config.xml"}`, `"sourceConfig": {"connvault:file":"source-config.xml"}`,
		`"correlationConfigXml": {"connvault:file":"correlation-config.xml"}`, `"de":{"connvault:file":"translations/de.properties"}`, `"en":"t=stale copy\n"`} {
		if !strings.Contains(string(dir), want) {
			t.Errorf("the directory form lacks %s:\n%s", want, dir)
		}
	}
	back, err := archiveDetail(dir, files)
	if err != nil || string(back) != canonicalDetail {
		t.Errorf("rebuilt %q (%v), want the archive's bytes", back, err)
	}
	// An edit of the file is an edit of the rebuilt detail.
	files[sourceConfigName] = []byte("<s a=\"2\"/>\n")
	back, err = archiveDetail(dir, files)
	if err != nil || !strings.Contains(string(back), `"sourceConfigXml":"<s a=\"2\"/>\n"`) {
		t.Errorf("after editing source-config.xml: %q (%v)", back, err)
	}
	delete(files, sourceConfigName)
	if _, err := archiveDetail(dir, files); err == nil || !strings.Contains(err.Error(), "source-config.xml") {
		t.Errorf("a reference to a missing file: %v", err)
	}
}

// TestDetailNotInDirectoryFormKeptAsItIs: a detail that is not compact (an
// old or hand-made archive's) is written and read back byte for byte.
func TestDetailNotInDirectoryFormKeptAsItIs(t *testing.T) {
	for _, d := range []string{"{\n  \"name\": \"X\",\n  \"scriptName\": \"x\"\n}\n", "[1,2]\n", "not json", "{\"name\":\"X\"}"} {
		dir := dirDetail([]byte(d), nil)
		back, err := archiveDetail(dir, nil)
		if err != nil || string(back) != d {
			t.Errorf("%q: directory form %q, rebuilt %q (%v)", d, dir, back, err)
		}
	}
}

// TestDirectoryDetailRoundTripsThroughPack: a connector written as a
// directory has a readable detail.json without the documents beside it,
// reads back as the archive had it, and gives the archive's digest.
func TestDirectoryDetailRoundTripsThroughPack(t *testing.T) {
	c := &Connector{ScriptName: "hr", Detail: []byte(canonicalDetail),
		SourceConfig: detailSiblings()[sourceConfigName], CorrelationConfig: detailSiblings()[correlationName],
		Translations: map[string][]byte{"de": []byte("t=Titel\n"), "en": []byte("t=Title\n")}}
	dir := t.TempDir()
	m := writeDir(t, dir, fixtureMeta(), []*Connector{c}, nil)
	onDisk, err := os.ReadFile(filepath.Join(dir, "connectors", "hr", detailName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(onDisk, []byte(`<s a=\"1\"/>`)) || strings.Count(string(onDisk), "\n") < 8 {
		t.Errorf("detail.json repeats a document or is not one field per line:\n%s", onDisk)
	}
	snap, err := ReadDir(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(snap.Connectors[0].Detail); got != canonicalDetail {
		t.Errorf("read back %q", got)
	}
	arc := filepath.Join(t.TempDir(), "a.tar.zst")
	w, err := Create(t.Context(), arc, fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(t.Context(), snap.Connectors[0]); err != nil {
		t.Fatal(err)
	}
	am, err := w.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if am.ContentDigest != m.ContentDigest {
		t.Errorf("archive digest %s, directory %s", am.ContentDigest, m.ContentDigest)
	}
}

// FuzzDetailForm: for any compact JSON object and any sibling files, the
// directory form rebuilds the archive's bytes.
func FuzzDetailForm(f *testing.F) {
	f.Add(strings.TrimSuffix(canonicalDetail, "\n"), "<s a=\"1\"/>\n", "t=Titel\n")
	f.Add(`{"a":{"b":[1,"x,}"]},"sourceConfigXml":"q\"\\"}`, "q\"\\", "")
	f.Fuzz(func(t *testing.T, detail, source, de string) {
		var compact bytes.Buffer
		if jsonCompact(&compact, []byte(detail)) != nil {
			return
		}
		orig := append(compact.Bytes(), '\n')
		files := map[string][]byte{sourceConfigName: []byte(source), translationsDir + "de" + translationSuffix: []byte(de)}
		back, err := archiveDetail(dirDetail(orig, files), files)
		if err != nil || !bytes.Equal(back, orig) {
			t.Fatalf("%q: rebuilt %q (%v)", orig, back, err)
		}
	})
}

func jsonCompact(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }
