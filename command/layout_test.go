package command

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/connvault/connvault"

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// The package boundaries docs/layout.md promises: domain imports no package
// of this module, diff does not import apiclient, only the command layer
// imports the CLI framework, and the root package is main.go alone.
func TestPackageBoundaries(t *testing.T) {
	var mine []string
	for _, d := range goList(t, "-deps", module+"/domain") {
		if strings.HasPrefix(d, module) {
			mine = append(mine, d)
		}
	}
	if len(mine) != 1 || mine[0] != module+"/domain" {
		t.Errorf("domain depends on %v", mine)
	}
	for _, d := range goList(t, "-deps", module+"/diff") {
		if d == module+"/apiclient" {
			t.Error("diff imports apiclient")
		}
	}
	// Which packages of the module import urfave/cli directly (tests aside).
	for _, line := range goList(t, "-f", `{{.ImportPath}}={{join .Imports ","}}`, module+"/...") {
		pkg, imports, _ := strings.Cut(line, "=")
		if pkg == module+"/command" {
			continue
		}
		for _, imp := range strings.Split(imports, ",") {
			if imp == "github.com/urfave/cli/v2" {
				t.Errorf("%s imports urfave/cli; only the command package may", pkg)
			}
		}
	}
	if files := goList(t, "-f", `{{join .GoFiles " "}}`, module); len(files) != 1 || files[0] != "main.go" {
		t.Errorf("the root package holds %v, want main.go alone", files)
	}
}
