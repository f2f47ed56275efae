package diff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
)

// TestCompareSourcesPairsBeforeSideEnds checks the promise "requests and
// planning overlap": a connector of a live side (restore's target) is
// handed to Options.Each as soon as it meets its twin, while the live side
// is still being read. The live side here stops after its first connector
// until Each has seen that connector: were pairs only made once the side
// ended, it would never go on (the deadline turns that into a failure, not
// a hang).
func TestCompareSourcesPairsBeforeSideEnds(t *testing.T) {
	arch := &archive.Snapshot{}
	for i := range 10 {
		sn := fmt.Sprintf("conn-%02d", i)
		arch.Connectors = append(arch.Connectors, &archive.Connector{ScriptName: sn, Detail: detailJSON(t, baseDetail("Connector "+sn, sn)), SourceConfig: []byte("<Form/>\n")})
	}
	path := writeArchive(t, t.TempDir(), "a.tar.zst", arch)
	for name, archSide := range map[string]Source{"archive in memory": SnapshotSource(arch), "archive file": FileSource(path, archive.ReadOptions{})} {
		t.Run(name, func(t *testing.T) {
			first := arch.Connectors[7] // not the archive's first: a live list has its own order
			met := make(chan struct{})
			var once sync.Once
			live := Source{Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
				if err := emit(first); err != nil {
					return err
				}
				select {
				case <-met:
				case <-time.After(20 * time.Second):
					return errors.New("the first connector was not compared while its side was still being read")
				case <-ctx.Done():
					return ctx.Err()
				}
				for _, c := range arch.Connectors {
					if c != first {
						if err := emit(c); err != nil {
							return err
						}
					}
				}
				return nil
			}}
			var seen []string
			opts := Options{Match: MatchName, ChangesOnly: true, Each: func(d *ConnectorDiff, a, b *View) {
				seen = append(seen, d.Name)
				if d.A != nil && d.B != nil && d.A.ScriptName == first.ScriptName {
					once.Do(func() { close(met) })
				}
			}}
			r, err := CompareSources(context.Background(), live, archSide, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary.Connectors.Unchanged != len(arch.Connectors) || len(seen) != len(arch.Connectors) {
				t.Errorf("summary %+v, Each saw %v; want all %d unchanged", r.Summary.Connectors, seen, len(arch.Connectors))
			}
		})
	}
}
