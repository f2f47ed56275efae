package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/connvault/connvault/internal/termtext"
)

// JSONVersion is the "version" of the plan and report JSON documents
// (docs/restore-format.md). It changes only when a field is removed or
// changes meaning; new fields may appear within a version.
const JSONVersion = 1

// Info is the context the plan and report documents carry.
type Info struct {
	Archive string // the archive's path
	Target  string // the target tenant's base URL (never credentials)
	Backup  string // the pre-restore snapshot's path, when one was taken
	DryRun  bool
}

// WritePlanText writes the plan like a terraform plan: one line per
// connector (+ create, ~ update, = unchanged, - skipped), its items and
// warnings indented below, and a closing "Plan: ..." line.
func WritePlanText(w io.Writer, p *Plan) error {
	var b strings.Builder
	for _, c := range p.Connectors {
		switch c.Action {
		case ActionCreate:
			fmt.Fprintf(&b, "+ create %s\n", label(c.Name, c.TargetName, ""))
		case ActionUpdate:
			fmt.Fprintf(&b, "~ update %s\n", label(c.Name, c.TargetName, c.TargetScriptName))
		case ActionUnchanged:
			fmt.Fprintf(&b, "= unchanged %s\n", label(c.Name, c.TargetName, c.TargetScriptName))
		default:
			fmt.Fprintf(&b, "- skipped %s (%s)\n", label(c.Name, c.TargetName, ""), c.Reason)
		}
		for _, it := range c.Items {
			sym := "~"
			if it.Change == ChangeAdd {
				sym = "+"
			}
			fmt.Fprintf(&b, "    %s %s\n", sym, it.Path)
		}
		for _, wn := range c.Warnings {
			fmt.Fprintf(&b, "    ! %s\n", wn)
		}
	}
	for _, wn := range p.Warnings {
		fmt.Fprintf(&b, "! %s\n", wn)
	}
	if len(p.Connectors) > 0 || len(p.Warnings) > 0 {
		b.WriteByte('\n')
	}
	if n := len(p.LeftInPlace); n > 0 {
		fmt.Fprintf(&b, "Left in place (in the target, not in the archive; a restore never deletes): %s\n\n", strings.Join(p.LeftInPlace, ", "))
	}
	fmt.Fprintf(&b, "Plan: %d to create, %d to update, %d unchanged, %d skipped.\n",
		p.Counts.Create, p.Counts.Update, p.Counts.Unchanged, p.Counts.Skip)
	_, err := io.WriteString(w, termtext.EscapeLines(b.String())) // names and messages come from the archive and the server
	return err
}

// label names a connector: its name, "archive name -> target name" when
// mapped, and the target scriptName when known.
func label(name, target, scriptName string) string {
	s := quoteName(name)
	if target != "" && target != name {
		s += " -> " + quoteName(target)
	}
	if scriptName != "" {
		s += " (" + scriptName + ")"
	}
	return s
}

// quoteName keeps a name readable on one line: names with control
// characters or leading/trailing spaces are quoted.
func quoteName(n string) string {
	if n == "" || strings.TrimSpace(n) != n || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Sprintf("%q", n)
	}
	return n
}

// WriteReportText writes one line per connector that was created, updated
// or failed (the plan already listed the rest), each failure with the
// server's message, then a summary line. Lines start with "connvault: " as
// everything connvault writes to stderr.
func WriteReportText(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, res := range r.Results {
		name := label(res.Name, res.TargetName, res.ScriptName)
		switch res.Outcome {
		case OutcomeCreated:
			fmt.Fprintf(&b, "connvault: created %s: scriptName %s, %s\n", name, res.ScriptName, written(res))
		case OutcomeUpdated:
			fmt.Fprintf(&b, "connvault: updated %s: %s\n", name, written(res))
		case OutcomeFailed:
			what := "failed"
			if res.Created {
				what = "failed after create"
			}
			fmt.Fprintf(&b, "connvault: %s %s: %d of its writes failed", what, name, len(res.Failures))
			if len(res.Written) > 0 {
				fmt.Fprintf(&b, ", %s", written(res))
			}
			b.WriteByte('\n')
			for _, f := range res.Failures {
				fmt.Fprintf(&b, "connvault:     %s: %s\n", f.Item, f.Message)
			}
		}
	}
	c := r.Counts
	fmt.Fprintf(&b, "connvault: restore: %d created, %d updated, %d unchanged, %d skipped, %d failed\n",
		c.Created, c.Updated, c.Unchanged, c.Skipped, c.Failed)
	_, err := io.WriteString(w, termtext.EscapeLines(b.String())) // names and messages come from the archive and the server
	return err
}

func written(r Result) string {
	if len(r.Written) == 0 {
		return "nothing written"
	}
	return "wrote " + strings.Join(r.Written, ", ")
}

// The JSON documents, field by field in docs/restore-format.md. They are
// separate from the Go types so the API can change without the schema moving.

type jsonCreate struct {
	Name          string `json:"name"`
	Type          string `json:"type,omitempty"`
	ClassName     string `json:"className"`
	DirectConnect *bool  `json:"directConnect,omitempty"`
	Status        string `json:"status,omitempty"`
}

type jsonItem struct {
	Kind   ItemKind `json:"kind"`
	Path   string   `json:"path"`
	Change Change   `json:"change"`
}

type jsonPlanConnector struct {
	Name              string      `json:"name"`
	TargetName        string      `json:"targetName"`
	ArchiveScriptName string      `json:"archiveScriptName"`
	TargetScriptName  string      `json:"targetScriptName,omitempty"`
	Action            Action      `json:"action"`
	Reason            string      `json:"reason,omitempty"`
	Create            *jsonCreate `json:"create,omitempty"`
	Items             []jsonItem  `json:"items"`
	Warnings          []string    `json:"warnings"`
}

type jsonPlanSummary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Skip      int `json:"skip"`
	Writes    int `json:"writes"`
}

type jsonPlan struct {
	Version    int                 `json:"version"`
	Kind       string              `json:"kind"`
	Archive    string              `json:"archive,omitempty"`
	Target     string              `json:"target,omitempty"`
	DryRun     bool                `json:"dryRun"`
	Summary    jsonPlanSummary     `json:"summary"`
	Warnings   []string            `json:"warnings"`
	Connectors []jsonPlanConnector `json:"connectors"`
}

func planConnectors(p *Plan) []jsonPlanConnector {
	out := make([]jsonPlanConnector, 0, len(p.Connectors))
	for _, c := range p.Connectors {
		jc := jsonPlanConnector{Name: c.Name, TargetName: c.TargetName, ArchiveScriptName: c.ArchiveScriptName,
			TargetScriptName: c.TargetScriptName, Action: c.Action, Reason: c.Reason,
			Items: []jsonItem{}, Warnings: nonNil(c.Warnings)}
		if c.Create != nil {
			jc.Create = &jsonCreate{Name: c.Create.Name, Type: c.Create.Type, ClassName: c.Create.ClassName,
				DirectConnect: c.Create.DirectConnect, Status: c.Create.Status}
		}
		for _, it := range c.Items {
			jc.Items = append(jc.Items, jsonItem{Kind: it.Kind, Path: it.Path, Change: it.Change})
		}
		out = append(out, jc)
	}
	return out
}

// WritePlanJSON writes the plan as one JSON document (kind "plan").
func WritePlanJSON(w io.Writer, p *Plan, info Info) error {
	doc := jsonPlan{Version: JSONVersion, Kind: "plan", Archive: info.Archive, Target: info.Target, DryRun: info.DryRun,
		Summary: jsonPlanSummary{Create: p.Counts.Create, Update: p.Counts.Update, Unchanged: p.Counts.Unchanged,
			Skip: p.Counts.Skip, Writes: p.Writes()},
		Warnings: nonNil(p.Warnings), Connectors: planConnectors(p)}
	return encode(w, doc)
}

type jsonFailure struct {
	Item       string `json:"item"`
	Message    string `json:"message"`
	StatusCode int    `json:"statusCode,omitempty"`
	DetailCode string `json:"detailCode,omitempty"`
	TrackingID string `json:"trackingId,omitempty"`
}

type jsonResult struct {
	Name              string        `json:"name"`
	TargetName        string        `json:"targetName"`
	ArchiveScriptName string        `json:"archiveScriptName"`
	ScriptName        string        `json:"scriptName,omitempty"`
	Outcome           Outcome       `json:"outcome"`
	Created           bool          `json:"created"`
	Written           []string      `json:"written"`
	Unchanged         []string      `json:"unchanged"`
	Reason            string        `json:"reason,omitempty"`
	Failures          []jsonFailure `json:"failures"`
	Warnings          []string      `json:"warnings"`
}

type jsonReportSummary struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
}

type jsonReport struct {
	Version    int               `json:"version"`
	Kind       string            `json:"kind"`
	Archive    string            `json:"archive,omitempty"`
	Target     string            `json:"target,omitempty"`
	Backup     string            `json:"backup,omitempty"`
	Summary    jsonReportSummary `json:"summary"`
	Warnings   []string          `json:"warnings"`
	Connectors []jsonResult      `json:"connectors"`
}

// WriteReportJSON writes the outcome of Apply as one JSON document (kind
// "report"). warnings are the plan's own (Plan.Warnings).
func WriteReportJSON(w io.Writer, r *Report, warnings []string, info Info) error {
	doc := jsonReport{Version: JSONVersion, Kind: "report", Archive: info.Archive, Target: info.Target, Backup: info.Backup,
		Summary:  jsonReportSummary{Created: r.Counts.Created, Updated: r.Counts.Updated, Unchanged: r.Counts.Unchanged, Skipped: r.Counts.Skipped, Failed: r.Counts.Failed},
		Warnings: nonNil(warnings), Connectors: make([]jsonResult, 0, len(r.Results))}
	for _, res := range r.Results {
		jr := jsonResult{Name: res.Name, TargetName: res.TargetName, ArchiveScriptName: res.ArchiveScriptName, ScriptName: res.ScriptName,
			Outcome: res.Outcome, Created: res.Created, Written: nonNil(res.Written), Unchanged: nonNil(res.Unchanged),
			Reason: res.Reason, Failures: []jsonFailure{}, Warnings: nonNil(res.Warnings)}
		for _, f := range res.Failures {
			jr.Failures = append(jr.Failures, jsonFailure{Item: f.Item, Message: f.Message, StatusCode: f.StatusCode, DetailCode: f.DetailCode, TrackingID: f.TrackingID})
		}
		doc.Connectors = append(doc.Connectors, jr)
	}
	return encode(w, doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
