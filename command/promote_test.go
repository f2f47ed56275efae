package command

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
)

// archivePaths are the archive paths a command printed, in order.
var archivePathRE = regexp.MustCompile(`path=(\S+\.tar\.zst)`)

func archivePaths(stderr string) []string {
	var out []string
	for _, m := range archivePathRE.FindAllStringSubmatch(stderr, -1) {
		out = append(out, m[1])
	}
	return out
}

// promoteArgs are the flags of a promotion from a to b with the hidden
// custom connectors of a named too.
func promoteArgs(a *sandbox.Server, dir string, extra ...string) []string {
	args := []string{"promote", "--from", "a", "--to", "b", "--rate", "0", "--archive-dir", dir}
	for _, sn := range hiddenCustom(a.Tenant) {
		args = append(args, "--script-name", sn)
	}
	return append(args, extra...)
}

// TestPromote: the CLI's side of a promotion: the plan on stdout, the
// verification and the three archive paths (source, target before, target
// after, named after their tenants) on stderr; a second one says there is
// nothing to promote and prints only the source's path; a change in the
// target shows as a diff and an update. That the archives read, the target
// equals the source, a second promotion writes nothing and the change is
// undone: workflow's TestPromoteMatchesSourceAndUndoesDrift.
func TestPromote(t *testing.T) {
	e, a, b := promotePair(t)
	dir := t.TempDir()

	code, stdout, stderr := e.run(promoteArgs(a, dir, "--yes")...)
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "+ create ") || !strings.Contains(stderr, "verified: b matches a") {
		t.Errorf("promote output lacks the plan or the verification:\n%s\n%s", stdout, stderr)
	}
	paths := archivePaths(stderr)
	if len(paths) != 3 {
		t.Fatalf("promote printed %d archive paths, want 3 (source, target before, target after):\n%s", len(paths), stderr)
	}
	for i, prefix := range []string{"a-connectors-", "b-connectors-", "b-connectors-"} {
		if filepath.Dir(paths[i]) != dir || !strings.HasPrefix(filepath.Base(paths[i]), prefix) {
			t.Errorf("archive %d is %s, want %s* in %s", i, paths[i], prefix, dir)
		}
	}

	// Again: nothing to plan, no snapshot of the target.
	code, stdout, stderr = e.run(promoteArgs(a, dir, "--yes")...)
	if code != 0 || !strings.Contains(stdout, "Plan: 0 to create, 0 to update") || !strings.Contains(stderr, "nothing to promote") {
		t.Errorf("second promote: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := len(archivePaths(stderr)); n != 1 {
		t.Errorf("second promote printed %d archive paths, want 1 (the source's)", n)
	}

	// A change made in the target shows as a diff, then is undone.
	target := ""
	for _, sn := range b.Tenant.ScriptNames() {
		if c, _ := b.Tenant.Connector(sn); c.Name == "Acme HR Feed" {
			target = sn
		}
	}
	if target == "" {
		t.Fatal("Acme HR Feed not in the target")
	}
	if err := b.Tenant.PutDocumentDirect(target, apiclient.SourceConfig, []byte("<source-config><edited-in-prod/></source-config>\n")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = e.run(promoteArgs(a, dir, "--yes")...)
	if code != 0 {
		t.Fatalf("third promote: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"-<source-config><edited-in-prod/></source-config>", "~ update Acme HR Feed", "Plan: 0 to create, 1 to update"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("third promote's output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "verified: b matches a") {
		t.Errorf("third promote does not say it verified:\n%s", stderr)
	}
}

// TestPromoteOnlyAndMap: --only limits the promotion, --map renames.
func TestPromoteOnlyAndMap(t *testing.T) {
	e, _, b := promotePair(t)
	code, stdout, stderr := e.run("promote", "--from", "a", "--to", "b", "--rate", "0", "--archive-dir", t.TempDir(), "--yes",
		"--only", "Acme HR Feed", "--map", "Acme HR Feed=HR Feed (prod)")
	if code != 0 || !strings.Contains(stderr, "verified") {
		t.Fatalf("promote --only --map: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var names []string
	for _, sn := range b.Tenant.ScriptNames() {
		c, _ := b.Tenant.Connector(sn)
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "HR Feed (prod)" {
		t.Errorf("target holds %v, want only the mapped connector", names)
	}
}

// TestProtectedTenantRefusesWrites: restore and promote into a protected
// tenant stop before any write and any snapshot unless --yes-protected
// spells out its name; dry runs are allowed.
func TestProtectedTenantRefusesWrites(t *testing.T) {
	e := newNamedEnv(t)
	a := e.sandbox("a", sandbox.Options{})
	b := e.sandbox("b", sandbox.Options{Empty: true})
	e.add("a", a)
	e.add("b", b, "--protected")
	custom := exportCustom(t, a)
	backups := t.TempDir()

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"restore", []string{"restore", "--tenant", "b", "--yes", "--rate", "0", "--backup-dir", backups, custom}, "--yes-protected b"},
		{"restore, wrong name", []string{"restore", "--tenant", "b", "--yes", "--yes-protected", "a", "--rate", "0", "--backup-dir", backups, custom}, "does not name the target tenant"},
		{"promote", promoteArgs(a, backups, "--yes"), "--yes-protected b"},
		{"promote, wrong name", promoteArgs(a, backups, "--yes", "--yes-protected", "prod"), "does not name the target tenant"},
	}
	for _, r := range refusals {
		b.Tenant.ResetStats()
		code, _, stderr := e.run(r.args...)
		if code != exitUsage || !strings.Contains(stderr, r.want) || !strings.Contains(stderr, "nothing was written") {
			t.Errorf("%s: exit %d, want 2 and %q\n%s", r.name, code, r.want, stderr)
		}
		if w := b.Tenant.Stats().Writes; w != 0 {
			t.Errorf("%s: %d writes to the protected tenant", r.name, w)
		}
		if left, _ := filepath.Glob(filepath.Join(backups, "*.tar.zst")); len(left) != 0 {
			t.Errorf("%s: refused, yet wrote archives %v", r.name, left)
		}
	}
	// --yes-protected for an unprotected target that is not the one named
	// is refused as well: the user had another tenant in mind.
	if code, _, stderr := e.run("restore", "--tenant", "a", "--yes", "--yes-protected", "b", "--rate", "0", "--no-backup", custom); code != exitUsage ||
		!strings.Contains(stderr, `does not name the target tenant "a"`) {
		t.Errorf("--yes-protected b for target a: exit %d\n%s", code, stderr)
	}

	// Dry runs write nothing and need no permission.
	if code, stdout, stderr := e.run("restore", "--tenant", "b", "--dry-run", "--rate", "0", custom); code != 0 || !strings.Contains(stdout, "to create") {
		t.Errorf("restore --dry-run into protected b: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := e.run(promoteArgs(a, t.TempDir(), "--dry-run")...); code != 0 || !strings.Contains(stderr, "dry run") {
		t.Errorf("promote --dry-run into protected b: exit %d\n%s", code, stderr)
	}
	if w := b.Tenant.Stats().Writes; w != 0 {
		t.Errorf("dry runs wrote %d times", w)
	}

	// Spelled out, the write goes through.
	code, _, stderr := e.run(promoteArgs(a, backups, "--yes", "--yes-protected", "b")...)
	if code != 0 || !strings.Contains(stderr, "verified") {
		t.Fatalf("promote --yes-protected b: exit %d\n%s", code, stderr)
	}
	if b.Tenant.Stats().Writes == 0 {
		t.Error("promote --yes-protected b wrote nothing")
	}
}

func TestPromoteUsage(t *testing.T) {
	e := newNamedEnv(t)
	a := e.sandbox("a", sandbox.Options{})
	e.add("a", a)
	e.add("b", e.sandbox("b", sandbox.Options{Empty: true}))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"promote", "--to", "a"}, "--from NAME and --to NAME"},
		// The names are checked before anything else, confirmation included.
		{[]string{"promote", "--from", "a", "--to", "nope"}, `no tenant "nope"`},
		{[]string{"promote", "--from", "a", "--to", "a", "--yes"}, "both name"},
		{[]string{"promote", "--from", "a", "--to", "nope", "--yes", "--archive-dir", t.TempDir()}, `no tenant "nope"`},
		{[]string{"promote", "--from", "a", "--to", "b"}, "stdin is not a terminal"},
		{[]string{"promote", "--from", "a", "--to", "b", "--yes", "extra"}, "takes no arguments"},
	} {
		code, _, stderr := e.run(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

// promotePair names two spec-validating sandboxes in a fresh tenants file:
// "a", seeded, and "b", empty.
func promotePair(t *testing.T) (*namedEnv, *sandbox.Server, *sandbox.Server) {
	t.Helper()
	e := newNamedEnv(t)
	a := e.sandbox("a", sandbox.Options{})
	b := e.sandbox("b", sandbox.Options{Empty: true})
	e.add("a", a)
	e.add("b", b)
	return e, a, b
}

// TestPromoteTakesCustomUnderscoreConnectors: a connector whose type starts
// "custom_" (the form SailPoint's guide uses) is a custom connector, so the
// default promotion creates it in the target instead of calling the target
// up to date.
func TestPromoteTakesCustomUnderscoreConnectors(t *testing.T) {
	e, a, b := promotePair(t)
	made, err := a.Tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: "Legacy Bridge", Type: "custom_legacy-bridge", ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Tenant.SetStatusDirect(made.ScriptName, apiclient.StatusReleased); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := e.run(promoteArgs(a, t.TempDir(), "--yes")...)
	if code != 0 || !strings.Contains(stdout, "+ create Legacy Bridge") {
		t.Fatalf("promote: exit %d, the plan does not create Legacy Bridge:\n%s\n%s", code, stdout, stderr)
	}
	found := false
	for _, sn := range b.Tenant.ScriptNames() {
		if c, _ := b.Tenant.Connector(sn); c.Name == "Legacy Bridge" && c.Type == "custom_legacy-bridge" {
			found = true
		}
	}
	if !found {
		t.Error("the target has no Legacy Bridge of type custom_legacy-bridge after the promotion")
	}
}

// TestPromoteDryRunKeepsNothing: repeated dry runs leave the archive
// directory as it was; the plan is still shown.
func TestPromoteDryRunKeepsNothing(t *testing.T) {
	e, a, _ := promotePair(t)
	dir := t.TempDir()
	for range 3 {
		code, stdout, stderr := e.run(promoteArgs(a, dir, "--dry-run")...)
		if code != 0 || !strings.Contains(stdout, "+ create ") || !strings.Contains(stderr, "keeps no archive") {
			t.Fatalf("promote --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		var names []string
		for _, l := range left {
			names = append(names, l.Name())
		}
		t.Errorf("the archive directory holds %v after three dry runs", names)
	}
}

// TestPromoteToProtectedListsEveryMissingConfirmation: without --yes (and
// no terminal) and without --yes-protected, one try names both.
func TestPromoteToProtectedListsEveryMissingConfirmation(t *testing.T) {
	e := newNamedEnv(t)
	a := e.sandbox("a", sandbox.Options{})
	b := e.sandbox("b", sandbox.Options{Empty: true})
	e.add("a", a)
	e.add("b", b, "--protected")
	code, _, stderr := e.run(promoteArgs(a, t.TempDir())...)
	if code != exitUsage || !strings.Contains(stderr, "--yes (stdin is not a terminal") || !strings.Contains(stderr, "--yes-protected b") {
		t.Errorf("promote to a protected tenant without confirmations: exit %d\n%s", code, stderr)
	}
	if n := a.Tenant.Stats().TotalRequests() + b.Tenant.Stats().TotalRequests(); n != 0 {
		t.Errorf("%d requests before the refusal", n)
	}
}

// TestPromotePlanOutAppliedByRestorePlan: a promotion's dry run saves its
// plan (keeping the source export it refers to), and restore --plan applies
// exactly it to the target.
func TestPromotePlanOutAppliedByRestorePlan(t *testing.T) {
	e, a, b := promotePair(t)
	plan := filepath.Join(t.TempDir(), "plan.json")
	code, _, stderr := e.run(promoteArgs(a, t.TempDir(), "--dry-run", "--plan-out", plan)...)
	if code != 0 || !strings.Contains(stderr, "saved the plan to "+plan) {
		t.Fatalf("promote --dry-run --plan-out: exit %d\n%s", code, stderr)
	}
	if w := b.Tenant.Stats().Writes; w != 0 {
		t.Fatalf("the dry run wrote %d times", w)
	}
	code, _, stderr = e.run("restore", "--plan", plan, "--tenant", "b", "--yes", "--no-backup", "--rate", "0")
	if code != 0 || b.Tenant.Stats().Writes == 0 {
		t.Errorf("restore --plan of the promotion's plan: exit %d, %d writes\n%s", code, b.Tenant.Stats().Writes, stderr)
	}
}
