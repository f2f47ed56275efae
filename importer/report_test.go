package importer

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/diff"
)

// The Markdown and HTML plans list each connector's writes with the diff of
// what each write changes, and leave unchanged connectors out.
func TestPlanReports(t *testing.T) {
	arch := snap(
		conn("hr", custom("HR", nil), docs3, map[string]string{"en": "a=1\n"}),
		conn("crm", custom("CRM", map[string]any{"connectorMetadata": map[string]any{"platform": "new"}}), map[apiclient.Document]string{apiclient.SourceConfig: "<new/>\n"}, nil),
		conn("same", custom("Same", nil), nil, nil),
		conn("ad", map[string]any{"name": "AD", "type": "AD", "className": "x"}, nil, nil),
	)
	target := snap(
		conn("crm-9", custom("CRM", nil), map[apiclient.Document]string{apiclient.SourceConfig: "<old/>\n"}, nil),
		conn("same-9", custom("Same", nil), nil, nil),
	)
	p, err := NewPlan(arch, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	info := Info{Archive: "gitops/", Target: "https://acme.api.identitynow.com", DryRun: true}
	var md, page bytes.Buffer
	if err := WritePlanMarkdown(&md, p, arch, target, info); err != nil {
		t.Fatal(err)
	}
	if err := WritePlanHTML(&page, p, arch, target, info); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"Plan: 1 to create, 1 to update, 1 unchanged, 1 skipped (",
		"<summary><b>update</b> <code>CRM</code> <code>archive crm, target crm-9</code></summary>",
		"- write source-config (modify)",
		"--- a/crm-9/source-config.xml\n+++ b/crm/source-config.xml\n@@ -1 +1 @@\n-<old/>\n+<new/>\n",
		"- patch connectorMetadata (modify)",
		"- `connectorMetadata`: `{\"platform\":\"ccg\"}` → `{\"platform\":\"new\"}`",
		"<summary><b>create</b> <code>HR</code> <code>archive hr</code></summary>",
		"+++ b/hr/translations/en.properties",
		"<summary><b>skip</b> <code>AD</code> <code>archive ad</code></summary>",
		"Dry run: nothing was written.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Same") {
		t.Errorf("an unchanged connector has a section:\n%s", out)
	}
	if got := strings.Count(out, "<details>"); got != 3 {
		t.Errorf("%d sections, want 3 (create, update, skip)", got)
	}
	// Read from a stream, the report is the same.
	rep, err := PlanReportFrom(context.Background(), p, diff.SnapshotSource(arch), target, info)
	if err != nil {
		t.Fatal(err)
	}
	var md2 bytes.Buffer
	if err := rep.WriteMarkdown(&md2); err != nil {
		t.Fatal(err)
	}
	if md2.String() != out {
		t.Errorf("PlanReportFrom differs from PlanReport:\n%s", md2.String())
	}
	if !strings.Contains(page.String(), "&lt;<del>old</del>/&gt;") || !strings.Contains(page.String(), "&lt;<ins>new</ins>/&gt;") {
		t.Errorf("the HTML plan does not mark the changed characters:\n%s", page.String())
	}
}
