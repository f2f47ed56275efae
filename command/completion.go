package command

import (
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
		script = fishCompletion
	default:
		return usagef("completion %q: use bash, zsh, fish or powershell", shell)
	}
	_, err := io.WriteString(w, strings.ReplaceAll(script, "__PROG__", app.Name))
	return err
}

// The bash, zsh and fish scripts ask `connvault __complete CUR WORD...`
// (complete.go) and need nothing else: not the bash-completion package, not
// zsh's _arguments. ":files" in the answer means "complete a path".
const bashCompletion = `# bash completion for __PROG__: source <(__PROG__ completion bash)
___PROG___complete() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\n'
  local out
  out=$(__PROG__ __complete "$cur" "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null) || return 0
  COMPREPLY=()
  local line
  for line in $out; do
    if [[ $line == ":files" ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY+=($(compgen -f -- "$cur"))
    elif [[ $line == "$cur"* ]]; then
      COMPREPLY+=("$line")
    fi
  done
}
complete -F ___PROG___complete __PROG__
`

const zshCompletion = `#compdef __PROG__
# zsh completion for __PROG__: source <(__PROG__ completion zsh), after compinit
___PROG___complete() {
  local -a out
  out=("${(@f)$(__PROG__ __complete "${words[CURRENT]}" "${(@)words[2,CURRENT-1]}" 2>/dev/null)}")
  local -a words_only=("${(@)out:#:files}")
  words_only=("${(@)words_only:#}")
  (( ${#words_only} )) && compadd -- "${words_only[@]}"
  if (( ${out[(Ie):files]} )); then
    _files
  fi
}
compdef ___PROG___complete __PROG__
`

const fishCompletion = `# fish completion for __PROG__: __PROG__ completion fish | source
function ____PROG___complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    for line in (__PROG__ __complete "$cur" $words[2..-1] 2>/dev/null)
        if test "$line" = ":files"
            __fish_complete_path "$cur"
        else
            printf '%s\n' $line
        end
    end
end
complete -c __PROG__ -f -a '(____PROG___complete)'
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
