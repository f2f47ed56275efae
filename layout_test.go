package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The package boundaries docs/layout.md promises: domain imports no package
// of this module, and diff does not import apiclient.
func TestPackageBoundaries(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	var mine []string
	for _, d := range deps("./domain") {
		if strings.HasPrefix(d, "github.com/connvault/connvault") {
			mine = append(mine, d)
		}
	}
	if len(mine) != 1 || mine[0] != "github.com/connvault/connvault/domain" {
		t.Errorf("domain depends on %v", mine)
	}
	for _, d := range deps("./diff") {
		if d == "github.com/connvault/connvault/apiclient" {
			t.Error("diff imports apiclient")
		}
	}
	for _, d := range deps("./workflow") {
		if d == "github.com/urfave/cli/v2" {
			t.Error("workflow imports urfave/cli")
		}
	}
}
