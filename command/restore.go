package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/filterexpr"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/settings"
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
			&cli.StringFlag{Name: "plan-out", Usage: "with --dry-run: save the plan to `FILE` (what it writes, the archive's digest, the target's state it was made against), for restore --plan"},
			&cli.StringFlag{Name: "plan", Usage: "apply exactly the saved plan `FILE`: refused, before any write, when the archive or the target changed since it was made (the archive operand defaults to the plan's)"},
		),
		Action: runRestore,
	}
}

func runRestore(c *cli.Context) error {
	saved, path, err := restorePlanFile(c)
	if err != nil {
		return err
	}
	// The operand first: a missing archive is the first thing to hear.
	if err := mustExist(c.Context, path); err != nil {
		return err
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	f, err := restoreFlags(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	manifest, err := archivestore.ReadManifest(ctx, path)
	if err != nil {
		return err
	}
	digest := manifest.ContentDigest
	if saved != nil {
		if digest != saved.Archive.ContentDigest {
			return fmt.Errorf("--plan %s: the archive %s changed since the plan was made (content digest %s, the plan's %s): nothing was written; make a new plan", c.String("plan"), path, digest, saved.Archive.ContentDigest)
		}
		if len(saved.Connectors) == 0 {
			s.log.Info("the saved plan writes nothing")
			return nil
		}
		f.plan.Mapping, f.plan.Only = saved.Mapping, saved.Names()
	}
	planner, src, err := openRestoreArchive(ctx, s, path, manifest, f.plan)
	if err != nil {
		return err
	}
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()
	if saved != nil && !settings.SameBaseURL(saved.Target.BaseURL, t.Client.BaseURL()) {
		return fmt.Errorf("--plan %s: the plan was made for %s, the target is %s: refused, nothing was written", c.String("plan"), saved.Target.BaseURL, t.Client.BaseURL())
	}

	info := importer.Info{Archive: path, Target: t.Client.BaseURL(), DryRun: f.dryRun}
	opts := workflow.RestoreOptions{
		Target: t.Tenant, Planner: planner, Source: &src,
		Plan:   f.plan,
		DryRun: f.dryRun, YesProtected: c.String("yes-protected"),
		// A dry run printing a text or JSON plan needs nothing of the target
		// but the plan: none of it is kept.
		DiscardTarget: f.dryRun && (f.format == "text" || f.format == "json") && saved == nil && c.String("plan-out") == "",
		BackupDir:     f.backupDir, ReportText: s.stderr,
		Show: func(plan *importer.Plan, target *archive.Snapshot) error {
			if saved != nil {
				if err := checkSavedPlan(c, saved, t, plan, target); err != nil {
					return err
				}
			}
			return showRestorePlan(ctx, c, s, f, plan, src, target, info, t.settings)
		},
	}
	if !f.yes {
		stdin := c.App.Reader
		opts.Confirm = func(q string) (bool, error) { return confirm(c.Context, stdin, s.stderr, q) }
	}
	res, err := workflow.Restore(ctx, s.env(), opts)
	if err == nil && c.String("plan-out") != "" {
		pf := workflow.NewPlanFile(res.Plan, res.Target, path, digest, t.Tenant, f.plan.Mapping, utcNow(), toolVersion())
		if err := workflow.WritePlanFile(c.String("plan-out"), pf); err != nil {
			return err
		}
		s.log.Info(fmt.Sprintf("saved the plan to %s (%s); apply it with restore --plan %s", c.String("plan-out"), plural(pf.Writes, "write"), c.String("plan-out")))
	}
	if err != nil || f.dryRun {
		return restoreError(s, err)
	}
	info.Backup = res.Backup
	if f.jsonReport {
		report := func(w io.Writer) error { return importer.WriteReportJSON(w, res.Report, res.Plan.Warnings, info) }
		if err := writeJSONWithOrigins(s.stdout, report, settingsOf(t.settings)); err != nil {
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

// restoreFlagValues are restore's flags, checked.
type restoreFlagValues struct {
	format                  string
	dryRun, yes, jsonReport bool
	backupDir               string // "" for no pre-restore snapshot
	plan                    importer.Options
}

// restoreFlags checks restore's flags against each other before anything is
// read.
func restoreFlags(c *cli.Context) (restoreFlagValues, error) {
	f := restoreFlagValues{format: c.String("format"), dryRun: c.Bool("dry-run"), yes: c.Bool("yes"), jsonReport: c.Bool("json")}
	if err := checkReportFormat(c, f.format); err != nil {
		return f, err
	}
	if f.jsonReport && f.format != "text" && !f.dryRun {
		return f, usagef("--format %s and --json both want stdout: use --json alone (the report lists every connector's writes) or add --dry-run", f.format)
	}
	if c.Bool("no-backup") && c.String("backup-dir") != "" {
		return f, usagef("--no-backup and --backup-dir exclude each other: give one")
	}
	if !f.dryRun && !f.yes && !stdinIsTerminal(c.App.Reader) {
		return f, usagef("restore writes to the tenant and stdin is not a terminal to confirm on: add --yes to apply, or --dry-run to see the plan only")
	}
	mapping, err := mappingFromFlags(c)
	if err != nil {
		return f, err
	}
	if d := c.String("backup-dir"); d != "" {
		if err := archivestore.MustExist("--backup-dir", d); err != nil {
			return f, usageError(err)
		}
	}
	if !f.dryRun && !c.Bool("no-backup") {
		if f.backupDir, err = archivestore.StateDir(c.String("backup-dir"), archivestore.PreRestoreDir, "--backup-dir DIR, or --no-backup"); err != nil {
			return f, usageError(err)
		}
	}
	filter, err := filterexpr.Parse(c.String("filters"))
	if err != nil {
		return f, usagef("--filters: %w", err)
	}
	f.plan = importer.Options{Mapping: mapping, Only: c.StringSlice("only"), Filter: filter}
	return f, nil
}

// openRestoreArchive indexes the archive at path for planning, before any
// tenant is contacted: a damaged archive or a bad --only costs no request.
// The archive is streamed (importer.NewPlannerFrom): memory holds a window
// of connectors and what the restore writes, not the archive.
func openRestoreArchive(ctx context.Context, s *session, path string, manifest *archive.Manifest, plan importer.Options) (*importer.Planner, diff.Source, error) {
	if manifest.Partial {
		s.log.Warn("the archive is partial: connectors that failed at export are not in it and will not be restored", "skipped", len(manifest.Skipped))
	}
	src := archiveSource(path)
	planner, err := importer.NewPlannerFrom(ctx, src, plan)
	if errors.Is(err, importer.ErrNotInArchive) {
		return nil, src, usageError(err)
	}
	return planner, src, err
}

// showRestorePlan prints the plan where and as the flags say: stdout in
// --format, or stderr as text when --json keeps stdout for the report.
func showRestorePlan(ctx context.Context, c *cli.Context, s *session, f restoreFlagValues, plan *importer.Plan, src diff.Source, target *archive.Snapshot, info importer.Info, st *settings.Settings) error {
	switch {
	case f.jsonReport && !f.dryRun:
		return importer.WritePlanText(s.stderr, plan)
	case f.format == "markdown" || f.format == "html":
		rep, err := importer.PlanReportFrom(ctx, plan, src, target, info)
		if err != nil {
			return err
		}
		for i, line := range rep.Context {
			switch {
			case strings.HasPrefix(line, "Archive: "):
				rep.Context[i] = "Archive: " + provenance(ctx, s, info.Archive)
			case strings.HasPrefix(line, "Target: "):
				rep.Context[i] = "Target: " + targetProvenance(s, info.Target)
			}
		}
		rep.Context = append(rep.Context, madeLine())
		return writeReport(s.stdout, f.format, rep, c.Int("max-bytes"))
	case f.format == "json" || f.jsonReport:
		return writeJSONWithOrigins(s.stdout, func(w io.Writer) error { return importer.WritePlanJSON(w, plan, info) }, settingsOf(st))
	default:
		return importer.WritePlanText(s.stdout, plan)
	}
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

// targetProvenance names the restore's target: its tenant name when the
// settings name one, and its base URL.
func targetProvenance(s *session, baseURL string) string {
	if s.settings.Named != nil {
		return fmt.Sprintf("tenant %s (%s)", s.settings.Named.Name, baseURL)
	}
	if s.settings.Sandbox {
		return "the built-in sandbox tenant"
	}
	return baseURL
}

// restorePlanFile reads --plan and checks restore's operands with it: the
// archive operand may be left out (the plan's is used), and nothing that
// changes what is planned may be given again.
func restorePlanFile(c *cli.Context) (*workflow.PlanFile, string, error) {
	planPath := c.String("plan")
	switch {
	case planPath == "" && c.NArg() != 1:
		return nil, "", usagef("restore needs one archive file, got %d arguments", c.NArg())
	case planPath == "":
		if c.String("plan-out") != "" && !c.Bool("dry-run") {
			return nil, "", usagef("--plan-out saves the plan of a dry run: add --dry-run (then apply it with restore --plan FILE)")
		}
		return nil, c.Args().First(), nil
	case c.NArg() > 1:
		return nil, "", usagef("restore --plan takes at most the archive, got %d arguments", c.NArg())
	case c.String("plan-out") != "":
		return nil, "", usagef("--plan and --plan-out exclude each other: a saved plan is applied as it is")
	}
	for _, f := range []string{"only", "filters", "map", "map-file"} {
		if c.IsSet(f) {
			return nil, "", usagef("--%s with --plan: the saved plan already says what to write; make a new plan instead", f)
		}
	}
	pf, err := workflow.ReadPlanFile(planPath)
	if err != nil {
		return nil, "", usageError(err)
	}
	path := pf.Archive.Path
	if c.NArg() == 1 {
		path = c.Args().First()
	}
	return pf, path, nil
}

// checkSavedPlan refuses, before any write, a saved plan that no longer
// holds: another tenant behind the URL, or any connector or document of the
// target that changed since the plan was made.
func checkSavedPlan(c *cli.Context, saved *workflow.PlanFile, t *tenant, plan *importer.Plan, target *archive.Snapshot) error {
	if id := t.Client.KnownTenantIdentity(); saved.Target.TenantID != "" && id != "" && id != saved.Target.TenantID {
		return fmt.Errorf("--plan %s: the plan was made for tenant %s, but %s now answers as tenant %s: refused, nothing was written",
			c.String("plan"), saved.Target.TenantID, t.Client.BaseURL(), id)
	}
	if stale := saved.Stale(plan, target); len(stale) > 0 {
		return fmt.Errorf("--plan %s no longer holds, nothing was written; make a new plan and have it reviewed: %s",
			c.String("plan"), strings.Join(stale, "; "))
	}
	return nil
}
