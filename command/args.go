package command

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's flags ahead of its positional arguments.
// urfave/cli v2 stops reading flags at the first positional argument, so
// without this `connvault diff a.tar.zst tenant: --sandbox` would take
// "--sandbox" for a third operand. Everything after "--" stays positional.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 || slices.Contains(args, "__complete") || slices.Contains(args, "--generate-bash-completion") {
		// A completion request is a command line cut short: its words are
		// the shell's, left as they are.
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	// Global flags before the command name stay where they are.
	i := 0
	for i < len(rest) && isFlag(rest[i]) {
		if rest[i] == "--" {
			return args
		}
		n := flagArity(app.Flags, rest[i])
		out = append(out, rest[i:min(i+n, len(rest))]...)
		i += n
	}
	if i >= len(rest) {
		return out
	}
	cmd := app.Command(rest[i])
	if cmd == nil {
		return append(out, rest[i:]...)
	}
	return append(out, reorderCommand(cmd, rest[i:])...)
}

// reorderCommand handles args = [name, ...] for one command, recursing into
// subcommands.
func reorderCommand(cmd *cli.Command, args []string) []string {
	out := []string{args[0]}
	var flags, positional []string
	rest := args[1:]
	for i := 0; i < len(rest); {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i:]...)
			i = len(rest)
		case isFlag(a):
			n := flagArity(cmd.Flags, a)
			flags = append(flags, rest[i:min(i+n, len(rest))]...)
			i += n
		default:
			if len(positional) == 0 && len(flags) == 0 {
				if sub := cmd.Command(a); sub != nil {
					return append(out, reorderCommand(sub, rest[i:])...)
				}
			}
			positional = append(positional, a)
			i++
		}
	}
	for _, f := range flags {
		if f == "-h" || f == "--help" {
			// Help wins: with operands after it urfave would look for a help
			// topic named like the first operand.
			return append(out, "--help")
		}
	}
	out = append(out, flags...)
	return append(out, positional...)
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagArity is 1 for a flag given alone (a boolean, or --name=value) and 2
// for one that takes the next argument as its value. An unknown flag counts
// as 1 so the parser reports it.
func flagArity(flags []cli.Flag, a string) int {
	if a == "--" || strings.Contains(a, "=") {
		return 1
	}
	name := strings.TrimLeft(a, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if bf, ok := f.(*cli.BoolFlag); ok && bf != nil {
				return 1
			}
			return 2
		}
	}
	return 1
}
