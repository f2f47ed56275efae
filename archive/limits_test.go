package archive

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriterAppliesReaderLimits: whatever the writer
// accepts, a reader with the same limits reads; what a reader would refuse,
// the writer refuses when the connector is added, with ErrLimit and
// ErrRefused, and stays usable for the other connectors.
func TestWriterAppliesReaderLimits(t *testing.T) {
	ctx := context.Background()
	limits := ReadOptions{MaxEntrySize: 4096, MaxEntries: 8, MaxTotalSize: 12000, MaxManifestSize: 1 << 20}
	conn := func(sn string, n int) *Connector {
		return &Connector{ScriptName: sn, Detail: []byte(`{"name":"` + sn + `"}` + "\n"), SourceConfig: bytes.Repeat([]byte("x"), n)}
	}
	for _, tc := range []struct {
		name    string
		add     []*Connector
		refused []string
		msg     string
	}{
		{"an entry exactly at the limit", []*Connector{conn("a", 4096)}, nil, ""},
		{"an entry one byte above", []*Connector{conn("a", 100), conn("big", 4097), conn("c", 100)}, []string{"big"}, "above the 4096-byte limit"},
		{"too many entries", []*Connector{conn("a", 1), conn("b", 1), conn("c", 1), conn("d", 1), conn("e", 1)}, []string{"e"}, "above the 8 readers accept"},
		{"too many bytes", []*Connector{conn("a", 4000), conn("b", 4000), conn("c", 4000)}, []string{"c"}, "above the 12000 readers accept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.tar.zst")
			w, err := Create(ctx, path, Meta{CreatedAt: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			w.limits, _ = limits.withDefaults()
			var refused []string
			for _, c := range tc.add {
				err := w.Add(ctx, c)
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), c.ScriptName) {
					t.Errorf("add %s: %v; want ErrLimit and ErrRefused saying %q", c.ScriptName, err, tc.msg)
				}
				refused = append(refused, c.ScriptName)
			}
			if strings.Join(refused, ",") != strings.Join(tc.refused, ",") {
				t.Errorf("refused %v, want %v", refused, tc.refused)
			}
			if _, err := w.Close(ctx); err != nil {
				t.Fatalf("close after a refusal: %v", err)
			}
			snap, err := ReadFile(path, limits)
			if err != nil {
				t.Fatalf("a reader with the writer's limits refuses its archive: %v", err)
			}
			if len(snap.Connectors) != len(tc.add)-len(tc.refused) {
				t.Errorf("%d connectors read back, want %d", len(snap.Connectors), len(tc.add)-len(tc.refused))
			}
		})
	}
	t.Run("a manifest above the limit", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.tar.zst")
		w, err := Create(ctx, path, Meta{CreatedAt: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		w.limits, _ = ReadOptions{MaxManifestSize: 300}.withDefaults()
		if err := w.Add(ctx, conn("a", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(ctx); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "MaxManifestSize") {
			t.Errorf("close: %v; want ErrLimit naming MaxManifestSize", err)
		}
		if got := listDir(t, filepath.Dir(path)); len(got) != 0 {
			t.Errorf("a refused archive left %v", got)
		}
	})
}

// TestWriterLimitsAreTheReaders: a new writer checks against exactly the
// limits a reader given no options applies.
func TestWriterLimitsAreTheReaders(t *testing.T) {
	w, err := Create(context.Background(), filepath.Join(t.TempDir(), "x.tar.zst"), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	want, _ := ReadOptions{}.withDefaults()
	if w.limits != want {
		t.Errorf("writer limits %+v, reader defaults %+v", w.limits, want)
	}
}
