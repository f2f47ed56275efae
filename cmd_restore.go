package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/importer"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore an archive's connectors into the tenant: plan, then create, PUT and patch",
		ArgsUsage: "ARCHIVE",
		Description: "Reads the target tenant, prints a plan (+ create, ~ update with the items that differ, = unchanged,\n" +
			"- skipped), then, once confirmed, snapshots the target into the backup directory and writes only\n" +
			"what differs. Connectors are matched by name (--map/--map-file for renames); built-in connectors\n" +
			"are never created, and nothing is ever deleted. A failed connector does not stop the others; run\n" +
			"the same restore again to finish: it writes only what is left. Exit code: 0 done, 1 error,\n" +
			"2 usage, 3 some connectors failed (the rest done and reported).",
		Flags: withGlobals(
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan and stop: nothing is written"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "apply without asking (needed when stdin is not a terminal)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "plan format on stdout: text or json"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout (the plan then goes to stderr as text)"},
			&cli.StringSliceFlag{Name: "only", Usage: "restore only the connector with this `NAME` (repeatable)"},
			&cli.StringSliceFlag{Name: "map", Usage: "restore the archive's connector ARCHIVE_NAME onto the target's TARGET_NAME (repeatable): `ARCHIVE_NAME=TARGET_NAME`"},
			&cli.StringFlag{Name: "map-file", Usage: "read ARCHIVE_NAME=TARGET_NAME pairs from `FILE` (one per line, # comments)"},
			&cli.StringFlag{Name: "backup-dir", Usage: "snapshot the target into `DIR` before writing (default: $XDG_STATE_HOME/connvault/pre-restore, else ~/.local/state/connvault/pre-restore)"},
			&cli.BoolFlag{Name: "no-backup", Usage: "do not snapshot the target before writing"},
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
	if format != "text" && format != "json" {
		return usagef("--format %q: use text or json", format)
	}
	dryRun, yes, jsonReport := c.Bool("dry-run"), c.Bool("yes"), c.Bool("json")
	if jsonReport && format == "json" && !dryRun {
		return usagef("--format json and --json both want stdout: use --json alone (the report lists every connector's writes) or add --dry-run")
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
	backupDir := ""
	if !dryRun && !c.Bool("no-backup") {
		if backupDir, err = defaultBackupDir(c.String("backup-dir")); err != nil {
			return err
		}
	}

	path := c.Args().First()
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	arch, err := archive.ReadFile(path, archive.ReadOptions{})
	if err != nil {
		return err
	}

	if arch.Manifest.Partial {
		s.log.Warn("the archive is partial: connectors that failed at export are not in it and will not be restored", "skipped", len(arch.Manifest.Skipped))
	}

	ctx := c.Context
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()

	// The list shows RELEASED connectors only: name the archive's own
	// scriptNames too, so a DEVELOPMENT or DEMO connector of the same tenant
	// is found (a 404 just means the target does not have it).
	extra := make([]string, 0, len(arch.Connectors))
	for _, conn := range arch.Connectors {
		extra = append(extra, conn.ScriptName)
	}
	target, err := readTenant(ctx, s, t, &archive.Selection{ScriptNames: extra})
	if err != nil {
		return err
	}
	plan, err := importer.NewPlan(arch, target, importer.Options{Mapping: mapping, Only: c.StringSlice("only")})
	if errors.Is(err, importer.ErrNotInArchive) {
		return usageError(err)
	}
	if err != nil {
		return err
	}

	info := importer.Info{Archive: path, Target: t.client.BaseURL(), DryRun: dryRun}
	switch {
	case jsonReport && !dryRun:
		err = importer.WritePlanText(s.stderr, plan)
	case format == "json" || jsonReport:
		err = importer.WritePlanJSON(s.stdout, plan, info)
	default:
		err = importer.WritePlanText(s.stdout, plan)
	}
	if err != nil {
		return err
	}
	if dryRun {
		return nil
	}

	if !plan.Empty() {
		if !yes {
			ok, err := confirm(stdin, s.stderr, fmt.Sprintf("Apply this plan to %s (%d writes)? [y/N] ", t.client.BaseURL(), plan.Writes()))
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(s.stderr, "connvault: restore cancelled; nothing was written")
				return &quietError{code: exitError}
			}
		}
		if backupDir != "" {
			snap, m, err := snapshotTenant(ctx, s, t, backupDir, extra)
			if err != nil {
				return fmt.Errorf("pre-restore snapshot (nothing was written; fix the cause, or skip the snapshot with --no-backup): %w", err)
			}
			info.Backup = snap
			s.log.Info("pre-restore snapshot written; restore it to undo this restore", "path", snap, "connectors", m.ConnectorCount)
		}
	}

	bar := newProgress(s, "restoring "+t.name, t.client.Stats)
	rep := importer.Apply(ctx, t.client, plan, importer.ApplyOptions{
		Concurrency: s.concurrency,
		Logger:      s.log,
		Progress:    func(done, total int) { bar.update(export.Progress{Done: done, Total: total}) },
	})
	bar.finish()
	if err := importer.WriteReportText(s.stderr, rep); err != nil {
		return err
	}
	if jsonReport {
		if err := importer.WriteReportJSON(s.stdout, rep, plan.Warnings, info); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if rep.Failed() {
		fmt.Fprintln(s.stderr, "connvault: some connectors failed; fix the cause and run the same restore again: it writes only what is left")
		return &quietError{code: exitPartial}
	}
	return nil
}

// defaultBackupDir is where pre-restore snapshots go: the flag, else the XDG
// state directory, which is meant for exactly this kind of data.
func defaultBackupDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "connvault", "pre-restore"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usagef("no home directory for the pre-restore snapshot (%v): give --backup-dir DIR, or --no-backup", err)
	}
	return filepath.Join(home, ".local", "state", "connvault", "pre-restore"), nil
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
