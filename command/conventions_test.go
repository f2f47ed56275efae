package command

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		"bash":       "complete -o bashdefault -o default -o nospace -F _cli_connvault_bash_autocomplete connvault",
		"zsh":        "compdef _cli_connvault_zsh_autocomplete connvault",
		"fish":       "complete -c connvault",
		"powershell": "Register-ArgumentCompleter -Native -CommandName connvault",
	} {
		code, stdout, stderr := runCLI(t, t.Context(), "completion", shell)
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("completion %s: exit %d, lacks %q\n%s", shell, code, want, stderr)
		}
		if shell == "fish" && !strings.Contains(stdout, "restore") {
			t.Errorf("fish completion lacks the commands")
		}
	}
	if code, _, stderr := runCLI(t, t.Context(), "completion", "tcsh"); code != exitUsage || !strings.Contains(stderr, "bash, zsh, fish or powershell") {
		t.Errorf("completion tcsh: exit %d\n%s", code, stderr)
	}
	// The scripts ask connvault for the words: that answer must work. It
	// reads os.Args (urfave/cli), so it is asked of the built program.
	code, stdout, _ := runBinary(t, nil, "--generate-bash-completion")
	if code != 0 || !strings.Contains(stdout, "restore") || !strings.Contains(stdout, "promote") {
		t.Errorf("--generate-bash-completion: exit %d\n%s", code, stdout)
	}
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
