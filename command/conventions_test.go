package command

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/apiclient"
)

// Every command's --help lists its exit codes.
func TestEveryHelpListsExitCodes(t *testing.T) {
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			args := append(append([]string{}, prefix...), c.Name, "--help")
			code, stdout, stderr := runCLI(t, t.Context(), args...)
			if code != 0 || !strings.Contains(stdout, "Exit code") {
				t.Errorf("%v: exit %d, help without exit codes\n%s%s", args, code, stdout, stderr)
			}
			walk(append(append([]string{}, prefix...), c.Name), c.Subcommands)
		}
	}
	app := newApp(nil, nil, nil)
	walk(nil, app.Commands)
	if _, stdout, _ := runCLI(t, t.Context(), "--help"); !strings.Contains(stdout, "Exit codes") {
		t.Errorf("connvault --help lists no exit codes:\n%s", stdout)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "complete -F _connvault_complete connvault",
		"zsh":        "compdef _connvault_complete connvault",
		"fish":       "complete -c connvault",
		"powershell": "Register-ArgumentCompleter -Native -CommandName connvault",
	} {
		code, stdout, stderr := runCLI(t, t.Context(), "completion", shell)
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("completion %s: exit %d, lacks %q\n%s", shell, code, want, stderr)
		}
	}
	if code, _, stderr := runCLI(t, t.Context(), "completion", "tcsh"); code != exitUsage || !strings.Contains(stderr, "bash, zsh, fish or powershell") {
		t.Errorf("completion tcsh: exit %d\n%s", code, stderr)
	}
	// The powershell script asks urfave/cli's own way: that answer works.
	code, stdout, _ := runBinary(t, nil, "--generate-bash-completion")
	if code != 0 || !strings.Contains(stdout, "restore") || !strings.Contains(stdout, "promote") {
		t.Errorf("--generate-bash-completion: exit %d\n%s", code, stdout)
	}
}

// completionCases are what a Tab offers after a command line, in every
// shell: the words that must be among the candidates, and whether paths are
// completed too (":files").
var completionCases = []struct {
	line string   // the words before the cursor, then the word being typed
	want []string // all must be offered
	not  []string // none may be
}{
	{"connvault ex", []string{"export"}, []string{"diff"}},
	{"connvault --sandbox ex", []string{"export"}, nil},
	{"connvault export --f", []string{"--format", "--force", "--filters", "--from-detail"}, []string{"--output"}},
	{"connvault export -", []string{"--output", "--sandbox", "--tenant"}, []string{"--generate-bash-completion"}},
	{"connvault export --format ", []string{"archive", "dir"}, []string{"html"}},
	{"connvault diff --format ", []string{"text", "json", "markdown", "html"}, nil},
	{"connvault --api-version ", []string{"auto", "v1", "v3"}, nil},
	{"connvault restore --progress ", []string{"auto", "always", "never"}, nil},
	{"connvault --log-format ", []string{"text", "json"}, nil},
	{"connvault diff --color ", []string{"auto", "always", "never"}, nil},
	{"connvault export --tenant ", []string{"dev", "prod"}, nil},
	{"connvault diff tenant", []string{"tenant:", "tenant:dev", "tenant:prod"}, nil},
	{"connvault tenants ", []string{"add", "rm", "ls"}, nil},
	{"connvault ls " + "COMPDIR/sn", []string{"COMPDIR/snap.tar.zst"}, nil},
	{"connvault export --client-secret-file " + "COMPDIR/sn", []string{"COMPDIR/snap.tar.zst"}, nil},
}

// completionEnv is a PATH with the built connvault, a tenants file with dev
// and prod, and a directory holding snap.tar.zst to complete paths in.
func completionEnv(t *testing.T) (env []string, dir string) {
	t.Helper()
	dir = t.TempDir()
	conf := filepath.Join(dir, "tenants.json")
	if err := os.WriteFile(conf, []byte(`{"version": 1, "tenants": [
		{"name": "dev", "baseUrl": "https://acme-dev.api.identitynow.com", "clientId": "d", "clientSecretEnv": "D"},
		{"name": "prod", "baseUrl": "https://acme.api.identitynow.com", "clientId": "p", "clientSecretEnv": "P"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snap.tar.zst"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + filepath.Dir(builtBinary(t)) + ":/usr/bin:/bin", "HOME=" + dir, "CONNVAULT_CONFIG=" + conf, "TERM=dumb"}, dir
}

// runShell runs script in shell and returns its output lines.
func runShell(t *testing.T, env []string, shell string, args ...string) []string {
	t.Helper()
	path, err := exec.LookPath(shell)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs it", shell)
		}
		t.Skipf("%s is not installed", shell)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func checkOffered(t *testing.T, shell, line string, got, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: Tab after %q offers %q, lacking %q", shell, line, got, w)
		}
	}
	for _, n := range not {
		if slices.Contains(got, n) {
			t.Errorf("%s: Tab after %q offers %q, which it should not", shell, line, n)
		}
	}
}

// eachCompletion writes connvault's script for shell and, for every
// completion case, has offered run the shell as a Tab would (given the
// environment, the script's path, the command line and its words quoted for
// a shell) and checks what it offers.
func eachCompletion(t *testing.T, shell string, offered func(env []string, script, line string, words []string, quoted string) []string) {
	env, dir := completionEnv(t)
	script := filepath.Join(dir, "c."+shell)
	if code, out, _ := runCLI(t, t.Context(), "completion", shell); code != 0 || os.WriteFile(script, []byte(out), 0o600) != nil {
		t.Fatal("completion " + shell)
	}
	for _, tc := range completionCases {
		line := strings.ReplaceAll(tc.line, "COMPDIR", dir)
		words := strings.Split(line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		got := offered(env, script, line, words, strings.Join(quoted, " "))
		checkOffered(t, shell, line, got, strings.Split(strings.ReplaceAll(strings.Join(tc.want, "\n"), "COMPDIR", dir), "\n"), tc.not)
	}
}

// TestCompletionInBash runs the bash script in bash without the
// bash-completion package, as a Tab would call it.
func TestCompletionInBash(t *testing.T) {
	eachCompletion(t, "bash", func(env []string, script, _ string, words []string, quoted string) []string {
		prog := fmt.Sprintf("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _connvault_complete; printf '%%s\\n' \"${COMPREPLY[@]}\"", script, quoted, len(words)-1)
		return runShell(t, env, "bash", "--norc", "--noprofile", "-c", prog)
	})
}

// TestCompletionInFish asks real fish what a Tab offers (complete -C).
func TestCompletionInFish(t *testing.T) {
	eachCompletion(t, "fish", func(env []string, script, line string, _ []string, _ string) []string {
		got := runShell(t, env, "fish", "--no-config", "-c", fmt.Sprintf("source %s; complete -C %q", script, line))
		for i, g := range got {
			got[i], _, _ = strings.Cut(g, "\t") // fish appends a description after a tab
		}
		return got
	})
}

// TestCompletionInZsh runs the zsh function in real zsh with the words and
// CURRENT a Tab sets; compadd and _files, which only exist inside zsh's
// completion system, are replaced by functions that print what they get.
func TestCompletionInZsh(t *testing.T) {
	eachCompletion(t, "zsh", func(env []string, script, _ string, words []string, quoted string) []string {
		prog := fmt.Sprintf("compdef(){ :; }; compadd(){ [[ $1 == -- ]] && shift; print -l -- \"$@\"; }; "+
			"_files(){ print -l -- %s*(N); }; source %s; words=(%s); CURRENT=%d; _connvault_complete",
			"${words[CURRENT]}", script, quoted, len(words))
		return runShell(t, env, "zsh", "-f", "-c", prog)
	})
}

// The man page is made from the command definitions and is a manual: its
// sections, every command with its operands, flags and exit codes, the
// global flags once, text that survives roff (<tenant>), a dated .TH, and
// nothing for mandoc -T lint to say.
func TestManPage(t *testing.T) {
	code, page, stderr := runCLI(t, t.Context(), "man")
	if code != 0 || !regexp.MustCompile(`(?m)^\.TH CONNVAULT 1 "\d{4}-\d{2}-\d{2}" `).MatchString(page) {
		t.Fatalf("man: exit %d, no dated .TH\n%s%s", code, page[:min(len(page), 300)], stderr)
	}
	for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL FLAGS", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES"} {
		if !strings.Contains(page, "\n.SH "+sec+"\n") && !strings.Contains(page, "\n.SH \""+sec+"\"\n") {
			t.Errorf("the man page lacks the section %s", sec)
		}
	}
	app := newApp(nil, nil, nil)
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		if !strings.Contains(page, ".SS \"connvault "+c.Name) {
			t.Errorf("the man page has no section for %s", c.Name)
		}
	}
	for _, f := range []string{`\fB\-\-yes\-protected\fR`, `\fB\-\-output\-dir\fR`, `\fB\-\-keep\-daily\fR`, `\fB\-\-api\-version\fR`} {
		if !strings.Contains(page, f) {
			t.Errorf("the man page lacks the flag %s", f)
		}
	}
	if n := strings.Count(page, `\fB\-\-base\-url\fR`); n != 1 {
		t.Errorf("--base-url is listed %d times, want once (under GLOBAL FLAGS)", n)
	}
	if !strings.Contains(page, "<tenant>\\-connectors\\-<UTC time>.tar.zst") {
		t.Errorf("the archive name pattern lost its <tenant> and <UTC time>")
	}
	if n := strings.Count(page, "Exit codes:"); n < len(app.Commands)-2 {
		t.Errorf("only %d command sections give their exit codes", n)
	}
	mandoc, err := exec.LookPath("mandoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mandoc is not installed; .ci/run installs it")
		}
		t.Skip("mandoc is not installed")
	}
	cmd := exec.Command(mandoc, "-T", "lint")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("mandoc -T lint: %v\n%s", err, out)
	}
}

// A boolean flag takes no value, so its usage has no `backquoted` word,
// which urfave/cli would show as a value placeholder.
func TestBooleanFlagsShowNoPlaceholder(t *testing.T) {
	app := newApp(nil, nil, nil)
	var walk func([]*cli.Command)
	check := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			if b, ok := f.(*cli.BoolFlag); ok && strings.Contains(b.Usage, "`") {
				t.Errorf("%s --%s: its usage has a backquoted word: %q", where, b.Name, b.Usage)
			}
		}
	}
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			check(c.Name, c.Flags)
			walk(c.Subcommands)
		}
	}
	check("connvault", app.Flags)
	walk(app.Commands)
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, t.Context(), "--version")
	if code != 0 || !regexp.MustCompile(`^connvault version \S+ \(commit \S+, built \S+, go1\.\S+\)\n$`).MatchString(stdout) {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
	b := buildInfo{Version: "v1.2.3", Commit: "0123456789abcdef0123", Date: "2026-12-05T00:00:00Z", GoVersion: "go1.26.0", Modified: true}
	if got, want := b.String(), "v1.2.3 (commit 0123456789ab+modified, built 2026-12-05T00:00:00Z, go1.26.0)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestProgressFitsTheTerminal(t *testing.T) {
	st := apiclient.Stats{Requests: 123456, Retries: 12, RateLimited: 3}
	for _, width := range []int{200, 120, 80, 60, 40} {
		d := describeProgress(width, "exporting acme-sandbox-tenant", st)
		if len(d)+statsRoom > width && len(d) > 0 {
			t.Errorf("width %d: description %q leaves no room for the bar", width, d)
		}
	}
	if d := describeProgress(200, "exporting", st); !strings.Contains(d, "123456 requests") {
		t.Errorf("a wide terminal should show the counters: %q", d)
	}
}

func TestNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	if colorWanted(os.Stdout) {
		t.Error("NO_COLOR set, yet colour is wanted")
	}
}

// diff with no differences prints nothing on stdout, like diff(1).
func TestDiffSamePrintsNothing(t *testing.T) {
	clearSailEnv(t)
	out := filepath.Join(t.TempDir(), "a.tar.zst")
	if code, _, stderr := runCLI(t, t.Context(), "export", "--sandbox", "-o", out); code != 0 {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, t.Context(), "diff", out, out)
	if code != 0 || stdout != "" {
		t.Errorf("diff A A: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
}
