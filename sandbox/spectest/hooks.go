package spectest

import (
	"encoding/json"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/sandbox"
)

// TenantSnapshot reads a sandbox tenant directly (no HTTP, so no faults)
// into a snapshot, for comparing with an archive.
func TenantSnapshot(t testing.TB, tn *sandbox.Tenant) *archive.Snapshot {
	t.Helper()
	snap := &archive.Snapshot{}
	for _, sn := range tn.ScriptNames() {
		d, _ := tn.Detail(sn)
		c, _ := tn.Connector(sn)
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := export.Canonical(raw)
		if err != nil {
			t.Fatal(err)
		}
		snap.Connectors = append(snap.Connectors, &archive.Connector{ScriptName: sn, Detail: canon,
			SourceConfig: c.SourceConfig, SourceTemplate: c.SourceTemplate, CorrelationConfig: c.CorrelationConfig, Translations: c.Translations})
	}
	return snap
}
