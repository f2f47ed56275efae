package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

// fixtureMeta and fixtureConnectors are the tiny snapshot documented in
// docs/archive-format.md ("Test vectors") and stored in
// testdata/archive/v1.tar.zst. Never change them: every later connvault must
// read that file back to exactly this.
func fixtureMeta() Meta {
	return Meta{
		ToolVersion: "connvault v1-fixture",
		CreatedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Source:      Source{BaseURL: "https://acme.api.identitynow.com", APIVersion: "v3"},
		Selection:   Selection{Locales: []string{"en", "fr"}},
		Skipped:     []Skipped{{ScriptName: "gone", Name: "Gone", Reason: "404 not found"}},
	}
}

func fixtureConnectors() []*Connector {
	return []*Connector{
		{
			ScriptName:   "acme-ldap",
			Detail:       []byte("{\n  \"name\": \"ACME LDAP\",\n  \"scriptName\": \"acme-ldap\",\n  \"status\": \"RELEASED\"\n}\n"),
			SourceConfig: []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Application name=\"ACME LDAP\"/>\n"),
			Translations: map[string][]byte{
				"en": []byte("title=ACME LDAP\n"),
				"fr": []byte("title=LDAP d'ACME\n"),
			},
		},
		{
			ScriptName:     "hello",
			Detail:         []byte("{\n  \"name\": \"Hello\",\n  \"scriptName\": \"hello\"\n}\n"),
			SourceTemplate: []byte{},
		},
	}
}

// The test vectors of docs/archive-format.md.
var fixtureEntries = []Entry{
	{Path: "connectors/acme-ldap/detail.json", Size: 79, SHA256: "624f5687d419f77cebbb5dee169730b90a32b413fe42f3ce1952281de718fb69"},
	{Path: "connectors/acme-ldap/source-config.xml", Size: 71, SHA256: "a5dbe9de67a4c1b51910965573da0544363bed17b1ca24b484ff94fff3a7fe07"},
	{Path: "connectors/acme-ldap/translations/en.properties", Size: 16, SHA256: "9a15697444fad81e4d31a33669dc580f4e80100364cd4711f7a79c7732f794e7"},
	{Path: "connectors/acme-ldap/translations/fr.properties", Size: 18, SHA256: "bbef64f7c190a0fc903a61d15115be0d100bda4c55863904b3561d235ff3cda8"},
	{Path: "connectors/hello/detail.json", Size: 47, SHA256: "b12eaedd98127d55566776d85bfa5d4c7c8fe6d4594ac2fcafed375b72bd3955"},
	{Path: "connectors/hello/source-template.xml", Size: 0, SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
}

const fixtureDigest = "sha256:a04ca332ab80bbefeddcbc1211c2c24b88023089a754c3753a24a1bee17ac64d"

func writeArchive(t testing.TB, path string, meta Meta, cs []*Connector) *Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := Create(ctx, path, meta)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range cs {
		if err := w.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// listDir names what is in dir, so tests can prove nothing else was left.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// entryOrder sorts connectors the way a reader returns them.
func entryOrder(cs []*Connector) []*Connector {
	out := slices.Clone(cs)
	sort.Slice(out, func(i, j int) bool { return out[i].ScriptName+"/" < out[j].ScriptName+"/" })
	return out
}

func TestRoundTrip(t *testing.T) {
	cs := append(fixtureConnectors(),
		// "a" sorts after "a-b" and "a.b" by entry path: the reader's order.
		&Connector{ScriptName: "a", Detail: []byte("{}\n"), CorrelationConfig: []byte("<CorrelationConfig/>")},
		&Connector{ScriptName: "a-b", Detail: []byte("{}\n"), SourceConfig: []byte{}, SourceTemplate: []byte("<t/>")},
		&Connector{ScriptName: "a.b", Detail: []byte{}},
		&Connector{ScriptName: "ünïcode name with spaces " + strings.Repeat("x", 120), Detail: []byte("{}\n"),
			Translations: map[string][]byte{"zh-TW": []byte("k=\u503c\n"), "no": {}}},
	)
	cs = append(cs, synthConnectors(20, 2000)...)
	meta := fixtureMeta()
	meta.CreatedAt = time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	path := filepath.Join(t.TempDir(), "snap.tar.zst")
	m := writeArchive(t, path, meta, cs)

	snap, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entryOrder(cs), snap.Connectors); diff != "" {
		t.Errorf("connectors read back differ (-written +read):\n%s", diff)
	}
	if diff := cmp.Diff(*m, snap.Manifest); diff != "" {
		t.Errorf("manifest read back differs from the one Close returned:\n%s", diff)
	}
	wantMeta := meta
	wantMeta.CreatedAt = meta.CreatedAt.UTC()
	if diff := cmp.Diff(wantMeta, snap.Manifest.Meta); diff != "" {
		t.Errorf("meta differs:\n%s", diff)
	}
	if snap.Manifest.ConnectorCount != len(cs) || snap.Manifest.FormatVersion != 1 || snap.Manifest.Format != FormatName {
		t.Errorf("manifest header = %q v%d, %d connectors; want %q v1, %d",
			snap.Manifest.Format, snap.Manifest.FormatVersion, snap.Manifest.ConnectorCount, FormatName, len(cs))
	}
	if got := ContentDigest(snap.Manifest.Entries); got != snap.Manifest.ContentDigest {
		t.Errorf("content digest %s, recomputed %s", snap.Manifest.ContentDigest, got)
	}
	if ps := Verify(path, ReadOptions{}); len(ps) != 0 {
		t.Errorf("Verify of a good archive found %v", ps)
	}
	rm, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, rm); diff != "" {
		t.Errorf("ReadManifest differs:\n%s", diff)
	}
}

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	cs := append(fixtureConnectors(), synthConnectors(30, 3000)...)
	a, b, c := filepath.Join(dir, "a.tar.zst"), filepath.Join(dir, "b.tar.zst"), filepath.Join(dir, "c.tar.zst")
	ma := writeArchive(t, a, fixtureMeta(), cs)
	// Added in another order: the archive does not depend on list order.
	rev := slices.Clone(cs)
	slices.Reverse(rev)
	writeArchive(t, b, fixtureMeta(), rev)
	ba, bb := readBytes(t, a), readBytes(t, b)
	if !bytes.Equal(ba, bb) {
		t.Fatalf("same snapshot written twice gives different files (%d and %d bytes)", len(ba), len(bb))
	}
	later := fixtureMeta()
	later.CreatedAt = later.CreatedAt.Add(26 * time.Hour)
	later.ToolVersion = "connvault v9"
	mc := writeArchive(t, c, later, cs)
	if bytes.Equal(ba, readBytes(t, c)) {
		t.Error("a different creation time gave the same bytes; the manifest should record it")
	}
	if ma.ContentDigest != mc.ContentDigest {
		t.Errorf("content digest changed with only the creation time: %s vs %s", ma.ContentDigest, mc.ContentDigest)
	}
	changed := fixtureConnectors()
	changed[0].Translations["en"] = []byte("title=ACME LDAP!\n")
	md := writeArchive(t, filepath.Join(dir, "d.tar.zst"), fixtureMeta(), changed)
	mf := writeArchive(t, filepath.Join(dir, "f.tar.zst"), fixtureMeta(), fixtureConnectors())
	if md.ContentDigest == mf.ContentDigest {
		t.Error("changing one translation left the content digest unchanged")
	}
}

func readBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHeaders checks the fixed tar header fields and the entry order.
func TestHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.tar.zst")
	meta := fixtureMeta()
	meta.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC)
	writeArchive(t, path, meta, fixtureConnectors())
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("archive file mode %v, want 0600", st.Mode().Perm())
	}
	if got := listDir(t, filepath.Dir(path)); !slices.Equal(got, []string{"h.tar.zst"}) {
		t.Errorf("directory holds %v, want only the archive (no temporary files)", got)
	}
	zr, err := zstd.NewReader(bytes.NewReader(readBytes(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		wantMode := int64(0o644)
		if h.Typeflag == tar.TypeDir {
			wantMode = 0o755
		}
		if h.Mode != wantMode || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
			!h.ModTime.Equal(time.Unix(meta.CreatedAt.Unix(), 0)) || len(h.PAXRecords) != 0 || h.Format != tar.FormatUSTAR {
			t.Errorf("%s: header mode %o uid %d gid %d uname %q gname %q mtime %v pax %v format %v", h.Name,
				h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, h.PAXRecords, h.Format)
		}
	}
	want := []string{
		"manifest.json",
		"connectors/",
		"connectors/acme-ldap/",
		"connectors/acme-ldap/detail.json",
		"connectors/acme-ldap/source-config.xml",
		"connectors/acme-ldap/translations/",
		"connectors/acme-ldap/translations/en.properties",
		"connectors/acme-ldap/translations/fr.properties",
		"connectors/hello/",
		"connectors/hello/detail.json",
		"connectors/hello/source-template.xml",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// TestSystemTar lists a written archive with GNU tar and zstd.
func TestSystemTar(t *testing.T) {
	for _, tool := range []string{"tar", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (CI installs it)", tool)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sys.tar.zst")
	cs := append(fixtureConnectors(), &Connector{ScriptName: "long-" + strings.Repeat("n", 150), Detail: []byte("{}\n")})
	m := writeArchive(t, path, fixtureMeta(), cs)
	out, err := exec.Command("tar", "--zstd", "-tf", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tar --zstd -tf: %v\n%s", err, out)
	}
	listed := strings.Split(strings.TrimSpace(string(out)), "\n")
	if listed[0] != "manifest.json" {
		t.Errorf("tar lists %q first, want manifest.json", listed[0])
	}
	for _, e := range m.Entries {
		if !slices.Contains(listed, e.Path) {
			t.Errorf("tar does not list %s; it lists %v", e.Path, listed)
		}
	}
	// And extracting gives the bytes the manifest describes.
	xdir := filepath.Join(dir, "x")
	if err := os.Mkdir(xdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "--zstd", "-xf", path, "-C", xdir).CombinedOutput(); err != nil {
		t.Fatalf("tar --zstd -xf: %v\n%s", err, out)
	}
	got := readBytes(t, filepath.Join(xdir, "connectors/acme-ldap/translations/fr.properties"))
	if string(got) != "title=LDAP d'ACME\n" {
		t.Errorf("extracted fr.properties = %q", got)
	}
}

// countdownCtx is cancelled after its Err has been asked n times: a
// deterministic "Ctrl-C midway".
type countdownCtx struct {
	context.Context
	n int
}

func (c *countdownCtx) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

func TestCancel(t *testing.T) {
	cs := synthConnectors(40, 1000)
	for _, tc := range []struct {
		name      string
		addBudget int // Err calls allowed during Add
		preexist  bool
	}{
		{"during add", 10, false},
		{"during close", 1000, false},
		{"during close, existing archive kept", 1000, true},
		{"right at close", len(cs), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.tar.zst")
			if tc.preexist {
				if err := os.WriteFile(path, []byte("previous"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx := &countdownCtx{Context: context.Background(), n: tc.addBudget}
			w, err := Create(context.Background(), path, fixtureMeta())
			if err != nil {
				t.Fatal(err)
			}
			var addErr error
			for _, c := range cs {
				if addErr = w.Add(ctx, c); addErr != nil {
					break
				}
			}
			if tc.addBudget < len(cs) {
				if !errors.Is(addErr, context.Canceled) {
					t.Fatalf("Add after cancel: %v, want context.Canceled", addErr)
				}
				if err := w.Add(context.Background(), cs[0]); err == nil {
					t.Error("writer still accepts connectors after a cancelled Add")
				}
			} else {
				if addErr != nil {
					t.Fatal(addErr)
				}
				ctx.n = 15 // cancelled partway through writing the entries
				if tc.name == "right at close" {
					ctx.n = 0
				}
				if _, err := w.Close(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("Close: %v, want context.Canceled", err)
				}
			}
			if err := w.Abort(); err != nil {
				t.Errorf("Abort after a failed writer: %v", err)
			}
			want := []string(nil)
			if tc.preexist {
				want = []string{"out.tar.zst"}
				if b := readBytes(t, path); string(b) != "previous" {
					t.Errorf("existing archive changed to %d bytes", len(b))
				}
			}
			if got := listDir(t, dir); !slices.Equal(got, want) {
				t.Errorf("directory holds %v after cancel, want %v", got, want)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.tar.zst")
	ctx := context.Background()
	w, err := Create(ctx, path, fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(ctx, fixtureConnectors()[0]); err != nil {
		t.Fatal(err)
	}
	if got := len(listDir(t, dir)); got != 1 {
		t.Errorf("%d files while adding, want the one spool file", got)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("Abort left %v", got)
	}
	if _, err := w.Close(ctx); err == nil {
		t.Error("Close after Abort succeeded")
	}

	// Abort after a successful Close keeps the archive.
	w, err = Create(ctx, path, fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if w.Size() != st.Size() || st.Size() == 0 {
		t.Errorf("Size() = %d, file is %d bytes", w.Size(), st.Size())
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close: %v", err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"a.tar.zst"}) {
		t.Errorf("after Close+Abort the directory holds %v", got)
	}
	snap, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) != 0 || snap.Manifest.ConnectorCount != 0 || len(snap.Manifest.Entries) != 0 {
		t.Errorf("empty archive read back as %+v", snap)
	}
}

func TestAddRejects(t *testing.T) {
	good := func() *Connector { return &Connector{ScriptName: "ok", Detail: []byte("{}")} }
	for _, tc := range []struct {
		name string
		c    *Connector
		kind error
		msg  string
	}{
		{"empty", &Connector{Detail: []byte("{}")}, ErrUnsafePath, `connector scriptName "" cannot be a folder name: it is empty`},
		{"dotdot", &Connector{ScriptName: "..", Detail: []byte("{}")}, ErrUnsafePath, `".." is a relative directory name`},
		{"dot", &Connector{ScriptName: ".", Detail: []byte("{}")}, ErrUnsafePath, `"." is a relative directory name`},
		{"slash", &Connector{ScriptName: "a/b", Detail: []byte("{}")}, ErrUnsafePath, "contains a slash or backslash"},
		{"backslash", &Connector{ScriptName: `a\b`, Detail: []byte("{}")}, ErrUnsafePath, "contains a slash or backslash"},
		{"newline", &Connector{ScriptName: "a\nb", Detail: []byte("{}")}, ErrUnsafePath, "control character U+000A"},
		{"nul", &Connector{ScriptName: "a\x00b", Detail: []byte("{}")}, ErrUnsafePath, "control character U+0000"},
		{"bad utf8", &Connector{ScriptName: "a\xffb", Detail: []byte("{}")}, ErrUnsafePath, "not valid UTF-8"},
		{"too long", &Connector{ScriptName: strings.Repeat("x", 256), Detail: []byte("{}")}, ErrUnsafePath, "256 bytes long"},
		{"bad locale", &Connector{ScriptName: "x", Detail: []byte("{}"), Translations: map[string][]byte{"../en": nil}}, ErrUnsafePath, `locale "../en" cannot be a file name`},
		{"no detail", &Connector{ScriptName: "x"}, nil, `connector "x" has no detail`},
		{"duplicate", good(), ErrDuplicate, `connector "ok" was already added`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "r.tar.zst")
			ctx := context.Background()
			w, err := Create(ctx, path, Meta{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Add(ctx, good()); err != nil {
				t.Fatal(err)
			}
			err = w.Add(ctx, tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Add: %v; want an error naming %s and containing %q", err, path, tc.msg)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("Add: %v is not %v", err, tc.kind)
			}
			// A refused connector leaves the writer usable.
			m, err := w.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.ConnectorCount != 1 || len(m.Entries) != 1 {
				t.Errorf("manifest has %d connectors and %d entries, want 1 and 1", m.ConnectorCount, len(m.Entries))
			}
		})
	}
}

func TestCreateRejectsDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(context.Background(), dir, Meta{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Create on a directory: %v", err)
	}
}

func TestPartial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.tar.zst")
	ctx := context.Background()
	w, err := Create(ctx, path, Meta{ToolVersion: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.SetSkipped([]Skipped{{ScriptName: "z", Reason: "404 not found"}})
	w.SetPartial([]Skipped{{ScriptName: "b", Reason: "failed: 500"}, {ScriptName: "a", Reason: "failed: timeout"}})
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Skipped{{ScriptName: "a", Reason: "failed: timeout"}, {ScriptName: "b", Reason: "failed: 500"}, {ScriptName: "z", Reason: "404 not found"}}
	if !m.Partial || !cmp.Equal(want, m.Skipped) {
		t.Errorf("partial %v skipped %v; want true %v", m.Partial, m.Skipped, want)
	}
}

func TestReaderLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.tar.zst")
	writeArchive(t, path, fixtureMeta(), fixtureConnectors())
	for _, tc := range []struct {
		name string
		opts ReadOptions
		msg  string
	}{
		{"entry size", ReadOptions{MaxEntrySize: 70}, `manifest.json: entry 0 ("connectors/acme-ldap/detail.json"): 79 bytes, above the per-entry limit of 70 (MaxEntrySize)`},
		{"total size", ReadOptions{MaxTotalSize: 100}, "manifest.json: the entries add up to 231 bytes, above the limit of 100 (MaxTotalSize)"},
		{"entries", ReadOptions{MaxEntries: 5}, "manifest.json: the manifest lists 6 entries, above the limit of 5 (MaxEntries)"},
		{"manifest size", ReadOptions{MaxManifestSize: 100}, "manifest.json: manifest.json is 1588 bytes, above the 100-byte limit (MaxManifestSize)"},
		{"window", ReadOptions{MaxWindow: 4 << 10}, "the compressed data needs a zstd window larger than the 4096-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFile(path, tc.opts)
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("ReadFile: %v\nwant ErrLimit containing %q", err, tc.msg)
			}
		})
	}
	if _, err := Open(path, ReadOptions{MaxEntries: -1}); err == nil {
		t.Error("negative limit accepted")
	}
}

func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"connectors/a/detail.json": "",
		"connectors/a/":            "",
		"":                         "the name is empty",
		"/etc/passwd":              "it is an absolute path",
		"../x":                     "it contains a '..' component",
		"connectors/../../x":       "it contains a '..' component",
		"a//b":                     "it contains an empty or '.' component",
		"./a":                      "it contains an empty or '.' component",
		`a\b`:                      "it contains a backslash",
		"a\tb":                     "it contains the control character U+0009",
		"a\xc0":                    "it is not valid UTF-8",
	} {
		if got := checkName(name); got != want {
			t.Errorf("checkName(%q) = %q, want %q", name, got, want)
		}
	}
	for p, want := range map[string]bool{
		"connectors/a/detail.json":                  true,
		"connectors/a/translations/en.properties":   true,
		"connectors/a/translations/.properties":     false,
		"connectors/a/translations/x/y.properties":  false,
		"connectors/a/other.xml":                    false,
		"connectors/../detail.json":                 false,
		"connectors//detail.json":                   false,
		"manifest.json":                             false,
		"connectors/a/correlation-config.xml":       true,
		"connectors/a/translations/en.properties/x": false,
	} {
		if _, got := parseEntryPath(p); got != want {
			t.Errorf("parseEntryPath(%q) ok = %v, want %v", p, got, want)
		}
	}
}

// TestVerifyGathersAll checks that Verify reports every problem of an
// archive with several, where ReadFile stops at the first.
func TestVerifyGathersAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.tar.zst")
	writeRaw(t, path, func(r *rawArchive) {
		r.setData("connectors/acme-ldap/detail.json", []byte(strings.ToUpper(string(r.data("connectors/acme-ldap/detail.json")))))
		r.drop("connectors/acme-ldap/translations/en.properties")
		r.insertAfter("connectors/acme-ldap/translations/fr.properties", rawEntry{name: "connectors/acme-ldap/translations/xx.properties", data: []byte("x")})
		r.setData("connectors/hello/detail.json", []byte("{}"))
	})
	ps := Verify(path, ReadOptions{})
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s %s", p.Kind, strings.TrimPrefix(p.Error(), path+": ")))
	}
	want := []string{
		ErrMismatch.Error() + " connectors/acme-ldap/detail.json: the content's SHA-256 is a44c378b10fc948193d1c603ce197b7a1861bbd5de47aa588c91115262e008b0 " +
			"but the manifest says 624f5687d419f77cebbb5dee169730b90a32b413fe42f3ce1952281de718fb69; the archive was altered: use another backup",
		ErrMismatch.Error() + " connectors/acme-ldap/translations/en.properties: listed in the manifest but not found where it belongs in the archive (entries are in path order); the archive was altered: use another backup",
		ErrMismatch.Error() + " connectors/acme-ldap/translations/xx.properties: the entry is not listed in the manifest; the archive was altered: use another backup",
		ErrMismatch.Error() + " connectors/hello/detail.json: the entry is 2 bytes but the manifest says 47; the archive was altered: use another backup",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify problems (-want +got):\n%s", diff)
	}
	if _, err := ReadFile(path, ReadOptions{}); !errors.Is(err, ErrMismatch) || !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadFile: %v, want the first problem as ErrMismatch (and ErrCorrupt)", err)
	}
}

// TestSpoolDamage: bytes that change in the spool between Add and Close are
// caught, and no archive with a lying manifest is committed.
func TestSpoolDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.tar.zst")
	ctx := context.Background()
	w, err := Create(ctx, path, fixtureMeta())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, c := range fixtureConnectors() {
		if err := w.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.spoolBuf.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.spool.WriteAt([]byte("X"), 3); err != nil {
		t.Fatal(err)
	}
	_, err = w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "connectors/acme-ldap/: the temporary spool file changed on disk") {
		t.Fatalf("Close: %v, want the spool damage reported", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("directory holds %v after a failed Close", got)
	}
}
