// Package command is connvault's command layer: the urfave/cli app, one file
// per command (flags → options → a run function → output and exit code), the
// session that resolves settings, and the output helpers. Below it, the
// workflow and library packages never see the CLI framework.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/internal/iocount"
	"github.com/connvault/connvault/internal/termtext"
	"github.com/connvault/connvault/settings"
)

// Exit codes, documented in README.md.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitPartial     = 3
	exitInterrupted = 130
)

// Main runs connvault with the process's arguments and streams and returns
// its exit code.
func Main() int {
	return profiled(func() int { return run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr) })
}

// profiled writes a CPU profile to $CONNVAULT_CPUPROFILE when it is set: the
// benchmarks run connvault as its own process, and that is where its cost
// has to be looked at.
func profiled(f func() int) int {
	path := os.Getenv("CONNVAULT_CPUPROFILE")
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "connvault: CONNVAULT_CPUPROFILE: %v\n", err)
		return f()
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintf(os.Stderr, "connvault: CONNVAULT_CPUPROFILE: %v\n", err)
		return f()
	}
	defer pprof.StopCPUProfile()
	return f()
}

// run is main without the process: tests call it with their own streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// With --log-format json every stderr line is a JSON object, whoever
	// writes it: our logger, a report table, the final error, or a
	// third-party package logging through the standard library.
	logJSON := logFormatOf(args) == "json"
	errW := stderr
	if logJSON {
		errW = newJSONLines(stderr)
	}
	defer routeStdLog(errW)()
	// out counts what the command wrote to stdout, so that a --json failure
	// document is written only when it would not be a second one.
	out := &iocount.Writer{W: stdout}

	app := newApp(stdin, out, errW)
	err := app.RunContext(ctx, interspersed(app, args))
	code := exitCode(ctx, err)
	if err != nil && code != exitOK {
		var quiet *quietError
		msg := oneLine(err)
		if errors.As(err, &quiet) {
			msg = quiet.message()
		} else if f, ok := errW.(*jsonLines); ok {
			f.Flush()
			writeJSONLine(stderr, "ERROR", msg, map[string]any{"exitCode": code})
		} else {
			fmt.Fprintf(errW, "connvault: %s\n", termtext.Escape(msg))
		}
		// With --json a failure still gives stdout one JSON document.
		if hasFlag(args, "json") && out.N == 0 {
			_ = writeJSON(stdout, failureJSON{Error: msg, ExitCode: code})
		}
	}
	if f, ok := errW.(*jsonLines); ok {
		f.Flush()
	}
	return code
}

// failureJSON is what --json prints on stdout when a command fails before
// printing its own result.
type failureJSON struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exitCode"`
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "connvault",
		Usage:   "back up, compare and restore the custom connectors of SailPoint ISC tenants",
		Version: readBuildInfo().String(),
		Description: "Credentials come from SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET (or --client-secret-file),\n" +
			"as for the sail CLI and the SDKs. --sandbox runs against a built-in fake tenant instead.\n\n" +
			"Exit codes: 0 ok; 1 error (diff: differences); 2 usage (diff: any error); 3 partial (some connectors\n" +
			"failed, the rest done and reported); 130 interrupted. Each command's --help gives its own.",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                globalFlags(),
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			exportCommand(),
			diffCommand(),
			restoreCommand(),
			lsCommand(),
			verifyCommand(),
			pruneCommand(),
			sandboxCommand(),
			tenantsCommand(),
			promoteCommand(),
			doctorCommand(),
			packCommand(),
			unpackCommand(),
			settingsCommand(),
			logCommand(),
			completionCommand(),
			manCommand(),
			completeCommand(),
		},
		// Usage errors are returned, not printed with a stack of help.
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			if !isSubcommand {
				return usageError(unknownTopFlag(c, err))
			}
			return usageError(unknownFlag(c, err))
		},
		// Without an Action, urfave/cli answers an unknown command with its
		// help command's "No help topic" and exit code 3, which here means
		// a partial backup.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				if near := closestCommand(c.App.Commands, c.Args().First()); near != "" {
					return usagef("unknown command %q; did you mean %q? See 'connvault --help' for the commands", c.Args().First(), near)
				}
				return usagef("unknown command %q: see 'connvault --help' for the commands", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = app.OnUsageError
	}
	return app
}

// usageErr marks a bad command line: exit code 2.
type usageErr struct{ err error }

func (u *usageErr) Error() string { return u.err.Error() }
func (u *usageErr) Unwrap() error { return u.err }

func usageError(err error) error { return &usageErr{err} }

func usagef(format string, a ...any) error { return &usageErr{fmt.Errorf(format, a...)} }

// exitErr carries an exit code other than 1 for an error or outcome.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

// quietError ends the run with a code without another message: the command
// already reported (a partial export, a diff with differences). msg, when
// set, is that report in one line for --json's failure document.
type quietError struct {
	code int
	msg  string
}

func (q *quietError) Error() string { return fmt.Sprintf("exit %d", q.code) }

func (q *quietError) message() string {
	if q.msg != "" {
		return q.msg
	}
	return fmt.Sprintf("exit code %d (see stderr)", q.code)
}

func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var q *quietError
	if errors.As(err, &q) {
		return q.code
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		return exitInterrupted
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	var u *usageErr
	if errors.As(err, &u) || errors.Is(err, settings.ErrUsage) {
		return exitUsage
	}
	var e *exitErr
	if errors.As(err, &e) {
		return e.code
	}
	var ce cli.ExitCoder
	if errors.As(err, &ce) {
		// urfave's help command answers an unknown topic with exit code 3,
		// which here means a partial backup.
		if strings.HasPrefix(err.Error(), "No help topic") {
			return exitUsage
		}
		return ce.ExitCode()
	}
	return exitError
}

// oneLine keeps a multi-line error readable in a log line.
func oneLine(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return err.Error()
}

// unknownFlag rewrites the flag package's "flag provided but not defined:
// -ouput" as "unknown flag --ouput; did you mean --output?", suggesting the
// command's closest flag.
func unknownFlag(c *cli.Context, err error) error {
	flags := c.App.Flags
	if c.Command != nil && len(c.Command.Flags) > 0 {
		flags = c.Command.Flags
	}
	if m := badValueRE.FindStringSubmatch(err.Error()); m != nil {
		return badFlagValue(flags, m[2], m[1])
	}
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return err
	}
	name = strings.TrimLeft(name, "-")
	dash := "--"
	if len(name) == 1 {
		dash = "-"
	}
	if s := closestFlag(flags, name); s != "" {
		return fmt.Errorf("unknown flag %s%s; did you mean --%s?", dash, name, s)
	}
	return fmt.Errorf("unknown flag %s%s; see --help for the flags", dash, name)
}

// badValueRE is the flag package's "invalid value "abc" for flag
// -keep-daily: parse error".
var badValueRE = regexp.MustCompile(`^invalid value "(.*)" for flag -+([^:\s]+): `)

// badFlagValue names the flag as it is typed and the kind of value it takes.
func badFlagValue(flags []cli.Flag, name, value string) error {
	want := "another value"
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		switch f.(type) {
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
			want = "a whole number, such as 7"
		case *cli.Float64Flag:
			want = "a number, such as 2.5"
		case *cli.DurationFlag:
			want = "a duration, such as 30s or 2h"
		case *cli.BoolFlag:
			want = "true or false (or the flag alone)"
		}
	}
	dash := "--"
	if len(name) == 1 {
		dash = "-"
	}
	return fmt.Errorf("%s%s %q: not a valid value; give %s", dash, name, value, want)
}

// unknownTopFlag is unknownFlag before the command, where only the global
// flags are known: a command's own flag there (connvault --output x export)
// is a flag in the wrong place, and saying so beats "see --help".
func unknownTopFlag(c *cli.Context, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	name = strings.TrimLeft(name, "-")
	if !ok || len(name) < 2 || closestFlag(c.App.Flags, name) != "" {
		return unknownFlag(c, err)
	}
	if s, cmds := commandFlag(c.App.Commands, name); s != "" {
		return fmt.Errorf("unknown flag --%s before the command; did you mean --%s? It belongs to %s: put it after the command's name",
			name, s, strings.Join(cmds, ", "))
	}
	return unknownFlag(c, err)
}

// commandFlag is the flag of some command nearest to name, and the commands
// that have it.
func commandFlag(commands []*cli.Command, name string) (string, []string) {
	var all []cli.Flag
	for _, cmd := range commands {
		all = append(all, cmd.Flags...)
	}
	s := closestFlag(all, name)
	if s == "" {
		return "", nil
	}
	var cmds []string
	for _, cmd := range commands {
		for _, f := range cmd.Flags {
			if slices.Contains(f.Names(), s) {
				cmds = append(cmds, "`connvault "+cmd.Name+"`")
				break
			}
		}
	}
	return s, cmds
}

// closestFlag is the long flag name nearest to name, when it is near
// enough to be a typo.
func closestFlag(flags []cli.Flag, name string) string {
	var names []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) >= 2 {
				names = append(names, n)
			}
		}
	}
	return nearest(names, name)
}

// closestCommand is the command name nearest to name, when near enough to
// be a typo.
func closestCommand(cmds []*cli.Command, name string) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return nearest(names, name)
}

// nearest is the candidate nearest to name by edit distance, when it is
// near enough to be a typo (at most a third of its letters off), or "".
func nearest(candidates []string, name string) string {
	best, bestDist := "", 0
	for _, n := range candidates {
		d := editDistance(n, name)
		if d <= max(1, len(n)/3) && (best == "" || d < bestDist) {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
