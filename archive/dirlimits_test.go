package archive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDirWriterRefusesAsWriter: the directory writer refuses what the
// archive writer refuses (a scriptName that cannot be a folder name, an
// entry or totals above a reader's limits) with ErrRefused when the
// connector is added, writes nothing for it, and stays usable; with the
// refusal recorded as skipped (a partial export), the refused connector's
// folder from the last export is left as it was.
func TestDirWriterRefusesAsWriter(t *testing.T) {
	ctx := context.Background()
	conn := func(sn string, n int, fill byte) *Connector {
		return &Connector{ScriptName: sn, Detail: []byte(`{"name":"` + sn + `"}` + "\n"), SourceConfig: bytes.Repeat([]byte{fill}, n)}
	}
	limits := ReadOptions{MaxEntrySize: 4096, MaxEntries: 8, MaxTotalSize: 12000, MaxManifestSize: 1 << 20}
	for _, tc := range []struct {
		name    string
		add     []*Connector
		refused []string
		errs    []error
		msg     string
	}{
		{"scriptNames that cannot be folder names", []*Connector{conn("a", 1, 'n'), conn("a/b", 1, 'n'), conn("..", 1, 'n'), conn(strings.Repeat("x", 10000), 1, 'n'), conn("c", 1, 'n')},
			[]string{"a/b", "..", strings.Repeat("x", 10000)}, []error{ErrUnsafePath}, "cannot be a folder name"},
		{"an entry one byte above the limit", []*Connector{conn("a", 100, 'n'), conn("big", 4097, 'n'), conn("c", 100, 'n')}, []string{"big"}, []error{ErrLimit}, "above the 4096-byte limit"},
		{"too many entries", []*Connector{conn("a", 1, 'n'), conn("b", 1, 'n'), conn("big", 1, 'n'), conn("c", 1, 'n'), conn("e", 1, 'n')}, []string{"e"}, []error{ErrLimit}, "above the 8 readers accept"},
		{"too many bytes", []*Connector{conn("a", 4000, 'n'), conn("b", 4000, 'n'), conn("big", 4000, 'n')}, []string{"big"}, []error{ErrLimit}, "above the 12000 readers accept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snap")
			// The last export held "big" (and "d") small and readable.
			first, err := CreateDir(ctx, dir, Meta{CreatedAt: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			for _, sn := range []string{"big", "d"} {
				if err := first.Add(ctx, conn(sn, 10, 'o')); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := first.Close(ctx); err != nil {
				t.Fatal(err)
			}
			oldBig, err := os.ReadFile(filepath.Join(dir, "connectors", "big", sourceConfigName))
			if err != nil {
				t.Fatal(err)
			}

			w, err := CreateDir(ctx, dir, Meta{CreatedAt: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			w.limits, _ = limits.withDefaults()
			var refused []string
			var skipped []Skipped
			for _, c := range tc.add {
				err := w.Add(ctx, c)
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), c.ScriptName) || !strings.Contains(err.Error(), dir) {
					t.Errorf("add %.20q: %v; want ErrRefused naming the directory and the connector, saying %q", c.ScriptName, err, tc.msg)
				}
				for _, want := range tc.errs {
					if !errors.Is(err, want) {
						t.Errorf("add %.20q: %v; want %v", c.ScriptName, err, want)
					}
				}
				refused = append(refused, c.ScriptName)
				skipped = append(skipped, Skipped{ScriptName: c.ScriptName, Reason: "failed: " + err.Error()})
			}
			if strings.Join(refused, ",") != strings.Join(tc.refused, ",") {
				t.Errorf("refused %.60q, want %.60q", refused, tc.refused)
			}
			w.SetPartial(skipped)
			m, err := w.Close(ctx)
			if err != nil {
				t.Fatalf("close after a refusal: %v", err)
			}
			snap, err := ReadDir(dir, limits)
			if err != nil {
				t.Fatalf("a reader with the writer's limits refuses its directory: %v", err)
			}
			got := map[string]*Connector{}
			for _, c := range snap.Connectors {
				got[c.ScriptName] = c
			}
			for _, c := range tc.add {
				if g := got[c.ScriptName]; g != nil && !strings.Contains(strings.Join(refused, "\x00"), c.ScriptName) && !bytes.Equal(g.SourceConfig, c.SourceConfig) {
					t.Errorf("connector %q not saved as added", c.ScriptName)
				}
			}
			if len(m.Entries) != len(snap.Manifest.Entries) {
				t.Errorf("Close reports %d entries, the directory holds %d", len(m.Entries), len(snap.Manifest.Entries))
			}
			for _, sn := range refused {
				if sn != "big" && sn != "d" {
					if _, err := os.Lstat(filepath.Join(dir, "connectors", sn)); err == nil && sn != ".." {
						t.Errorf("a folder was written for the refused %.20q", sn)
					}
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, "connectors", sn, sourceConfigName))
				if err != nil || (sn == "big" && !bytes.Equal(b, oldBig)) {
					t.Errorf("the refused %q's folder from the last export was not left as it was: %q, %v", sn, b, err)
				}
			}
			if left := listDir(t, filepath.Dir(dir)); strings.Join(left, ",") != "snap" {
				t.Errorf("beside the directory: %v", left)
			}
		})
	}
}

// TestDirWriterLimitsAreTheReaders: a new directory writer checks against
// exactly the limits a reader given no options applies.
func TestDirWriterLimitsAreTheReaders(t *testing.T) {
	w, err := CreateDir(context.Background(), t.TempDir(), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	want, _ := ReadOptions{}.withDefaults()
	if w.limits != want {
		t.Errorf("directory writer limits %+v, reader defaults %+v", w.limits, want)
	}
}
