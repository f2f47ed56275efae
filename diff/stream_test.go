package diff

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/connvault/connvault/archive"
)

// writeArchive writes s to an archive file and returns its path.
func writeArchive(t testing.TB, dir, name string, s *archive.Snapshot) string {
	t.Helper()
	p := filepath.Join(dir, name)
	w, err := archive.Create(context.Background(), p, archive.Meta{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Connectors {
		if err := w.Add(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// streamOf serves a snapshot as a stream that is not held in memory, in a
// shuffled order (a live tenant's list order is not the archive's), and
// counts the passes over it.
func streamOf(s *archive.Snapshot, reread bool, seed uint64, passes *int) Source {
	order := rand.New(rand.NewPCG(seed, 1)).Perm(len(s.Connectors))
	return Source{Reread: reread, Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		*passes++
		for _, i := range order {
			if err := emit(s.Connectors[i]); err != nil {
				return err
			}
		}
		return nil
	}}
}

func jsonOf(t *testing.T, r *Result) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCompareSourcesMatchesCompare: streamed, in lock-step from archive
// files or in any order from a live side, with a window that keeps
// everything or nothing, the result is Compare's.
func TestCompareSourcesMatchesCompare(t *testing.T) {
	a, b, mapping := goldenSnapshots(t)
	dir := t.TempDir()
	pa, pb := writeArchive(t, dir, "a.tar.zst", a), writeArchive(t, dir, "b.tar.zst", b)
	for _, opts := range []Options{
		{Mapping: mapping},
		{Mapping: mapping, IgnoreWhitespace: true},
		{Match: MatchScriptName, Mapping: map[string]string{"hr-feed-dev": "hr-feed", "static-groups": "static-groups-1"}},
		{Ignore: []string{"connectorMetadata"}},
		{Mapping: map[string]string{"Web Services": "Ticketing", "Ticketing": "Web Services"}},
		{Mapping: mapping, ChangesOnly: true},
		{ChangesOnly: true, IgnoreWhitespace: true, Match: MatchScriptName},
	} {
		want, err := Compare(a, b, opts)
		if err != nil {
			t.Fatal(err)
		}
		wantJSON := jsonOf(t, want)
		for _, window := range []int64{0, 1} {
			o := opts
			o.Window = window
			got, err := CompareSources(context.Background(), FileSource(pa, archive.ReadOptions{}), FileSource(pb, archive.ReadOptions{}), o)
			if err != nil {
				t.Fatalf("%+v: %v", o, err)
			}
			if g := jsonOf(t, got); g != wantJSON {
				t.Errorf("archives, window %d, options %+v: got\n%s\nwant\n%s", window, o, g, wantJSON)
			}
			for seed := range uint64(4) {
				var pa, pb int
				got, err := CompareSources(context.Background(), streamOf(a, true, seed, &pa), streamOf(b, false, seed+10, &pb), o)
				if err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
				if g := jsonOf(t, got); g != wantJSON {
					t.Errorf("streams, window %d, seed %d, options %+v: got\n%s\nwant\n%s", window, seed, o, g, wantJSON)
				}
				if pb != 1 {
					t.Errorf("the side that cannot be read again was read %d times", pb)
				}
				if window == 0 && pa != 1 {
					t.Errorf("with a window that holds everything, A was read %d times, want once", pa)
				}
			}
		}
	}
}

// TestCompareSourcesWindowBoundsMemory: two archives that differ in one
// connector, walked in lock-step, never hold more than the window plus the
// connectors in flight, and are read once each.
func TestCompareSourcesWindowBoundsMemory(t *testing.T) {
	big := strings.Repeat("<Field name=\"x\"/>\n", 4096) // 72 KiB
	a, b := &archive.Snapshot{}, &archive.Snapshot{}
	for i := range 200 {
		sn := "c" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + string(rune('a'+i/26))
		d := baseDetail("Connector "+sn, sn)
		c := &archive.Connector{ScriptName: sn, Detail: detailJSON(t, d), SourceConfig: []byte(big)}
		a.Connectors = append(a.Connectors, c)
		c2 := *c
		if i == 100 {
			c2.SourceConfig = []byte(big + "<Extra/>\n")
		}
		b.Connectors = append(b.Connectors, &c2)
	}
	dir := t.TempDir()
	pa, pb := writeArchive(t, dir, "a.tar.zst", a), writeArchive(t, dir, "b.tar.zst", b)
	var mu sync.Mutex
	var maxHeld int
	held := map[*archive.Connector]bool{}
	opts := Options{Window: 4 * 80 << 10, Each: func(d *ConnectorDiff, av, bv *View) {
		mu.Lock()
		defer mu.Unlock()
		if av != nil {
			delete(held, av.Connector)
		}
		if bv != nil {
			delete(held, bv.Connector)
		}
	}}
	src := func(p string) Source {
		s := FileSource(p, archive.ReadOptions{})
		each := s.Each
		s.Each = func(ctx context.Context, emit func(*archive.Connector) error) error {
			return each(ctx, func(c *archive.Connector) error {
				mu.Lock()
				held[c] = true
				maxHeld = max(maxHeld, len(held))
				mu.Unlock()
				return emit(c)
			})
		}
		return s
	}
	r, err := CompareSources(context.Background(), src(pa), src(pb), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Connectors.Changed != 1 || r.Summary.Connectors.Unchanged != 199 {
		t.Fatalf("summary %+v, want 1 changed and 199 unchanged", r.Summary.Connectors)
	}
	// Lock-step pairs each connector with its twin at once: per side one
	// waits for its twin, one is in the channel, one is being sent and one
	// read, whatever the number of connectors (200 here).
	if maxHeld > 8 {
		t.Errorf("up to %d connectors were waiting at once; lock-step should keep it to a handful", maxHeld)
	}
}

func TestCompareSourcesErrors(t *testing.T) {
	bad := &archive.Snapshot{Connectors: []*archive.Connector{{ScriptName: "x", Detail: []byte(`{"name":`)}}}
	ok := &archive.Snapshot{Connectors: []*archive.Connector{{ScriptName: "y", Detail: []byte(`{"name":"Y"}`)}}}
	var p1, p2 int
	_, err := CompareSources(context.Background(), streamOf(ok, true, 1, &p1), streamOf(bad, false, 1, &p2), Options{})
	if err == nil || !strings.Contains(err.Error(), `snapshot B, connector "x": connector detail is not one JSON object`) {
		t.Errorf("err = %v, want the broken detail named", err)
	}
	boom := errors.New("connection reset")
	failing := Source{Each: func(ctx context.Context, emit func(*archive.Connector) error) error { return boom }}
	if _, err := CompareSources(context.Background(), streamOf(ok, true, 1, &p1), failing, Options{}); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the side's own error", err)
	}
	// A side that cannot be read again and whose content would be needed
	// after it was let go cannot happen: such sides are never let go.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CompareSources(ctx, streamOf(ok, true, 1, &p1), streamOf(ok, false, 1, &p2), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// FuzzCompareSourcesMatchesCompare: whatever the details and documents,
// comparing through streams that let go of every waiting connector (a
// one-byte window), with or without ChangesOnly, gives Compare's result.
func FuzzCompareSourcesMatchesCompare(f *testing.F) {
	f.Add([]byte(`{"name":"n","connectorMetadata":{"a":1}}`), []byte(`{"name":"n","connectorMetadata":{"a": 1}}`),
		[]byte(sourceConfigV1), []byte(sourceConfigV2), true, false)
	f.Add([]byte(`{"name":"n"}`), []byte(`{"name":"m","x":null}`), []byte(correlationXML), []byte(correlationReformatted), true, true)
	f.Add([]byte(`{"name":"n"}`), []byte(`{"name":"n"}`), []byte("a\r\nb"), []byte("a\nb\n"), false, false)
	f.Fuzz(func(t *testing.T, da, db, xa, xb []byte, ws, lean bool) {
		a := snap(&archive.Connector{ScriptName: "c", Detail: da, SourceConfig: xa, Translations: map[string][]byte{"en": xb}},
			&archive.Connector{ScriptName: "d", Detail: db, CorrelationConfig: xb})
		b := snap(&archive.Connector{ScriptName: "c", Detail: db, SourceConfig: xb, Translations: map[string][]byte{"en": xa}},
			&archive.Connector{ScriptName: "e", Detail: da, CorrelationConfig: xa})
		for _, m := range []string{MatchName, MatchScriptName} {
			opts := Options{Match: m, IgnoreWhitespace: ws, ChangesOnly: lean}
			want, werr := Compare(a, b, opts)
			opts.Window = 1
			var pa, pb int
			got, err := CompareSources(context.Background(), streamOf(a, true, 1, &pa), streamOf(b, true, 2, &pb), opts)
			if (err == nil) != (werr == nil) {
				t.Fatalf("match %s: streamed err %v, Compare err %v", m, err, werr)
			}
			if err != nil {
				continue
			}
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Fatalf("match %s: streamed\n%s\nCompare\n%s", m, g, w)
			}
		}
	})
}
