package command

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/workflow"
)

// exportSummary is export's --json document as a reader decodes it: the
// workflow's result and where each setting came from.
type exportSummary struct {
	*workflow.ExportResult
	Settings []settings.Setting `json:"settings"`
}

// promotionJSON is promote's --json document (docs/restore-format.md): the
// result, the target's settings and the source's.
type promotionJSON struct {
	*workflow.PromoteResult
	Settings     []settings.Setting `json:"settings"`
	FromSettings []settings.Setting `json:"fromSettings"`
}

// originsOf decodes the "settings" member of a --json document.
func originsOf(t *testing.T, key, stdout string) map[string]settings.Setting {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	var list []settings.Setting
	if err := json.Unmarshal(doc[key], &list); err != nil || len(list) == 0 {
		t.Fatalf("no %q in the --json document (%v):\n%s", key, err, stdout)
	}
	out := map[string]settings.Setting{}
	for _, s := range list {
		out[s.Name] = s
	}
	return out
}

// wantOrigin asserts that setting name has value from origin.
func wantOrigin(t *testing.T, what string, got map[string]settings.Setting, name, value string, origin settings.Origin) {
	t.Helper()
	s, ok := got[name]
	if !ok || s.Value != value || s.Origin != origin {
		t.Errorf("%s: %s = %q from %q (%s), want %q from %q", what, name, s.Value, s.Origin, s.Detail, value, origin)
	}
}

// TestJSONSaysWhereSettingsCameFrom: restore's plan and report, export's
// summary and doctor's report under --json each say where the base URL, the
// client id and the secret came from (flag or environment, as given), and
// never the secret's value.
func TestJSONSaysWhereSettingsCameFrom(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	b := spectest.Start(t, sandbox.Options{Empty: true})
	path := exportCustom(t, a)
	noSecret := func(what, stdout string) {
		t.Helper()
		if strings.Contains(stdout, b.ClientSecret) {
			t.Errorf("%s --json prints the client secret", what)
		}
	}

	// Everything from the environment.
	t.Setenv("SAIL_BASE_URL", b.URL)
	t.Setenv("SAIL_CLIENT_ID", b.ClientID)
	t.Setenv("SAIL_CLIENT_SECRET", b.ClientSecret)
	code, stdout, stderr := runCLI(t, context.Background(), "restore", "--dry-run", "--json", "--rate", "0", path)
	if code != 0 {
		t.Fatalf("restore --dry-run --json: exit %d\n%s", code, stderr)
	}
	got := originsOf(t, "settings", stdout)
	wantOrigin(t, "restore plan", got, "base-url", b.URL, settings.FromEnv)
	wantOrigin(t, "restore plan", got, "client-id", b.ClientID, settings.FromEnv)
	wantOrigin(t, "restore plan", got, "client-secret", "(hidden)", settings.FromEnv)
	wantOrigin(t, "restore plan", got, "rate", "0", settings.FromFlag)
	noSecret("restore --dry-run", stdout)
	var plan struct{ Kind string }
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil || plan.Kind != "plan" {
		t.Errorf("the plan document lost its members: kind %q, %v", plan.Kind, err)
	}

	// The base URL from a flag beats the environment's stale one; the id
	// and the secret still come from the environment.
	t.Setenv("SAIL_BASE_URL", a.URL)
	code, stdout, stderr = runCLI(t, context.Background(), "restore", "--yes", "--no-backup", "--json", "--base-url", b.URL, "--rate", "0", path)
	if code != 0 {
		t.Fatalf("restore --json: exit %d\n%s", code, stderr)
	}
	got = originsOf(t, "settings", stdout)
	wantOrigin(t, "restore report", got, "base-url", b.URL, settings.FromFlag)
	wantOrigin(t, "restore report", got, "client-id", b.ClientID, settings.FromEnv)
	noSecret("restore", stdout)
	var rep jsonReportDoc
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Kind != "report" || rep.Summary.Created == 0 {
		t.Errorf("the report document lost its members: %+v, %v", rep, err)
	}

	code, stdout, stderr = runCLI(t, context.Background(), "export", "-o", t.TempDir()+"/b.tar.zst", "--json", "--base-url", b.URL, "--rate", "0")
	if code != 0 {
		t.Fatalf("export --json: exit %d\n%s", code, stderr)
	}
	got = originsOf(t, "settings", stdout)
	wantOrigin(t, "export", got, "base-url", b.URL, settings.FromFlag)
	wantOrigin(t, "export", got, "client-secret", "(hidden)", settings.FromEnv)
	noSecret("export", stdout)

	t.Setenv("SAIL_BASE_URL", b.URL)
	code, stdout, stderr = runCLI(t, context.Background(), "doctor", "--json", "--rate", "0")
	if code > 1 {
		t.Fatalf("doctor --json: exit %d\n%s", code, stderr)
	}
	got = originsOf(t, "settings", stdout)
	wantOrigin(t, "doctor", got, "base-url", b.URL, settings.FromEnv)
	noSecret("doctor", stdout)
}

// TestPromoteJSONSaysWhereSettingsCameFrom: promote's --json gives the
// target's settings and the source's, each from its tenant in the tenants
// file, whatever SAIL_* say.
func TestPromoteJSONSaysWhereSettingsCameFrom(t *testing.T) {
	e, a, b := promotePair(t)
	t.Setenv("SAIL_BASE_URL", "https://stale.api.identitynow.com")
	code, stdout, stderr := e.run(append(promoteArgs(a, t.TempDir(), "--dry-run"), "--json")...)
	if code != 0 {
		t.Fatalf("promote --dry-run --json: exit %d\n%s", code, stderr)
	}
	wantOrigin(t, "promote target", originsOf(t, "settings", stdout), "base-url", b.URL, settings.FromTenants)
	wantOrigin(t, "promote source", originsOf(t, "fromSettings", stdout), "base-url", a.URL, settings.FromTenants)
	wantOrigin(t, "promote target", originsOf(t, "settings", stdout), "client-id", "b-client", settings.FromTenants)
	wantOrigin(t, "promote", originsOf(t, "settings", stdout), "rate", "0", settings.FromFlag)
	e.checkNoSecrets()
}
