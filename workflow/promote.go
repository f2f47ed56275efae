package workflow

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/importer"
)

// PromoteOptions is one promotion from a source tenant to a target tenant.
type PromoteOptions struct {
	From, To *Tenant
	// FromSnapshot, when set instead of From, is a snapshot directory or an
	// archive (a path or an object URL) promoted as it is: nothing is
	// exported, Selection is unused (docs/gitops.md).
	FromSnapshot string
	// Selection is what the source export takes (filter, scriptNames).
	Selection archive.Selection
	// Plan pairs the connectors (mapping, --only).
	Plan importer.Options
	// ArchiveDir keeps the three archives: the source export, the target's
	// pre-promotion snapshot and its snapshot after the promotion.
	ArchiveDir string
	DryRun     bool
	// KeepSource keeps a dry run's source export in ArchiveDir (a saved
	// plan refers to it) instead of discarding it.
	KeepSource   bool
	Confirm      func(question string) (bool, error) // nil: --yes
	YesProtected string
	// Show prints the diff of what will change in the target and the plan.
	Show func(changes *diff.Result, plan *importer.Plan) error
	// ReportText, when set, receives the apply report.
	ReportText io.Writer
}

// PlanSummary counts a plan as restore's JSON does.
type PlanSummary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Skip      int `json:"skip"`
}

// ReportSummary counts an apply report as restore's JSON does.
type ReportSummary struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
}

// PromoteResult is what a promotion did; it is promote's --json document
// (docs/restore-format.md), its keys named as restore's.
type PromoteResult struct {
	Version       int    `json:"version"`
	Kind          string `json:"kind"` // "promotion"
	From          string `json:"from"`
	To            string `json:"to"`
	DryRun        bool   `json:"dryRun"`
	SourceArchive string `json:"sourceArchive"`
	// SourceDiscarded: a dry run exported the source for the plan only and
	// kept nothing (SourceArchive is then empty).
	SourceDiscarded bool           `json:"sourceDiscarded,omitempty"`
	Backup          string         `json:"backup,omitempty"`
	After           string         `json:"after,omitempty"`
	Plan            *PlanSummary   `json:"plan,omitempty"`
	Writes          int            `json:"writes"`
	Report          *ReportSummary `json:"report,omitempty"`
	Verified        bool           `json:"verified"`
	Differences     int            `json:"differences"`

	// Restore is the restore step's result; Verification the comparison
	// of the source with the target after the promotion.
	Restore      *RestoreResult `json:"-"`
	Verification *diff.Result   `json:"-"`
}

// Failed reports whether some connector failed to apply.
func (r *PromoteResult) Failed() bool { return r.Restore.Failed() }

// Promote runs the steps of a promotion: check the target may be written,
// export the source, plan against the target and apply (as Restore, with the
// pre-promotion snapshot), then verify the target against the source.
func Promote(ctx context.Context, env *Env, o PromoteOptions) (*PromoteResult, error) {
	res := &PromoteResult{Version: 1, Kind: "promotion", From: o.sourceName(), To: o.To.Name, DryRun: o.DryRun}
	if err := promoteCheckTarget(ctx, env, o); err != nil {
		return res, err
	}
	if o.DryRun && o.FromSnapshot == "" && !o.KeepSource {
		// A dry run keeps nothing: the source goes to a temporary directory
		// that is removed when the plan is shown, so repeated dry runs do
		// not fill the archive directory.
		tmp, err := os.MkdirTemp("", "connvault-promote-dry-run-")
		if err != nil {
			return res, fmt.Errorf("promote --dry-run: temporary directory for the source: %w", err)
		}
		defer os.RemoveAll(tmp)
		o.ArchiveDir = tmp
	}
	source, err := promoteExportSource(ctx, env, o, res)
	if err != nil {
		return res, err
	}
	if o.DryRun && o.FromSnapshot == "" && !o.KeepSource {
		res.SourceArchive, res.SourceDiscarded = "", true
	}
	if err := promoteApply(ctx, env, o, source, res); err != nil {
		return res, err
	}
	if o.DryRun || res.Restore.Plan.Empty() {
		res.Verified = !o.DryRun
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, promoteVerify(ctx, env, o, source, res)
}

// promoteCheckTarget fails before the source export when the target may not
// be written: Restore checks again before it writes.
func promoteCheckTarget(ctx context.Context, env *Env, o PromoteOptions) error {
	if o.From != nil && o.From.Client.BaseURL() == o.To.Client.BaseURL() {
		env.log().Warn(fmt.Sprintf("tenants %s and %s have the same base URL %s: promoting a tenant onto itself changes nothing", o.From.Name, o.To.Name, o.From.Client.BaseURL()))
	}
	if o.DryRun {
		return nil
	}
	return CheckWritable(ctx, o.To, o.YesProtected)
}

func promoteExportSource(ctx context.Context, env *Env, o PromoteOptions, res *PromoteResult) (*archive.Snapshot, error) {
	if o.FromSnapshot != "" {
		if err := archivestore.Exists(ctx, o.FromSnapshot); err != nil {
			return nil, &UsageError{fmt.Errorf("--from %s: no such snapshot directory or archive (%w); a tenant is named with lower-case letters, digits and '-'", o.FromSnapshot, err)}
		}
		res.SourceArchive = o.FromSnapshot
		return archivestore.Read(ctx, o.FromSnapshot)
	}
	path, m, err := ExportInto(ctx, env, o.From, "--archive-dir", o.ArchiveDir, o.Selection)
	if err != nil {
		return nil, err
	}
	for _, sk := range m.Skipped {
		env.log().Warn("not in the archive", "tenant", o.From.Name, "scriptName", sk.ScriptName, "reason", sk.Reason)
	}
	if o.DryRun && !o.KeepSource {
		env.log().Info(fmt.Sprintf("exported source %s for the plan only; a dry run keeps no archive", o.From.Name))
	} else {
		env.log().Info(fmt.Sprintf("exported source %s", o.From.Name), "path", path)
	}
	res.SourceArchive = path
	return archivestore.Read(ctx, path)
}

func promoteApply(ctx context.Context, env *Env, o PromoteOptions, source *archive.Snapshot, res *PromoteResult) error {
	rr, err := Restore(ctx, env, RestoreOptions{
		Target: o.To, Archive: source, Plan: o.Plan,
		DryRun: o.DryRun, Confirm: o.Confirm, YesProtected: o.YesProtected,
		BackupDir: o.ArchiveDir, Verb: "promote", ReportText: o.ReportText,
		Show: func(plan *importer.Plan, target *archive.Snapshot) error {
			c := plan.Counts
			res.Plan, res.Writes = &PlanSummary{Create: c.Create, Update: c.Update, Unchanged: c.Unchanged, Skip: c.Skip}, plan.Writes()
			if o.Show == nil {
				return nil
			}
			changes, err := PromotionChanges(plan, source, target)
			if err != nil {
				return err
			}
			return o.Show(changes, plan)
		},
	})
	res.Restore = rr
	if rr != nil {
		res.Backup = rr.Backup
		if rr.Report != nil {
			c := rr.Report.Counts
			res.Report = &ReportSummary{Created: c.Created, Updated: c.Updated, Unchanged: c.Unchanged, Skipped: c.Skipped, Failed: c.Failed}
		}
	}
	return err
}

// promoteVerify snapshots the target again (kept: it records the target as
// the promotion left it) and compares it with the source. It names the
// promoted connectors' scriptNames in the target (created ones have new
// ones), since the list hides some.
func promoteVerify(ctx context.Context, env *Env, o PromoteOptions, source *archive.Snapshot, res *PromoteResult) error {
	var names []string
	for _, pc := range res.Restore.Plan.Connectors {
		if pc.TargetScriptName != "" {
			names = append(names, pc.TargetScriptName)
		}
	}
	for _, r := range res.Restore.Report.Results {
		if r.ScriptName != "" {
			names = append(names, r.ScriptName)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	afterPath, _, err := ExportInto(ctx, env, o.To, "--archive-dir", o.ArchiveDir, archive.Selection{ScriptNames: names})
	if err != nil {
		return fmt.Errorf("verifying %s: %w", o.To.Name, err)
	}
	env.log().Info(fmt.Sprintf("snapshot of target %s after the promotion", o.To.Name), "path", afterPath)
	res.After = afterPath
	after, err := archivestore.Read(ctx, afterPath)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", o.To.Name, err)
	}
	ver, err := VerifyPromotion(res.Restore.Plan, source, after)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", o.To.Name, err)
	}
	res.Verification = ver
	res.Verified = ver.Equal()
	s := ver.Summary.Connectors
	res.Differences = s.Added + s.Removed + s.Changed
	return nil
}

// PromotionChanges is the diff of what the plan changes in the target
// (target → source): the connectors it creates (added), updates (changed)
// and leaves unchanged, so the diff's table counts the same connectors as
// the plan; skipped ones are the plan's alone.
func PromotionChanges(plan *importer.Plan, source, target *archive.Snapshot) (*diff.Result, error) {
	a, b := &archive.Snapshot{}, &archive.Snapshot{}
	mapping := map[string]string{}
	for _, pc := range plan.Connectors {
		if pc.Action == importer.ActionSkip {
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
	return diff.Compare(a, b, diff.Options{Match: diff.MatchName, Mapping: mapping})
}

// VerifyPromotion compares the promoted connectors of the source with what
// the target now holds: the plan's connectors that were not skipped, paired
// by name through the plan's target names.
func VerifyPromotion(plan *importer.Plan, source, after *archive.Snapshot) (*diff.Result, error) {
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

// sourceName names the promotion's source: the tenant, or the snapshot.
func (o *PromoteOptions) sourceName() string {
	if o.FromSnapshot != "" {
		return o.FromSnapshot
	}
	return o.From.Name
}
