package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
)

func snap(cs ...*archive.Connector) *archive.Snapshot {
	return &archive.Snapshot{Connectors: cs}
}

func conn(t testing.TB, script, name string, mut func(d map[string]any, c *archive.Connector)) *archive.Connector {
	t.Helper()
	d := baseDetail(name, script)
	c := &archive.Connector{ScriptName: script}
	if mut != nil {
		mut(d, c)
	}
	c.Detail = detailJSON(t, d)
	return c
}

// plan is the machine view restore needs: what differs, by kind and item.
type plan struct {
	Name, AKey, BKey string
	Status           Status
	Items            []string
}

func planOf(r *Result) []plan {
	var out []plan
	for _, c := range r.Connectors {
		p := plan{Name: c.Name, AKey: c.AKey, BKey: c.BKey, Status: c.Status}
		for _, ch := range c.Changes {
			item := string(ch.Kind) + ":" + ch.Field + string(ch.Document) + ch.Locale + ":" + string(ch.Action)
			p.Items = append(p.Items, item)
		}
		out = append(out, p)
	}
	return out
}

func TestCompareChangesAreMachineUsable(t *testing.T) {
	a, b, mapping := goldenSnapshots(t)
	r, err := Compare(a, b, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	detailAdded := []string{"detail:className:added", "detail:connectorMetadata:added", "detail:directConnect:added",
		"detail:fileUpload:added", "detail:name:added", "detail:status:added", "detail:type:added"}
	detailRemoved := make([]string, len(detailAdded))
	for i, s := range detailAdded {
		detailRemoved[i] = strings.Replace(s, ":added", ":removed", 1)
	}
	want := []plan{
		{"Delimited File", "Delimited File", "Delimited File", StatusChanged, []string{
			"detail:connectorMetadata:modified", "detail:status:modified",
			"translation:de:added", "translation:en:modified", "translation:fr:removed"}},
		{"Directory Sync", "Directory Sync", "Directory Sync", StatusChanged, []string{"document:correlation-config:modified"}},
		{"HR Feed (dev)", "HR Feed (dev)", "HR Feed", StatusChanged, []string{"detail:name:modified", "document:source-template:modified"}},
		{"JDBC Legacy", "JDBC Legacy", "", StatusRemoved, append(detailRemoved, "document:source-config:removed")},
		{"SCIM 2.0", "", "SCIM 2.0", StatusAdded, append(detailAdded, "translation:en:added")},
		{"Static Groups", "Static Groups", "Static Groups", StatusUnchanged, nil},
		{"Ticketing", "Ticketing", "Ticketing", StatusChanged, []string{"document:correlation-config:modified"}},
		{"Web Services", "Web Services", "Web Services", StatusChanged, []string{"detail:applicationXml:modified", "document:source-config:modified"}},
	}
	if d := cmp.Diff(want, planOf(r)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if r.Equal() {
		t.Error("Equal() = true for differing snapshots")
	}
	wantUnmatched := []UnmatchedMapping{{A: "Gone Connector", B: "Anything", Reason: `no connector "Gone Connector" in A`}}
	if d := cmp.Diff(wantUnmatched, r.UnmatchedMappings); d != "" {
		t.Errorf("unmatched mappings (-want +got):\n%s", d)
	}
	// The detail change carries both values as JSON for a planner to use.
	ch := r.Connectors[0].Changes[1]
	if ch.Field != "status" || string(ch.Old) != `"RELEASED"` || string(ch.New) != `"DEVELOPMENT"` {
		t.Errorf("status change = %+v", ch)
	}
	if got := r.Connectors[0].Changes[2]; got.Kind != KindTranslation || got.Locale != "de" || got.Path != "translations/de" {
		t.Errorf("translation change = %+v", got)
	}
	if got := r.Connectors[2]; !got.Renamed() || got.A.ScriptName != "hr-feed-dev" || got.B.ScriptName != "hr-feed" {
		t.Errorf("renamed pair = %+v", got)
	}
	wantSummary := Summary{
		Connectors:        ConnectorCounts{Added: 1, Removed: 1, Changed: 5, Unchanged: 1, Renamed: 1},
		DetailFields:      ItemCounts{Added: 7, Removed: 7, Modified: 4, Unchanged: 39},
		SourceConfig:      ItemCounts{Removed: 1, Modified: 1},
		SourceTemplate:    ItemCounts{Modified: 1, Unchanged: 1},
		CorrelationConfig: ItemCounts{Modified: 2},
		Translations:      ItemCounts{Added: 2, Removed: 1, Modified: 1},
	}
	if d := cmp.Diff(wantSummary, r.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
}

func TestCompareEqual(t *testing.T) {
	a, _, _ := goldenSnapshots(t)
	// The same content under other scriptNames and storage, as another tenant
	// would hold it, is equal when matching by name.
	var b archive.Snapshot
	for _, c := range a.Connectors {
		fields, err := DetailFields(c.Detail)
		if err != nil {
			t.Fatal(err)
		}
		fields["scriptName"] = c.ScriptName + "-prod"
		fields["s3Location"] = "s3://elsewhere"
		fields["uploadedFiles"] = nil
		cc := *c
		cc.ScriptName += "-prod"
		cc.Detail = detailJSON(t, fields)
		b.Connectors = append([]*archive.Connector{&cc}, b.Connectors...) // order must not matter
	}
	r, err := Compare(a, &b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Equal() {
		t.Fatalf("not equal: %+v", planOf(r))
	}
	if r.Summary.Connectors.Unchanged != len(a.Connectors) {
		t.Errorf("unchanged = %d, want %d", r.Summary.Connectors.Unchanged, len(a.Connectors))
	}
	// By scriptName nothing pairs: every connector is removed and added.
	r, err = Compare(a, &b, Options{Match: MatchScriptName})
	if err != nil {
		t.Fatal(err)
	}
	if r.Equal() || r.Summary.Connectors.Added != len(a.Connectors) || r.Summary.Connectors.Removed != len(a.Connectors) {
		t.Errorf("by scriptName: summary %+v", r.Summary.Connectors)
	}
	// Empty sides.
	for _, tc := range []struct {
		a, b *archive.Snapshot
		eq   bool
	}{{nil, nil, true}, {snap(), nil, true}, {a, nil, false}, {nil, a, false}} {
		r, err := Compare(tc.a, tc.b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Equal() != tc.eq {
			t.Errorf("Equal() = %v, want %v (%+v)", r.Equal(), tc.eq, r.Summary.Connectors)
		}
	}
}

func TestCompareMatchByScriptNameWithMapping(t *testing.T) {
	a := snap(conn(t, "ws", "Web Services", nil), conn(t, "ad", "Active Directory", nil))
	b := snap(
		conn(t, "ws-2", "Web Services", func(d map[string]any, c *archive.Connector) { c.SourceConfig = []byte("<x/>\n") }),
		conn(t, "ad", "Active Directory", nil))
	r, err := Compare(a, b, Options{Match: MatchScriptName, Mapping: map[string]string{"ws": "ws-2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []plan{
		{"ad", "ad", "ad", StatusUnchanged, nil},
		{"ws", "ws", "ws-2", StatusChanged, []string{"document:source-config:added"}},
	}
	if d := cmp.Diff(want, planOf(r)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	if r.Match != MatchScriptName || r.Summary.Connectors.Renamed != 1 {
		t.Errorf("match %q, renamed %d", r.Match, r.Summary.Connectors.Renamed)
	}
}

func TestCompareRenamedUnchangedIsEqualAndShown(t *testing.T) {
	a := snap(conn(t, "hr", "HR", nil))
	b := snap(conn(t, "hr", "HR", nil))
	// Renaming by scriptName keeps the detail name, so nothing differs.
	b.Connectors[0].ScriptName = "hr-prod"
	r, err := Compare(a, b, Options{Match: MatchScriptName, Mapping: map[string]string{"hr": "hr-prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Equal() || r.Connectors[0].Status != StatusUnchanged || !r.Connectors[0].Renamed() {
		t.Fatalf("result %+v", r.Connectors)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{NameOnly: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "unchanged hr -> hr-prod\n"; got != want {
		t.Errorf("name-only output %q, want %q", got, want)
	}
}

func TestCompareErrors(t *testing.T) {
	dup := func(script string) *archive.Connector { return conn(t, script, "Same Name", nil) }
	cases := []struct {
		name    string
		a, b    *archive.Snapshot
		opts    Options
		wantErr string
	}{
		{"unknown match", snap(), snap(), Options{Match: "id"}, `unknown match "id"`},
		{"duplicate name in A", snap(dup("s1"), dup("s2")), snap(), Options{},
			`snapshot A has two connectors named "Same Name" (scriptNames "s1" and "s2")`},
		{"duplicate name in B", snap(), snap(dup("s1"), dup("s2")), Options{}, `snapshot B has two connectors named "Same Name"`},
		{"duplicate scriptName", snap(conn(t, "x", "One", nil), conn(t, "x", "Two", nil)), snap(), Options{Match: MatchScriptName},
			`snapshot A has two connectors with scriptName "x"`},
		{"no name", snap(conn(t, "nameless", "", nil)), snap(), Options{}, `snapshot A, connector "nameless": its detail has no name`},
		{"bad detail", snap(&archive.Connector{ScriptName: "broken", Detail: []byte(`{"name":`)}), snap(), Options{},
			`snapshot A, connector "broken": connector detail is not one JSON object`},
		{"detail array", snap(), snap(&archive.Connector{ScriptName: "arr", Detail: []byte(`[1]`)}), Options{Match: MatchScriptName},
			`snapshot B, connector "arr"`},
		{"trailing data", snap(&archive.Connector{ScriptName: "t", Detail: []byte(`{"name":"x"} {}`)}), snap(), Options{},
			`connector "t": connector detail is not one JSON object: invalid character '{' after top-level value`},
		{"nil connector", snap(nil), snap(), Options{}, "snapshot A: connector 0 is nil"},
		{"mapping not one-to-one", snap(), snap(), Options{Mapping: map[string]string{"a": "z", "b": "z"}},
			`mapping pairs both "a" and "b" with "z"`},
		{"mapping empty side", snap(), snap(), Options{Mapping: map[string]string{"a": ""}}, `mapping "a"="" has an empty side`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare(tc.a, tc.b, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v (result %v), want one containing %q", err, r, tc.wantErr)
			}
		})
	}
}

func TestCompareMappingWinsOverKeys(t *testing.T) {
	// A's X is mapped to B's Y, so A's own Y does not pair with B's Y: it is
	// removed, as the mapping says X took its place.
	a := snap(conn(t, "x", "X", nil), conn(t, "y", "Y", nil))
	b := snap(conn(t, "y2", "Y", nil), conn(t, "z", "Z", nil))
	r, err := Compare(a, b, Options{Mapping: map[string]string{"X": "Y", "Z": "Gone"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Connectors {
		got = append(got, c.AKey+">"+c.BKey+":"+string(c.Status))
	}
	want := []string{"X>Y:changed", "Y>:removed", ">Z:added"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pairs (-want +got):\n%s", d)
	}
	wantUnmatched := []UnmatchedMapping{{A: "Z", B: "Gone", Reason: `no connector "Z" in A`}}
	if d := cmp.Diff(wantUnmatched, r.UnmatchedMappings); d != "" {
		t.Errorf("unmatched (-want +got):\n%s", d)
	}
}

func TestCompareMappingSwap(t *testing.T) {
	// Two connectors swapped names between tenants: a mapping in both
	// directions pairs them crosswise, with no conflict.
	a := snap(conn(t, "p", "P", func(_ map[string]any, c *archive.Connector) { c.SourceConfig = []byte("p\n") }),
		conn(t, "q", "Q", func(_ map[string]any, c *archive.Connector) { c.SourceConfig = []byte("q\n") }))
	b := snap(conn(t, "p", "Q", func(_ map[string]any, c *archive.Connector) { c.SourceConfig = []byte("p\n") }),
		conn(t, "q", "P", func(_ map[string]any, c *archive.Connector) { c.SourceConfig = []byte("q\n") }))
	r, err := Compare(a, b, Options{Mapping: map[string]string{"P": "Q", "Q": "P"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []plan{
		{"P", "P", "Q", StatusChanged, []string{"detail:connectorMetadata:modified", "detail:name:modified", "detail:type:modified"}},
		{"Q", "Q", "P", StatusChanged, []string{"detail:connectorMetadata:modified", "detail:name:modified", "detail:type:modified"}},
	}
	if d := cmp.Diff(want, planOf(r)); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestCompareDetailFields(t *testing.T) {
	cases := []struct {
		name   string
		a, b   string
		ignore []string
		want   []string
	}{
		{"volatile only", `{"name":"N","scriptName":"a","s3Location":"x","uploadedFiles":["1"]}`,
			`{"name":"N","scriptName":"b","s3Location":"y"}`, nil, nil},
		{"document duplicates are not detail changes",
			`{"name":"N","sourceConfigXml":"<a/>","sourceConfig":"<a/>","correlationConfigXml":"<c/>","translationProperties":{"en":"x=1"}}`,
			`{"name":"N","sourceConfigXml":"<b/>","sourceConfig":"<b/>","correlationConfigXml":"<d/>","translationProperties":{"en":"x=2"}}`, nil, nil},
		{"key order and spacing do not matter", `{"name":"N","connectorMetadata":{"a":1,"b":[1,2]}}`,
			"{\n \"connectorMetadata\" : {\"b\":[1,2], \"a\":1},\"name\":\"N\"}", nil, nil},
		{"numbers compare as written", `{"name":"N","n":1}`, `{"name":"N","n":1.0}`, nil, []string{"n:modified"}},
		{"null is present", `{"name":"N","sourceConfigFrom":null}`, `{"name":"N"}`, nil, []string{"sourceConfigFrom:removed"}},
		{"unknown fields compared", `{"name":"N","futureField":{"x":true}}`, `{"name":"N","futureField":{"x":false}}`, nil, []string{"futureField:modified"}},
		{"caller ignores", `{"name":"N","status":"RELEASED","type":"a"}`, `{"name":"N","status":"DEMO","type":"b"}`, []string{"status"}, []string{"type:modified"}},
		{"empty detail", ``, `{"name":"N","status":"DEMO"}`, nil, []string{"name:added", "status:added"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := snap(&archive.Connector{ScriptName: "c", Detail: []byte(tc.a)})
			b := snap(&archive.Connector{ScriptName: "c", Detail: []byte(tc.b)})
			r, err := Compare(a, b, Options{Match: MatchScriptName, Ignore: tc.ignore})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ch := range r.Connectors[0].Changes {
				if ch.Kind != KindDetail {
					t.Errorf("unexpected %s change %s", ch.Kind, ch.Path)
				}
				got = append(got, ch.Field+":"+string(ch.Action))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestDetailFieldsKeepsNumbersAndUnknownFields(t *testing.T) {
	m, err := DetailFields([]byte(`{"name":"x","big":12345678901234567890,"extra":{"k":[true]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(compactJSON(m)); got != `{"big":12345678901234567890,"extra":{"k":[true]},"name":"x"}` {
		t.Errorf("re-encoded %s", got)
	}
	if m, err := DetailFields(nil); err != nil || len(m) != 0 {
		t.Errorf("nil detail: %v, %v", m, err)
	}
	if _, err := DetailFields([]byte("null")); err == nil {
		t.Error("null detail accepted")
	}
}

func TestIgnoreWhitespace(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		same bool
	}{
		{"crlf", "<a>\n<b/>\n</a>\n", "<a>\r\n<b/>\r\n</a>\r\n", true},
		{"indentation and trailing blanks", "<a>\n  <b/>\n</a>\n", "<a>\n\t\t<b/>   \n</a>\n", true},
		{"inner runs", "<b x=\"1\" y=\"2\"/>\n", "<b  x=\"1\"\ty=\"2\"/>\n", true},
		{"final newline", "<a/>\n", "<a/>", true},
		{"added blank line", "<a>\n</a>\n", "<a>\n\n</a>\n", false},
		{"rewrapped", "<a><b/></a>\n", "<a>\n<b/></a>\n", false},
		{"space where none was", "<a><b/></a>\n", "<a> <b/></a>\n", false},
		{"content", "<a>x</a>\n", "<a>y</a>\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(doc string) *archive.Snapshot {
				return snap(&archive.Connector{ScriptName: "c", Detail: []byte(`{"name":"c"}`), SourceTemplate: []byte(doc)})
			}
			ws, err := Compare(mk(tc.a), mk(tc.b), Options{IgnoreWhitespace: true})
			if err != nil {
				t.Fatal(err)
			}
			if ws.Equal() != tc.same {
				t.Errorf("IgnoreWhitespace: Equal() = %v, want %v", ws.Equal(), tc.same)
			}
			exact, err := Compare(mk(tc.a), mk(tc.b), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if exact.Equal() {
				t.Error("byte comparison found different documents equal")
			}
			if !tc.same {
				ch := ws.Connectors[0].Changes[0]
				if ch.Document != domain.SourceTemplate || !strings.Contains(ch.Diff, "+++ b/c/source-template.xml") {
					t.Errorf("change %+v", ch)
				}
			}
		})
	}
}

func TestEmptyDocumentAdded(t *testing.T) {
	a := snap(&archive.Connector{ScriptName: "c", Detail: []byte(`{"name":"c"}`)})
	b := snap(&archive.Connector{ScriptName: "c", Detail: []byte(`{"name":"c"}`), CorrelationConfig: []byte{}})
	r, err := Compare(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{Kind: KindDocument, Path: "correlation-config", Document: domain.CorrelationConfig, Action: ActionAdded,
		Diff: "--- /dev/null\n+++ b/c/correlation-config.xml\n"}}
	if d := cmp.Diff(want, r.Connectors[0].Changes, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("pipe closed")
}

func TestWriteErrors(t *testing.T) {
	a, b, mapping := goldenSnapshots(t)
	r, err := Compare(a, b, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&failingWriter{}, r, TextOptions{}); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Errorf("WriteText: err = %v", err)
	}
	if err := WriteJSON(&failingWriter{}, r); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Errorf("WriteJSON: err = %v", err)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{Stat: true, NameOnly: true}); err == nil || buf.Len() != 0 {
		t.Errorf("Stat+NameOnly: err = %v, wrote %d bytes", err, buf.Len())
	}
}

// FuzzCompare feeds arbitrary details and documents (archive content is
// outside input) through Compare and both writers: it must never panic, a
// snapshot must equal itself, and any difference must show in the output.
func FuzzCompare(f *testing.F) {
	f.Add([]byte(`{"name":"n","connectorMetadata":{"a":1}}`), []byte(`{"name":"n","connectorMetadata":{"a":2}}`),
		[]byte(sourceConfigV1), []byte(sourceConfigV2), true)
	f.Add([]byte(`{"name":"n"}`), []byte(`{"name":"n","x":null}`), []byte(correlationXML), []byte(correlationReformatted), true)
	f.Add([]byte(`{"name":"n"}`), []byte(`[]`), []byte("a\r\nb"), []byte("a\nb\n"), false)
	f.Add([]byte(`{"name":"\u00e9","v":1e400}`), []byte(`{"name":"\u00e9","v":"\ud800"}`), []byte{0xff, '\n'}, []byte{}, false)
	f.Fuzz(func(t *testing.T, da, db, xa, xb []byte, ws bool) {
		a := snap(&archive.Connector{ScriptName: "c", Detail: da, SourceConfig: xa, Translations: map[string][]byte{"en": xb}})
		b := snap(&archive.Connector{ScriptName: "c", Detail: db, SourceConfig: xb, Translations: map[string][]byte{"en": xa}})
		for _, m := range []string{MatchName, MatchScriptName} {
			opts := Options{Match: m, IgnoreWhitespace: ws}
			if self, err := Compare(a, a, opts); err == nil && !self.Equal() {
				t.Fatalf("a snapshot differs from itself: %+v", self.Connectors)
			}
			r, err := Compare(a, b, opts)
			if err != nil {
				continue
			}
			var text, js bytes.Buffer
			if err := WriteText(&text, r, TextOptions{Color: ws}); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, r); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js.Bytes()) {
				t.Fatalf("invalid JSON output:\n%s", js.Bytes())
			}
			for _, c := range r.Connectors {
				for _, ch := range c.Changes {
					if !bytes.Contains(text.Bytes(), []byte(ch.Path)) {
						t.Fatalf("change %q is missing from the text output:\n%s", ch.Path, text.Bytes())
					}
				}
			}
			if !bytes.Equal(xa, xb) && r.Equal() && !ws && m == MatchScriptName {
				t.Fatal("different translations reported equal")
			}
		}
	})
}
