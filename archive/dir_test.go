package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeDir writes cs into dir as a snapshot directory.
func writeDir(t testing.TB, dir string, meta Meta, cs []*Connector, partial []Skipped) *Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := CreateDir(ctx, dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range cs {
		if err := w.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if partial != nil {
		w.SetPartial(partial)
	}
	m, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readAllFrom drains a SnapshotReader.
func readAllFrom(t testing.TB, r SnapshotReader) []*Connector {
	t.Helper()
	defer r.Close()
	var cs []*Connector
	for {
		c, err := r.Next()
		if err == io.EOF {
			return cs
		}
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
}

// treeFiles maps every regular file under dir (relative, slash-separated) to
// its content, and every other entry to a marker.
func treeFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() || rel == "." {
			return nil
		}
		if !d.Type().IsRegular() {
			out[filepath.ToSlash(rel)] = "<not a regular file>"
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The first property: archive -> directory -> archive keeps the
// content digest, and the directory holds the archive's entries byte for byte.
func TestDirRoundTripFixture(t *testing.T) {
	tmp := t.TempDir()
	r, err := Open(filepath.Join(fixtureDir, "v1.tar.zst"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta := r.Manifest().Meta
	cs := readAllFrom(t, r)
	dir := filepath.Join(tmp, "snap")
	m := writeDir(t, dir, meta, cs, nil)
	if m.ContentDigest != fixtureDigest {
		t.Fatalf("directory digest %s, want %s", m.ContentDigest, fixtureDigest)
	}
	files := treeFiles(t, dir)
	want := fixtureConnectors()
	for _, e := range fixtureEntries {
		got, ok := files[e.Path]
		if !ok || int64(len(got)) != e.Size {
			t.Errorf("%s: got %d bytes (present %v), want %d", e.Path, len(got), ok, e.Size)
		}
	}
	if len(files) != len(fixtureEntries)+2 || files[".gitattributes"] != gitAttributes {
		t.Errorf("directory holds %d files, want the %d entries, manifest.json and .gitattributes: %v", len(files), len(fixtureEntries), files)
	}
	// The manifest leaves out what changes every run.
	man := files["manifest.json"]
	for _, volatile := range []string{"createdAt", "toolVersion", "2026-01-02"} {
		if strings.Contains(man, volatile) {
			t.Errorf("manifest.json holds %q, which changes every run:\n%s", volatile, man)
		}
	}
	if !strings.Contains(man, fixtureDigest) || !strings.Contains(man, `"baseUrl": "https://acme.api.identitynow.com"`) {
		t.Errorf("manifest.json lacks the digest or the source:\n%s", man)
	}

	dr, err := OpenDir(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dr.Manifest(); got.ContentDigest != fixtureDigest || got.ConnectorCount != 2 || !cmp.Equal(got.Entries, fixtureEntries) {
		t.Errorf("directory manifest: digest %s, %d connectors, entries %v", got.ContentDigest, got.ConnectorCount, got.Entries)
	}
	if diff := cmp.Diff(meta.Skipped, dr.Manifest().Skipped); diff != "" {
		t.Errorf("skipped connectors lost (-archive +dir):\n%s", diff)
	}
	back := readAllFrom(t, dr)
	if diff := cmp.Diff(entryOrder(want), back); diff != "" {
		t.Fatalf("connectors read from the directory differ (-want +got):\n%s", diff)
	}
	// nil (absent) and empty (present, empty) stay apart.
	if back[0].SourceTemplate != nil || back[1].SourceTemplate == nil || len(back[1].SourceTemplate) != 0 {
		t.Errorf("absent and empty documents mixed up: %q %q", back[0].SourceTemplate, back[1].SourceTemplate)
	}

	m2 := writeArchive(t, filepath.Join(tmp, "again.tar.zst"), dr.Manifest().Meta, back)
	if m2.ContentDigest != fixtureDigest {
		t.Fatalf("archive -> dir -> archive digest %s, want %s", m2.ContentDigest, fixtureDigest)
	}
	// A directory made by `tar -x` of an archive reads the same.
	x := filepath.Join(tmp, "x")
	extractTar(t, filepath.Join(fixtureDir, "v1.tar.zst"), x)
	snap, err := ReadAnyFile(x, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Manifest.ContentDigest != fixtureDigest || snap.Manifest.ToolVersion != "connvault v1-fixture" {
		t.Errorf("extracted archive as a directory: digest %s, tool %q", snap.Manifest.ContentDigest, snap.Manifest.ToolVersion)
	}
}

// extractTar unpacks an archive the way tar -x does, with Go's readers.
func extractTar(t testing.TB, archivePath, dir string) {
	t.Helper()
	data, err := decompress(readBytes(t, archivePath))
	if err != nil {
		t.Fatal(err)
	}
	if err := materialize(dir, data); err != nil {
		t.Fatal(err)
	}
}

// materialize writes a tar stream's local entries under dir through an
// os.Root, so no entry (not even after a symbolic link it made) lands
// outside. Links are made as links; other types are left out.
func materialize(dir string, tarBytes []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(bytes.NewReader(tarBytes))
	for n := 0; n < 64; n++ {
		h, err := tr.Next()
		if err != nil {
			return nil // the end, or garbage: what was made so far is the tree
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !filepath.IsLocal(name) || h.Size > 1<<20 {
			continue
		}
		if d := filepath.Dir(name); d != "." {
			_ = root.MkdirAll(d, 0o700)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			_ = root.Mkdir(name, 0o700)
		case tar.TypeReg:
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return nil
			}
			_ = root.WriteFile(name, b, 0o600)
		case tar.TypeSymlink:
			_ = root.Symlink(h.Linkname, name)
		}
	}
	return nil
}

// Re-exporting an unchanged tenant changes no byte and no file: not the
// content, not the inode, not the modification time. Files beside
// connectors/ (a .git folder, a README) are never touched.
func TestDirRewriteUnchanged(t *testing.T) {
	dir := t.TempDir()
	for p, content := range map[string]string{".git/HEAD": "ref: refs/heads/main\n", "README.md": "mine\n", ".gitignore": "*.tar.zst\n"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
	before := treeFiles(t, dir)
	stats := map[string]os.FileInfo{}
	for p := range before {
		st, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		stats[p] = st
	}
	later := fixtureMeta()
	later.CreatedAt = later.CreatedAt.Add(24 * time.Hour)
	later.ToolVersion = "connvault v2"
	writeDir(t, dir, later, fixtureConnectors(), nil)
	after := treeFiles(t, dir)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("an unchanged export changed the directory (-before +after):\n%s", diff)
	}
	for p, st := range stats {
		now, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(st, now) || !now.ModTime().Equal(st.ModTime()) {
			t.Errorf("%s was rewritten (same content, but a new file or modification time)", p)
		}
	}
	if before["README.md"] != "mine\n" || before[".git/HEAD"] == "" {
		t.Errorf("files beside connectors/ were touched: %v", before)
	}
}

// Close makes connectors/ hold exactly what was added: gone connectors,
// documents and locales go, stray files under connectors/ go; the folders
// of connectors a partial export skipped stay as they were.
func TestDirRemovesWhatIsGone(t *testing.T) {
	dir := t.TempDir()
	cs := fixtureConnectors()
	extra := &Connector{ScriptName: "flaky", Detail: []byte("{\"name\":\"Flaky\"}\n"), CorrelationConfig: []byte("<c/>")}
	writeDir(t, dir, fixtureMeta(), append(cs, extra), nil)
	stray := filepath.Join(dir, "connectors", "acme-ldap", "notes.txt")
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Next run: acme-ldap lost its fr translation and its source config,
	// hello is gone, flaky failed (partial export).
	cs[0].SourceConfig = nil
	delete(cs[0].Translations, "fr")
	m := writeDir(t, dir, fixtureMeta(), cs[:1], []Skipped{{ScriptName: "flaky", Reason: "500 server error"}})
	got := treeFiles(t, dir)
	delete(got, "manifest.json")
	delete(got, ".gitattributes")
	want := map[string]string{
		"connectors/acme-ldap/detail.json":                string(cs[0].Detail),
		"connectors/acme-ldap/translations/en.properties": "title=ACME LDAP\n",
		"connectors/flaky/detail.json":                    "{\n\t\"name\": \"Flaky\"\n}\n", // the directory form
		"connectors/flaky/correlation-config.xml":         "<c/>",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("directory after the second export (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "connectors", "hello")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the gone connector's folder is still there: %v", err)
	}
	if !m.Partial || m.ConnectorCount != 2 {
		t.Errorf("manifest: partial %v, %d connectors; want partial with the kept folder counted", m.Partial, m.ConnectorCount)
	}
	if st := VerifyDir(dir, ReadOptions{}); len(st.Problems) != 0 || len(st.Changes) != 0 {
		t.Errorf("fresh directory: problems %v, changes %v", st.Problems, st.Changes)
	}
	// A later complete export drops the connector for good.
	writeDir(t, dir, fixtureMeta(), cs[:1], nil)
	if _, err := os.Stat(filepath.Join(dir, "connectors", "flaky")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a connector missing from a complete export is still there: %v", err)
	}
}

// A hand-edited document is read back byte for byte, and VerifyDir lists
// the edits (not as problems).
func TestDirEditsAreReadAndListed(t *testing.T) {
	dir := t.TempDir()
	writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
	edited := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Application name=\"ACME LDAP\"  \t>\n  <!-- by hand -->\n</Application>")
	write := func(p string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("connectors/acme-ldap/source-config.xml", edited)
	write("connectors/hello/translations/de.properties", []byte{})
	if err := os.Remove(filepath.Join(dir, "connectors", "acme-ldap", "translations", "fr.properties")); err != nil {
		t.Fatal(err)
	}
	snap, err := ReadDir(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap.Connectors[0].SourceConfig, edited) {
		t.Errorf("edited document read as %q", snap.Connectors[0].SourceConfig)
	}
	if de, ok := snap.Connectors[1].Translations["de"]; !ok || de == nil || len(de) != 0 {
		t.Errorf("an empty locale file must read as a present, empty locale: %q %v", de, ok)
	}
	if snap.Manifest.ContentDigest == fixtureDigest {
		t.Error("the digest of an edited directory must be that of its files, not the recorded one")
	}
	st := VerifyDir(dir, ReadOptions{})
	if len(st.Problems) != 0 {
		t.Fatalf("edits are not problems: %v", st.Problems)
	}
	want := []FileChange{
		{"connectors/acme-ldap/source-config.xml", ChangeModified},
		{"connectors/acme-ldap/translations/fr.properties", ChangeRemoved},
		{"connectors/hello/translations/de.properties", ChangeAdded},
	}
	if diff := cmp.Diff(want, st.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if st.Manifest.ContentDigest != snap.Manifest.ContentDigest {
		t.Errorf("VerifyDir and ReadDir disagree on the digest")
	}
}

// A damaged layout is an error for readers and a problem for VerifyDir,
// each naming the file.
func TestDirDamagedLayout(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		kind   error
		entry  string
	}{
		{"stray file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "connectors", "hello", "notes.txt"), nil, 0o644)
		}, ErrCorrupt, "connectors/hello/notes.txt"},
		{"editor backup", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "connectors", "acme-ldap", "source-config.xml~"), nil, 0o644)
		}, ErrCorrupt, "connectors/acme-ldap/source-config.xml~"},
		{"no detail", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "connectors", "hello", "detail.json"))
		}, ErrCorrupt, "connectors/hello/detail.json"},
		{"symlink document", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "connectors", "hello", "source-config.xml")
			if err := os.Symlink("/etc/passwd", p); err != nil {
				t.Skip("no symbolic links here:", err)
			}
		}, ErrUnsafePath, "connectors/hello/source-config.xml"},
		{"symlink connector", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, "connectors", "hello"), filepath.Join(dir, "connectors", "again")); err != nil {
				t.Skip("no symbolic links here:", err)
			}
		}, ErrUnsafePath, "connectors/again/"},
		{"file in connectors", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "connectors", "README"), nil, 0o644)
		}, ErrCorrupt, "connectors/README"},
		{"bad locale file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "connectors", "acme-ldap", "translations", "en.txt"), nil, 0o644)
		}, ErrCorrupt, "connectors/acme-ldap/translations/en.txt"},
		{"no manifest", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "manifest.json"))
		}, ErrNotArchive, ""},
		{"newer version", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "manifest.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"formatVersion": 1`), []byte(`"formatVersion": 2`), 1), 0o644)
		}, ErrUnsupportedVersion, "manifest.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
			tc.break_(t, dir)
			_, err := ReadDir(dir, ReadOptions{})
			var ae *Error
			if !errors.As(err, &ae) || !errors.Is(err, tc.kind) || ae.Entry != tc.entry {
				t.Fatalf("ReadDir: %v; want a %v error about %q", err, tc.kind, tc.entry)
			}
			st := VerifyDir(dir, ReadOptions{})
			if len(st.Problems) == 0 || st.Problems[0].Entry != tc.entry {
				t.Fatalf("VerifyDir problems %v; want one about %q", st.Problems, tc.entry)
			}
		})
	}
}

// A manifest.json edited by hand is a problem for VerifyDir; readers use
// only its metadata and still read the files.
func TestDirEditedManifest(t *testing.T) {
	dir := t.TempDir()
	writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
	p := filepath.Join(dir, "manifest.json")
	b, _ := os.ReadFile(p)
	b = bytes.Replace(b, []byte(`"connectorCount": 2`), []byte(`"connectorCount": 3`), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	st := VerifyDir(dir, ReadOptions{})
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0].Error(), "connectorCount is 3") {
		t.Fatalf("problems %v; want the wrong connectorCount", st.Problems)
	}
	if snap, err := ReadDir(dir, ReadOptions{}); err != nil || snap.Manifest.ConnectorCount != 2 {
		t.Fatalf("ReadDir: %v", err)
	}
}

// Nothing reaches the directory before Close: an aborted or cancelled
// export leaves it as it was, and no spool file stays behind.
func TestDirAbortLeavesDirectory(t *testing.T) {
	dir := t.TempDir()
	writeDir(t, dir, fixtureMeta(), fixtureConnectors()[:1], nil)
	before := treeFiles(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := CreateDir(ctx, dir, fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	spool := w.spool.Name()
	if err := w.Add(ctx, fixtureConnectors()[1]); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with a cancelled context: %v", err)
	}
	if diff := cmp.Diff(before, treeFiles(t, dir)); diff != "" {
		t.Errorf("a cancelled export changed the directory:\n%s", diff)
	}
	if _, err := os.Stat(spool); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool file left behind: %v", err)
	}
	w.Abort()
}

// CreateDir refuses a connectors folder that is not connvault's, and a file.
func TestCreateDirRefusesForeign(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "connectors", "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateDir(context.Background(), dir, fixtureMeta()); err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Fatalf("CreateDir over a foreign connectors folder: %v", err)
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := CreateDir(context.Background(), f, fixtureMeta()); err == nil {
		t.Fatal("CreateDir on a file succeeded")
	}
	// Another tool's manifest.json is not overwritten.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "manifest.json"), []byte(`{"name": "my-web-app", "version": 3}`), 0o644)
	if _, err := CreateDir(context.Background(), other, fixtureMeta()); !errors.Is(err, ErrNotArchive) {
		t.Fatalf("CreateDir over a foreign manifest.json: %v", err)
	}
	// A connectors link would let the writer write outside the directory.
	linked := t.TempDir()
	writeDir(t, linked, fixtureMeta(), nil, nil)
	os.Remove(filepath.Join(linked, "connectors"))
	if err := os.Symlink(t.TempDir(), filepath.Join(linked, "connectors")); err == nil {
		if _, err := CreateDir(context.Background(), linked, fixtureMeta()); err == nil || !strings.Contains(err.Error(), "link") {
			t.Fatalf("CreateDir with connectors a link: %v", err)
		}
	}
	// A manifest.json damaged by a merge conflict is connvault's to rewrite.
	conflicted := t.TempDir()
	writeDir(t, conflicted, fixtureMeta(), fixtureConnectors(), nil)
	os.WriteFile(filepath.Join(conflicted, "manifest.json"), []byte("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> branch\n"), 0o644)
	if m := writeDir(t, conflicted, fixtureMeta(), fixtureConnectors(), nil); m.ContentDigest != fixtureDigest {
		t.Fatalf("re-export over a conflicted manifest: digest %s", m.ContentDigest)
	}
	if st := VerifyDir(conflicted, ReadOptions{}); len(st.Problems)+len(st.Changes) != 0 {
		t.Fatalf("after the re-export: %v %v", st.Problems, st.Changes)
	}
}

// FuzzDirReader builds a directory from a tar stream (links included) and
// reads it: no panic; every failure is an *Error; ReadDir fails exactly when
// VerifyDir finds a problem with the files; and what reads cleanly writes
// into a new directory with the same content digest.
func FuzzDirReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if tarBytes, err := decompress(s); err == nil {
			f.Add(tarBytes)
		}
	}
	f.Fuzz(func(t *testing.T, tarBytes []byte) {
		dir := filepath.Join(t.TempDir(), "in")
		if err := materialize(dir, tarBytes); err != nil {
			t.Skip(err)
		}
		snap, err := ReadDir(dir, fuzzOpts)
		st := VerifyDir(dir, fuzzOpts)
		var fileProblems []Problem
		for _, p := range st.Problems {
			var ae *Error
			if !errors.As(error(p), &ae) || ae.Kind == nil {
				t.Fatalf("untyped problem %v", p)
			}
			// Once the directory reads, problems with manifest.json can only be
			// about its recorded entries, which readers do not use.
			if p.Entry != manifestName {
				fileProblems = append(fileProblems, p)
			}
		}
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Kind == nil {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if len(st.Problems) == 0 {
				t.Fatalf("ReadDir failed (%v) but VerifyDir found nothing", err)
			}
			return
		}
		if len(fileProblems) != 0 || st.Manifest == nil || st.Manifest.ContentDigest != snap.Manifest.ContentDigest {
			t.Fatalf("ReadDir succeeded but VerifyDir found %v", st.Problems)
		}
		out := filepath.Join(t.TempDir(), "out")
		ctx := context.Background()
		w, err := CreateDir(ctx, out, snap.Manifest.Meta)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		for _, c := range snap.Connectors {
			if err := w.Add(ctx, c); err != nil {
				t.Fatalf("a connector the reader accepted cannot be written again: %v", err)
			}
		}
		m, err := w.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentDigest != snap.Manifest.ContentDigest {
			t.Fatalf("rewritten directory digest %s, read %s", m.ContentDigest, snap.Manifest.ContentDigest)
		}
	})
}

// TestDirKeepsUsersGitAttributes: a .gitattributes the user wrote is left
// as it is; a new directory gets connvault's.
func TestDirKeepsUsersGitAttributes(t *testing.T) {
	dir := t.TempDir()
	own := "* text=auto\n"
	if err := os.WriteFile(filepath.Join(dir, ".gitattributes"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
	if got := treeFiles(t, dir)[".gitattributes"]; got != own {
		t.Errorf(".gitattributes = %q, want the user's %q", got, own)
	}
}

// TestDirInterruptedWhileWritingIsNamed: a directory whose export was
// killed while writing (the marker left behind) is refused by the reader
// and named by VerifyDir as an interrupted export, not passed and not called
// corrupt; the next export repairs it.
func TestDirInterruptedWhileWritingIsNamed(t *testing.T) {
	dir := t.TempDir()
	writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
	if err := os.WriteFile(filepath.Join(dir, InterruptedMarker), []byte("connvault export writing since 2026-12-08T01:00:00Z, pid 42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dir, ReadOptions{}); !errors.Is(err, ErrInterrupted) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "run the export again") {
		t.Errorf("OpenDir: %v, want ErrInterrupted", err)
	}
	st := VerifyDir(dir, ReadOptions{})
	if len(st.Problems) == 0 || !errors.Is(st.Problems[0], ErrInterrupted) {
		t.Errorf("VerifyDir problems %v, want the interrupted export first", st.Problems)
	}
	writeDir(t, dir, fixtureMeta(), fixtureConnectors(), nil)
	if _, err := os.Stat(filepath.Join(dir, InterruptedMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the next export left the marker: %v", err)
	}
	if st := VerifyDir(dir, ReadOptions{}); len(st.Problems) != 0 {
		t.Errorf("after the repairing export: %v", st.Problems)
	}
}

// TestDirWritePhaseFinishesWhenInterrupted: an interruption (a cancelled
// context: SIGINT, SIGTERM) that arrives while Close writes the files never
// leaves a directory that mixes two snapshots: either Close had not begun
// and the directory holds the old snapshot, or it finished the new one.
func TestDirWritePhaseFinishesWhenInterrupted(t *testing.T) {
	old, next := synthConnectors(120, 256), synthConnectors(120, 256)
	for _, c := range next {
		c.SourceConfig = append(c.SourceConfig, []byte("<!-- next night -->\n")...)
	}
	for i := range 4 {
		dir := t.TempDir()
		oldM := writeDir(t, dir, fixtureMeta(), old, nil)
		ctx, cancel := context.WithCancel(context.Background())
		w, err := CreateDir(ctx, dir, fixtureMeta())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range next {
			if err := w.Add(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		go func() {
			time.Sleep(time.Duration(i) * 2 * time.Millisecond)
			cancel()
		}()
		newM, err := w.Close(ctx)
		w.Abort()
		cancel()
		st := VerifyDir(dir, ReadOptions{})
		if len(st.Problems) != 0 || len(st.Changes) != 0 {
			t.Fatalf("run %d: the directory is inconsistent: %v, %d changes", i, st.Problems, len(st.Changes))
		}
		switch {
		case err == nil && st.Manifest.ContentDigest != newM.ContentDigest:
			t.Errorf("run %d: Close succeeded but the directory does not hold the new snapshot", i)
		case err != nil && st.Manifest.ContentDigest != oldM.ContentDigest:
			t.Errorf("run %d: Close failed (%v) and the directory no longer holds the old snapshot", i, err)
		}
	}
}

// TestCaseClashesNamedAndRefusedWithoutCase: scriptNames that differ only
// in case are listed by the writer, and a directory holding them is refused
// where the file system does not tell case apart.
func TestCaseClashesNamedAndRefusedWithoutCase(t *testing.T) {
	dir := t.TempDir()
	cs := fixtureConnectors()
	twin := *cs[0]
	twin.ScriptName = strings.ToUpper(cs[0].ScriptName[:1]) + cs[0].ScriptName[1:]
	ctx := context.Background()
	w, err := CreateDir(ctx, dir, fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range append(cs, &twin) {
		if err := w.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.CaseClashes(); len(got) != 1 || !strings.EqualFold(got[0][0], got[0][1]) {
		t.Errorf("CaseClashes = %v, want the one pair", got)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dir, ReadOptions{}); err != nil {
		t.Errorf("a case-sensitive file system reads both folders: %v", err)
	}
	old := caseInsensitive
	caseInsensitive = func(*os.Root) bool { return true }
	defer func() { caseInsensitive = old }()
	if _, err := OpenDir(dir, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "differ only in case") {
		t.Errorf("OpenDir without case: %v, want the clash named", err)
	}
}
