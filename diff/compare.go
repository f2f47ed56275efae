// Package diff compares two snapshots of connectors (archive ↔ archive, or
// archive ↔ a live tenant read into a snapshot) and renders the result as
// text or as JSON (schema: docs/diff-format.md).
//
// A diff reads "A to B": it says what would have to change to make A into B.
// A connector only in B is "added", one only in A is "removed". Restore reuses
// Compare to plan its writes, which is why every Change names its detail
// field, document or locale in a machine-usable way.
package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/aymanbagabas/go-udiff/lcs"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
)

// VolatileFields are the detail fields Compare always ignores, because the
// server sets them per tenant and they say nothing about the connector's
// configuration:
//   - scriptName: made by the server from the name at create time, so the same
//     connector has different scriptNames in different tenants. When matching
//     by scriptName it is the match key, so ignoring it there loses nothing; a
//     rename through the mapping is shown in the connector's header instead.
//   - s3Location: where this tenant stores the connector's uploaded files.
//   - uploadedFiles: the names of those stored files, per tenant storage.
var VolatileFields = []string{"scriptName", "s3Location", "uploadedFiles"}

// documentFields are detail fields that carry a copy of a document compared on
// its own (NOTES.md: sourceConfigXml and sourceConfig match GET source-config,
// correlationConfigXml matches GET correlation-config, translationProperties
// holds every locale's translations). Comparing them as detail fields too
// would report one change twice.
var documentFields = []string{"correlationConfigXml", "sourceConfig", "sourceConfigXml", "translationProperties"}

// Match values for Options.Match.
const (
	MatchName       = "name"
	MatchScriptName = "scriptName"
)

// Options says how Compare pairs and compares connectors.
type Options struct {
	// Match is MatchName (the default when empty: the detail's "name" field)
	// or MatchScriptName (the archive folder key).
	Match string
	// Mapping pairs an A-side key with a different B-side key (renames);
	// keys are names or scriptNames, as Match says. It must be one-to-one.
	Mapping map[string]string
	// Ignore lists extra top-level detail fields not to compare, on top of
	// VolatileFields.
	Ignore []string
	// IgnoreWhitespace compares the XML documents line by line, each line
	// trimmed and its inner runs of whitespace collapsed to one space (the
	// exact rule is in docs/diff-format.md); by default they are compared
	// byte for byte. Translations are always compared byte for byte.
	IgnoreWhitespace bool
	// ChangesOnly leaves out what only a reader of the diff needs: Changes
	// carry no Diff, and for a connector on one side only no Old and New
	// either. Restore plans from the changes alone.
	ChangesOnly bool
	// Window bounds the content CompareSources keeps of connectors waiting
	// for their pair (DefaultWindow when zero); Compare keeps everything,
	// since its snapshots are in memory anyway.
	Window int64
	// Each, when set, is called with every ConnectorDiff as soon as it is
	// known, before it is added to the result, with the compared connectors'
	// content: a and b are nil for a missing side, and may be nil when the
	// content was let go (an unchanged pair compared by hash, or with
	// ChangesOnly a connector one side lacks). Restore plans each connector
	// there while the target is still being read.
	Each func(d *ConnectorDiff, a, b *View)
}

// Status is a connector's state in a diff.
type Status string

const (
	StatusAdded     Status = "added"     // only in B
	StatusRemoved   Status = "removed"   // only in A
	StatusChanged   Status = "changed"   // in both, with at least one Change
	StatusUnchanged Status = "unchanged" // in both, no Change
)

// Kind says what part of a connector a Change is about.
type Kind string

const (
	KindDetail      Kind = "detail"      // a top-level field of the detail JSON
	KindDocument    Kind = "document"    // one of the three XML documents
	KindTranslation Kind = "translation" // one locale's translations
)

// Action says how an item differs between A and B.
type Action string

const (
	ActionAdded    Action = "added"    // only in B
	ActionRemoved  Action = "removed"  // only in A
	ActionModified Action = "modified" // in both, different
)

// Change is one differing item of a connector.
type Change struct {
	Kind Kind
	// Path names the item for people: the field name, the document name
	// ("source-config") or "translations/<locale>".
	Path string
	// Exactly one of Field, Document and Locale is set, by Kind.
	Field    string
	Document domain.Document
	Locale   string
	Action   Action
	// Old and New are, for detail changes only, the field's value on each
	// side as compact JSON (keys sorted); nil on the side where it is absent.
	Old, New json.RawMessage
	// Diff is a unified line diff (three lines of context) from A's item to
	// B's, labelled a/<scriptName>/<item> and b/<scriptName>/<item>, or
	// /dev/null for a missing side. Without colour.
	Diff string
}

// ConnectorDiff is one connector of either side, paired or not.
type ConnectorDiff struct {
	// Name is the match key: AKey when the connector is in A, else BKey.
	Name string
	// AKey and BKey are the match keys (names or scriptNames, as Options.Match
	// says) on each side; empty for a missing side. They differ when the
	// pair was made through the mapping.
	AKey, BKey string
	// AName and BName are the detail's "name" on each side.
	AName, BName string
	// A and B are the compared connectors; nil for a missing side. From
	// CompareSources over sides not held in memory, only their ScriptName
	// is set: the content was let go once compared.
	A, B    *archive.Connector
	Status  Status
	Changes []Change
}

// Renamed reports whether the pair was matched through the mapping.
func (c *ConnectorDiff) Renamed() bool {
	return c.A != nil && c.B != nil && c.AKey != c.BKey
}

// UnmatchedMapping is a mapping entry that did not pair two connectors,
// usually a typo or a mapping file meant for other archives.
type UnmatchedMapping struct {
	A, B   string
	Reason string
}

// Result is the outcome of Compare. Connectors is sorted by Name (then AKey,
// BKey), changes within a connector by kind (detail fields by name, then
// documents in domain.Documents order, then translations by
// locale), so output is deterministic.
type Result struct {
	Match            string
	IgnoreWhitespace bool
	// Ignored is every detail field not compared, sorted: VolatileFields
	// plus Options.Ignore.
	Ignored           []string
	Connectors        []ConnectorDiff
	Summary           Summary
	UnmatchedMappings []UnmatchedMapping
}

// Equal reports whether A and B hold the same connectors with the same
// content, once volatile and ignored fields are set aside. Connectors paired
// through the mapping count as the same connector.
func (r *Result) Equal() bool {
	s := r.Summary.Connectors
	return s.Added == 0 && s.Removed == 0 && s.Changed == 0
}

// ConnectorCounts counts connectors by Status. Renamed counts the pairs made
// through the mapping (whether changed or not).
type ConnectorCounts struct {
	Added, Removed, Changed, Unchanged, Renamed int
}

// ItemCounts counts the items of one kind (detail fields, one document kind,
// translations) across every connector. Added and Removed include the items
// of added and removed connectors; Unchanged counts items present and equal
// on both sides of a pair.
type ItemCounts struct {
	Added, Removed, Modified, Unchanged int
}

// Summary is the table at the top of a diff.
type Summary struct {
	Connectors        ConnectorCounts
	DetailFields      ItemCounts
	SourceConfig      ItemCounts
	SourceTemplate    ItemCounts
	CorrelationConfig ItemCounts
	Translations      ItemCounts
}

// documentOrder is the order documents are compared and reported in.
var documentOrder = domain.Documents

func (s *Summary) counts(c Change) *ItemCounts {
	switch {
	case c.Kind == KindDetail:
		return &s.DetailFields
	case c.Kind == KindTranslation:
		return &s.Translations
	case c.Document == domain.SourceConfig:
		return &s.SourceConfig
	case c.Document == domain.SourceTemplate:
		return &s.SourceTemplate
	default:
		return &s.CorrelationConfig
	}
}

func (ic *ItemCounts) add(a Action) {
	switch a {
	case ActionAdded:
		ic.Added++
	case ActionRemoved:
		ic.Removed++
	default:
		ic.Modified++
	}
}

// DetailFields decodes a connector's detail JSON into its top-level fields,
// keeping fields connvault does not know. Numbers stay json.Number so that
// values compare and print exactly as the server sent them. An empty or nil
// detail has no fields.
func DetailFields(detail []byte) (map[string]any, error) {
	raw, err := rawFields(detail)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(raw))
	for k, v := range raw {
		m[k] = decodeValue(v)
	}
	return m, nil
}

// rawFields splits a detail into its top-level fields without decoding them:
// Compare only decodes the few values that differ byte-wise. The values are
// sub-slices of detail.
func rawFields(detail []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(detail)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	ms, err := splitObject(detail)
	if err != nil {
		return nil, fmt.Errorf("connector detail is not one JSON object: %w", err)
	}
	m := make(map[string]json.RawMessage, len(ms))
	for _, f := range ms {
		m[f.key] = f.value // a repeated key keeps its last value, as encoding/json does
	}
	return m, nil
}

// decodeValue decodes one field already validated by rawFields.
func decodeValue(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v) // rawFields checked it is valid JSON
	return v
}

type entry struct {
	key    string
	name   string
	c      *archive.Connector
	fields map[string]json.RawMessage
}

// Compare pairs the connectors of a and b and lists what differs. Either
// snapshot may be nil (no connectors). Pairs come first from the mapping,
// then from equal keys among the connectors the mapping left alone. It fails,
// naming the connectors, when a key is ambiguous on one side, a detail is not
// a JSON object, or the mapping is not one-to-one. CompareSources does the
// same over streams.
func Compare(a, b *archive.Snapshot, opts Options) (*Result, error) {
	return CompareSources(context.Background(), SnapshotSource(a), SnapshotSource(b), opts)
}

type comparer struct {
	ignored map[string]bool
	ws      bool
	lean    bool // Options.ChangesOnly
}

// pair compares one connector; ea or eb is nil for a connector on one side only.
func (c comparer) pair(ea, eb *entry, sum *Summary) ConnectorDiff {
	var d ConnectorDiff
	var aScript, bScript string
	var aFields, bFields map[string]json.RawMessage
	var ac, bc archive.Connector
	if ea != nil {
		d.AKey, d.AName, d.A = ea.key, ea.name, ea.c
		aScript, aFields, ac = ea.c.ScriptName, ea.fields, *ea.c
		d.Name = ea.key
	}
	if eb != nil {
		d.BKey, d.BName, d.B = eb.key, eb.name, eb.c
		bScript, bFields, bc = eb.c.ScriptName, eb.fields, *eb.c
		if d.Name == "" {
			d.Name = eb.key
		}
	}
	paired := ea != nil && eb != nil
	unchanged := func(k Kind, doc domain.Document) {
		if paired {
			sum.counts(Change{Kind: k, Document: doc}).Unchanged++
		}
	}
	labels := func(item string, aHas, bHas bool) (string, string) {
		la, lb := "/dev/null", "/dev/null"
		if aHas {
			la = "a/" + aScript + "/" + item
		}
		if bHas {
			lb = "b/" + bScript + "/" + item
		}
		return la, lb
	}

	// Detail fields.
	for _, f := range unionKeys(aFields, bFields) {
		if c.ignored[f] {
			continue
		}
		ar, aHas := aFields[f]
		br, bHas := bFields[f]
		// Canonical details format equal values identically, so byte
		// equality settles most fields without decoding them.
		if aHas && bHas && bytes.Equal(ar, br) {
			unchanged(KindDetail, "")
			continue
		}
		if c.lean && !paired {
			// A connector on one side only: every field is added or
			// removed, and restore needs no values to say so.
			d.Changes = append(d.Changes, Change{Kind: KindDetail, Path: f, Field: f, Action: action(aHas, bHas)})
			continue
		}
		var av, bv any
		var aj, bj json.RawMessage
		if aHas {
			av = decodeValue(ar)
			aj = compactJSON(av)
		}
		if bHas {
			bv = decodeValue(br)
			bj = compactJSON(bv)
		}
		if aHas && bHas && bytes.Equal(aj, bj) {
			unchanged(KindDetail, "")
			continue
		}
		ch := Change{Kind: KindDetail, Path: f, Field: f, Action: action(aHas, bHas), Old: aj, New: bj}
		if !c.lean {
			la, lb := labels("detail/"+f, aHas, bHas)
			ch.Diff = unified(la, lb, detailText(av, aHas), detailText(bv, bHas), false)
		}
		d.Changes = append(d.Changes, ch)
	}

	// Documents.
	for _, doc := range documentOrder {
		ab, bb := document(ac, doc), document(bc, doc)
		if ab == nil && bb == nil {
			continue
		}
		if ab != nil && bb != nil && c.sameDocument(ab, bb) {
			unchanged(KindDocument, doc)
			continue
		}
		ch := Change{Kind: KindDocument, Path: string(doc), Document: doc, Action: action(ab != nil, bb != nil)}
		if !c.lean {
			la, lb := labels(string(doc)+".xml", ab != nil, bb != nil)
			ch.Diff = unified(la, lb, string(ab), string(bb), c.ws)
		}
		d.Changes = append(d.Changes, ch)
	}

	// Translations.
	for _, loc := range unionKeys(ac.Translations, bc.Translations) {
		at, aHas := ac.Translations[loc]
		bt, bHas := bc.Translations[loc]
		if aHas && bHas && bytes.Equal(at, bt) {
			unchanged(KindTranslation, "")
			continue
		}
		ch := Change{Kind: KindTranslation, Path: "translations/" + loc, Locale: loc, Action: action(aHas, bHas)}
		if !c.lean {
			la, lb := labels("translations/"+loc+".properties", aHas, bHas)
			ch.Diff = unified(la, lb, string(at), string(bt), false)
		}
		d.Changes = append(d.Changes, ch)
	}

	for _, ch := range d.Changes {
		sum.counts(ch).add(ch.Action)
	}
	switch {
	case eb == nil:
		d.Status = StatusRemoved
		sum.Connectors.Removed++
	case ea == nil:
		d.Status = StatusAdded
		sum.Connectors.Added++
	case len(d.Changes) > 0:
		d.Status = StatusChanged
		sum.Connectors.Changed++
	default:
		d.Status = StatusUnchanged
		sum.Connectors.Unchanged++
	}
	if d.Renamed() {
		sum.Connectors.Renamed++
	}
	return d
}

func action(aHas, bHas bool) Action {
	switch {
	case !aHas:
		return ActionAdded
	case !bHas:
		return ActionRemoved
	default:
		return ActionModified
	}
}

func document(c archive.Connector, d domain.Document) []byte {
	return c.Document(d)
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// compactJSON encodes a decoded value canonically: map keys sorted, numbers as
// sent, and no HTML escaping so that XML in strings stays readable.
func compactJSON(v any) json.RawMessage {
	return encodeJSON(v, "")
}

func encodeJSON(v any, indent string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	// A value decoded from JSON always encodes again.
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// detailText is what a detail field's diff compares: a string's own text
// (applicationXml holds XML, whose JSON-escaped form would diff as one line),
// anything else as indented JSON. Both end in a newline so that a diff does
// not report a missing one.
func detailText(v any, has bool) string {
	if !has {
		return ""
	}
	var s string
	if str, ok := v.(string); ok {
		s = str
	} else {
		s = string(encodeJSON(v, "  "))
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// unified diffs two texts. With ws, lines are paired by their normalised form
// (normaliseLine), so whitespace-only edits vanish, but the lines shown are
// A's and B's own.
func unified(la, lb, a, b string, ws bool) string {
	if isBinary(a) || isBinary(b) {
		return binaryDiff(la, lb, a, b)
	}
	notes, showCR := textNotes(a, b)
	rawA, rawB := a, b
	a, _ = displayText(a)
	b, _ = displayText(b)
	var edits []udiff.Edit
	if ws {
		aLines, aOff := splitLines(a)
		bLines, _ := splitLines(b)
		na, nb := make([]string, len(aLines)), make([]string, len(bLines))
		for i, l := range aLines {
			na[i] = normaliseLine(l)
		}
		for i, l := range bLines {
			nb[i] = normaliseLine(l)
		}
		for _, d := range lcs.DiffLines(na, nb) {
			edits = append(edits, udiff.Edit{Start: aOff[d.Start], End: aOff[d.End], New: strings.Join(bLines[d.ReplStart:d.ReplEnd], "")})
		}
	} else {
		edits = udiff.Lines(a, b)
	}
	out, err := udiff.ToUnified(la, lb, a, edits, udiff.DefaultContextLines)
	if err != nil || out == "" {
		// Edits computed from a itself are always consistent, and an empty
		// diff only happens when one side is an empty document or both read
		// the same once decoded: show the headers, and what differs.
		out = "--- " + la + "\n+++ " + lb + "\n"
		if a == b && rawA != rawB {
			notes = append(notes, "The texts read the same but the bytes differ ("+bothSides(rawA, rawB)+")")
		}
	}
	return visible(withNotes(out, notes), showCR)
}

// splitLines splits after each '\n', keeping it, and returns each line's
// start offset plus the end offset (as go-udiff does internally).
func splitLines(s string) ([]string, []int) {
	var lines []string
	offsets := []int{0}
	for start := 0; start < len(s); {
		i := strings.IndexByte(s[start:], '\n')
		end := len(s)
		if i >= 0 {
			end = start + i + 1
		}
		lines = append(lines, s[start:end])
		offsets = append(offsets, end)
		start = end
	}
	return lines, offsets
}

// sameDocument compares two XML documents as text. Without IgnoreWhitespace
// it is byte equality. With it, both are split into lines at '\n' and compared
// line by line after normaliseLine; so CRLF versus LF, indentation, trailing
// blanks, runs of blanks within a line and a missing final newline do not
// count, while added or removed blank lines, re-wrapped lines and whitespace
// added between two characters that had none still do.
func (c comparer) sameDocument(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if !c.ws {
		return false
	}
	al, _ := splitLines(string(a))
	bl, _ := splitLines(string(b))
	if len(al) != len(bl) {
		return false
	}
	for i := range al {
		if normaliseLine(al[i]) != normaliseLine(bl[i]) {
			return false
		}
	}
	return true
}

// normaliseLine trims a line's leading and trailing whitespace (space, tab,
// CR, LF, vertical tab, form feed) and collapses each inner run of it to one
// space.
func normaliseLine(l string) string {
	return strings.Join(strings.FieldsFunc(l, isSpace), " ")
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f':
		return true
	}
	return false
}
