package archive

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

var (
	update   = flag.Bool("update", false, "regenerate the broken-archive fixtures in testdata/archive (and v1.tar.zst if it is missing)")
	updateV1 = flag.Bool("update-v1", false, "regenerate testdata/archive/v1.tar.zst; only when the format's first version itself is being fixed")
)

const fixtureDir = "../testdata/archive"

// rawEntry is one tar entry of a hand-built archive.
type rawEntry struct {
	name  string
	typ   byte // 0: regular file, or directory when name ends in '/'
	data  []byte
	zeros int64 // when > 0 the content is this many zero bytes instead of data
	link  string
}

// rawArchive is an archive taken apart so tests can break it in one precise
// way and put it back together with the writer's own encoder settings.
type rawArchive struct {
	before      []rawEntry // entries before the manifest
	manifest    *Manifest
	rawManifest []byte // replaces the encoded manifest when set
	entries     []rawEntry
	trailer     []byte // appended after the compressed stream
}

func (r *rawArchive) find(name string) int {
	for i, e := range r.entries {
		if e.name == name {
			return i
		}
	}
	panic("no entry " + name)
}
func (r *rawArchive) data(name string) []byte       { return r.entries[r.find(name)].data }
func (r *rawArchive) setData(name string, b []byte) { r.entries[r.find(name)].data = b }
func (r *rawArchive) drop(name string) {
	r.entries = slices.Delete(r.entries, r.find(name), r.find(name)+1)
}
func (r *rawArchive) insertAfter(name string, e rawEntry) {
	r.entries = slices.Insert(r.entries, r.find(name)+1, e)
}

// baseRaw is the v1 fixture snapshot, as the current writer writes it, taken
// apart. The manifest is not part of entries.
func baseRaw(t testing.TB) *rawArchive {
	t.Helper()
	path := filepath.Join(t.TempDir(), "base.tar.zst")
	writeArchive(t, path, fixtureMeta(), fixtureConnectors())
	zr, err := zstd.NewReader(bytes.NewReader(readBytes(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	r := &rawArchive{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == manifestName {
			r.manifest = new(Manifest)
			if err := json.Unmarshal(b, r.manifest); err != nil {
				t.Fatal(err)
			}
			continue
		}
		r.entries = append(r.entries, rawEntry{name: h.Name, data: b})
	}
	return r
}

func (r *rawArchive) encode(t testing.TB) []byte {
	t.Helper()
	mb := r.rawManifest
	if mb == nil {
		var err error
		if mb, err = encodeManifest(r.manifest); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	zw, err := newEncoder(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	mtime := headerTime(fixtureMeta().CreatedAt)
	put := func(e rawEntry) {
		h := &tar.Header{Name: e.name, Mode: 0o644, ModTime: mtime, Typeflag: e.typ, Linkname: e.link, Format: tar.FormatPAX}
		switch {
		case h.Typeflag == 0 && strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case h.Typeflag == 0:
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
			if e.zeros > 0 {
				h.Size = e.zeros
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.zeros > 0 {
			_, err = io.CopyN(tw, zeroReader{}, e.zeros)
		} else if h.Typeflag == tar.TypeReg {
			_, err = tw.Write(e.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range r.before {
		put(e)
	}
	put(rawEntry{name: manifestName, data: mb})
	for _, e := range r.entries {
		put(e)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), r.trailer...)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func writeRaw(t testing.TB, path string, mutate func(*rawArchive)) {
	t.Helper()
	r := baseRaw(t)
	mutate(r)
	if err := os.WriteFile(path, r.encode(t), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rleBomb is a hand-made zstd frame of n RLE blocks of 128 KiB zeros each: 4
// bytes of file per 128 KiB of output.
func rleBomb(n int) []byte {
	b := []byte(zstdMagic)
	b = append(b, 0x00, 0x38) // no checksum, no content size; window 128 KiB
	for i := 0; i < n; i++ {
		hdr := uint32(128<<10)<<3 | 1<<1 // block size, block type RLE
		if i == n-1 {
			hdr |= 1 // last block
		}
		var h [4]byte
		binary.LittleEndian.PutUint32(h[:], hdr)
		b = append(b, h[:3]...)
		b = append(b, 0) // the repeated byte
	}
	return b
}

// brokenFixture is one kind of damage, how it is made, and the error a
// reader must give (the whole message after "<file>: ").
type brokenFixture struct {
	file string
	make func(t testing.TB, valid []byte) []byte
	kind error
	msg  string
}

var brokenFixtures = []brokenFixture{
	{
		file: "truncated.tar.zst",
		make: func(t testing.TB, valid []byte) []byte { return valid[:len(valid)/2] },
		kind: ErrTruncated,
		msg:  "the file ends in the middle of its compressed data: it is incomplete (an interrupted copy or download?); copy it again or use another backup",
	},
	{
		file: "bitflip.tar.zst",
		make: func(t testing.TB, valid []byte) []byte {
			b := slices.Clone(valid)
			b[len(b)*3/4] ^= 0x10
			return b
		},
		kind: ErrCorrupt,
		msg:  "the compressed data is damaged (frame size does not match size on stream): the file was altered after it was written; use another backup",
	},
	{
		file: "dotdot.tar.zst",
		make: func(t testing.TB, _ []byte) []byte {
			r := baseRaw(t)
			r.entries = slices.Insert(r.entries, 0, rawEntry{name: "../evil.sh", data: []byte("#!/bin/sh\necho pwned\n")})
			return r.encode(t)
		},
		kind: ErrUnsafePath,
		msg:  `"../evil.sh": unsafe entry name: it contains a '..' component; connvault refuses archives that could write outside their folder`,
	},
	{
		file: "oversized.tar.zst",
		make: func(t testing.TB, _ []byte) []byte {
			r := baseRaw(t)
			r.entries[r.find("connectors/hello/detail.json")].zeros = DefaultMaxEntrySize + 1
			return r.encode(t)
		},
		kind: ErrLimit,
		msg:  fmt.Sprintf("connectors/hello/detail.json: the entry is %d bytes, above the per-entry limit of %d (MaxEntrySize); raise it only if you trust this archive", DefaultMaxEntrySize+1, DefaultMaxEntrySize),
	},
	{
		file: "version2.tar.zst",
		make: func(t testing.TB, _ []byte) []byte {
			r := baseRaw(t)
			r.manifest.FormatVersion = 2
			return r.encode(t)
		},
		kind: ErrUnsupportedVersion,
		msg:  "manifest.json: archive format version 2 is newer than this connvault reads (versions 1 to 1): upgrade connvault to read it",
	},
	{
		file: "mismatch.tar.zst",
		make: func(t testing.TB, _ []byte) []byte {
			r := baseRaw(t)
			r.setData("connectors/acme-ldap/translations/fr.properties", []byte("title=LDAP d'ACNE\n"))
			return r.encode(t)
		},
		kind: ErrMismatch,
		msg: "connectors/acme-ldap/translations/fr.properties: the content's SHA-256 is 4de4e1e2f825ffa47e75afbe45e0ad73ad0a7adf98bc2e5134639efd21b11c39 " +
			"but the manifest says bbef64f7c190a0fc903a61d15115be0d100bda4c55863904b3561d235ff3cda8; the archive was altered: use another backup",
	},
	{
		file: "duplicate.tar.zst",
		make: func(t testing.TB, _ []byte) []byte {
			r := baseRaw(t)
			r.insertAfter("connectors/acme-ldap/detail.json", rawEntry{name: "connectors/acme-ldap/detail.json", data: r.data("connectors/acme-ldap/detail.json")})
			return r.encode(t)
		},
		kind: ErrDuplicate,
		msg:  "connectors/acme-ldap/detail.json: the entry appears twice; the archive was altered or not written by connvault: use another backup",
	},
	{
		file: "bomb.tar.zst",
		make: func(t testing.TB, valid []byte) []byte {
			return append(slices.Clone(valid), rleBomb(2048)...) // 256 MiB of zeros in 8 KiB
		},
		kind: ErrLimit,
		msg:  "the data decompresses to more than the 1069620 bytes its manifest accounts for; this is not an archive connvault wrote (possibly a decompression bomb): not reading further",
	},
}

// TestFixtures regenerates (with -update) and reads the committed fixtures.
func TestFixtures(t *testing.T) {
	v1 := filepath.Join(fixtureDir, "v1.tar.zst")
	if *updateV1 || *update {
		if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(v1); *updateV1 || errors.Is(err, os.ErrNotExist) {
			writeArchive(t, v1, fixtureMeta(), fixtureConnectors())
			if err := os.Chmod(v1, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	valid := readBytes(t, v1)
	if *update {
		for _, f := range brokenFixtures {
			if err := os.WriteFile(filepath.Join(fixtureDir, f.file), f.make(t, valid), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range brokenFixtures {
		t.Run(f.file, func(t *testing.T) {
			b := readBytes(t, filepath.Join(fixtureDir, f.file))
			if len(b) > 64<<10 {
				t.Errorf("fixture is %d bytes; keep fixtures small", len(b))
			}
			if !bytes.Equal(b, f.make(t, valid)) {
				t.Errorf("fixture differs from what its generator makes now; run go test ./archive -run TestFixtures -update")
			}
			// Read a copy in a fresh directory to show the reader writes nothing.
			dir := t.TempDir()
			path := filepath.Join(dir, f.file)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path, ReadOptions{})
			t.Logf("ReadFile: %v", err)
			checkErr(t, "ReadFile", err, path, f.kind, f.msg)
			ps := Verify(path, ReadOptions{})
			if len(ps) == 0 {
				t.Fatal("Verify found no problem")
			}
			checkErr(t, "Verify", ps[0], path, f.kind, f.msg)
			if got := listDir(t, dir); !slices.Equal(got, []string{f.file}) {
				t.Errorf("reading left %v in the directory", got)
			}
		})
	}
}

func checkErr(t *testing.T, what string, err error, path string, kind error, msg string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v (%T), want an *Error", what, err, err)
	}
	if !errors.Is(err, kind) || ae.Archive != path {
		t.Errorf("%s: kind %v archive %q, want %v %q", what, ae.Kind, ae.Archive, kind, path)
	}
	if got := strings.TrimPrefix(err.Error(), path+": "); got != msg {
		t.Errorf("%s:\n got %s\nwant %s", what, got, msg)
	}
}

// TestV1Fixture is the compatibility promise: the first format version's
// committed archive reads back to the documented snapshot.
func TestV1Fixture(t *testing.T) {
	path := filepath.Join(fixtureDir, "v1.tar.zst")
	snap, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entryOrder(fixtureConnectors()), snap.Connectors); diff != "" {
		t.Errorf("connectors (-want +got):\n%s", diff)
	}
	want := Manifest{Format: FormatName, FormatVersion: 1, Meta: fixtureMeta(), ConnectorCount: 2, Entries: fixtureEntries, ContentDigest: fixtureDigest}
	if diff := cmp.Diff(want, snap.Manifest); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if got := ContentDigest(fixtureEntries); got != fixtureDigest {
		t.Errorf("ContentDigest(documented entries) = %s, want %s", got, fixtureDigest)
	}
	// While the writer writes version 1, it must produce the same tar stream
	// (compare decompressed, so a zstd upgrade alone does not trip this).
	if MaxVersion == 1 {
		fresh := filepath.Join(t.TempDir(), "fresh.tar.zst")
		writeArchive(t, fresh, fixtureMeta(), fixtureConnectors())
		if !bytes.Equal(untar(t, readBytes(t, fresh)), untar(t, readBytes(t, path))) {
			t.Error("the writer's tar stream for the fixture snapshot changed; a format change needs a new version")
		}
	}
}

func untar(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadErrors covers the reader checks the fixtures do not, each with
// the exact message after "<file>: ".
func TestReadErrors(t *testing.T) {
	raw := func(mutate func(r *rawArchive)) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			r := baseRaw(t)
			mutate(r)
			return r.encode(t)
		}
	}
	compress := func(t testing.TB, b []byte) []byte {
		var buf bytes.Buffer
		zw, err := newEncoder(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		make func(t testing.TB) []byte
		kind error
		msg  string
	}{
		{"empty file", func(testing.TB) []byte { return nil }, ErrNotArchive,
			"not a zstd-compressed file (it is empty); a connvault archive is a .tar.zst file written by connvault export"},
		{"plain text", func(testing.TB) []byte { return []byte("hello world") }, ErrNotArchive,
			"not a zstd-compressed file (it starts with 68 65 6c 6c, not the zstd magic number); a connvault archive is a .tar.zst file written by connvault export"},
		{"empty tar", func(t testing.TB) []byte { return compress(t, nil) }, ErrNotArchive,
			"the archive holds no entries, so no manifest.json: not a connvault archive"},
		{"manifest not first", raw(func(r *rawArchive) {
			r.before = []rawEntry{{name: "README", data: []byte("hi")}}
		}), ErrNotArchive, `the first entry is "README", not manifest.json: not a connvault archive, or one repacked by another tool`},
		{"other format", raw(func(r *rawArchive) { r.manifest.Format = "velero-backup" }), ErrNotArchive,
			`manifest.json: the manifest's format is "velero-backup", not "connvault-archive": not a connvault archive`},
		{"version 0", raw(func(r *rawArchive) { r.manifest.FormatVersion = 0 }), ErrUnsupportedVersion,
			"manifest.json: archive format version 0 is older than this connvault reads (versions 1 to 1): read it with an older connvault release"},
		{"manifest not json", raw(func(r *rawArchive) { r.rawManifest = []byte("{\"format\":") }), ErrCorrupt,
			"manifest.json: manifest.json is not valid JSON (unexpected end of JSON input): the archive was damaged; use another backup"},
		{"manifest trailing data", raw(func(r *rawArchive) {
			b, _ := encodeManifest(r.manifest)
			r.rawManifest = append(b, "{}"...)
		}), ErrCorrupt, "manifest.json: manifest.json is not valid JSON (invalid character '{' after top-level value): the archive was damaged; use another backup"},
		{"digest", raw(func(r *rawArchive) { r.manifest.ContentDigest = "sha256:00" }), ErrCorrupt,
			`manifest.json: contentDigest is "sha256:00" but the entries give "` + fixtureDigest + `"; the manifest was altered`},
		{"connector count", raw(func(r *rawArchive) { r.manifest.ConnectorCount = 3 }), ErrCorrupt,
			"manifest.json: connectorCount is 3 but the entries hold 2 connectors; the manifest was altered"},
		{"unsorted manifest", raw(func(r *rawArchive) {
			slices.Reverse(r.manifest.Entries)
			r.manifest.ContentDigest = ContentDigest(r.manifest.Entries)
		}), ErrCorrupt, `manifest.json: entry 1 ("connectors/hello/detail.json"): the entries are not in ascending path order; the manifest was altered`},
		{"unsafe manifest path", raw(func(r *rawArchive) {
			r.manifest.Entries[0].Path = "/etc/passwd"
		}), ErrUnsafePath, `manifest.json: entry 0 ("/etc/passwd"): unsafe path: it is an absolute path; connvault refuses archives that could write outside their folder`},
		{"unknown entry kind", raw(func(r *rawArchive) {
			r.manifest.Entries[0].Path = "connectors/acme-ldap/notes.txt"
		}), ErrCorrupt, `manifest.json: entry 0 ("connectors/acme-ldap/notes.txt"): not a path of format version 1; the archive was altered or written by another tool`},
		{"no detail", raw(func(r *rawArchive) {
			r.manifest.Entries = slices.Delete(r.manifest.Entries, 4, 5)
			r.manifest.ContentDigest = ContentDigest(r.manifest.Entries)
		}), ErrCorrupt, `manifest.json: connector "hello" has entries but no detail.json; the manifest was altered`},
		{"symlink", raw(func(r *rawArchive) {
			r.insertAfter("connectors/acme-ldap/detail.json", rawEntry{name: "connectors/acme-ldap/link", typ: tar.TypeSymlink, link: "/etc/passwd"})
		}), ErrUnsafePath, "connectors/acme-ldap/link: the entry is a symbolic link; connvault archives hold only regular files and directories"},
		{"device", raw(func(r *rawArchive) {
			r.insertAfter("connectors/acme-ldap/detail.json", rawEntry{name: "connectors/acme-ldap/dev", typ: tar.TypeChar})
		}), ErrUnsafePath, "connectors/acme-ldap/dev: the entry is a device; connvault archives hold only regular files and directories"},
		{"stray directory", raw(func(r *rawArchive) {
			r.insertAfter("connectors/acme-ldap/detail.json", rawEntry{name: "connectors/acme-ldap/extra/"})
		}), ErrMismatch, "connectors/acme-ldap/extra/: directory not implied by the manifest; the archive was altered: use another backup"},
		{"out of order", raw(func(r *rawArchive) {
			dir := r.entries[r.find("connectors/hello/")]
			r.drop("connectors/hello/")
			r.entries = append(r.entries, dir)
		}), ErrCorrupt, `connectors/hello/: the entry is out of order (it comes after "connectors/hello/source-template.xml"); the archive was altered: use another backup`},
		{"second manifest", raw(func(r *rawArchive) {
			r.entries = append(r.entries, rawEntry{name: manifestName, data: []byte("{}")})
		}), ErrDuplicate, "manifest.json: the entry appears twice; the archive was altered or not written by connvault: use another backup"},
		{"missing entry", raw(func(r *rawArchive) { r.drop("connectors/acme-ldap/source-config.xml") }), ErrMismatch,
			"connectors/acme-ldap/source-config.xml: listed in the manifest but not found where it belongs in the archive (entries are in path order); the archive was altered: use another backup"},
		{"missing last entry", raw(func(r *rawArchive) { r.drop("connectors/hello/source-template.xml") }), ErrMismatch,
			"connectors/hello/source-template.xml: listed in the manifest but not found where it belongs in the archive (entries are in path order); the archive was altered: use another backup"},
		{"trailing garbage", func(t testing.TB) []byte {
			r := baseRaw(t)
			tarBytes := untar(t, r.encode(t))
			return compress(t, append(tarBytes, "rm -rf /"...))
		}, ErrCorrupt, "there is data after the end of the tar stream; the archive was altered: use another backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.tar.zst")
			if err := os.WriteFile(path, tc.make(t), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path, ReadOptions{})
			checkErr(t, "ReadFile", err, path, tc.kind, tc.msg)
			ps := Verify(path, ReadOptions{})
			if len(ps) == 0 {
				t.Fatal("Verify found no problem")
			}
			checkErr(t, "Verify", ps[0], path, tc.kind, tc.msg)
		})
	}
}
