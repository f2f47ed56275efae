package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/importer"
)

// RestoreOptions is one restore of an archive into a tenant, from reading the
// target to the report: what restore and promote share, so both pass the
// same guard, confirmation and pre-restore snapshot.
type RestoreOptions struct {
	Target *Tenant
	// Archive is the archive in memory; or, for an archive read as a
	// stream, Planner has indexed Source (importer.NewPlannerFrom) and the
	// documents to write are read from Source again just before writing.
	Archive *archive.Snapshot
	Planner *importer.Planner
	Source  *diff.Source
	// Plan says which connectors and how they pair (mapping, --only, filter).
	Plan importer.Options
	// DryRun stops after Show: nothing is written, no permission needed.
	DryRun bool
	// Confirm asks before writing; nil applies without asking (--yes).
	Confirm func(question string) (bool, error)
	// YesProtected is --yes-protected: the protected target's name, spelled out.
	YesProtected string
	// BackupDir receives the pre-restore snapshot; "" takes none.
	BackupDir string
	// Verb names the operation in messages: "restore" (default) or "promote".
	Verb string
	// DiscardTarget, with DryRun, keeps none of the target as read: Show
	// then gets a target without connectors. A dry run that prints a text
	// or JSON plan needs none, and memory then holds a window, not the
	// tenant.
	DiscardTarget bool
	// Show prints the plan once it is made; target is the tenant as read.
	Show func(plan *importer.Plan, target *archive.Snapshot) error
	// ReportText, when set, receives the text report after applying.
	ReportText io.Writer
}

// RestoreResult is what a restore did.
type RestoreResult struct {
	Plan *importer.Plan
	// Target is the target as read before writing (what the snapshot holds).
	Target *archive.Snapshot
	Report *importer.Report // nil after a dry run
	// Backup is the pre-restore snapshot's path, "" when none was taken.
	Backup string
	// ScriptNames are the archive's, read from the target besides its list.
	ScriptNames []string
}

// Failed reports whether some connector failed to apply.
func (r *RestoreResult) Failed() bool { return r != nil && r.Report != nil && r.Report.Failed() }

func (o *RestoreOptions) verb() string {
	if o.Verb == "" {
		return "restore"
	}
	return o.Verb
}

// CheckWritable is the guard on every write to a tenant (Restore runs it
// before the pre-restore snapshot and any write). Protection belongs to the
// target, not to how it was named: a target whose base URL is a protected
// tenant's is written to only when yesProtected spells out that tenant's name.
// A yesProtected naming another tenant than the target is refused too, since
// it shows the user meant a different one.
func CheckWritable(ctx context.Context, t *Tenant, yesProtected string) error {
	protected := ""
	if t.Protected != nil {
		name, err := t.Protected(t.Client.BaseURL())
		if err != nil {
			return &UsageError{fmt.Errorf("%w: nothing was written", err)}
		}
		protected = name
	}
	// A protected address is refused before any request.
	if protected != "" && yesProtected != protected {
		return refuseProtected(t, protected, yesProtected, "")
	}
	id := ""
	if t.ProtectedID != nil {
		// Beyond the address: the token names the tenant that answers.
		var err error
		if id, err = t.Client.TenantIdentity(ctx); err != nil {
			return fmt.Errorf("cannot tell which tenant %s is (nothing was written): %w", t.Client.BaseURL(), err)
		}
		byID, err := t.ProtectedID(id)
		if err != nil {
			return &UsageError{fmt.Errorf("%w: nothing was written", err)}
		}
		if protected == "" && byID != "" {
			if err := refuseProtected(t, byID, yesProtected, id); err != nil {
				return err
			}
			protected = byID
		}
	}
	if err := refuseProtected(t, protected, yesProtected, ""); err != nil {
		return err
	}
	if protected != "" && t.RecordID != nil {
		if err := t.RecordID(ctx, protected, id); err != nil {
			return &UsageError{fmt.Errorf("%w: nothing was written", err)}
		}
	}
	return nil
}

// refuseProtected is CheckWritable's rule for the target's protected name
// ("" when it is not protected); id, when set, is the tenant identity that
// revealed it.
func refuseProtected(t *Tenant, protected, yesProtected, id string) error {
	switch {
	case yesProtected != "" && yesProtected != t.Name && yesProtected != protected:
		return &UsageError{fmt.Errorf("--yes-protected %s does not name the target tenant %q: nothing was written; check which tenant you are writing to", yesProtected, t.Name)}
	case protected != "" && yesProtected != protected && id != "":
		return &UsageError{fmt.Errorf("the target %s is the protected tenant %q (its token names tenant %s): writing to it needs --yes-protected %s spelled out; nothing was written",
			t.Client.BaseURL(), protected, id, protected)}
	case protected != "" && yesProtected != protected:
		return &UsageError{fmt.Errorf("the target %s is the protected tenant %q: writing to it needs --yes-protected %s spelled out; nothing was written",
			t.Client.BaseURL(), protected, protected)}
	}
	return nil
}

// Restore reads the target connectors the archive can land on, plans, shows
// the plan, and unless DryRun: asks, snapshots the target, applies.
func Restore(ctx context.Context, env *Env, o RestoreOptions) (*RestoreResult, error) {
	t := o.Target
	if !o.DryRun {
		if err := CheckWritable(ctx, t, o.YesProtected); err != nil {
			return nil, err
		}
	}
	target, res, err := planRestore(ctx, env, o)
	if err != nil {
		return nil, err
	}
	if o.Show != nil {
		if err := o.Show(res.Plan, target); err != nil {
			return nil, err
		}
	}
	if o.DryRun {
		return res, nil
	}
	if !res.Plan.Empty() {
		if o.Confirm != nil {
			writes := fmt.Sprintf("%d writes", res.Plan.Writes())
			if res.Plan.Writes() == 1 {
				writes = "1 write"
			}
			ok, err := o.Confirm(fmt.Sprintf("Apply this plan to %s (%s)? [y/N] ", t.Client.BaseURL(), writes))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s %w; nothing was written", o.verb(), ErrDeclined)
			}
		}
		if o.BackupDir != "" {
			path, m, err := SaveSnapshot(ctx, env, t, o.BackupDir, target)
			if err != nil {
				return nil, fmt.Errorf("pre-%s snapshot (nothing was written; fix the cause, or skip the snapshot with --no-backup): %w", o.verb(), err)
			}
			res.Backup = path
			env.log().Info(fmt.Sprintf("pre-%s snapshot written; restore it to undo this %s", o.verb(), o.verb()), "path", path, "connectors", m.ConnectorCount)
		}
	}
	if o.Source != nil && !res.Plan.Empty() {
		if err := res.Plan.Load(ctx, *o.Source); err != nil {
			return nil, fmt.Errorf("reading the documents to write (nothing was written): %w", err)
		}
	}
	bar := env.progress(strings.TrimSuffix(o.verb(), "e")+"ing "+t.Name, t.Client.Stats)
	res.Report = importer.Apply(ctx, t.Client, res.Plan, importer.ApplyOptions{
		Concurrency: env.Concurrency,
		Logger:      env.log(),
		Progress:    func(done, total int) { bar.Update(export.Progress{Done: done, Total: total}) },
		// The target's scriptNames, so a create whose answer was lost is
		// found by its likely scriptName instead of created twice.
		TargetScriptNames: importer.ScriptNames(target),
	})
	bar.Finish()
	if ctx.Err() != nil {
		// One summary instead of a failure line per cancelled request.
		return res, &InterruptedError{Verb: o.verb(), Counts: res.Report.Counts, Backup: res.Backup}
	}
	if o.ReportText != nil {
		if err := importer.WriteReportText(o.ReportText, res.Report); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// planRestore reads the target and makes the plan.
func planRestore(ctx context.Context, env *Env, o RestoreOptions) (*archive.Snapshot, *RestoreResult, error) {
	// The list shows RELEASED connectors only: name the archive's own
	// scriptNames too, so a DEVELOPMENT or DEMO connector of the same tenant
	// is found (a 404 just means the target does not have it).
	//
	// Only target connectors that an archive connector can land on matter:
	// reading just those keeps a restore into a large tenant cheap under the
	// rate limit, and it is exactly what undoing the restore needs. A bad
	// --only is refused here, before the first request.
	planner := o.Planner
	if planner == nil {
		var err error
		planner, err = importer.NewPlanner(o.Archive, o.Plan)
		if errors.Is(err, importer.ErrNotInArchive) {
			return nil, nil, &UsageError{err}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	res := &RestoreResult{ScriptNames: planner.ScriptNames()}
	// Each target connector is planned as soon as it is read, while the
	// requests for the others are in flight.
	sel := &archive.Selection{ScriptNames: res.ScriptNames, Names: planner.TargetNames()}
	var target *archive.Snapshot
	var err error
	read := 0
	var leftInPlace []string
	res.Plan, err = planner.Plan(ctx, diff.Source{Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		var err error
		leftInPlace = leftInPlace[:0]
		target, err = readTenantEach(ctx, env, o.Target, sel, func(c *archive.Connector) error {
			read++
			return emit(c)
		}, func(name string) { leftInPlace = append(leftInPlace, name) }, !o.DiscardTarget)
		return err
	}})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, &PlanInterruptedError{Verb: o.verb(), Read: read, Wanted: len(res.ScriptNames)}
		}
		return nil, nil, err
	}
	slices.Sort(leftInPlace)
	res.Plan.LeftInPlace = slices.Compact(leftInPlace)
	res.Target = target
	return target, res, nil
}

// PlanInterruptedError is a restore stopped (Ctrl-C) while it read the
// target to plan: nothing was written, and how far the reading got. It does
// not wrap context.Canceled, which would shorten the message to
// "interrupted".
type PlanInterruptedError struct {
	Verb   string
	Read   int // target connectors read and planned
	Wanted int // connectors of the archive, whose counterparts were sought
}

func (e *PlanInterruptedError) Error() string {
	return fmt.Sprintf("interrupted while planning: %d target connectors read for the archive's %d; nothing was written; run the same %s again",
		e.Read, e.Wanted, e.Verb)
}

// InterruptedError is a restore stopped (Ctrl-C) while applying: what was
// done and what was not, in one sentence.
type InterruptedError struct {
	Verb   string
	Counts importer.ReportCounts
	Backup string
}

func (e *InterruptedError) Error() string {
	c := e.Counts
	done := c.Created + c.Updated
	msg := fmt.Sprintf("interrupted: %d connectors written (%d created, %d updated), %d unchanged, %d not finished",
		done, c.Created, c.Updated, c.Unchanged, c.Failed)
	if e.Backup != "" {
		msg += "; the pre-" + e.Verb + " snapshot is " + e.Backup
	}
	return msg + "; run the same " + e.Verb + " again to finish it"
}
