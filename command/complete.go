package command

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/tenants"
)

// The shell scripts of `connvault completion` ask connvault itself what a
// Tab offers: `connvault __complete CUR WORD...` prints the candidates for
// the word being typed (CUR) after the words before it, one per line, and
// last the line ":files" when the shell should complete paths too. The scripts
// stay a few lines each and need nothing of the shell's completion
// packages.

// filesDirective tells the script to complete paths.
const filesDirective = ":files"

// flagChoices are the values of the flags that take one of a few.
var flagChoices = map[string][]string{
	"api-version": apiclient.APIVersions,
	"progress":    {"auto", "always", "never"},
	"log-level":   {"debug", "info", "warn", "error"},
	"log-format":  {"text", "json"},
	"color":       {"auto", "always", "never"},
	"match":       {"name", "scriptName"},
}

// formatChoices are each command's --format values.
var formatChoices = map[string][]string{
	"export":  {"archive", "dir"},
	"diff":    {"text", "json", "markdown", "html"},
	"restore": {"text", "json", "markdown", "html"},
}

// pathPlaceholders are the value names of flags that take a path.
var pathPlaceholders = []string{"FILE", "DIR", "PATH", "ARCHIVE"}

func completeCommand() *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Usage:           "print what a shell's Tab offers (used by the completion scripts)",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				args = []string{""}
			}
			return complete(c.App, c.App.Writer, args[0], args[1:], func() []string { return tenantNames(c) })
		},
	}
}

// complete writes the candidates for cur after words.
func complete(app *cli.App, w io.Writer, cur string, words []string, tenantNames func() []string) error {
	var cmd *cli.Command
	flags := app.Flags
	commands := app.Commands
	var want *cli.Flag
	for _, word := range words {
		if want != nil {
			want = nil // the word was a flag's value
			continue
		}
		if strings.HasPrefix(word, "-") {
			name, _, hasValue := strings.Cut(strings.TrimLeft(word, "-"), "=")
			if f := findFlag(flags, name); f != nil && takesValue(f) && !hasValue {
				want = &f
			}
			continue
		}
		if sub := findCommand(commands, word); sub != nil {
			cmd, flags, commands = sub, sub.Flags, sub.Subcommands
			if len(flags) == 0 {
				flags = app.Flags
			}
		}
	}
	var out []string
	switch {
	case want != nil:
		out = flagValues(*want, cmd, tenantNames)
	case strings.HasPrefix(cur, "-"):
		if name, _, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok {
			// --format=ma<Tab>: the values, with the flag in front.
			if f := findFlag(flags, name); f != nil {
				for _, v := range flagValues(f, cmd, tenantNames) {
					if v != filesDirective {
						out = append(out, "--"+name+"="+v)
					}
				}
			}
			break
		}
		for _, f := range flags {
			for _, n := range f.Names() {
				if n == "help" || n == "h" || n == "generate-bash-completion" {
					continue
				}
				if len(n) == 1 {
					out = append(out, "-"+n)
				} else {
					out = append(out, "--"+n)
				}
			}
		}
	case len(commands) > 0 && (cmd == nil || len(cmd.Subcommands) > 0):
		for _, c := range commands {
			if !c.Hidden && c.Name != "help" {
				out = append(out, c.Name)
			}
		}
	default:
		out = operandCandidates(cmd, tenantNames)
	}
	var matching []string
	files := false
	for _, o := range out {
		switch {
		case o == filesDirective:
			files = true
		case strings.HasPrefix(o, cur):
			matching = append(matching, o)
		}
	}
	if files {
		matching = append(matching, filesDirective) // last: "and paths too"
	}
	_, err := fmt.Fprint(w, strings.Join(matching, "\n")+"\n")
	return err
}

// flagValues are the candidates for a flag's value.
func flagValues(f cli.Flag, cmd *cli.Command, tenantNames func() []string) []string {
	name := f.Names()[0]
	if name == "format" && cmd != nil {
		return formatChoices[cmd.Name]
	}
	if v, ok := flagChoices[name]; ok {
		return v
	}
	switch name {
	case "tenant", "from", "to", "yes-protected":
		return tenantNames()
	}
	if df, ok := f.(cli.DocGenerationFlag); ok {
		if p, _ := unquoteUsage(df.GetUsage()); slices.Contains(pathPlaceholders, p) {
			return []string{filesDirective}
		}
	}
	return nil
}

// operandCandidates: diff's operands may be a live tenant; every command's
// operands are paths otherwise.
func operandCandidates(cmd *cli.Command, tenantNames func() []string) []string {
	if cmd != nil && cmd.Name == "diff" {
		out := []string{tenantOperand}
		for _, n := range tenantNames() {
			out = append(out, tenantOperand+n)
		}
		return append(out, filesDirective)
	}
	return []string{filesDirective}
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if slices.Contains(c.Names(), name) {
			return c
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	df, ok := f.(cli.DocGenerationFlag)
	return ok && df.TakesValue()
}

// tenantNames are the names in the tenants file the settings point at;
// none when it cannot be read (a Tab must never fail loudly).
func tenantNames(c *cli.Context) []string {
	st, err := settings.Resolve(settings.Input{Flags: map[string]string{}})
	if err != nil || st.Config.Value == "" {
		return nil
	}
	cfg, err := tenants.Load(st.Config.Value)
	if err != nil {
		return nil
	}
	return cfg.Names()
}
