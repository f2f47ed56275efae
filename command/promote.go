package command

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/tenants"
	"github.com/connvault/connvault/workflow"
)

// defaultPromoteFilter selects what a promotion copies by default: custom
// connectors, by the one rule of domain.IsCustomType (both prefixes).
// Built-in ones are the vendor's and the same everywhere.
var defaultPromoteFilter = domain.CustomTypeFilter()

func promoteCommand() *cli.Command {
	return &cli.Command{
		Name:  "promote",
		Usage: "copy connectors from one named tenant to another: export, plan, confirm, snapshot, apply, verify",
		Description: "Exports the source tenant into an archive (kept), reads the target, prints the diff of the\n" +
			"connectors to update and the restore plan, asks (or needs --yes), snapshots the target, applies the\n" +
			"plan as restore does, then snapshots the target again and verifies it against the source. Every\n" +
			"archive's path is printed. Writing to a protected tenant needs --yes-protected NAME. Exit code:\n" +
			"0 done and verified, 1 error or a verification difference, 2 usage, 3 some connectors failed.",
		Flags: withGlobals(
			&cli.StringFlag{Name: "from", Usage: "the source tenant `NAME` (from the tenants file), or a snapshot directory or archive promoted as it is (a path: ./DIR, DIR/, FILE.tar.zst)"},
			&cli.StringFlag{Name: "to", Usage: "the target tenant `NAME` (from the tenants file)"},
			&cli.StringSliceFlag{Name: "only", Usage: "promote only the connector with this `NAME` (repeatable)"},
			&cli.StringSliceFlag{Name: "map", Usage: "promote the source's connector OLD onto the target's NEW (repeatable): `OLD=NEW`"},
			&cli.StringFlag{Name: "map-file", Usage: "read OLD=NEW pairs from `FILE` (one per line, # comments)"},
			&cli.StringFlag{Name: "plan-out", Usage: "with --dry-run: keep the source export and save the plan to `FILE`, for restore --plan FILE --tenant TO"},
			&cli.StringFlag{Name: "filters", Value: defaultPromoteFilter, Usage: "the list filter for the source export (\"\" for every listed connector)"},
			&cli.StringSliceFlag{Name: "script-name", Usage: "also promote this source connector by `SCRIPTNAME` (repeatable): the list hides DEVELOPMENT and DEMO ones"},
			&cli.StringFlag{Name: "archive-dir", Usage: "keep the archives in `DIR`, a directory or a bucket URL (default: $XDG_STATE_HOME/connvault/promote, else ~/.local/state/connvault/promote)"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "export the source, print the diff and plan, and stop: nothing is written to the target"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "apply without asking (needed when stdin is not a terminal)"},
			&cli.StringFlag{Name: "yes-protected", Usage: "allow writing to the protected tenant `NAME` (spelled out)"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON on stdout (the diff, plan and report then go to stderr)"},
		),
		Action: runPromote,
	}
}

func runPromote(c *cli.Context) error {
	from, to, err := promoteNames(c)
	if err != nil {
		return err
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	fromSnapshot := isSnapshotSource(from)
	var fromSettings *settings.Settings
	// The tenant names come first: a typo must not cost an export.
	for _, n := range []string{from, to} {
		if n == from && fromSnapshot {
			continue
		}
		if _, err := s.settings.Lookup(n); err != nil {
			return err
		}
	}
	if err := promoteConfirmations(c, s, to); err != nil {
		return err
	}
	opts, err := promoteOptions(c, s, to)
	if err != nil {
		return err
	}
	if fromSnapshot {
		opts.FromSnapshot = from
	} else {
		src, err := connectNamed(c, s, from)
		if err != nil {
			return err
		}
		defer src.close()
		opts.From, fromSettings = src.Tenant, src.settings
	}
	dst, err := connectNamed(c, s, to)
	if err != nil {
		return err
	}
	defer dst.close()
	opts.To = dst.Tenant

	planOut := c.String("plan-out")
	if planOut != "" && !c.Bool("dry-run") {
		return usagef("--plan-out saves the plan of a dry run: add --dry-run (then apply it with restore --plan FILE --tenant %s)", to)
	}
	opts.KeepSource = planOut != ""
	res, err := workflow.Promote(c.Context, s.env(), opts)
	if err == nil && planOut != "" && res.Restore != nil {
		m, merr := archivestore.ReadManifest(c.Context, res.SourceArchive)
		if merr != nil {
			return merr
		}
		pf := workflow.NewPlanFile(res.Restore.Plan, res.Restore.Target, res.SourceArchive, m.ContentDigest, dst.Tenant, opts.Plan.Mapping, utcNow(), toolVersion())
		if werr := workflow.WritePlanFile(planOut, pf); werr != nil {
			return werr
		}
		s.log.Info(fmt.Sprintf("saved the plan to %s (%s); apply it with restore --plan %s --tenant %s", planOut, plural(pf.Writes, "write"), planOut, to))
	}
	if c.Bool("json") && res != nil && (res.SourceArchive != "" || res.SourceDiscarded) {
		// The target's settings are "settings", as restore's; a snapshot
		// source has none.
		if werr := writeJSONWithOrigins(s.stdout, jsonOf(res), settingsOf(dst.settings), origins{key: "fromSettings", settings: fromSettings}); werr != nil {
			s.log.Error("writing the JSON result", "error", werr)
		}
	}
	if err != nil {
		return restoreError(s, err)
	}
	return promoteOutcome(s, promoteHuman(c, s), res)
}

// promoteNames checks --from and --to before anything else.
func promoteNames(c *cli.Context) (from, to string, err error) {
	if c.NArg() > 0 {
		return "", "", usagef("promote takes no arguments (got %q): use --from NAME --to NAME", c.Args().First())
	}
	from, to = c.String("from"), c.String("to")
	if from == "" || to == "" {
		return "", "", usagef("promote needs --from NAME and --to NAME (tenants from the tenants file; see `connvault tenants`)")
	}
	fromSnapshot := isSnapshotSource(from)
	if fromSnapshot && (c.IsSet("filters") || c.IsSet("script-name")) {
		return "", "", usagef("--filters and --script-name choose what to export from a source tenant; --from %s is a snapshot, promoted as it is", from)
	}
	for _, n := range []string{from, to} {
		if n == from && fromSnapshot {
			continue
		}
		if err := tenants.ValidName(n); err != nil {
			return "", "", usageError(err)
		}
	}
	if from == to {
		return "", "", usagef("--from and --to both name %q: promote copies between two tenants", from)
	}
	return from, to, nil
}

// promoteHuman is where what people read goes: stdout, or stderr with
// --json (stdout then carries only the result document).
func promoteHuman(c *cli.Context, s *session) io.Writer {
	if c.Bool("json") {
		return s.stderr
	}
	return s.stdout
}

// promoteOptions turns promote's flags into the workflow's Options, without
// the tenants.
func promoteOptions(c *cli.Context, s *session, to string) (workflow.PromoteOptions, error) {
	var o workflow.PromoteOptions
	dryRun, yes := c.Bool("dry-run"), c.Bool("yes")
	stdin := c.App.Reader
	if !dryRun && !yes && !stdinIsTerminal(stdin) {
		return o, usagef("promote writes to %s and stdin is not a terminal to confirm on: add --yes to apply, or --dry-run to see the plan only", to)
	}
	mapping, err := mappingFromFlags(c)
	if err != nil {
		return o, err
	}
	if d := c.String("archive-dir"); d != "" {
		if err := archivestore.MustExist("--archive-dir", d); err != nil {
			return o, usageError(err)
		}
	}
	dir, err := archivestore.StateDir(c.String("archive-dir"), archivestore.PromoteDir, "--archive-dir DIR")
	if err != nil {
		return o, usageError(err)
	}
	if p, ok := storage.Local(dir); ok {
		dir = p
	}
	human := promoteHuman(c, s)
	o = workflow.PromoteOptions{
		Selection:  archive.Selection{Filters: c.String("filters"), ScriptNames: c.StringSlice("script-name")},
		Plan:       importer.Options{Mapping: mapping, Only: c.StringSlice("only")},
		ArchiveDir: dir, DryRun: dryRun, YesProtected: c.String("yes-protected"),
		ReportText: s.stderr,
		Show: func(changes *diff.Result, plan *importer.Plan) error {
			return showPromotion(human, changes, plan)
		},
	}
	if !yes {
		o.Confirm = func(q string) (bool, error) { return confirm(c.Context, stdin, s.stderr, q) }
	}
	return o, nil
}

// promoteOutcome says how the promotion ended and gives its exit code.
func promoteOutcome(s *session, human io.Writer, res *workflow.PromoteResult) error {
	from, to := res.From, res.To
	switch {
	case res.DryRun:
		s.log.Info("dry run: nothing was written to " + to)
		return nil
	case res.Restore.Plan.Empty():
		s.log.Info(fmt.Sprintf("nothing to promote: %s already matches %s", to, from))
		return nil
	case res.Failed():
		const msg = "some connectors failed; fix the cause and run the same promote again: it writes only what is left"
		fmt.Fprintln(s.stderr, "connvault: "+msg)
		return &quietError{code: exitPartial, msg: msg}
	case !res.Verified:
		fmt.Fprintf(human, "\nVerification: %s still differs from %s:\n", to, from)
		if err := diff.WriteText(human, res.Verification, diff.TextOptions{Color: colorWanted(human)}); err != nil {
			return err
		}
		return &exitErr{code: exitError, err: fmt.Errorf("promotion applied, but %s still differs from %s for %d connectors (see the diff above)",
			to, from, res.Differences)}
	}
	s.log.Info(fmt.Sprintf("verified: %s matches %s for the %d promoted connectors", to, from, len(res.Verification.Connectors)))
	return nil
}

// showPromotion prints the diff of what the promotion changes in the target
// (when anything), then the plan.
func showPromotion(w io.Writer, changes *diff.Result, plan *importer.Plan) error {
	if !changes.Equal() {
		if err := diff.WriteText(w, changes, diff.TextOptions{Color: colorWanted(w)}); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return importer.WritePlanText(w, plan)
}

// isSnapshotSource reports whether --from names a snapshot (a directory or
// an archive) rather than a tenant. Tenant names are plain words (a-z, 0-9,
// '-'), so anything with a slash, a dot or a scheme is a path: --from ./prod
// names the directory even when a tenant is called prod too.
func isSnapshotSource(from string) bool { return tenants.ValidName(from) != nil }

// promoteConfirmations lists every confirmation a write to the target
// still lacks, all at once: --yes (or a terminal to answer on) and, for a
// protected target, --yes-protected NAME. One try tells everything.
func promoteConfirmations(c *cli.Context, s *session, to string) error {
	if c.Bool("dry-run") {
		return nil
	}
	var missing []string
	if !c.Bool("yes") && !stdinIsTerminal(c.App.Reader) {
		missing = append(missing, "--yes (stdin is not a terminal to confirm on)")
	}
	if tn, err := s.settings.Lookup(to); err == nil && tn.Protected && c.String("yes-protected") != to {
		missing = append(missing, "--yes-protected "+to+" (the target is protected)")
	}
	if len(missing) < 2 {
		return nil // one is said by the check that owns it
	}
	return usagef("promote writes to %s and needs %s; or --dry-run to see the plan only", to, strings.Join(missing, " and "))
}
