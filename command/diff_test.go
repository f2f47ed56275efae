package command

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestDiffArchiveAgainstTenant: export, change one document through the API,
// and the diff names exactly that document.
func TestDiffArchiveAgainstTenant(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	out := filepath.Join(t.TempDir(), "before.tar.zst")
	if code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}

	// Nothing changed: exit 0 and nothing on stdout, like diff(1).
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"diff", out, "tenant:"}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("unchanged: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if stdout != "" {
		t.Errorf("unchanged diff should print nothing, got:\n%s", stdout)
	}

	// Change one document through the API, as an admin would.
	victim := released(srv.Tenant)[2]
	client, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := srv.Tenant.Connector(victim)
	changed := strings.Replace(string(before.SourceConfig), "</Form>", "<!-- changed by hand --></Form>", 1)
	if changed == string(before.SourceConfig) {
		t.Fatalf("%s: source-config has no </Form> to edit", victim)
	}
	if _, err := client.PutDocument(context.Background(), victim, apiclient.SourceConfig, []byte(changed)); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr = runCLI(t, context.Background(), append([]string{"diff", out, "tenant:", "--format", "json"}, tenantArgs(srv)...)...)
	if code != 1 {
		t.Fatalf("changed: exit %d, want 1\n%s", code, stderr)
	}
	var res struct {
		Equal      bool `json:"equal"`
		Connectors []struct {
			Name    string `json:"name"`
			Status  string `json:"status"`
			Changes []struct {
				Kind, Path, Change, Diff string
			} `json:"changes"`
		} `json:"connectors"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("diff --format json: %v\n%s", err, stdout)
	}
	var changedConns []string
	for _, c := range res.Connectors {
		if c.Status != "unchanged" {
			changedConns = append(changedConns, c.Name)
			if len(c.Changes) != 1 || c.Changes[0].Path != "source-config" || c.Changes[0].Change != "modified" ||
				!strings.Contains(c.Changes[0].Diff, "+") || !strings.Contains(c.Changes[0].Diff, "changed by hand") {
				t.Errorf("changes of %s: %+v; want only source-config modified", c.Name, c.Changes)
			}
		}
	}
	if res.Equal || len(changedConns) != 1 || changedConns[0] != before.Name {
		t.Errorf("changed connectors %v, want only %q", changedConns, before.Name)
	}

	// The text form shows a unified diff of that document only.
	code, stdout, _ = runCLI(t, context.Background(), append([]string{"diff", out, "tenant:", "--color", "never"}, tenantArgs(srv)...)...)
	if code != 1 || !strings.Contains(stdout, "+++ b/"+victim+"/source-config.xml") || strings.Count(stdout, "+++ ") != 1 {
		t.Errorf("text diff (exit %d):\n%s", code, stdout)
	}
}

func TestDiffUsageAndErrorsExitTwo(t *testing.T) {
	clearSailEnv(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"diff", "only-one"},
		{"diff", filepath.Join(dir, "missing.tar.zst"), filepath.Join(dir, "other.tar.zst")},
		{"diff", "a", "b", "--format", "yaml"},
		{"diff", "a", "b", "--match", "id"},
		{"diff", "a", "b", "--map", "no-equals-sign"},
	} {
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "connvault: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one error line", args, code, stdout, stderr)
		}
	}
}
