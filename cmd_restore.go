package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/filterexpr"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/workflow"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore an archive's connectors into the tenant: plan, then create, PUT and patch",
		ArgsUsage: "ARCHIVE|DIR",
		Description: "Reads the target tenant, prints a plan (+ create, ~ update with the items that differ, = unchanged,\n" +
			"- skipped), then, once confirmed, snapshots the target into the backup directory and writes only\n" +
			"what differs. Connectors are matched by name (--map/--map-file for renames); built-in connectors\n" +
			"are never created, and nothing is ever deleted. A failed connector does not stop the others; run\n" +
			"the same restore again to finish: it writes only what is left. Exit code: 0 done, 1 error,\n" +
			"2 usage, 3 some connectors failed (the rest done and reported).",
		Flags: withGlobals(
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan and stop: nothing is written"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "apply without asking (needed when stdin is not a terminal)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "plan format on stdout: text, json, markdown or html (these two with the diff of every write)"},
			&cli.IntFlag{Name: "max-bytes", Usage: "with --format markdown: keep the plan under `N` bytes, leaving out diffs that do not fit (a GitHub comment holds 65536)"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout (the plan then goes to stderr as text)"},
			&cli.StringSliceFlag{Name: "only", Usage: "restore only the connector with this `NAME` (repeatable)"},
			&cli.StringFlag{Name: "filters", Usage: "restore only the archive's connectors matching this filter `EXPR` (the API's syntax; name, type and directConnect)"},
			&cli.StringSliceFlag{Name: "map", Usage: "restore the archive's connector ARCHIVE_NAME onto the target's TARGET_NAME (repeatable): `ARCHIVE_NAME=TARGET_NAME`"},
			&cli.StringFlag{Name: "map-file", Usage: "read ARCHIVE_NAME=TARGET_NAME pairs from `FILE` (one per line, # comments)"},
			&cli.StringFlag{Name: "backup-dir", Usage: "snapshot the target into `DIR` before writing (default: $XDG_STATE_HOME/connvault/pre-restore, else ~/.local/state/connvault/pre-restore)"},
			&cli.BoolFlag{Name: "no-backup", Usage: "do not snapshot the target before writing"},
			&cli.StringFlag{Name: "yes-protected", Usage: "allow writing to the protected tenant `NAME` (spelled out)"},
		),
		Action: runRestore,
	}
}

func runRestore(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("restore needs one archive file, got %d arguments", c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	format := c.String("format")
	if err := checkReportFormat(c, format); err != nil {
		return err
	}
	dryRun, yes, jsonReport := c.Bool("dry-run"), c.Bool("yes"), c.Bool("json")
	if jsonReport && format != "text" && !dryRun {
		return usagef("--format %s and --json both want stdout: use --json alone (the report lists every connector's writes) or add --dry-run", format)
	}
	if c.Bool("no-backup") && c.String("backup-dir") != "" {
		return usagef("--no-backup and --backup-dir exclude each other: give one")
	}
	stdin := c.App.Reader
	if !dryRun && !yes && !stdinIsTerminal(stdin) {
		return usagef("restore writes to the tenant and stdin is not a terminal to confirm on: add --yes to apply, or --dry-run to see the plan only")
	}
	mapping, err := mappingFromFlags(c)
	if err != nil {
		return err
	}
	if d := c.String("backup-dir"); d != "" {
		if err := archivestore.MustExist("--backup-dir", d); err != nil {
			return usageError(err)
		}
	}
	backupDir := ""
	if !dryRun && !c.Bool("no-backup") {
		if backupDir, err = archivestore.StateDir(c.String("backup-dir"), archivestore.PreRestoreDir, "--backup-dir DIR, or --no-backup"); err != nil {
			return usageError(err)
		}
	}
	filter, err := filterexpr.Parse(c.String("filters"))
	if err != nil {
		return usagef("--filters: %w", err)
	}

	ctx := c.Context
	path := c.Args().First()
	if err := archivestore.Exists(ctx, path); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	// The archive is streamed (importer.NewPlannerFrom): memory holds a
	// window of connectors and what the restore writes, not the archive.
	manifest, err := archivestore.ReadManifest(ctx, path)
	if err != nil {
		return err
	}
	if manifest.Partial {
		s.log.Warn("the archive is partial: connectors that failed at export are not in it and will not be restored", "skipped", len(manifest.Skipped))
	}
	// Indexed (and checked) before connecting: a damaged archive or a bad
	// --only costs no request.
	src := archiveSource(path)
	planOpts := importer.Options{Mapping: mapping, Only: c.StringSlice("only"), Filter: filter}
	planner, err := importer.NewPlannerFrom(ctx, src, planOpts)
	if errors.Is(err, importer.ErrNotInArchive) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()

	info := importer.Info{Archive: path, Target: t.Client.BaseURL(), DryRun: dryRun}
	opts := workflow.RestoreOptions{
		Target: t.Tenant, Planner: planner, Source: &src,
		Plan:   planOpts,
		DryRun: dryRun, YesProtected: c.String("yes-protected"),
		BackupDir: backupDir, ReportText: s.stderr,
		Show: func(plan *importer.Plan, target *archive.Snapshot) error {
			switch {
			case jsonReport && !dryRun:
				return importer.WritePlanText(s.stderr, plan)
			case format == "markdown" || format == "html":
				rep, err := importer.PlanReportFrom(ctx, plan, src, target, info)
				if err != nil {
					return err
				}
				return writeReport(s.stdout, format, rep, c.Int("max-bytes"))
			case format == "json" || jsonReport:
				return importer.WritePlanJSON(s.stdout, plan, info)
			default:
				return importer.WritePlanText(s.stdout, plan)
			}
		},
	}
	if !yes {
		opts.Confirm = func(q string) (bool, error) { return confirm(stdin, s.stderr, q) }
	}
	res, err := workflow.Restore(ctx, s.env(), opts)
	if err != nil || dryRun {
		return restoreError(s, err)
	}
	info.Backup = res.Backup
	if jsonReport {
		if err := importer.WriteReportJSON(s.stdout, res.Report, res.Plan.Warnings, info); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if res.Failed() {
		const msg = "some connectors failed; fix the cause and run the same restore again: it writes only what is left"
		fmt.Fprintln(s.stderr, "connvault: "+msg)
		return &quietError{code: exitPartial, msg: msg}
	}
	return nil
}

// restoreError turns a restore or promote workflow's error into the CLI's:
// usage problems exit 2, a declined confirmation 1 with one line.
func restoreError(s *session, err error) error {
	var u *workflow.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &u):
		return usageError(err)
	case errors.Is(err, workflow.ErrDeclined):
		fmt.Fprintf(s.stderr, "connvault: %v\n", err)
		return &quietError{code: exitError, msg: err.Error()}
	}
	return err
}

// confirm asks a yes/no question on w and reads the answer from r; only an
// explicit yes counts.
func confirm(r io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprint(w, question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	return isYes(line), nil
}

// isYes accepts y and yes in any case, surrounded by blanks.
func isYes(answer string) bool {
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}
