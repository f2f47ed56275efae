// Package examples holds the configurations users copy (cron, systemd,
// Kubernetes, GitHub Actions, GitLab CI); the docs show them verbatim. Its
// tests check that the docs and the files agree, and run each file past the
// tool that will run it.
package examples_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// need returns the path of a checking tool, or skips the test when it is
// missing; on CI (CI=true, where .ci/run installs them) a missing tool fails.
func need(t *testing.T, tool string, extra ...string) string {
	t.Helper()
	for _, p := range append(extra, tool) {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; .ci/run installs it", tool)
	}
	t.Skipf("%s is not installed", tool)
	return ""
}

// exampleFiles lists every file under examples/ but this package's own.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") || p == "README.md" {
			return err
		}
		out = append(out, filepath.ToSlash(p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// shownBlock finds, in a Markdown document, each link to ../examples/FILE
// that stands on its own line right before a fenced block, and the block.
var exampleLink = regexp.MustCompile(`^File: \[[^\]]*\]\(\.\./examples/([^)]+)\)`)

func shownBlocks(t *testing.T, doc string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := 0; i < len(lines); i++ {
		m := exampleLink.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j >= len(lines) || !strings.HasPrefix(lines[j], "```") {
			t.Errorf("%s:%d: the link to examples/%s is not followed by a code block", doc, i+1, m[1])
			continue
		}
		var block strings.Builder
		k := j + 1
		for k < len(lines) && lines[k] != "```" {
			block.WriteString(lines[k] + "\n")
			k++
		}
		out[m[1]] = append(out[m[1]], block.String())
		i = k
	}
	return out
}

// TestDocsShowEveryExampleVerbatim: every file under examples/ is shown in
// the docs, each block that names a file is that file byte for byte, and no
// doc names a file that does not exist.
func TestDocsShowEveryExampleVerbatim(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, doc := range append(docs, "../README.md") {
		for name, blocks := range shownBlocks(t, doc) {
			want, err := os.ReadFile(name)
			if err != nil {
				t.Errorf("%s shows examples/%s, which does not exist", doc, name)
				continue
			}
			for _, b := range blocks {
				if b != string(want) {
					t.Errorf("%s: the block shown as examples/%s differs from the file; copy the file into the doc", doc, name)
				}
			}
			shown[name] = true
		}
	}
	for _, f := range exampleFiles(t) {
		if !shown[f] {
			t.Errorf("examples/%s is shown in no doc", f)
		}
	}
}

// TestGitHubWorkflowsPassActionlint: actionlint (which runs shellcheck on
// every run: script) reports nothing.
func TestGitHubWorkflowsPassActionlint(t *testing.T) {
	actionlint := need(t, "actionlint")
	files, _ := filepath.Glob("github-actions/*.yml")
	out, err := exec.Command(actionlint, append([]string{"-shellcheck", shellcheckOrEmpty()}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
}

func shellcheckOrEmpty() string {
	p, _ := exec.LookPath("shellcheck")
	return p
}

// TestShellScriptsPassShellcheck: the cron script is clean for shellcheck.
func TestShellScriptsPassShellcheck(t *testing.T) {
	shellcheck := need(t, "shellcheck")
	out, err := exec.Command(shellcheck, "--shell=sh", "cron/nightly").CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck cron/nightly: %v\n%s", err, out)
	}
}

// TestGitLabPipelinesPassGitLabsSchema: gitlab-ci-local (GitLab's CI
// schema, plus its own checks of what GitLab refuses, such as a script line
// that YAML reads as a mapping) accepts each pipeline.
func TestGitLabPipelinesPassGitLabsSchema(t *testing.T) {
	gcl := need(t, "gitlab-ci-local")
	files, _ := filepath.Glob("gitlab-ci/*.yml")
	for _, f := range files {
		dir := t.TempDir()
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", "https://gitlab.example.com/acme/connectors.git"},
			{"add", "."}, {"-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "pipeline"}} {
			if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		cmd := exec.Command(gcl, "--list")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "json schema validated") {
			t.Errorf("gitlab-ci-local --list %s: %v\n%s", f, err, out)
		}
	}
}

// TestSystemdUnitsVerify: systemd-analyze verify accepts the service and
// timer, with ExecStart pointed at a real connvault binary.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	bin := connvaultBinary(t)
	dir := t.TempDir()
	for _, name := range []string{"connvault-export@.service", "connvault-export@.timer"} {
		raw, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		unit := strings.ReplaceAll(string(raw), "/usr/local/bin/connvault", bin)
		// The failure notifier the service names is the user's own unit.
		unit = strings.ReplaceAll(unit, "OnFailure=notify-failure@%n.service\n", "")
		if err := os.WriteFile(filepath.Join(dir, strings.Replace(name, "@", "@acme", 1)), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "connvault-export@acme.env"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "connvault-export@acme.service"), filepath.Join(dir, "connvault-export@acme.timer"))
	out, err := cmd.CombinedOutput()
	// Lines about the host's own units are not ours.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "connvault") {
			ours = append(ours, l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// connvaultBinary builds connvault once for the tests that run it as a user
// would.
func connvaultBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "connvault-examples-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "connvault")
		binOut, binErr = exec.Command("go", "build", "-o", binPath, "..").CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build: %v\n%s", binErr, binOut)
	}
	return binPath
}
