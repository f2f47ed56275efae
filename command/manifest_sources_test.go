package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestManifestRecordsDocumentSources checks, through the
// CLI: v3 answers 404 on correlation-config for every connector while the
// details carry it, and no other layout is served. The archive holds every
// correlation config, the written manifest (not only the export's result)
// says where each came from, the summary counts them, and stderr has one
// warning line with the count.
func TestManifestRecordsDocumentSources(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{Layouts: []string{"v3"}, NoCorrelationConfig: []string{"v3"}})
	want := map[string][]byte{}
	for _, sn := range released(srv.Tenant) {
		if c, _ := srv.Tenant.Connector(sn); c.CorrelationConfig != nil {
			want[sn] = c.CorrelationConfig
		}
	}
	if len(want) < 3 {
		t.Fatalf("setup: %d seeded connectors with a correlation config", len(want))
	}
	out := filepath.Join(t.TempDir(), "a.tar.zst")
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out, "--json", "--api-version", "v3"}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("export --json: %v\n%s", err, stdout)
	}
	if sum.OtherSources != len(want) || sum.Fetch != domain.FetchFull {
		t.Errorf("summary: otherSources %d, fetch %q; want %d, full", sum.OtherSources, sum.Fetch, len(want))
	}
	var warns []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(strings.ToLower(l), "warn") {
			warns = append(warns, l)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], fmt.Sprintf("%d documents were not served", len(want))) {
		t.Errorf("want one warning line with the count, got %d:\n%s", len(warns), stderr)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]domain.DocumentSource{}
	for _, s := range snap.Manifest.DocumentSources {
		got[s.ScriptName] = s
	}
	if len(snap.Manifest.DocumentSources) != len(want) || len(got) != len(want) {
		t.Errorf("manifest documentSources %+v, want one per correlation config (%d)", snap.Manifest.DocumentSources, len(want))
	}
	held := map[string][]byte{}
	for _, c := range snap.Connectors {
		held[c.ScriptName] = c.CorrelationConfig
	}
	for sn, doc := range want {
		if s := got[sn]; s.Document != "correlation-config" || s.From != domain.FromDetail {
			t.Errorf("%s: manifest source %+v, want correlation-config from the detail", sn, s)
		}
		if !bytes.Equal(held[sn], doc) {
			t.Errorf("%s: archived correlation config %q, want the tenant's", sn, held[sn])
		}
	}
	if snap.Manifest.Fetch != domain.FetchFull {
		t.Errorf("manifest fetch %q, want %q", snap.Manifest.Fetch, domain.FetchFull)
	}
}
