package importer

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
)

// PlanReport turns a plan into the report that diff's Markdown and HTML
// writers render: the plan's counts, then one section per connector the plan
// creates or updates, listing its writes and warnings with the diff of each
// item it writes (target to archive, as `connvault diff tenant: ARCHIVE`
// shows it), then one per skipped connector with the reason. arch and target
// are the snapshots the plan was made from; a connector missing from them
// (a plan made elsewhere) gets its list of writes without diffs.
func PlanReport(p *Plan, arch, target *archive.Snapshot, info Info) *diff.Report {
	title := "connvault restore plan"
	rep := &diff.Report{Title: title}
	if info.Archive != "" {
		rep.Context = append(rep.Context, "Archive: "+info.Archive)
	}
	if info.Target != "" {
		rep.Context = append(rep.Context, "Target: "+info.Target)
	}
	if info.DryRun {
		rep.Context = append(rep.Context, "Dry run: nothing was written.")
	}
	rep.Verdict = fmt.Sprintf("Plan: %d to create, %d to update, %d unchanged, %d skipped (%d write request(s)).",
		p.Counts.Create, p.Counts.Update, p.Counts.Unchanged, p.Counts.Skip, p.Writes())
	rep.Summary = diff.Table{
		Head: []string{"", "connectors"},
		Rows: [][]string{
			{"create", fmt.Sprint(p.Counts.Create)},
			{"update", fmt.Sprint(p.Counts.Update)},
			{"unchanged", fmt.Sprint(p.Counts.Unchanged)},
			{"skip", fmt.Sprint(p.Counts.Skip)},
		},
	}
	rep.Notes = append(rep.Notes, p.Warnings...)
	if n := len(p.LeftInPlace); n > 0 {
		rep.Summary.Rows = append(rep.Summary.Rows, []string{"left in place", fmt.Sprint(n)})
		rep.Notes = append(rep.Notes, "Left in place (in the target, not in the archive; a restore never deletes): "+strings.Join(p.LeftInPlace, ", "))
	}
	archBy := byScriptName(arch)
	targetBy := byScriptName(target)
	for _, c := range p.Connectors {
		if c.Action == ActionUnchanged {
			continue
		}
		sec := diff.Section{Status: string(c.Action), Title: label(c.Name, c.TargetName, ""), Where: "archive " + c.ArchiveScriptName}
		if c.TargetScriptName != "" {
			sec.Where += ", target " + c.TargetScriptName
		}
		if c.Action == ActionSkip {
			sec.Notes = append(sec.Notes, "skipped: "+c.Reason)
			rep.Sections = append(rep.Sections, sec)
			continue
		}
		if c.Action == ActionCreate {
			sec.Notes = append(sec.Notes, "create the connector "+quoteName(c.TargetName))
		}
		for _, it := range c.Items {
			verb := "write"
			if it.Kind == ItemField {
				verb = "patch"
			}
			sec.Notes = append(sec.Notes, fmt.Sprintf("%s %s (%s)", verb, it.Path, it.Change))
		}
		for _, w := range c.Warnings {
			sec.Notes = append(sec.Notes, "warning: "+w)
		}
		itemDiffs(&sec, c, archBy[c.ArchiveScriptName], targetBy[c.TargetScriptName])
		rep.Sections = append(rep.Sections, sec)
	}
	return rep
}

func byScriptName(s *archive.Snapshot) map[string]*archive.Connector {
	out := map[string]*archive.Connector{}
	if s == nil {
		return out
	}
	for _, c := range s.Connectors {
		out[c.ScriptName] = c
	}
	return out
}

// itemDiffs adds to sec the diff of every item c writes, from the target's
// version (none for a connector to create) to the archive's.
func itemDiffs(sec *diff.Section, c Connector, src, dst *archive.Connector) {
	if src == nil || (c.TargetScriptName != "" && dst == nil) {
		return
	}
	a := &archive.Snapshot{}
	opts := diff.Options{Match: diff.MatchScriptName}
	if dst != nil {
		a.Connectors = []*archive.Connector{dst}
		if dst.ScriptName != src.ScriptName {
			opts.Mapping = map[string]string{dst.ScriptName: src.ScriptName}
		}
	}
	res, err := diff.Compare(a, &archive.Snapshot{Connectors: []*archive.Connector{src}}, opts)
	if err != nil || len(res.Connectors) != 1 {
		return // the plan was made from these snapshots, so this does not happen; the writes are listed anyway
	}
	writes := map[string]bool{}
	for _, it := range c.Items {
		writes[it.Path] = true
	}
	for _, ch := range res.Connectors[0].Changes {
		if !writes[ch.Path] {
			continue
		}
		if ch.Kind == diff.KindDetail && len(ch.Old) <= inlineField && len(ch.New) <= inlineField {
			sec.Fields = append(sec.Fields, diff.FieldChange{Field: ch.Field, Old: absent(ch.Old), New: absent(ch.New)})
			continue
		}
		sec.Diffs = append(sec.Diffs, ch.Diff)
	}
}

// PlanReportFrom is PlanReport for a plan made from a streamed archive
// (NewPlannerFrom): it reads from src only the connectors the plan creates
// or updates, so memory holds what the restore writes, not the archive.
func PlanReportFrom(ctx context.Context, p *Plan, src diff.Source, target *archive.Snapshot, info Info) (*diff.Report, error) {
	want := map[string]bool{}
	for _, c := range p.Connectors {
		if c.Action == ActionCreate || c.Action == ActionUpdate {
			want[c.ArchiveScriptName] = true
		}
	}
	arch := &archive.Snapshot{}
	if len(want) > 0 {
		err := src.Each(ctx, func(c *archive.Connector) error {
			if want[c.ScriptName] {
				arch.Connectors = append(arch.Connectors, c)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("the plan's diffs: %w", err)
		}
	}
	return PlanReport(p, arch, target, info), nil
}

// inlineField is the longest field value shown inline, as diff's text
// format does; longer ones are shown as a diff.
const inlineField = 64

func absent(b []byte) string {
	if b == nil {
		return "(absent)"
	}
	return string(b)
}

// WritePlanMarkdown writes the plan as Markdown for a pull-request comment
// (see PlanReport).
func WritePlanMarkdown(w io.Writer, p *Plan, arch, target *archive.Snapshot, info Info) error {
	return PlanReport(p, arch, target, info).WriteMarkdown(w)
}

// WritePlanHTML writes the plan as one self-contained HTML page (see
// PlanReport).
func WritePlanHTML(w io.Writer, p *Plan, arch, target *archive.Snapshot, info Info) error {
	return PlanReport(p, arch, target, info).WriteHTML(w)
}
