package archive

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

// TestEachOrderStopAndCancel: Each hands an archive's and a directory's
// connectors over in path order, stops at fn's first error and returns it,
// and hands nothing over once the context is done.
func TestEachOrderStopAndCancel(t *testing.T) {
	tmp := t.TempDir()
	cs := fixtureConnectors()
	path := filepath.Join(tmp, "a.tar.zst")
	writeArchive(t, path, fixtureMeta(), cs)
	dir := filepath.Join(tmp, "d")
	writeDir(t, dir, fixtureMeta(), cs, nil)
	for _, open := range []func() (SnapshotReader, error){
		func() (SnapshotReader, error) { return Open(path, ReadOptions{}) },
		func() (SnapshotReader, error) { return OpenDir(dir, ReadOptions{}) },
	} {
		read := func(ctx context.Context, fn func(*Connector) error) error {
			r, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			return Each(ctx, r, fn)
		}
		var got []string
		if err := read(context.Background(), func(c *Connector) error { got = append(got, c.ScriptName); return nil }); err != nil {
			t.Fatal(err)
		}
		if want := []string{"acme-ldap", "hello"}; !slices.Equal(got, want) {
			t.Errorf("Each handed over %q, want %q", got, want)
		}

		stop := errors.New("stop")
		n := 0
		if err := read(context.Background(), func(*Connector) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("fn failing: Each returned %v after %d calls, want fn's error after 1", err, n)
		}

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n = 0
		if err := read(ctx, func(*Connector) error { n++; return nil }); !errors.Is(err, context.Canceled) || n != 0 {
			t.Errorf("cancelled: Each returned %v after %d calls, want context.Canceled after none", err, n)
		}
	}
}
