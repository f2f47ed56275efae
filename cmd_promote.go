package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/tenants"
)

// defaultPromoteFilter selects what a promotion copies by default: custom
// connectors. Built-in ones are the vendor's and the same everywhere.
const defaultPromoteFilter = `type sw "` + importer.CustomTypePrefix + `"`

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
			&cli.StringFlag{Name: "from", Usage: "the source tenant `NAME` (from the tenants file)"},
			&cli.StringFlag{Name: "to", Usage: "the target tenant `NAME` (from the tenants file)"},
			&cli.StringSliceFlag{Name: "only", Usage: "promote only the connector with this `NAME` (repeatable)"},
			&cli.StringSliceFlag{Name: "map", Usage: "promote the source's connector OLD onto the target's NEW (repeatable): `OLD=NEW`"},
			&cli.StringFlag{Name: "map-file", Usage: "read OLD=NEW pairs from `FILE` (one per line, # comments)"},
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

// promotionJSON is promote's --json result (docs/restore-format.md).
type promotionJSON struct {
	Version       int                    `json:"version"`
	Kind          string                 `json:"kind"` // "promotion"
	From          string                 `json:"from"`
	To            string                 `json:"to"`
	DryRun        bool                   `json:"dryRun"`
	SourceArchive string                 `json:"sourceArchive"`
	Backup        string                 `json:"backup,omitempty"`
	After         string                 `json:"after,omitempty"`
	Plan          *importer.Counts       `json:"plan,omitempty"`
	Writes        int                    `json:"writes"`
	Report        *importer.ReportCounts `json:"report,omitempty"`
	Verified      bool                   `json:"verified"`
	Differences   int                    `json:"differences"`
}

func runPromote(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("promote takes no arguments (got %q): use --from NAME --to NAME", c.Args().First())
	}
	from, to := c.String("from"), c.String("to")
	if from == "" || to == "" {
		return usagef("promote needs --from NAME and --to NAME (tenants from the tenants file; see `connvault tenants`)")
	}
	for _, n := range []string{from, to} {
		if err := tenants.ValidName(n); err != nil {
			return usageError(err)
		}
	}
	if from == to {
		return usagef("--from and --to both name %q: promote copies between two tenants", from)
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	// With --json, stdout carries only the result document; what people read
	// (diff, plan, verification) moves to stderr.
	human := s.stdout
	pj := &promotionJSON{Version: 1, Kind: "promotion", From: from, To: to, DryRun: c.Bool("dry-run")}
	if c.Bool("json") {
		human = s.stderr
		defer func() {
			if pj.SourceArchive != "" {
				if err := writeJSON(s.stdout, pj); err != nil {
					s.log.Error("writing the JSON result", "error", err)
				}
			}
		}()
	}
	dryRun, yes := c.Bool("dry-run"), c.Bool("yes")
	stdin := c.App.Reader
	if !dryRun && !yes && !stdinIsTerminal(stdin) {
		return usagef("promote writes to %s and stdin is not a terminal to confirm on: add --yes to apply, or --dry-run to see the plan only", to)
	}
	mapping, err := mappingFromFlags(c)
	if err != nil {
		return err
	}
	dir, err := stateDir(c.String("archive-dir"), "promote", "--archive-dir DIR")
	if err != nil {
		return err
	}
	if p, ok := storage.Local(dir); ok {
		dir = p
	}

	ctx := c.Context
	src, err := connectNamed(c, s, from)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := connectNamed(c, s, to)
	if err != nil {
		return err
	}
	defer dst.close()
	if src.client.BaseURL() == dst.client.BaseURL() {
		s.log.Warn(fmt.Sprintf("tenants %s and %s have the same base URL %s: promoting a tenant onto itself changes nothing", from, to, src.client.BaseURL()))
	}
	if !dryRun {
		// restoreJob checks again before it writes; failing here saves the
		// export of the source.
		if err := checkWritable(dst, c.String("yes-protected")); err != nil {
			return err
		}
	}

	sel := archive.Selection{Filters: c.String("filters"), ScriptNames: c.StringSlice("script-name")}
	srcPath, srcManifest, err := exportInto(ctx, s, src, "--archive-dir", dir, sel)
	if err != nil {
		return err
	}
	for _, sk := range srcManifest.Skipped {
		s.log.Warn("not in the archive", "tenant", src.name, "scriptName", sk.ScriptName, "reason", sk.Reason)
	}
	s.log.Info(fmt.Sprintf("exported source %s", from), "path", srcPath)
	pj.SourceArchive = srcPath
	source, err := readArchiveArg(ctx, srcPath)
	if err != nil {
		return err
	}

	job := &restoreJob{
		s: s, target: dst, arch: source,
		opts:   importer.Options{Mapping: mapping, Only: c.StringSlice("only")},
		dryRun: dryRun, yes: yes, yesProtected: c.String("yes-protected"),
		backupDir: dir, stdin: stdin, verb: "promote",
		show: func(plan *importer.Plan, target *archive.Snapshot) error {
			pj.Plan, pj.Writes = &plan.Counts, plan.Writes()
			return showPromotion(human, plan, source, target)
		},
	}
	res, err := job.run(ctx)
	if res != nil {
		pj.Backup = res.backup
		if res.report != nil {
			pj.Report = &res.report.Counts
		}
	}
	if err != nil {
		return err
	}
	if dryRun {
		s.log.Info("dry run: nothing was written to " + to)
		return nil
	}
	if res.plan.Empty() {
		pj.Verified = true
		s.log.Info(fmt.Sprintf("nothing to promote: %s already matches %s", to, from))
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Verify from a fresh snapshot, also kept: it records the target as the
	// promotion left it. Name the promoted connectors' scriptNames in the
	// target (created ones have new ones), since the list hides some.
	var names []string
	for _, pc := range res.plan.Connectors {
		if pc.TargetScriptName != "" {
			names = append(names, pc.TargetScriptName)
		}
	}
	for _, r := range res.report.Results {
		if r.ScriptName != "" {
			names = append(names, r.ScriptName)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	afterPath, _, err := exportInto(ctx, s, dst, "--archive-dir", dir, archive.Selection{ScriptNames: names})
	if err != nil {
		return fmt.Errorf("verifying %s: %w", to, err)
	}
	s.log.Info(fmt.Sprintf("snapshot of target %s after the promotion", to), "path", afterPath)
	pj.After = afterPath
	after, err := readArchiveArg(ctx, afterPath)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", to, err)
	}
	ver, err := verifyPromotion(res.plan, source, after)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", to, err)
	}
	pj.Verified = ver.Equal()
	pj.Differences = ver.Summary.Connectors.Added + ver.Summary.Connectors.Removed + ver.Summary.Connectors.Changed
	switch {
	case res.report.Failed():
		fmt.Fprintln(s.stderr, "connvault: some connectors failed; fix the cause and run the same promote again: it writes only what is left")
		return &quietError{code: exitPartial}
	case !ver.Equal():
		fmt.Fprintf(human, "\nVerification: %s still differs from %s:\n", to, from)
		if err := diff.WriteText(human, ver, diff.TextOptions{Color: isTerminal(human)}); err != nil {
			return err
		}
		return &exitErr{code: exitError, err: fmt.Errorf("promotion applied, but %s still differs from %s for %d connectors (see the diff above)",
			to, from, ver.Summary.Connectors.Added+ver.Summary.Connectors.Removed+ver.Summary.Connectors.Changed)}
	}
	s.log.Info(fmt.Sprintf("verified: %s matches %s for the %d promoted connectors", to, from, len(ver.Connectors)))
	return nil
}

// showPromotion prints, on stdout, the diff of the connectors the plan
// updates (target → source, what will change in the target; creates are
// listed by the plan), then the plan.
func showPromotion(w io.Writer, plan *importer.Plan, source, target *archive.Snapshot) error {
	a, b := &archive.Snapshot{}, &archive.Snapshot{}
	mapping := map[string]string{}
	for _, pc := range plan.Connectors {
		if pc.Action != importer.ActionUpdate {
			continue
		}
		if tc := byScriptName(target, pc.TargetScriptName); tc != nil {
			a.Connectors = append(a.Connectors, tc)
		}
		if sc := byScriptName(source, pc.ArchiveScriptName); sc != nil {
			b.Connectors = append(b.Connectors, sc)
		}
		if pc.TargetName != pc.Name {
			mapping[pc.TargetName] = pc.Name
		}
	}
	if len(a.Connectors) > 0 {
		res, err := diff.Compare(a, b, diff.Options{Match: diff.MatchName, Mapping: mapping})
		if err != nil {
			return err
		}
		if err := diff.WriteText(w, res, diff.TextOptions{Color: isTerminal(w)}); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return importer.WritePlanText(w, plan)
}

// verifyPromotion compares the promoted connectors of the source with what
// the target now holds: the plan's connectors that were not skipped, paired
// by name through the plan's target names.
func verifyPromotion(plan *importer.Plan, source, after *archive.Snapshot) (*diff.Result, error) {
	a, b := &archive.Snapshot{}, &archive.Snapshot{}
	mapping := map[string]string{}
	want := map[string]bool{} // target names
	for _, pc := range plan.Connectors {
		if pc.Action == importer.ActionSkip {
			continue
		}
		if sc := byScriptName(source, pc.ArchiveScriptName); sc != nil {
			a.Connectors = append(a.Connectors, sc)
		}
		want[pc.TargetName] = true
		if pc.TargetName != pc.Name {
			mapping[pc.Name] = pc.TargetName
		}
	}
	for _, c := range after.Connectors {
		f, err := diff.DetailFields(c.Detail)
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", c.ScriptName, err)
		}
		if n, _ := f["name"].(string); want[n] {
			b.Connectors = append(b.Connectors, c)
		}
	}
	// Pairs are made by name (through the mapping): a name differs only
	// where the mapping renamed on purpose.
	return diff.Compare(a, b, diff.Options{Match: diff.MatchName, Mapping: mapping, Ignore: []string{"name"}})
}

func byScriptName(s *archive.Snapshot, scriptName string) *archive.Connector {
	if scriptName == "" {
		return nil
	}
	for _, c := range s.Connectors {
		if c.ScriptName == scriptName {
			return c
		}
	}
	return nil
}

// writeJSON prints v as indented JSON: the --json output of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
