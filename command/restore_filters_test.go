package command

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestRestoreFilters selects archive connectors with the API's filter
// language; the rest are skipped with the reason, and nothing is written.
func TestRestoreFilters(t *testing.T) {
	clearSailEnv(t)
	src := spectest.Start(t, sandbox.Options{})
	dst := spectest.Start(t, sandbox.Options{Empty: true})
	path := exportCustom(t, src)

	code, stdout, stderr := runCLI(t, context.Background(), append([]string{"restore", path, "--dry-run", "--format", "json",
		"--filters", `name sw "acme" or name co "badge"`}, tenantArgs(dst)...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var plan struct {
		Connectors []struct {
			Name, Action, Reason string
		} `json:"connectors"`
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, stdout)
	}
	var created []string
	for _, c := range plan.Connectors {
		switch c.Action {
		case "create":
			created = append(created, c.Name)
		case "skip":
			if c.Reason != "not selected (--filters)" {
				t.Errorf("%s skipped for %q", c.Name, c.Reason)
			}
		default:
			t.Errorf("%s: action %s", c.Name, c.Action)
		}
	}
	if strings.Join(created, ",") != "Acme HR Feed,Contoso Badge System" {
		t.Errorf("selected %v, want Acme HR Feed and Contoso Badge System", created)
	}
	if w := dst.Tenant.Stats().Writes; w != 0 {
		t.Errorf("dry run wrote %d times", w)
	}

	code, _, stderr = runCLI(t, context.Background(), append([]string{"restore", path, "--dry-run", "--filters", `name xx "a"`}, tenantArgs(dst)...)...)
	if code != exitUsage || !strings.Contains(stderr, "--filters") {
		t.Errorf("bad filter: exit %d, %s", code, stderr)
	}
}
