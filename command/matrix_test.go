package command

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

func checkCommandGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./command -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n%s", path, got)
	}
}

// TestThreeTenantMatrix: dev, test and prod side by side, read at once:
// which connectors and documents each agrees on, in every format (golden
// files), exit 1 while they differ and 0 once they agree; --details adds
// the diffs against dev.
func TestThreeTenantMatrix(t *testing.T) {
	e := newNamedEnv(t)
	servers := map[string]*sandbox.Server{}
	for _, n := range []string{"dev", "test", "prod"} {
		servers[n] = e.sandbox(n, sandbox.Options{})
		e.add(n, servers[n])
	}
	ops := []string{"tenant:dev", "tenant:test", "tenant:prod"}
	code, _, stderr := e.run(append([]string{"diff", "--rate", "0"}, ops...)...)
	if code != 0 {
		t.Fatalf("three equal tenants: exit %d\n%s", code, stderr)
	}
	if err := servers["test"].Tenant.PutDocumentDirect("acme-hr-feed", apiclient.SourceConfig, []byte("<source-config><in-test/></source-config>\n")); err != nil {
		t.Fatal(err)
	}
	if err := servers["prod"].Tenant.DeleteDirect("workday"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ format, golden string }{{"text", "matrix.txt"}, {"json", "matrix.json"}, {"markdown", "matrix.md"}, {"html", "matrix.html"}} {
		code, stdout, stderr := e.run(append([]string{"diff", "--rate", "0", "--format", f.format}, ops...)...)
		if code != 1 {
			t.Fatalf("--format %s: exit %d\n%s", f.format, code, stderr)
		}
		checkCommandGolden(t, f.golden+".golden", stdout)
	}
	code, stdout, _ := e.run(append([]string{"diff", "--rate", "0", "--details"}, ops...)...)
	if code != 1 || !strings.Contains(stdout, "=== tenant:dev -> tenant:test") || !strings.Contains(stdout, "+<source-config><in-test/></source-config>") {
		t.Errorf("--details: exit %d\n%s", code, stdout)
	}
}
