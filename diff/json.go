package diff

import (
	"encoding/json"
	"fmt"
	"io"
)

// JSONVersion is the "version" of WriteJSON's output. It changes only when a
// field is removed or changes meaning; new fields may appear within a version.
const JSONVersion = 1

// The wire form of a Result, documented field by field in docs/diff-format.md.
// It is separate from Result so that the Go API can grow without the schema
// moving.
type jsonResult struct {
	Version           int             `json:"version"`
	Equal             bool            `json:"equal"`
	Match             string          `json:"match"`
	IgnoreWhitespace  bool            `json:"ignoreWhitespace"`
	IgnoredFields     []string        `json:"ignoredFields"`
	Summary           jsonSummary     `json:"summary"`
	UnmatchedMappings []jsonMapping   `json:"unmatchedMappings"`
	Connectors        []jsonConnector `json:"connectors"`
}

type jsonSummary struct {
	Connectors        jsonConnectorCounts `json:"connectors"`
	DetailFields      jsonItemCounts      `json:"detailFields"`
	SourceConfig      jsonItemCounts      `json:"sourceConfig"`
	SourceTemplate    jsonItemCounts      `json:"sourceTemplate"`
	CorrelationConfig jsonItemCounts      `json:"correlationConfig"`
	Translations      jsonItemCounts      `json:"translations"`
}

type jsonConnectorCounts struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Renamed   int `json:"renamed"`
}

type jsonItemCounts struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Modified  int `json:"modified"`
	Unchanged int `json:"unchanged"`
}

type jsonMapping struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Reason string `json:"reason"`
}

type jsonSide struct {
	Key        string `json:"key"`
	Name       string `json:"name"`
	ScriptName string `json:"scriptName"`
}

type jsonConnector struct {
	Name    string       `json:"name"`
	Status  Status       `json:"status"`
	Renamed bool         `json:"renamed"`
	A       *jsonSide    `json:"a"`
	B       *jsonSide    `json:"b"`
	Changes []jsonChange `json:"changes"`
}

type jsonChange struct {
	Kind     Kind            `json:"kind"`
	Path     string          `json:"path"`
	Field    string          `json:"field,omitempty"`
	Document string          `json:"document,omitempty"`
	Locale   string          `json:"locale,omitempty"`
	Change   Action          `json:"change"`
	Old      json.RawMessage `json:"old,omitempty"`
	New      json.RawMessage `json:"new,omitempty"`
	Diff     string          `json:"diff"`
}

func itemCounts(c ItemCounts) jsonItemCounts {
	return jsonItemCounts{Added: c.Added, Removed: c.Removed, Modified: c.Modified, Unchanged: c.Unchanged}
}

// WriteJSON writes r as one indented JSON document (schema version
// JSONVersion, docs/diff-format.md). Every connector is listed, unchanged
// ones too, in Result order; arrays are never null.
func WriteJSON(w io.Writer, r *Result) error {
	s := r.Summary
	out := jsonResult{
		Version:          JSONVersion,
		Equal:            r.Equal(),
		Match:            r.Match,
		IgnoreWhitespace: r.IgnoreWhitespace,
		IgnoredFields:    append([]string{}, r.Ignored...),
		Summary: jsonSummary{
			Connectors: jsonConnectorCounts{Added: s.Connectors.Added, Removed: s.Connectors.Removed,
				Changed: s.Connectors.Changed, Unchanged: s.Connectors.Unchanged, Renamed: s.Connectors.Renamed},
			DetailFields:      itemCounts(s.DetailFields),
			SourceConfig:      itemCounts(s.SourceConfig),
			SourceTemplate:    itemCounts(s.SourceTemplate),
			CorrelationConfig: itemCounts(s.CorrelationConfig),
			Translations:      itemCounts(s.Translations),
		},
		UnmatchedMappings: []jsonMapping{},
		Connectors:        make([]jsonConnector, 0, len(r.Connectors)),
	}
	for _, u := range r.UnmatchedMappings {
		out.UnmatchedMappings = append(out.UnmatchedMappings, jsonMapping(u))
	}
	for i := range r.Connectors {
		c := &r.Connectors[i]
		jc := jsonConnector{Name: c.Name, Status: c.Status, Renamed: c.Renamed(), Changes: make([]jsonChange, 0, len(c.Changes))}
		if c.A != nil {
			jc.A = &jsonSide{Key: c.AKey, Name: c.AName, ScriptName: c.A.ScriptName}
		}
		if c.B != nil {
			jc.B = &jsonSide{Key: c.BKey, Name: c.BName, ScriptName: c.B.ScriptName}
		}
		for _, ch := range c.Changes {
			jc.Changes = append(jc.Changes, jsonChange{Kind: ch.Kind, Path: ch.Path, Field: ch.Field,
				Document: string(ch.Document), Locale: ch.Locale, Change: ch.Action, Old: ch.Old, New: ch.New, Diff: ch.Diff})
		}
		out.Connectors = append(out.Connectors, jc)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing diff as JSON: %w", err)
	}
	return nil
}
