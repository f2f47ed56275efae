// Command connvault backs up, compares and restores the custom connectors of
// SailPoint Identity Security Cloud tenants. This file only wires the CLI:
// each command lives in its own cmd_*.go file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/internal/termtext"
	"github.com/connvault/connvault/settings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in README.md.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitPartial     = 3
	exitInterrupted = 130
)

func main() {
	os.Exit(profiled(func() int { return run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr) }))
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

	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, interspersed(app, args))
	code := exitCode(ctx, err)
	if err != nil && code != exitOK {
		var quiet *quietError
		if !errors.As(err, &quiet) {
			fmt.Fprintf(stderr, "connvault: %s\n", termtext.Escape(oneLine(err)))
		}
	}
	return code
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "connvault",
		Usage:   "back up, compare and restore the custom connectors of SailPoint ISC tenants",
		Version: version,
		Description: "Credentials come from SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET (or --client-secret-file),\n" +
			"as for the sail CLI and the SDKs. --sandbox runs against a built-in fake tenant instead.",
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
			packCommand(),
			unpackCommand(),
			settingsCommand(),
		},
		// Usage errors are returned, not printed with a stack of help.
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return usageError(err)
		},
		// Without an Action, urfave/cli answers an unknown command with its
		// help command's "No help topic" and exit code 3, which here means
		// a partial backup.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
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
// already reported (a partial export, a diff with differences).
type quietError struct{ code int }

func (q *quietError) Error() string { return fmt.Sprintf("exit %d", q.code) }

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
