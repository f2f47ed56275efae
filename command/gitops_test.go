package command

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// cli runs connvault and fails the test unless it exits with want.
func cliWant(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, context.Background(), args...)
	if code != want {
		t.Fatalf("connvault %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

func manifestOf(t *testing.T, path string) *archive.Manifest {
	t.Helper()
	r, err := archive.OpenAny(path, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Manifest()
}

// archive -> directory -> archive keeps the content digest; the directory
// export of a tenant has its archive export's digest; `diff DIR ARCHIVE` of
// the same tenant exits 0; ls and verify read the directory.
func TestGitopsFormsAgree(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	tmp := t.TempDir()
	arch := filepath.Join(tmp, "a.tar.zst")
	cliWant(t, 0, append([]string{"export", "-o", arch}, tenantArgs(srv)...)...)
	dir := filepath.Join(tmp, "unpacked")
	cliWant(t, 0, "unpack", arch, dir)
	again := filepath.Join(tmp, "again.tar.zst")
	cliWant(t, 0, "pack", dir, again)
	ma, md, m2 := manifestOf(t, arch), manifestOf(t, dir), manifestOf(t, again)
	if ma.ContentDigest != md.ContentDigest || ma.ContentDigest != m2.ContentDigest || ma.ConnectorCount == 0 {
		t.Fatalf("digests: archive %s, unpacked %s, packed again %s (%d connectors)", ma.ContentDigest, md.ContentDigest, m2.ContentDigest, ma.ConnectorCount)
	}
	if ma.Source != m2.Source || len(ma.Skipped) != len(m2.Skipped) {
		t.Errorf("pack lost the metadata: %+v / %+v", ma.Source, m2.Source)
	}

	exported := filepath.Join(tmp, "exported")
	cliWant(t, 0, append([]string{"export", "--format", "dir", "-o", exported}, tenantArgs(srv)...)...)
	if me := manifestOf(t, exported); me.ContentDigest != ma.ContentDigest {
		t.Fatalf("export --format dir digest %s, archive export %s", me.ContentDigest, ma.ContentDigest)
	}
	if out, _ := cliWant(t, 0, "diff", exported, arch); out != "" {
		t.Errorf("diff DIR ARCHIVE of one tenant printed:\n%s", out)
	}
	if out, _ := cliWant(t, 0, "diff", "--format", "markdown", arch, exported); !strings.Contains(out, "**No differences.**") {
		t.Errorf("diff --format markdown ARCHIVE DIR of one tenant:\n%s", out)
	}
	cliWant(t, 0, append(append([]string{"diff"}, tenantArgs(srv)...), exported, "tenant:")...)
	out, _ := cliWant(t, 0, "ls", exported)
	if !strings.Contains(out, "snapshot directory") || !strings.Contains(out, ma.ContentDigest) {
		t.Errorf("ls DIR:\n%s", out)
	}
	out, _ = cliWant(t, 0, "verify", exported, arch)
	if strings.Count(out, ": ok (") != 2 || strings.Contains(out, "changed since") {
		t.Errorf("verify DIR ARCHIVE:\n%s", out)
	}
}

// In a Git working tree: export, commit, export again with nothing changed:
// `git status --porcelain` is empty.
func TestGitopsReexportLeavesGitClean(t *testing.T) {
	clearSailEnv(t)
	gitBin, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is missing; CI needs it for this test")
		}
		t.Skip("no git on PATH")
	}
	srv := spectest.Start(t, sandbox.Options{})
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	git("init", "-q")
	if err := os.WriteFile(filepath.Join(repo, "README.md"), []byte("connectors as code\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo, "prod")
	cliWant(t, 0, append([]string{"export", "--format", "dir", "-o", dir}, tenantArgs(srv)...)...)
	git("add", "-A")
	git("commit", "-q", "-m", "first export")
	cliWant(t, 0, append([]string{"export", "--format", "dir", "-o", dir}, tenantArgs(srv)...)...)
	if st := git("status", "--porcelain"); st != "" {
		t.Fatalf("an export of an unchanged tenant changed the working tree:\n%s", st)
	}
	// A change in the tenant shows up as exactly its files: the new locale
	// and the detail, which repeats every translation.
	sn := srv.Tenant.ScriptNames()[0]
	if err := srv.Tenant.PutTranslationDirect(sn, "it", []byte("title=Connettore\n")); err != nil {
		t.Fatal(err)
	}
	cliWant(t, 0, append([]string{"export", "--format", "dir", "-o", dir}, tenantArgs(srv)...)...)
	st := git("status", "--porcelain")
	want := " M prod/connectors/" + sn + "/detail.json\n M prod/manifest.json\n?? prod/connectors/" + sn + "/translations/it.properties\n"
	if st != want {
		t.Fatalf("git status after one new translation:\n%s\nwant\n%s", st, want)
	}
}

// One XML document edited by hand: `diff DIR tenant:` shows exactly that
// edit in text, Markdown and HTML, exit 1; `restore DIR --yes` makes exactly
// one write, a PUT of that document; the tenant's document then equals the
// file byte for byte, and `diff` exits 0.
func TestGitopsHandEditRestored(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "prod")
	cliWant(t, 0, append([]string{"export", "--format", "dir", "-o", dir}, tenantArgs(srv)...)...)
	snap, err := archive.ReadDir(dir, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var c *archive.Connector
	for _, x := range snap.Connectors {
		if len(x.SourceTemplate) > 0 && bytes.Contains(x.SourceTemplate, []byte("</Application>")) {
			c = x
			break
		}
	}
	if c == nil {
		t.Fatal("no connector with a source template in the sandbox")
	}
	file := filepath.Join(dir, "connectors", c.ScriptName, "source-template.xml")
	// Whitespace a serialiser would normalise, to prove nothing is.
	const added = "  <!-- page size raised for the nightly aggregation -->\t "
	edited := bytes.Replace(c.SourceTemplate, []byte("</Application>"), []byte(added+"\n</Application>"), 1)
	if err := os.WriteFile(file, edited, 0o644); err != nil {
		t.Fatal(err)
	}

	out, _ := cliWant(t, 0, "verify", dir)
	if !strings.Contains(out, "1 file(s) changed since the export") || !strings.Contains(out, "modified connectors/"+c.ScriptName+"/source-template.xml") {
		t.Errorf("verify DIR after one edit:\n%s", out)
	}

	diffArgs := func(format string) []string {
		return append(append([]string{"diff", "--format", format}, tenantArgs(srv)...), "tenant:", dir)
	}
	text, _ := cliWant(t, 1, diffArgs("text")...)
	var plus []string
	for _, l := range strings.Split(text, "\n") {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			plus = append(plus, l)
		}
	}
	if len(plus) != 1 || plus[0] != "+"+added {
		t.Errorf("text diff changed lines %q, want only %q\n%s", plus, "+"+added, text)
	}
	if !strings.Contains(text, "--- a/"+c.ScriptName+"/source-template.xml") {
		t.Errorf("text diff does not name the document:\n%s", text)
	}
	jsonOut, _ := cliWant(t, 1, diffArgs("json")...)
	var jr struct {
		Summary struct {
			Connectors struct{ Changed, Added, Removed int } `json:"connectors"`
		} `json:"summary"`
		Connectors []struct {
			Status  string `json:"status"`
			Changes []struct {
				Path string `json:"path"`
			} `json:"changes"`
		} `json:"connectors"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &jr); err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, jc := range jr.Connectors {
		for _, ch := range jc.Changes {
			changes++
			if ch.Path != "source-template" {
				t.Errorf("unexpected change %q", ch.Path)
			}
		}
	}
	if s := jr.Summary.Connectors; s.Changed != 1 || s.Added+s.Removed != 0 || changes != 1 {
		t.Errorf("json diff: %+v with %d changes, want one changed connector with one change", s, changes)
	}
	md, _ := cliWant(t, 1, diffArgs("markdown")...)
	if strings.Count(md, "<details>") != 1 || !strings.Contains(md, "\n+"+added+"\n") || !strings.Contains(md, "```diff\n--- a/"+c.ScriptName+"/source-template.xml") {
		t.Errorf("markdown diff:\n%s", md)
	}
	page, _ := cliWant(t, 1, diffArgs("html")...)
	if strings.Count(page, "<details class=\"conn\"") != 1 || strings.Count(page, "<tr class=\"add\">") != 1 ||
		strings.Contains(page, "<!-- page size raised") || !strings.Contains(page, "&lt;!-- page size raised for the nightly aggregation --&gt;\t </td>") {
		t.Errorf("html diff does not show exactly the edit, escaped:\n%s", page)
	}
	plan, _ := cliWant(t, 0, append(append([]string{"restore", "--dry-run", "--format", "markdown"}, tenantArgs(srv)...), dir)...)
	if !strings.Contains(plan, "1 to update") || !strings.Contains(plan, "write source-template (modify)") || !strings.Contains(plan, "\n+"+added+"\n") {
		t.Errorf("restore --dry-run --format markdown:\n%s", plan)
	}

	before := srv.Tenant.Stats()
	code, rep, stderr := restore(t, srv, dir)
	if code != 0 || rep.Summary.Updated != 1 {
		t.Fatalf("restore DIR: exit %d, %+v\n%s", code, rep.Summary, stderr)
	}
	after := srv.Tenant.Stats()
	if n := after.Writes - before.Writes; n != 1 || after.WritesByOp["putConnectorSourceTemplate"]-before.WritesByOp["putConnectorSourceTemplate"] != 1 {
		t.Fatalf("restore made %d writes (%v -> %v), want exactly one PUT of the source template", n, before.WritesByOp, after.WritesByOp)
	}
	check := filepath.Join(tmp, "check.tar.zst")
	cliWant(t, 0, append([]string{"export", "-o", check, "--no-list", "--script-name", c.ScriptName}, tenantArgs(srv)...)...)
	got, err := archive.ReadFile(check, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Connectors) != 1 || !bytes.Equal(got.Connectors[0].SourceTemplate, edited) {
		t.Fatalf("the tenant's source template is not the file byte for byte:\n%q\nwant\n%q", got.Connectors[0].SourceTemplate, edited)
	}
	cliWant(t, 0, diffArgs("text")...)
}

// promote --from DIR promotes a snapshot directory as it is (edits
// included) onto a named tenant, and verifies the target against it.
func TestGitopsPromoteFromDir(t *testing.T) {
	e, a, b := promotePair(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "a") // a tenant is called a too: the path form says which is meant
	code, stdout, stderr := e.run(append([]string{"export", "--tenant", "a", "--format", "dir", "-o", dir, "--rate", "0", "--filters", customFilter}, scriptNameArgs(a)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	archives := filepath.Join(tmp, "archives")
	if err := os.Mkdir(archives, 0o700); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = e.run("promote", "--from", dir+string(filepath.Separator), "--to", "b", "--rate", "0", "--archive-dir", archives, "--yes")
	if code != 0 || !strings.Contains(stdout, "+ create ") || !strings.Contains(stderr, "verified: b matches") {
		t.Fatalf("promote --from DIR: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, out := diffExit(t, b, dir); code != 0 {
		t.Fatalf("diff DIR tenant:b after the promotion: exit %d\n%s", code, out)
	}
	if a.Tenant.Stats().Writes != 0 {
		t.Error("the promotion wrote to the tenant the directory came from")
	}
	code, _, stderr = e.run("promote", "--from", dir, "--filters", "x", "--to", "b", "--dry-run")
	if code != 2 || !strings.Contains(stderr, "snapshot") {
		t.Errorf("--filters with a snapshot source: exit %d\n%s", code, stderr)
	}
}

func scriptNameArgs(srv *sandbox.Server) []string {
	var args []string
	for _, sn := range hiddenCustom(srv.Tenant) {
		args = append(args, "--script-name", sn)
	}
	return args
}

// TestPackAndUnpackRefuseSwappedOperands: operands of the wrong kind (a
// directory where an archive is read, an archive name where a directory is
// written, and the reverse for pack) are a usage error with a hint, and
// nothing is created.
func TestPackAndUnpackRefuseSwappedOperands(t *testing.T) {
	clearSailEnv(t)
	tmp := t.TempDir()
	dir, arc := filepath.Join(tmp, "outdir"), filepath.Join(tmp, "a.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "--format", "dir", "-o", dir); code != 0 {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", arc); code != 0 {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		hint string
		made string
	}{
		{[]string{"unpack", dir, filepath.Join(tmp, "new.tar.zst")}, "did you mean `connvault pack", filepath.Join(tmp, "new.tar.zst")},
		{[]string{"unpack", arc, filepath.Join(tmp, "x.tar.zst")}, "did you mean `connvault pack", filepath.Join(tmp, "x.tar.zst")},
		{[]string{"pack", arc, filepath.Join(tmp, "newdir")}, "did you mean `connvault unpack", filepath.Join(tmp, "newdir")},
		{[]string{"pack", dir, dir}, "did you mean `connvault unpack", ""},
	} {
		code, _, stderr := runCLI(t, t.Context(), tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.hint) {
			t.Errorf("%v: exit %d, want 2 with %q\n%s", tc.args, code, tc.hint, stderr)
		}
		if tc.made != "" {
			if _, err := os.Lstat(tc.made); err == nil {
				t.Errorf("%v created %s", tc.args, tc.made)
			}
		}
	}
}

// TestDirectoryDetailShowsAnEditOnce: in the directory form detail.json is
// one field per line and holds no copy of a document stored beside it, so
// editing source-config.xml changes that one file on disk; pack of the
// unpacked archive keeps its content digest.
func TestDirectoryDetailShowsAnEditOnce(t *testing.T) {
	a, b := snapshotPair(t)
	detail, err := os.ReadFile(filepath.Join(b, "connectors", "workday", "detail.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(detail), "\n") < 10 || !strings.Contains(string(detail), `"sourceConfigXml": {"connvault:file":"source-config.xml"}`) {
		t.Fatalf("detail.json is not in the directory form:\n%.600s", detail)
	}
	before := treeFiles(t, b)
	editFile(t, filepath.Join(b, "connectors", "workday", "source-config.xml"), func(s string) string {
		return s + "<!-- edited -->\n"
	})
	changed := 0
	for p, c := range treeFiles(t, b) {
		if before[p] != c {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d files changed on disk for one edited document, want 1", changed)
	}
	code, stdout, stderr := runCLI(t, t.Context(), "diff", a, b)
	if code != 1 || !strings.Contains(stdout, "<!-- edited -->") {
		t.Errorf("diff after the edit: exit %d\n%s%s", code, stdout, stderr)
	}
	// Archive → directory → archive: the same content digest.
	arc := filepath.Join(t.TempDir(), "a.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "pack", a, arc); code != 0 {
		t.Fatalf("pack: %d\n%s", code, stderr)
	}
	un := filepath.Join(t.TempDir(), "un")
	if code, _, stderr := runCLI(t, t.Context(), "unpack", arc, un); code != 0 {
		t.Fatalf("unpack: %d\n%s", code, stderr)
	}
	arc2 := filepath.Join(t.TempDir(), "b.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "pack", un, arc2); code != 0 {
		t.Fatalf("pack: %d\n%s", code, stderr)
	}
	m1, _ := archive.ReadManifest(arc)
	m2, _ := archive.ReadManifest(arc2)
	if m1 == nil || m2 == nil || m1.ContentDigest != m2.ContentDigest {
		t.Errorf("digests differ after unpack and pack: %v %v", m1, m2)
	}
}

// treeFiles maps every file under dir to its content.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
