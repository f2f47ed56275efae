package command

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/tenants"
)

// manPage is connvault(1) in roff (man(7)), made from the command
// definitions: NAME, SYNOPSIS, DESCRIPTION, one subsection per command with
// its operands, own flags and exit codes, the global flags once,
// ENVIRONMENT, FILES, EXIT STATUS and EXAMPLES. Text lines are kept under 80
// bytes and everything is escaped, so `mandoc -T lint` has nothing to say.
func manPage(app *cli.App, date time.Time) string {
	m := &roff{}
	m.req(".TH CONNVAULT 1 \"%s\" %s %s", date.Format("2006-01-02"), quoteArg("connvault "+readBuildInfo().Version), quoteArg("User Commands"))
	m.req(".SH NAME")
	for _, l := range wrap("connvault \\- "+esc(app.Usage), 78) {
		m.text(l)
	}
	m.req(".SH SYNOPSIS")
	m.req(".B connvault")
	m.text("[\\fIglobal flags\\fR] \\fIcommand\\fR [\\fIflags\\fR] [\\fIoperands\\fR]")
	m.req(".SH DESCRIPTION")
	m.para(app.Description)
	m.para("Flags may stand before or after the command's name and its operands. " +
		"Each command's --help shows the same as its section here.")
	m.req(".SH COMMANDS")
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		m.command([]string{"connvault"}, c)
	}
	m.req(".SH GLOBAL FLAGS")
	m.para("Accepted before or after any command. Each setting is resolved once: " +
		"a flag beats the environment, which beats the tenants file, which beats the default " +
		"(connvault settings shows where each came from).")
	m.flags(app.Flags)
	m.req(".SH ENVIRONMENT")
	for _, v := range []struct{ name, what string }{
		{settings.EnvBaseURL, "the tenant's API base URL, e.g. https://acme.api.identitynow.com (as --base-url)"},
		{settings.EnvClientID, "the personal access token's client id (as --client-id)"},
		{settings.EnvClientSecret, "its client secret; prefer " + settings.EnvClientSecretFile},
		{settings.EnvClientSecretFile, "a file holding the client secret (as --client-secret-file)"},
	} {
		m.tagged(v.name, v.what)
	}
	for _, sp := range settings.Specs {
		if sp.Env != "" && !strings.HasPrefix(sp.Env, "SAIL_CLIENT") && sp.Env != settings.EnvBaseURL {
			m.tagged(sp.Env, "as --"+sp.Flag)
		}
	}
	m.tagged("NO_COLOR", "when set, no colour in the text reports")
	m.tagged("CONNVAULT_CPUPROFILE", "write a CPU profile of the run to this file")
	m.tagged("AWS_*, AZURE_*, GOOGLE_APPLICATION_CREDENTIALS", "credentials for bucket URLs, as each cloud's own tools read them")
	m.req(".SH FILES")
	m.tagged("~/.config/connvault/tenants.json", "the named tenants (--config, $"+tenants.EnvConfig+"): base URL, client id and where each secret comes from, never the secret")
	m.tagged("~/.local/state/connvault/promote", "where promote keeps its archives (--archive-dir)")
	m.tagged("DIR/.connvault.lock", "the lock a run holds on a directory of archives")
	m.req(".SH EXIT STATUS")
	for _, e := range []struct{ code, what string }{
		{"0", "success (diff: no differences)"},
		{"1", "error (diff: differences found)"},
		{"2", "usage error: bad flags or operands, a missing operand or destination, missing settings (diff: any error)"},
		{"3", "partial: some connectors failed, the rest were done and reported"},
		{"130", "interrupted (SIGINT, SIGTERM); nothing is left half-written"},
	} {
		m.tagged(e.code, e.what)
	}
	m.req(".SH EXAMPLES")
	for _, ex := range []struct{ what, cmd string }{
		{"Try it against the built-in sandbox tenant:", "connvault export --sandbox -o demo.tar.zst --force"},
		{"A nightly backup with retention:", "connvault export --output-dir /var/backups/connvault --keep-going\nconnvault prune /var/backups/connvault --keep-daily 7 --keep-weekly 5"},
		{"What changed in the tenant since last night:", "connvault diff nightly.tar.zst tenant:"},
		{"Promote from dev to a protected prod:", "connvault promote --from dev --to prod --yes-protected prod"},
	} {
		m.para(ex.what)
		m.req(".PP")
		m.req(".RS 4")
		m.req(".nf")
		for _, l := range strings.Split(ex.cmd, "\n") {
			m.text(esc(l))
		}
		m.req(".fi")
		m.req(".RE")
	}
	m.req(".SH SEE ALSO")
	m.para("The README and docs/ of the source repository: archive format, diff and restore formats, " +
		"scheduling, GitOps.")
	return m.String()
}

// command writes one command's subsection, then its subcommands'.
func (m *roff) command(prefix []string, c *cli.Command) {
	name := strings.Join(append(slices.Clone(prefix), c.Name), " ")
	head := name
	if a := strings.TrimSpace(c.ArgsUsage); a != "" {
		if i := strings.Index(a, "  "); i > 0 {
			a = a[:i] // the operands, without their explanation
		}
		head += " " + a
	}
	m.req(".SS %s", quoteArg(head))
	m.para(c.Usage + ".")
	if d := strings.TrimSpace(c.Description); d != "" {
		m.para(strings.Replace(d, "Exit codes:", "\n\nExit codes:", 1))
	}
	if a := strings.TrimSpace(c.ArgsUsage); strings.Contains(a, "  ") {
		m.para("Operands: " + strings.TrimSpace(a[strings.Index(a, "  "):]))
	}
	own := ownFlags(c.Flags)
	if len(own) > 0 {
		m.req(".PP")
		m.text("Flags:")
		m.flags(own)
	}
	for _, sub := range c.Subcommands {
		if !sub.Hidden && sub.Name != "help" {
			m.command(append(slices.Clone(prefix), c.Name), sub)
		}
	}
}

// ownFlags are a command's flags without the global ones it also carries.
func ownFlags(flags []cli.Flag) []cli.Flag {
	global := map[string]bool{}
	for _, g := range globalFlags() {
		global[g.Names()[0]] = true
	}
	var out []cli.Flag
	for _, f := range flags {
		if !global[f.Names()[0]] && f.Names()[0] != "help" {
			out = append(out, f)
		}
	}
	return out
}

// flags writes a tagged paragraph per flag: its names, a value placeholder
// for flags that take one, and its usage.
func (m *roff) flags(flags []cli.Flag) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		placeholder, usage := unquoteUsage(df.GetUsage())
		var names []string
		for _, n := range f.Names() {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			names = append(names, "\\fB"+dash+esc(n)+"\\fR")
		}
		tag := strings.Join(names, ", ")
		if df.TakesValue() {
			if placeholder == "" {
				placeholder = "VALUE"
			}
			tag += " \\fI" + esc(placeholder) + "\\fR"
		}
		m.req(".TP")
		m.text(tag)
		m.para(usage)
	}
}

// tagged is an indented paragraph headed by tag.
func (m *roff) tagged(tag, what string) {
	m.req(".TP")
	m.text("\\fB" + esc(tag) + "\\fR")
	m.para(what)
}

// unquoteUsage is urfave/cli's rule for a flag's usage text: the first
// `backquoted` word names its value, and is kept in the text.
func unquoteUsage(usage string) (placeholder, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}

// roff builds the page line by line.
type roff struct{ b strings.Builder }

func (m *roff) String() string { return m.b.String() }

func (m *roff) req(format string, a ...any) {
	fmt.Fprintf(&m.b, format, a...)
	m.b.WriteByte('\n')
}

// text writes a line as it is (already escaped).
func (m *roff) text(line string) {
	if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
		line = "\\&" + line
	}
	m.b.WriteString(line)
	m.b.WriteByte('\n')
}

// para writes prose, escaped and wrapped under 80 bytes; a blank line in it
// starts a new paragraph.
func (m *roff) para(s string) {
	first := true
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if !first {
			m.req(".PP")
		}
		first = false
		for _, l := range wrap(esc(strings.Join(strings.Fields(p), " ")), 78) {
			m.text(l)
		}
	}
}

// wrap breaks s at spaces into lines of at most width bytes (a longer word
// stands alone).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// esc makes text safe for roff: backslashes and hyphens escaped, quotes of
// the typewriter kind kept.
func esc(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	s = strings.ReplaceAll(s, "-", "\\-")
	return s
}

// quoteArg is a macro argument in double quotes.
func quoteArg(s string) string {
	return "\"" + strings.ReplaceAll(esc(s), "\"", "\\(dq") + "\""
}
