package command

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh, fish or powershell",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: "Load it in the shell's start-up file, for example:\n" +
			"  bash:       source <(connvault completion bash)         (~/.bashrc)\n" +
			"  zsh:        source <(connvault completion zsh)          (~/.zshrc, after compinit)\n" +
			"  fish:       connvault completion fish | source          (~/.config/fish/config.fish)\n" +
			"  powershell: connvault completion powershell | Out-String | Invoke-Expression\n" +
			"The scripts ask connvault itself for the commands and flags, so they follow upgrades.\n" +
			"Exit codes: 0 printed, 2 usage (no shell, or an unknown one).",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: bash, zsh, fish or powershell")
			}
			return writeCompletion(c.App, c.App.Writer, c.Args().First())
		},
	}
}

func writeCompletion(app *cli.App, w io.Writer, shell string) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "powershell":
		script = powershellCompletion
	case "fish":
		s, err := app.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("fish completion: %w", err)
		}
		script = s
	default:
		return usagef("completion %q: use bash, zsh, fish or powershell", shell)
	}
	_, err := io.WriteString(w, strings.ReplaceAll(script, "__PROG__", app.Name))
	return err
}

// The bash, zsh and powershell scripts are urfave/cli's (autocomplete/ in its
// repository), bound to connvault: they run `connvault ... --generate-bash-completion`.
const bashCompletion = `# bash completion for __PROG__
_cli___PROG___init_completion() {
  COMPREPLY=()
  _get_comp_words_by_ref "$@" cur prev words cword
}

_cli___PROG___bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base words
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if declare -F _init_completion >/dev/null 2>&1; then
      _init_completion -n "=:" || return
    else
      _cli___PROG___init_completion -n "=:" || return
    fi
    words=("${words[@]:0:$cword}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _cli___PROG___bash_autocomplete __PROG__
`

const zshCompletion = `#compdef __PROG__

_cli___PROG___zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _cli___PROG___zsh_autocomplete __PROG__
`

const powershellCompletion = `Register-ArgumentCompleter -Native -CommandName __PROG__ -ScriptBlock {
  param($commandName, $wordToComplete, $cursorPosition)
  $other = "$wordToComplete --generate-bash-completion"
  Invoke-Expression $other | ForEach-Object {
    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
  }
}
`

func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print connvault's manual page (roff), made from the command definitions",
		ArgsUsage: " ",
		Description: "Install it with: connvault man > /usr/local/share/man/man1/connvault.1\n" +
			"Exit codes: 0 printed, 1 error.",
		Action: func(c *cli.Context) error {
			_, err := io.WriteString(c.App.Writer, manPage(c.App, manDate()))
			return err
		},
	}
}

// manDate is the page's date: the build's (reproducible), else today's.
func manDate() time.Time {
	if t, err := time.Parse(time.RFC3339, readBuildInfo().Date); err == nil {
		return t.UTC()
	}
	return time.Now().UTC()
}
