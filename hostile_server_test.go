package main

// Hostile servers of issue 18 through the command line: each test asserts the
// safe outcome an operator sees (exit code, the error line, what is or is not
// on disk or in the tenant).

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestExportRefusesDetailOfAnotherConnector (defect 4): GET
// /connectors/VICTIM answered with another connector's detail ends the export
// with the mismatch named and no archive; with --keep-going the victim is
// recorded as failed and every other connector is saved.
func TestExportRefusesDetailOfAnotherConnector(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	rel := released(srv.Tenant)
	victim, other := rel[1], rel[2]
	d, _ := srv.Tenant.Detail(other)
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	hookDetail(srv.Tenant, victim, http.StatusOK, string(body))
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tar.zst")

	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, `get connector "`+victim+`"`, `"`+other+`"`, "another connector")
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("a failed export left %v", left)
	}

	code, _, stderr = runCLI(t, context.Background(), append([]string{"export", "-o", out, "--keep-going"}, tenantArgs(srv)...)...)
	if code != exitPartial {
		t.Fatalf("--keep-going: exit %d, want 3; stderr:\n%s", code, stderr)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) != len(rel)-1 {
		t.Errorf("%d connectors archived, want %d", len(snap.Connectors), len(rel)-1)
	}
	for _, c := range snap.Connectors {
		if c.ScriptName == victim {
			t.Errorf("%s was archived with %s's detail", victim, other)
		}
		if c.ScriptName == other && !strings.Contains(string(c.Detail), `"scriptName":"`+other+`"`) {
			t.Errorf("%s's own detail is wrong", other)
		}
	}
	if !snap.Manifest.Partial || len(snap.Manifest.Skipped) != 1 || snap.Manifest.Skipped[0].ScriptName != victim {
		t.Errorf("manifest: partial %v, skipped %+v; want %s failed", snap.Manifest.Partial, snap.Manifest.Skipped, victim)
	}
	_ = os.Remove(out)
}
