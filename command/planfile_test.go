package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
	"github.com/connvault/connvault/workflow"
)

// planSetup is an archive of a tenant's custom connectors and a target that
// differs from it (one document edited, one connector missing), with a plan
// saved against that target.
func planSetup(t *testing.T) (arc, plan string, target *sandbox.Server, pf *workflow.PlanFile) {
	t.Helper()
	clearSailEnv(t)
	arc = exportCustom(t, spectest.Start(t, sandbox.Options{}))
	target = spectest.Start(t, sandbox.Options{})
	if err := target.Tenant.PutDocumentDirect("acme-hr-feed", apiclient.SourceConfig, []byte("<source-config><edited/></source-config>\n")); err != nil {
		t.Fatal(err)
	}
	plan = filepath.Join(t.TempDir(), "plan.json")
	code, stdout, stderr := runCLI(t, t.Context(), append([]string{"restore", arc, "--dry-run", "--plan-out", plan}, tenantArgs(target)...)...)
	if code != 0 || !strings.Contains(stdout, "~ update Acme HR Feed") {
		t.Fatalf("restore --dry-run --plan-out: exit %d\n%s%s", code, stdout, stderr)
	}
	pf, err := workflow.ReadPlanFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(plan)
	if strings.Contains(string(raw), target.ClientSecret) {
		t.Fatal("the plan file holds the secret")
	}
	return arc, plan, target, pf
}

// TestSavedPlanRefusedWhenTheTargetChanged: a hand change to one document
// of a connector the plan touches makes restore --plan refuse before any
// write, naming that connector and document.
func TestSavedPlanRefusedWhenTheTargetChanged(t *testing.T) {
	_, plan, target, _ := planSetup(t)
	if err := target.Tenant.PutDocumentDirect("acme-hr-feed", apiclient.SourceTemplate, []byte("<source-template><by-hand/></source-template>\n")); err != nil {
		t.Fatal(err)
	}
	target.Tenant.ResetStats()
	code, _, stderr := runCLI(t, t.Context(), append([]string{"restore", "--plan", plan, "--yes", "--no-backup"}, tenantArgs(target)...)...)
	if code != exitError || !strings.Contains(stderr, `connector "Acme HR Feed": source-template.xml changed in the target since the plan`) {
		t.Errorf("restore --plan after a hand change: exit %d\n%s", code, stderr)
	}
	if w := target.Tenant.Stats().Writes; w != 0 {
		t.Errorf("%d writes after the refusal", w)
	}
}

// TestSavedPlanAppliesExactlyItsWrites: unchanged, the plan writes exactly
// what it says; applied again it refuses, since the target no longer is the
// state it was made against (it now holds what the plan wrote).
func TestSavedPlanAppliesExactlyItsWrites(t *testing.T) {
	_, plan, target, pf := planSetup(t)
	target.Tenant.ResetStats()
	code, _, stderr := runCLI(t, t.Context(), append([]string{"restore", "--plan", plan, "--yes", "--no-backup"}, tenantArgs(target)...)...)
	if code != 0 {
		t.Fatalf("restore --plan: exit %d\n%s", code, stderr)
	}
	if w := target.Tenant.Stats().Writes; w != pf.Writes || pf.Writes == 0 {
		t.Errorf("%d writes, the plan says %d", w, pf.Writes)
	}
	target.Tenant.ResetStats()
	code, _, stderr = runCLI(t, t.Context(), append([]string{"restore", "--plan", plan, "--yes", "--no-backup"}, tenantArgs(target)...)...)
	if code != exitError || !strings.Contains(stderr, "no longer holds") || target.Tenant.Stats().Writes != 0 {
		t.Errorf("the same plan again: exit %d, %d writes\n%s", code, target.Tenant.Stats().Writes, stderr)
	}
}

// TestSavedPlanForAnotherTargetRefused: a plan made for one tenant is not
// applied to another, nor with an archive that changed.
func TestSavedPlanForAnotherTargetRefused(t *testing.T) {
	arc, plan, _, _ := planSetup(t)
	other := spectest.Start(t, sandbox.Options{})
	code, _, stderr := runCLI(t, t.Context(), append([]string{"restore", "--plan", plan, "--yes", "--no-backup"}, tenantArgs(other)...)...)
	if code != exitError || !strings.Contains(stderr, "the plan was made for") || other.Tenant.Stats().Writes != 0 {
		t.Errorf("a plan for another target: exit %d\n%s", code, stderr)
	}
	// Another archive in the plan's place.
	if err := os.Remove(arc); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", arc); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	code, _, stderr = runCLI(t, t.Context(), append([]string{"restore", "--plan", plan, "--yes", "--no-backup"}, tenantArgs(other)...)...)
	if code != exitError || !strings.Contains(stderr, "changed since the plan was made") {
		t.Errorf("a plan whose archive changed: exit %d\n%s", code, stderr)
	}
}
