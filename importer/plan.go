// Package importer restores connectors from a snapshot into a tenant: it plans
// what to write (NewPlan, from the archive and the target read into
// snapshots), then applies the plan (Apply) through a single mutation choke
// point, and reports per connector what happened (velero style).
//
// The plan reads "what to do to the target": it is diff.Compare(target,
// archive), so a change the diff calls "added" is an item the archive has and
// the target lacks (written), "modified" one that differs (written), and
// "removed" one the target has and the archive lacks (kept: restore never
// deletes, it reports a warning instead).
//
// Connectors are matched by name. A mapping pairs an archive name with a
// different target name (a rename); a mapped connector absent from the target
// is created under its target name.
package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/filterexpr"
)

// Action is what the plan does with one archive connector.
type Action string

const (
	ActionCreate    Action = "create"    // absent from the target: create it, then write its items
	ActionUpdate    Action = "update"    // in the target and different: write the items that differ
	ActionUnchanged Action = "unchanged" // in the target with nothing to write
	ActionSkip      Action = "skip"      // not restored; Reason says why
)

// ItemKind says what one write of a connector touches.
type ItemKind string

const (
	ItemDocument    ItemKind = "document"    // PUT of one XML document
	ItemTranslation ItemKind = "translation" // PUT of one locale's translations
	ItemField       ItemKind = "field"       // one patchable detail field, sent in the connector's PATCH
)

// Change says how an item relates to the target.
type Change string

const (
	ChangeAdd    Change = "add"    // the target lacks it
	ChangeModify Change = "modify" // the target has a different value
)

// Item is one thing the plan writes to a connector.
type Item struct {
	Kind ItemKind
	// Path names the item for people: "source-config", "translations/fr",
	// "connectorMetadata".
	Path   string
	Change Change
	// Exactly one of Document, Locale and Field is set, by Kind.
	Document apiclient.Document
	Locale   string
	Field    string

	data  []byte // document or translation bytes, as in the archive
	value any    // the field's value, as decoded from the archive's detail
	lazy  bool   // data or value is still in the archive: Plan.Load reads it
}

// Connector is the plan for one archive connector.
type Connector struct {
	// Name is the connector's name in the archive; TargetName its name in the
	// target (different only through the mapping).
	Name, TargetName string
	// ArchiveScriptName is its folder in the archive; TargetScriptName the
	// scriptName of its match in the target, empty when it is to be created.
	ArchiveScriptName, TargetScriptName string
	Action                              Action
	// Reason says why a connector is skipped.
	Reason string
	// Create is the POST body, for ActionCreate.
	Create *apiclient.V3CreateConnectorDto
	// Items are the writes after any create, in the order Apply sends them:
	// documents (apiclient.Documents order), translations by locale, then
	// the patchable fields (one PATCH).
	Items []Item
	// Warnings are differences restore leaves alone: fields the API cannot
	// change, items the target has and the archive lacks.
	Warnings []string
}

// Counts counts the plan's connectors by action.
type Counts struct {
	Create, Update, Unchanged, Skip int
}

// Plan is what a restore will do, connector by connector, sorted by name.
type Plan struct {
	Connectors []Connector
	Counts     Counts
	// Warnings concern the plan as a whole, such as mapping entries that
	// matched nothing.
	Warnings []string
	// LeftInPlace names the target's listed connectors that the archive
	// does not have: a restore never deletes, so they stay as they are.
	LeftInPlace []string
}

// Writes counts the write requests the plan will send at most: one create
// per created connector, one PUT per document and translation, one PATCH per
// connector with fields to patch.
func (p *Plan) Writes() int {
	n := 0
	for _, c := range p.Connectors {
		if c.Action == ActionCreate {
			n++
		}
		patch := false
		for _, it := range c.Items {
			if it.Kind == ItemField {
				patch = true
				continue
			}
			n++
		}
		if patch {
			n++
		}
	}
	return n
}

// Empty reports whether applying the plan would write nothing.
func (p *Plan) Empty() bool { return p.Counts.Create == 0 && p.Counts.Update == 0 }

// Options selects and pairs what NewPlan restores.
type Options struct {
	// Mapping pairs an archive connector name with the name of the target
	// connector it is restored onto (the same direction as
	// `connvault diff ARCHIVE tenant:`). It must be one-to-one.
	Mapping map[string]string
	// Only, when not empty, restores just the archive connectors with these
	// names; the others are skipped. Every name must be in the archive.
	Only []string
	// Filter, when not nil, restores just the archive connectors it matches
	// (the list endpoint's filter language, evaluated on each connector's
	// archived detail: name, type and directConnect; the detail carries no
	// category, features or labels, so those never match). With Only, a
	// connector must satisfy both.
	Filter *filterexpr.Expr
}

// patchable are the detail fields restore writes with PATCH. The other two
// patchable fields, sourceConfigXml and correlationConfigXml, mirror the
// source-config and correlation-config documents, which are written with PUT
// (the sandbox shows a PUT updates them in the detail).
var patchable = []string{"applicationXml", "connectorMetadata"}

// sourceConfigDerived are detail fields the server derives from the stored
// source-config (NOTES.md; the sandbox does so): a difference in them may
// vanish once the source-config is written.
var sourceConfigDerived = []string{"fileUpload", "sourceConfigFrom"}

// writes reports whether the changes write document doc to the target.
func writes(changes []diff.Change, doc apiclient.Document) bool {
	for _, ch := range changes {
		if ch.Kind == diff.KindDocument && ch.Document == doc && ch.Action != diff.ActionRemoved {
			return true
		}
	}
	return false
}

// CustomTypePrefix is the type the server gives a connector created without
// one ("custom " + name). Which types count as custom is domain.IsCustomType.
const CustomTypePrefix = domain.DefaultCustomTypePrefix

// ErrNotInArchive is returned (wrapped) when Options.Only names a connector
// the archive does not have.
var ErrNotInArchive = errors.New("no such connector in the archive")

// NewPlan compares the archive with the target (the tenant as it is now,
// read into a snapshot) and decides, per archive connector, what to write.
// Connectors only in the target are not part of the plan: restore never
// deletes. It fails when a name is ambiguous on either side, the mapping is
// not one-to-one, or Only names a connector the archive lacks. Planner does
// the same while the target is being read.
func NewPlan(arch, target *archive.Snapshot, opts Options) (*Plan, error) {
	pl, err := NewPlanner(arch, opts)
	if err != nil {
		return nil, err
	}
	return pl.Plan(context.Background(), diff.SnapshotSource(target))
}

// Planner plans a restore. It reads each archive detail once, into a view
// that naming, selection, matching, comparison and planning share, and
// plans each archive connector as soon as its match in the target has been
// read (Plan), so that planning overlaps the requests that read the target.
type Planner struct {
	opts    Options
	inverse map[string]string // target name -> archive name
	conns   []*archConn       // the archive, in its order
	byName  map[string]*archConn
	// src is the archive as a stream (NewPlannerFrom); nil when the
	// connectors are in memory (their views in conns).
	src *diff.Source
	// selected are the archive connectors --only and --filters leave;
	// skipped, the plan's entries for the others.
	selected []*archConn
	skipped  []Connector
	window   int64 // diff.Options.Window; zero for its default
}

// archConn is what planning keeps of one archive connector: its view when
// the archive is in memory, else only what a create needs besides content.
type archConn struct {
	view                   *diff.View
	scriptName, name       string
	typ, className, status string
	directConnect, hasDC   bool
	docs                   []apiclient.Document // present, in apiclient.Documents order
	locales                []string             // sorted
	patch                  []string             // patchable fields present and not null, in patchable order
}

func newArchConn(v *diff.View, keep bool) *archConn {
	a := &archConn{scriptName: v.ScriptName, name: v.Name}
	if keep {
		a.view = v
	}
	a.typ, _ = fieldValue(v, "type").(string)
	a.className, _ = fieldValue(v, "className").(string)
	a.status, _ = fieldValue(v, "status").(string)
	a.directConnect, a.hasDC = fieldValue(v, "directConnect").(bool)
	for _, doc := range apiclient.Documents {
		if v.Document(doc) != nil {
			a.docs = append(a.docs, doc)
		}
	}
	a.locales = slices.Sorted(maps.Keys(v.Translations))
	for _, f := range patchable {
		if fieldValue(v, f) != nil {
			a.patch = append(a.patch, f)
		}
	}
	return a
}

// NewPlanner checks the archive side (unique names, every --only name
// present, no two connectors restored onto one target name) before any
// request is made. The archive is in memory.
func NewPlanner(arch *archive.Snapshot, opts Options) (*Planner, error) {
	if arch == nil {
		return nil, errors.New("restore plan: no archive")
	}
	pl, err := newPlanner(opts)
	if err != nil {
		return nil, err
	}
	for _, c := range arch.Connectors {
		if c == nil {
			return nil, errors.New("the archive holds a nil connector")
		}
		if err := pl.index(c, true); err != nil {
			return nil, err
		}
	}
	return pl, pl.selectConns()
}

// NewPlannerFrom is NewPlanner for an archive read as a stream (src must
// be re-readable, as an archive file is): it reads it once, one connector at
// a time. An archive whose content fits the comparison's window
// (diff.DefaultWindow) is kept from that one read, and planned from memory;
// of a larger one only what planning needs is kept, not the content: Plan
// reads it again alongside the target, and Plan.Load a third time for the
// documents to write, so that memory holds a window of connectors and what
// the restore writes, never the archive.
func NewPlannerFrom(ctx context.Context, src diff.Source, opts Options) (*Planner, error) {
	return newPlannerFrom(ctx, src, opts, 0)
}

// newPlannerFrom is NewPlannerFrom with the window (zero for the default).
func newPlannerFrom(ctx context.Context, src diff.Source, opts Options, window int64) (*Planner, error) {
	pl, err := newPlanner(opts)
	if err != nil {
		return nil, err
	}
	pl.window = window
	budget := window
	if budget <= 0 {
		budget = diff.DefaultWindow
	}
	var held int64
	keep := true
	err = src.Each(ctx, func(c *archive.Connector) error {
		if keep {
			held += int64(len(c.Detail) + len(c.SourceConfig) + len(c.SourceTemplate) + len(c.CorrelationConfig))
			for _, t := range c.Translations {
				held += int64(len(t))
			}
			if held > budget {
				// Too large to keep: from here on a stream.
				keep = false
				for _, a := range pl.conns {
					a.view = nil
				}
			}
		}
		return pl.index(c, keep)
	})
	if err != nil {
		return nil, err
	}
	if !keep {
		pl.src = &src
	}
	return pl, pl.selectConns()
}

func newPlanner(opts Options) (*Planner, error) {
	// Compare reads A to B with the mapping from A keys to B keys; A is the
	// target here, so the user's archive=target mapping is turned round.
	inverse := make(map[string]string, len(opts.Mapping))
	for from, to := range opts.Mapping {
		if prev, dup := inverse[to]; dup {
			x, y := min(prev, from), max(prev, from)
			return nil, fmt.Errorf("mapping sends both %q and %q to target connector %q: a mapping must be one-to-one", x, y, to)
		}
		inverse[to] = from
	}
	return &Planner{opts: opts, inverse: inverse, byName: map[string]*archConn{}}, nil
}

// index takes one archive connector.
func (pl *Planner) index(c *archive.Connector, keep bool) error {
	v, err := diff.NewView(c)
	if err != nil {
		return fmt.Errorf("the archive, connector %q: %w", c.ScriptName, err)
	}
	if v.Name == "" {
		return fmt.Errorf("the archive, connector %q: its detail has no name, and restore matches connectors by name", c.ScriptName)
	}
	if prev, dup := pl.byName[v.Name]; dup {
		return fmt.Errorf("the archive has two connectors named %q (scriptNames %q and %q): restore matches connectors by name, so names must be unique", v.Name, prev.scriptName, c.ScriptName)
	}
	a := newArchConn(v, keep)
	pl.byName[v.Name] = a
	pl.conns = append(pl.conns, a)
	return nil
}

// selectConns applies --only and --filters and checks the targets.
func (pl *Planner) selectConns() error {
	opts := pl.opts
	for _, n := range opts.Only {
		if pl.byName[n] == nil {
			if near := pl.nearestName(n); near != "" {
				return fmt.Errorf("--only %q: %w; did you mean %q? (names are matched exactly, as in the detail's \"name\")", n, ErrNotInArchive, near)
			}
			return fmt.Errorf("--only %q: %w (names are matched exactly, as in the detail's \"name\")", n, ErrNotInArchive)
		}
	}
	only := map[string]bool{}
	for _, n := range opts.Only {
		only[n] = true
	}
	for _, a := range pl.conns {
		skip := func(why string) {
			pl.skipped = append(pl.skipped, Connector{Name: a.name, TargetName: targetName(a.name, opts.Mapping), ArchiveScriptName: a.scriptName,
				Action: ActionSkip, Reason: why})
		}
		if len(only) > 0 && !only[a.name] {
			skip("not selected (--only)")
			continue
		}
		if opts.Filter != nil && !opts.Filter.Match(filterexpr.Target{Name: a.name, Type: a.typ, DirectConnect: a.directConnect}) {
			skip("not selected (--filters)")
			continue
		}
		pl.selected = append(pl.selected, a)
	}
	// Two archive connectors restored onto one target name would make the
	// second create collide with the first (or with the paired one).
	onto := map[string]string{}
	for _, a := range pl.selected {
		n := a.name
		t := targetName(n, opts.Mapping)
		if prev, dup := onto[t]; dup && prev != n {
			x, y := min(prev, n), max(prev, n)
			return fmt.Errorf("archive connectors %q and %q would both be restored onto target connector %q: fix the mapping", x, y, t)
		}
		onto[t] = n
	}
	return nil
}

// TargetNames are, sorted, the target connector names the archive's
// connectors land on (their own, or their mapping's): a caller reads just
// those from the target.
func (pl *Planner) TargetNames() []string {
	out := make([]string, 0, len(pl.conns))
	for _, a := range pl.conns {
		out = append(out, targetName(a.name, pl.opts.Mapping))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ScriptNames are the archive's scriptNames, in archive order.
func (pl *Planner) ScriptNames() []string {
	out := make([]string, 0, len(pl.conns))
	for _, a := range pl.conns {
		out = append(out, a.scriptName)
	}
	return out
}

// Plan reads the target from target (a live tenant as it is read, or a
// snapshot) and plans each selected archive connector as soon as its match
// has been read; the connectors the target lacks are planned once it is
// read whole. The target's connectors are not kept.
func (pl *Planner) Plan(ctx context.Context, target diff.Source) (*Plan, error) {
	p := &Plan{}
	var planErr error
	opts := diff.Options{Match: diff.MatchName, Mapping: pl.inverse, ChangesOnly: true, Window: pl.window, Each: func(d *diff.ConnectorDiff, _, b *diff.View) {
		if d.B == nil || planErr != nil {
			return // only in the target: restore never deletes
		}
		c, err := pl.planOne(d, b)
		if err != nil {
			planErr = err
			return
		}
		p.Connectors = append(p.Connectors, c)
	}}
	res, err := diff.CompareSources(ctx, target, pl.archiveSource(), opts)
	if err != nil {
		return nil, planError(err)
	}
	if planErr != nil {
		return nil, planErr
	}
	for _, u := range res.UnmatchedMappings {
		// u.A is the target name, u.B the archive name. A target name the
		// target lacks is not worth a warning: the connector is created
		// under that name.
		if pl.byName[u.B] == nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("mapping %s=%s matched nothing: no connector %q in the archive", u.B, u.A, u.B))
		}
	}
	p.Connectors = append(p.Connectors, pl.skipped...)
	sort.SliceStable(p.Connectors, func(i, j int) bool {
		a, b := &p.Connectors[i], &p.Connectors[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ArchiveScriptName < b.ArchiveScriptName
	})
	for _, c := range p.Connectors {
		switch c.Action {
		case ActionCreate:
			p.Counts.Create++
		case ActionUpdate:
			p.Counts.Update++
		case ActionUnchanged:
			p.Counts.Unchanged++
		default:
			p.Counts.Skip++
		}
	}
	return p, nil
}

// archiveSource is the selected archive connectors, for the comparison.
func (pl *Planner) archiveSource() diff.Source {
	if pl.src == nil {
		views := make([]*diff.View, len(pl.selected))
		for i, a := range pl.selected {
			views[i] = a.view
		}
		return diff.ViewSource(views)
	}
	selected := make(map[string]bool, len(pl.selected))
	for _, a := range pl.selected {
		selected[a.scriptName] = true
	}
	src := *pl.src
	each := src.Each
	src.Each = func(ctx context.Context, emit func(*archive.Connector) error) error {
		return each(ctx, func(c *archive.Connector) error {
			if !selected[c.ScriptName] {
				return nil
			}
			return emit(c)
		})
	}
	return src
}

// planError says in restore's words what makes the target unusable (it is
// side A of the comparison); the target source's own errors (reading the
// tenant) pass as they are.
func planError(err error) error {
	var de *diff.DuplicateError
	if errors.As(err, &de) && de.Side == "A" {
		return fmt.Errorf("restore plan: the target has two connectors named %q (scriptNames %q and %q): restore matches connectors by name, so names must be unique",
			de.Key, de.ScriptNames[0], de.ScriptNames[1])
	}
	var ce *diff.ConnectorError
	if errors.As(err, &ce) && ce.Side == "A" {
		if errors.Is(ce.Err, diff.ErrNoName) {
			return fmt.Errorf("restore plan: the target, connector %q: its detail has no name, and restore matches connectors by name", ce.ScriptName)
		}
		return fmt.Errorf("restore plan: the target, connector %q: %w", ce.ScriptName, ce.Err)
	}
	if errors.As(err, &de) || errors.As(err, &ce) {
		return fmt.Errorf("restore plan: %w", err)
	}
	return err
}

// TargetNames checks the archive side as NewPlan does (unique names, every
// --only name present) and returns, sorted, the target connector names the
// archive's connectors land on (their own, or their mapping's). A caller
// reads just those from the target, and can refuse a bad command line before
// its first request.
func TargetNames(arch *archive.Snapshot, opts Options) ([]string, error) {
	pl, err := NewPlanner(arch, opts)
	if err != nil {
		return nil, err
	}
	return pl.TargetNames(), nil
}

func targetName(name string, mapping map[string]string) string {
	if t, ok := mapping[name]; ok {
		return t
	}
	return name
}

// fieldValue decodes one top-level detail field, numbers as json.Number;
// nil when absent. Only the fields planning reads are decoded, never the
// documents a detail embeds.
func fieldValue(v *diff.View, f string) any {
	raw, ok := v.Fields[f]
	if !ok {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	_ = dec.Decode(&out) // NewView validated it
	return out
}

// planOne plans one archive connector (d.B), paired with d.A when the
// target has it; bv is its content when the comparison still had it.
func (pl *Planner) planOne(d *diff.ConnectorDiff, bv *diff.View) (Connector, error) {
	a := pl.byName[d.BName]
	if a == nil || a.scriptName != d.B.ScriptName {
		return Connector{}, fmt.Errorf("restore plan: archive connector %q (%s) not found in the plan's own index", d.BName, d.B.ScriptName)
	}
	if bv == nil {
		bv = a.view
	}
	c := Connector{Name: d.BName, TargetName: targetName(d.BName, pl.opts.Mapping), ArchiveScriptName: a.scriptName}
	if d.A == nil {
		return planCreate(c, a, bv), nil
	}
	c.TargetScriptName = d.A.ScriptName
	c.TargetName = d.AName
	for _, ch := range d.Changes {
		if bv == nil && ch.Action != diff.ActionRemoved {
			// The comparison keeps the content of every pair that differs.
			return Connector{}, fmt.Errorf("restore plan: archive connector %q (%s) differs but its content was not kept", d.BName, a.scriptName)
		}
		switch ch.Kind {
		case diff.KindDocument:
			if ch.Action == diff.ActionRemoved {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: in the target but not in the archive; left as is (restore never deletes)", ch.Path))
				continue
			}
			c.Items = append(c.Items, Item{Kind: ItemDocument, Path: ch.Path, Change: change(ch.Action), Document: ch.Document, data: document(bv.Connector, ch.Document)})
		case diff.KindTranslation:
			if ch.Action == diff.ActionRemoved {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: in the target but not in the archive; left as is (restore never deletes)", ch.Path))
				continue
			}
			c.Items = append(c.Items, Item{Kind: ItemTranslation, Path: ch.Path, Change: change(ch.Action), Locale: ch.Locale, data: bv.Translations[ch.Locale]})
		case diff.KindDetail:
			var v any
			if bv != nil {
				v = fieldValue(bv, ch.Field)
			}
			switch {
			case ch.Field == "name" && d.Renamed():
				// The rename is what the mapping asked for.
			case slices.Contains(patchable, ch.Field) && v != nil:
				c.Items = append(c.Items, Item{Kind: ItemField, Path: ch.Field, Change: change(ch.Action), Field: ch.Field, value: v})
			case slices.Contains(patchable, ch.Field):
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: in the target but not in the archive; left as is (restore never deletes)", ch.Field))
			default:
				w := fmt.Sprintf("%s: cannot be changed through the API (target %s, archive %s)", ch.Field, shortJSON(ch.Old), shortJSON(ch.New))
				if slices.Contains(sourceConfigDerived, ch.Field) && writes(d.Changes, apiclient.SourceConfig) {
					w += "; the server may derive it from the source-config being written"
				}
				c.Warnings = append(c.Warnings, w)
			}
		}
	}
	sortItems(c.Items)
	c.Action = ActionUnchanged
	if len(c.Items) > 0 {
		c.Action = ActionUpdate
	}
	return c, nil
}

// planCreate plans a connector the target does not have. Without its
// content (src nil: a stream let go of it), its items are loaded by
// Plan.Load before they are written.
func planCreate(c Connector, a *archConn, src *diff.View) Connector {
	if !domain.IsCustomType(a.typ) {
		c.Action, c.Reason = ActionSkip, fmt.Sprintf("built-in connector (type %q) absent from the target; restore never creates built-in connectors", a.typ)
		return c
	}
	if strings.TrimSpace(a.className) == "" {
		c.Action, c.Reason = ActionSkip, "the archive's detail has no className, which the API needs to create a connector"
		return c
	}
	in := &apiclient.V3CreateConnectorDto{Name: c.TargetName, Type: a.typ, ClassName: a.className}
	if a.hasDC {
		dc := a.directConnect
		in.DirectConnect = &dc
	}
	switch st := a.status; {
	case domain.CreatableStatus(st):
		in.Status = st
	case st == "":
	default:
		c.Warnings = append(c.Warnings, fmt.Sprintf("status: %s cannot be set through the API; the connector is created with the server's default", st))
	}
	c.Action, c.Create = ActionCreate, in
	for _, doc := range a.docs {
		it := Item{Kind: ItemDocument, Path: string(doc), Change: ChangeAdd, Document: doc, lazy: src == nil}
		if src != nil {
			it.data = document(src.Connector, doc)
		}
		c.Items = append(c.Items, it)
	}
	for _, loc := range a.locales {
		it := Item{Kind: ItemTranslation, Path: "translations/" + loc, Change: ChangeAdd, Locale: loc, lazy: src == nil}
		if src != nil {
			it.data = src.Translations[loc]
		}
		c.Items = append(c.Items, it)
	}
	for _, f := range a.patch {
		it := Item{Kind: ItemField, Path: f, Change: ChangeAdd, Field: f, lazy: src == nil}
		if src != nil {
			it.value = fieldValue(src, f)
		}
		c.Items = append(c.Items, it)
	}
	return c
}

// Load reads from the archive the items planned without their content
// (NewPlannerFrom), one connector at a time; memory then holds what the
// restore writes. It fails when the archive no longer has what was
// planned.
func (p *Plan) Load(ctx context.Context, src diff.Source) error {
	want := map[string]*Connector{}
	for i := range p.Connectors {
		c := &p.Connectors[i]
		for _, it := range c.Items {
			if it.lazy {
				want[c.ArchiveScriptName] = c
				break
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	err := src.Each(ctx, func(ac *archive.Connector) error {
		c := want[ac.ScriptName]
		if c == nil {
			return nil
		}
		v, err := diff.NewView(ac)
		if err != nil {
			return fmt.Errorf("the archive, connector %q: %w", ac.ScriptName, err)
		}
		for i := range c.Items {
			it := &c.Items[i]
			if !it.lazy {
				continue
			}
			switch it.Kind {
			case ItemDocument:
				it.data = document(ac, it.Document)
			case ItemTranslation:
				it.data = ac.Translations[it.Locale]
			case ItemField:
				it.value = fieldValue(v, it.Field)
			}
			if it.data == nil && it.value == nil {
				return fmt.Errorf("the archive, connector %q: %s is no longer there: was the archive replaced during the restore? Run it again", ac.ScriptName, it.Path)
			}
			it.lazy = false
		}
		delete(want, ac.ScriptName)
		return nil
	})
	if err != nil {
		return err
	}
	if len(want) > 0 {
		return fmt.Errorf("the archive no longer has connector %q: was it replaced during the restore? Run it again", slices.Sorted(maps.Keys(want))[0])
	}
	return nil
}

// sortItems puts items in apply order: documents as apiclient.Documents
// lists them, translations by locale, fields by name.
func sortItems(items []Item) {
	rank := func(it Item) int {
		switch it.Kind {
		case ItemDocument:
			return slices.Index(apiclient.Documents, it.Document)
		case ItemTranslation:
			return len(apiclient.Documents)
		default:
			return len(apiclient.Documents) + 1
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		ri, rj := rank(items[i]), rank(items[j])
		if ri != rj {
			return ri < rj
		}
		return items[i].Path < items[j].Path
	})
}

func change(a diff.Action) Change {
	if a == diff.ActionAdded {
		return ChangeAdd
	}
	return ChangeModify
}

func document(c *archive.Connector, d apiclient.Document) []byte {
	return c.Document(d)
}

// shortJSON shows a detail value in a warning line: absent, or its compact
// JSON cut to a readable length.
func shortJSON(v json.RawMessage) string {
	if v == nil {
		return "absent"
	}
	s := string(v)
	const limit = 60
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = string(r[:limit]) + "…"
	}
	return s
}

// nearestName is the archive's connector name n was most likely meant for:
// the one it equals but for case, or whose scriptName it is (what ls shows
// first), else "".
func (pl *Planner) nearestName(n string) string {
	for name, a := range pl.byName {
		if strings.EqualFold(name, n) || a.scriptName == n || strings.EqualFold(a.scriptName, n) {
			return name
		}
	}
	return ""
}
