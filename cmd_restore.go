package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/filterexpr"
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
	if err := archiveExists(c.Context, path); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	arch, err := readArchiveArg(c.Context, path)
	if err != nil {
		return err
	}

	if arch.Manifest.Partial {
		s.log.Warn("the archive is partial: connectors that failed at export are not in it and will not be restored", "skipped", len(arch.Manifest.Skipped))
	}
	ctx := c.Context
	filter, err := filterexpr.Parse(c.String("filters"))
	if err != nil {
		return usagef("--filters: %w", err)
	}
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()

	info := importer.Info{Archive: path, Target: t.client.BaseURL(), DryRun: dryRun}
	job := &restoreJob{
		s: s, target: t, arch: arch,
		opts:   importer.Options{Mapping: mapping, Only: c.StringSlice("only"), Filter: filter},
		dryRun: dryRun, yes: yes, yesProtected: c.String("yes-protected"),
		backupDir: backupDir, stdin: stdin, verb: "restore",
		show: func(plan *importer.Plan, _ *archive.Snapshot) error {
			switch {
			case jsonReport && !dryRun:
				return importer.WritePlanText(s.stderr, plan)
			case format == "json" || jsonReport:
				return importer.WritePlanJSON(s.stdout, plan, info)
			default:
				return importer.WritePlanText(s.stdout, plan)
			}
		},
	}
	res, err := job.run(ctx)
	if err != nil || dryRun {
		return err
	}
	info.Backup = res.backup
	if jsonReport {
		if err := importer.WriteReportJSON(s.stdout, res.report, res.plan.Warnings, info); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if res.report.Failed() {
		fmt.Fprintln(s.stderr, "connvault: some connectors failed; fix the cause and run the same restore again: it writes only what is left")
		return &quietError{code: exitPartial}
	}
	return nil
}

// restoreJob is one restore of an archive into a tenant, from reading the
// target to the report: what restore and promote share, so both pass the
// same guard, confirmation and pre-restore snapshot.
type restoreJob struct {
	s            *session
	target       *tenant
	arch         *archive.Snapshot
	opts         importer.Options
	dryRun, yes  bool
	yesProtected string    // --yes-protected
	backupDir    string    // snapshot the target here before writing; "" for none
	stdin        io.Reader // where the confirmation is read
	verb         string    // "restore" or "promote", for messages
	// show prints the plan once it is made; target is the tenant as read.
	show func(plan *importer.Plan, target *archive.Snapshot) error
}

// restoreResult is what a restoreJob did.
type restoreResult struct {
	plan   *importer.Plan
	report *importer.Report // nil after a dry run
	backup string           // the pre-restore snapshot's path, "" when none was taken
	// scriptNames are the archive's, read from the target besides its list.
	scriptNames []string
}

func (j *restoreJob) run(ctx context.Context) (*restoreResult, error) {
	s, t := j.s, j.target
	if !j.dryRun {
		if err := checkWritable(t, j.yesProtected); err != nil {
			return nil, err
		}
	}
	// The list shows RELEASED connectors only: name the archive's own
	// scriptNames too, so a DEVELOPMENT or DEMO connector of the same tenant
	// is found (a 404 just means the target does not have it).
	res := &restoreResult{scriptNames: make([]string, 0, len(j.arch.Connectors))}
	for _, conn := range j.arch.Connectors {
		res.scriptNames = append(res.scriptNames, conn.ScriptName)
	}
	// Only target connectors that an archive connector can land on matter:
	// reading just those keeps a restore into a large tenant cheap under the
	// rate limit, and it is exactly what undoing the restore needs. A bad
	// --only is refused here, before the first request.
	planner, err := importer.NewPlanner(j.arch, j.opts)
	if errors.Is(err, importer.ErrNotInArchive) {
		return nil, usageError(err)
	}
	if err != nil {
		return nil, err
	}
	// Each target connector is planned as soon as it is read, while the
	// requests for the others are in flight.
	sel := &archive.Selection{ScriptNames: res.scriptNames, Names: planner.TargetNames()}
	var target *archive.Snapshot
	res.plan, err = planner.Plan(ctx, diff.Source{Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		var err error
		target, err = readTenantEach(ctx, s, t, sel, emit)
		return err
	}})
	if err != nil {
		return nil, err
	}
	if err := j.show(res.plan, target); err != nil {
		return nil, err
	}
	if j.dryRun {
		return res, nil
	}

	if !res.plan.Empty() {
		if !j.yes {
			ok, err := confirm(j.stdin, s.stderr, fmt.Sprintf("Apply this plan to %s (%d writes)? [y/N] ", t.client.BaseURL(), res.plan.Writes()))
			if err != nil {
				return nil, err
			}
			if !ok {
				fmt.Fprintf(s.stderr, "connvault: %s cancelled; nothing was written\n", j.verb)
				return nil, &quietError{code: exitError}
			}
		}
		if j.backupDir != "" {
			snap, m, err := saveSnapshot(ctx, t, j.backupDir, target)
			if err != nil {
				return nil, fmt.Errorf("pre-%s snapshot (nothing was written; fix the cause, or skip the snapshot with --no-backup): %w", j.verb, err)
			}
			res.backup = snap
			s.log.Info(fmt.Sprintf("pre-%s snapshot written; restore it to undo this %s", j.verb, j.verb), "path", snap, "connectors", m.ConnectorCount)
		}
	}

	bar := newProgress(s, strings.TrimSuffix(j.verb, "e")+"ing "+t.name, t.client.Stats)
	res.report = importer.Apply(ctx, t.client, res.plan, importer.ApplyOptions{
		Concurrency:       s.concurrency,
		Logger:            s.log,
		Progress:          func(done, total int) { bar.update(export.Progress{Done: done, Total: total}) },
		TargetScriptNames: importer.ScriptNames(target),
	})
	bar.finish()
	if err := importer.WriteReportText(s.stderr, res.report); err != nil {
		return nil, err
	}
	return res, nil
}

// checkWritable is the guard on every write to a tenant (restore and
// promote pass it through restoreJob before the pre-restore snapshot and
// any write). Protection belongs to the target, not to how it was named: a
// target whose base URL is a protected tenant's in the tenants file is
// written to only when --yes-protected spells out that tenant's name, whether
// the run reached it through --tenant, SAIL_BASE_URL or --base-url. A
// --yes-protected naming another tenant than the target is refused too, since
// it shows the user meant a different one.
func checkWritable(t *tenant, yesProtected string) error {
	if t.settings != nil && !t.settings.Sandbox && t.protected == "" {
		name, err := t.settings.Protected(t.client.BaseURL())
		if err != nil {
			return usagef("%w: nothing was written", err)
		}
		t.protected = name
	}
	switch {
	case yesProtected != "" && yesProtected != t.name && yesProtected != t.protected:
		return usagef("--yes-protected %s does not name the target tenant %q: nothing was written; check which tenant you are writing to", yesProtected, t.name)
	case t.protected != "" && yesProtected != t.protected:
		return usagef("the target %s is the protected tenant %q: writing to it needs --yes-protected %s spelled out; nothing was written",
			t.client.BaseURL(), t.protected, t.protected)
	}
	return nil
}

// defaultBackupDir is where pre-restore snapshots go: the flag, else the XDG
// state directory, which is meant for exactly this kind of data.
func defaultBackupDir(flag string) (string, error) {
	return stateDir(flag, "pre-restore", "--backup-dir DIR, or --no-backup")
}

// stateDir is flag when set, else the folder sub of connvault's directory in
// the XDG state directory (~/.local/state when $XDG_STATE_HOME is unset);
// alternative says what to give instead when there is no home directory.
func stateDir(flag, sub, alternative string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "connvault", sub), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usagef("no home directory for connvault's %s folder (%v): give %s", sub, err, alternative)
	}
	return filepath.Join(home, ".local", "state", "connvault", sub), nil
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
