package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/connvault/connvault/tools/s3test"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    spec
		wantErr string
	}{
		{in: "backups", want: spec{dir: "backups"}},
		{in: "/var/backups/connvault", want: spec{dir: "/var/backups/connvault"}},
		{in: "file:///var/backups", want: spec{dir: "/var/backups"}},
		{in: "s3://bkt", want: spec{scheme: "s3", bucket: "bkt"}},
		{in: "s3://bkt/", want: spec{scheme: "s3", bucket: "bkt"}},
		{in: "s3://bkt/nightly/acme?region=eu-west-1&use_path_style=true", want: spec{scheme: "s3", bucket: "bkt", prefix: "nightly/acme/", query: "region=eu-west-1&use_path_style=true"}},
		{in: "gs://b/p", want: spec{scheme: "gs", bucket: "b", prefix: "p/"}},
		{in: "azblob://container/p/", want: spec{scheme: "azblob", bucket: "container", prefix: "p/"}},
		{in: "", wantErr: "empty location"},
		{in: "ftp://host/x", wantErr: `unsupported scheme "ftp"`},
		{in: "s3:///nobucket", wantErr: "no bucket name"},
		{in: "s3://key:secret@bkt/p", wantErr: "credentials do not go in the URL"},
		{in: "s3://bkt/a//b", wantErr: "empty, '.' or '..' part"},
		{in: "s3://bkt/a/../b", wantErr: "empty, '.' or '..' part"},
		{in: "file://otherhost/x", wantErr: "names a local path"},
		{in: "s3://bkt/p#frag", wantErr: "fragment"},
	} {
		got, err := parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parse(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret") && strings.Contains(tc.in, "secret@") {
				t.Errorf("parse(%q) error repeats the credentials: %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestBaseNameAndIsBucket(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b/x.tar.zst": "x.tar.zst",
		"s3://b/p/x.tar.zst?endpoint=http://127.0.0.1:9000&use_path_style=true": "x.tar.zst",
		"gs://b/x.tar.zst": "x.tar.zst",
	} {
		if got := BaseName(in); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"s3://b/p": true, "gs://b": true, "azblob://c/p": true, "file:///x": false, "dir/x": false} {
		if IsBucket(in) != want {
			t.Errorf("IsBucket(%q) = %v, want %v", in, !want, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"backups", "file:///x", "s3://b/p?region=x", "gs://b", "azblob://c/p/q/", "s3://u:p@b", "s3://b/../x", "::", "s3://b/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := parse(s)
		if err != nil {
			return
		}
		if sp.scheme == "" {
			if sp.dir == "" {
				t.Fatalf("parse(%q): local location without a directory", s)
			}
			return
		}
		if sp.bucket == "" || strings.Contains(sp.prefix, "//") || (sp.prefix != "" && !strings.HasSuffix(sp.prefix, "/")) || strings.HasPrefix(sp.prefix, "/") {
			t.Fatalf("parse(%q) = %+v: bad bucket or prefix", s, sp)
		}
		for _, part := range strings.Split(strings.TrimSuffix(sp.prefix, "/"), "/") {
			if part == ".." || part == "." {
				t.Fatalf("parse(%q) = %+v: prefix escapes", s, sp)
			}
		}
	})
}

// backends opens the same kind of location on the local disk and on the
// local S3 server.
func backends(t *testing.T) map[string]string {
	srv := s3test.Start(t)
	return map[string]string{
		"dir": t.TempDir(),
		"s3":  srv.URL(t, "bkt", "nightly/acme"),
	}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, where := range backends(t) {
		t.Run(name, func(t *testing.T) {
			loc, err := Open(ctx, where)
			if err != nil {
				t.Fatal(err)
			}
			defer loc.Close()
			data := bytes.Repeat([]byte("connector bytes "), 40000) // 640 KB
			w, err := loc.Create(ctx, "a.tar.zst", WriteOptions{SHA256: sum(data)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			objs, err := loc.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].Name != "a.tar.zst" || objs[0].Size != int64(len(data)) {
				t.Fatalf("List = %+v, want just a.tar.zst of %d bytes", objs, len(data))
			}
			o, err := loc.Open(ctx, "a.tar.zst")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o)
			o.Close()
			if err != nil || !bytes.Equal(got, data) || o.Size != int64(len(data)) {
				t.Fatalf("read back %d bytes (size %d), err %v; want %d bytes", len(got), o.Size, err, len(data))
			}
			if name == "s3" && o.SHA256 != sum(data) {
				t.Errorf("object metadata sha256 = %q, want %s", o.SHA256, sum(data))
			}
			if name == "dir" {
				st, err := os.Stat(filepath.Join(where, "a.tar.zst"))
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("file mode %v (%v), want 0600", st.Mode().Perm(), err)
				}
			}
			if ok, err := loc.Exists(ctx, "a.tar.zst"); !ok || err != nil {
				t.Errorf("Exists = %v, %v", ok, err)
			}
			if err := loc.Delete(ctx, "a.tar.zst"); err != nil {
				t.Fatal(err)
			}
			if _, err := loc.Open(ctx, "a.tar.zst"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open after Delete: %v, want fs.ErrNotExist", err)
			}
			if ok, err := loc.Exists(ctx, "a.tar.zst"); ok || err != nil {
				t.Errorf("Exists after Delete = %v, %v", ok, err)
			}
		})
	}
}

// Every way a write can end badly leaves nothing under the final name, and
// an existing object of that name is untouched.
func TestFailedWritesCommitNothing(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 200<<10)
	for name, where := range backends(t) {
		for _, tc := range []struct {
			name string
			end  func(w *Writer, cancel context.CancelFunc) error
			opts WriteOptions
		}{
			{"cancelled", func(w *Writer, cancel context.CancelFunc) error { cancel(); return w.Close() }, WriteOptions{}},
			{"aborted", func(w *Writer, _ context.CancelFunc) error { w.Abort(); return errors.New("aborted") }, WriteOptions{}},
			{"checksum mismatch", func(w *Writer, _ context.CancelFunc) error { return w.Close() }, WriteOptions{SHA256: sum([]byte("other"))}},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				loc, err := Open(context.Background(), where)
				if err != nil {
					t.Fatal(err)
				}
				defer loc.Close()
				for _, target := range []string{"new.tar.zst", "old.tar.zst"} {
					if target == "old.tar.zst" {
						w, _ := loc.Create(context.Background(), target, WriteOptions{})
						w.Write([]byte("old"))
						if err := w.Close(); err != nil {
							t.Fatal(err)
						}
					}
					ctx, cancel := context.WithCancel(context.Background())
					w, err := loc.Create(ctx, target, tc.opts)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := w.Write(data); err != nil {
						t.Fatal(err)
					}
					if err := tc.end(w, cancel); err == nil {
						t.Fatalf("%s: write ended without an error", target)
					}
					cancel()
					o, err := loc.Open(context.Background(), target)
					if target == "new.tar.zst" {
						if !errors.Is(err, fs.ErrNotExist) {
							t.Errorf("%s exists after a failed write (%v)", target, err)
						}
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(o)
					o.Close()
					if string(got) != "old" {
						t.Errorf("existing object changed to %d bytes", len(got))
					}
				}
				objs, _ := loc.List(context.Background())
				var names []string
				for _, o := range objs {
					names = append(names, o.Name)
				}
				if !slices.Equal(names, []string{"old.tar.zst"}) {
					t.Errorf("location holds %v, want only old.tar.zst (no temporary files)", names)
				}
				loc.Delete(context.Background(), "old.tar.zst")
			})
		}
	}
}

// List sees only the objects directly under the prefix, not those of a
// longer prefix or of a sub-prefix.
func TestListIsOneLevel(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	put := func(where, name string) {
		loc, err := Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		defer loc.Close()
		w, err := loc.Create(ctx, name, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(name))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	put(srv.URL(t, "bkt", "p"), "a")
	put(srv.URL(t, "bkt", "p/sub"), "b")
	put(srv.URL(t, "bkt", "pp"), "c")
	loc, err := Open(ctx, srv.URL(t, "bkt", "p"))
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	objs, err := loc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Name != "a" {
		t.Errorf("List = %+v, want only a", objs)
	}
	if got := loc.Path("a"); got != "s3://bkt/p/a?"+srv.Query() {
		t.Errorf("Path = %q", got)
	}
	l2, name, err := OpenObject(ctx, loc.Path("a"))
	if err != nil || name != "a" {
		t.Fatalf("OpenObject(Path) = %q, %v", name, err)
	}
	defer l2.Close()
	if ok, err := l2.Exists(ctx, name); !ok || err != nil {
		t.Errorf("object named by Path not found: %v %v", ok, err)
	}
}

// An object whose bytes do not match the SHA-256 in its metadata (changed by
// another tool, or damaged at rest) fails the read that reaches its end.
func TestReadDetectsChangedObject(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	loc, err := Open(ctx, srv.URL(t, "bkt", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	data := []byte("original archive bytes")
	// Another tool replaced the object but kept connvault's metadata.
	bw, err := loc.bucket.NewWriter(ctx, "x", &blob.WriterOptions{Metadata: map[string]string{MetaSHA256: sum(data)}})
	if err != nil {
		t.Fatal(err)
	}
	bw.Write(bytes.ToUpper(data))
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	o, err := loc.Open(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(o)
	o.Close()
	if err == nil || !strings.Contains(err.Error(), "differs from the "+sum(data)+" recorded in its metadata") {
		t.Errorf("reading a replaced object: %v, want a SHA-256 mismatch", err)
	}

	// Damage at rest (behind the server's back, on the posix backend's
	// file) is caught too, by the SDK's own checksum if not by ours.
	w, _ := loc.Create(ctx, "y", WriteOptions{SHA256: sum(data)})
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srv.Root, "bkt", "y"), bytes.ToUpper(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err = loc.Open(ctx, "y"); err == nil {
		_, err = io.ReadAll(o)
		o.Close()
	}
	if err == nil {
		t.Error("reading a damaged object gave no error")
	}
}

func TestLocal(t *testing.T) {
	for _, tc := range []struct {
		in, path string
		ok       bool
	}{
		{"backups/x.tar.zst", "backups/x.tar.zst", true},
		{"", "", true},
		{"file:///var/backups", "/var/backups", true},
		{"s3://b/p", "", false},
		{"ftp://h/p", "", false}, // not local: Open says the scheme is unsupported
		{"file://host/p", "", false},
	} {
		if p, ok := Local(tc.in); p != tc.path || ok != tc.ok {
			t.Errorf("Local(%q) = %q, %v; want %q, %v", tc.in, p, ok, tc.path, tc.ok)
		}
		if IsBucket(tc.in) == tc.ok {
			t.Errorf("IsBucket(%q) = %v", tc.in, !tc.ok)
		}
	}
}
