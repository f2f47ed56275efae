package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/importer"
)

// A saved plan (docs/restore-format.md, "Saved plans") is what reviewers
// approve: what a restore will write per connector, the archive it writes
// from (by content digest), and the state of the target it was computed
// against (the digests of every document of each connector it touches, and
// the names it creates as absent). Applying it re-reads only those
// connectors and refuses, before any write, when anything differs, as
// terraform's saved plans do. It holds no secret.

// PlanFileFormat and PlanFileVersion name the file's format.
const (
	PlanFileFormat  = "connvault-plan"
	PlanFileVersion = 1
)

// PlanFile is a saved plan.
type PlanFile struct {
	Format      string    `json:"format"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"createdAt"`
	ToolVersion string    `json:"toolVersion"`
	Archive     struct {
		Path          string `json:"path"`
		ContentDigest string `json:"contentDigest"`
	} `json:"archive"`
	Target struct {
		Name       string `json:"name"`
		BaseURL    string `json:"baseUrl"`
		TenantID   string `json:"tenantId,omitempty"`
		APIVersion string `json:"apiVersion"`
	} `json:"target"`
	// Mapping is the --map the plan was made with, applied again.
	Mapping    map[string]string `json:"mapping,omitempty"`
	Writes     int               `json:"writes"`
	Connectors []PlannedWrite    `json:"connectors"`
}

// PlannedWrite is one connector the plan creates or updates.
type PlannedWrite struct {
	Name              string `json:"name"`
	TargetName        string `json:"targetName"`
	ArchiveScriptName string `json:"archiveScriptName"`
	TargetScriptName  string `json:"targetScriptName,omitempty"`
	Action            string `json:"action"`
	// Items are what it writes: "source-config", "translations/fr",
	// "connectorMetadata", ...
	Items []string `json:"items"`
	// State is the target connector as the plan read it: each document's
	// SHA-256 by its path in the connector's folder. Absent for a create,
	// which found no connector of that name.
	State map[string]string `json:"state,omitempty"`
}

// NewPlanFile records plan (made against target, from the archive of the
// given path and digest) for t.
func NewPlanFile(plan *importer.Plan, target *archive.Snapshot, archivePath, archiveDigest string, t *Tenant, mapping map[string]string, now time.Time, version string) *PlanFile {
	pf := &PlanFile{Format: PlanFileFormat, Version: PlanFileVersion, CreatedAt: now.UTC(), ToolVersion: version, Mapping: mapping, Writes: plan.Writes(),
		Connectors: []PlannedWrite{}}
	pf.Archive.Path, pf.Archive.ContentDigest = archivePath, archiveDigest
	pf.Target.Name, pf.Target.BaseURL, pf.Target.APIVersion = t.Name, t.Client.BaseURL(), t.Client.APIVersion()
	pf.Target.TenantID = t.Client.KnownTenantIdentity()
	states := connectorStates(target)
	for _, c := range touched(plan) {
		w := PlannedWrite{Name: c.Name, TargetName: c.TargetName, ArchiveScriptName: c.ArchiveScriptName, TargetScriptName: c.TargetScriptName,
			Action: string(c.Action), Items: itemPaths(c)}
		if c.Action == importer.ActionUpdate {
			w.State = states[c.TargetScriptName]
		}
		pf.Connectors = append(pf.Connectors, w)
	}
	return pf
}

// Names are the archive names of the connectors the plan writes.
func (pf *PlanFile) Names() []string {
	var out []string
	for _, c := range pf.Connectors {
		out = append(out, c.Name)
	}
	return out
}

// Stale lists, one line each, what differs between the saved plan and a
// plan made now from the same archive against the target as it is now
// (restricted to the saved plan's connectors): every connector and document
// that changed. Empty: the plan still holds and may be applied.
func (pf *PlanFile) Stale(plan *importer.Plan, target *archive.Snapshot) []string {
	var out []string
	now := map[string]importer.Connector{}
	for _, c := range touched(plan) {
		now[c.Name] = c
	}
	states := connectorStates(target)
	for _, w := range pf.Connectors {
		c, ok := now[w.Name]
		if !ok {
			out = append(out, fmt.Sprintf("connector %q: the plan %ss it, but now nothing would be written to it (the target already holds it: was this plan applied?)", w.Name, w.Action))
			continue
		}
		delete(now, w.Name)
		if string(c.Action) != w.Action {
			out = append(out, fmt.Sprintf("connector %q: the plan %ss it, now it would be %s (the target changed)", w.Name, w.Action, c.Action))
			continue
		}
		if w.Action == string(importer.ActionUpdate) {
			if c.TargetScriptName != w.TargetScriptName {
				out = append(out, fmt.Sprintf("connector %q: the plan writes to %q, now it is %q in the target", w.Name, w.TargetScriptName, c.TargetScriptName))
				continue
			}
			out = append(out, stateChanges(w.Name, w.State, states[c.TargetScriptName])...)
		}
		if got := itemPaths(c); !slices.Equal(got, w.Items) {
			out = append(out, fmt.Sprintf("connector %q: the plan writes %s, now it would write %s", w.Name, strings.Join(w.Items, ", "), strings.Join(got, ", ")))
		}
	}
	for name, c := range now {
		out = append(out, fmt.Sprintf("connector %q: not in the plan, now it would be %s", name, c.Action))
	}
	slices.Sort(out)
	return out
}

// stateChanges names each document of a target connector that differs from
// the saved state.
func stateChanges(name string, was, now map[string]string) []string {
	var out []string
	for p, sum := range was {
		switch got, ok := now[p]; {
		case !ok:
			out = append(out, fmt.Sprintf("connector %q: %s was removed from the target since the plan", name, p))
		case got != sum:
			out = append(out, fmt.Sprintf("connector %q: %s changed in the target since the plan", name, p))
		}
	}
	for p := range now {
		if _, ok := was[p]; !ok {
			out = append(out, fmt.Sprintf("connector %q: %s was added to the target since the plan", name, p))
		}
	}
	return out
}

func touched(plan *importer.Plan) []importer.Connector {
	var out []importer.Connector
	for _, c := range plan.Connectors {
		if c.Action == importer.ActionCreate || c.Action == importer.ActionUpdate {
			out = append(out, c)
		}
	}
	return out
}

func itemPaths(c importer.Connector) []string {
	out := []string{}
	for _, it := range c.Items {
		out = append(out, it.Path)
	}
	return out
}

// connectorStates are each target connector's documents' SHA-256 by path in
// its folder.
func connectorStates(target *archive.Snapshot) map[string]map[string]string {
	out := map[string]map[string]string{}
	if target == nil {
		return out
	}
	for _, c := range target.Connectors {
		st := map[string]string{}
		add := func(name string, b []byte) {
			if b != nil {
				sum := sha256.Sum256(b)
				st[name] = hex.EncodeToString(sum[:])
			}
		}
		add("detail.json", c.Detail)
		add("source-config.xml", c.SourceConfig)
		add("source-template.xml", c.SourceTemplate)
		add("correlation-config.xml", c.CorrelationConfig)
		for loc, b := range c.Translations {
			add("translations/"+loc+".properties", b)
		}
		out[c.ScriptName] = st
	}
	return out
}

// WritePlanFile writes pf to path atomically, mode 0600.
func WritePlanFile(path string, pf *PlanFile) error {
	data, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	return nil
}

// ReadPlanFile reads a saved plan, refusing another format or version.
func ReadPlanFile(path string) (*PlanFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("--plan %s: %w", path, err)}
	}
	var pf PlanFile
	if err := json.Unmarshal(raw, &pf); err != nil {
		return nil, &UsageError{fmt.Errorf("--plan %s: not a connvault plan file (%v)", path, err)}
	}
	if pf.Format != PlanFileFormat {
		return nil, &UsageError{fmt.Errorf("--plan %s: format %q, not %q: not a connvault plan file (write one with restore --dry-run --plan-out FILE)", path, pf.Format, PlanFileFormat)}
	}
	if pf.Version != PlanFileVersion {
		return nil, &UsageError{fmt.Errorf("--plan %s: plan file version %d; this connvault reads version %d", path, pf.Version, PlanFileVersion)}
	}
	return &pf, nil
}
