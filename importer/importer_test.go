package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
)

// conn builds an archive connector from detail fields and documents.
func conn(scriptName string, fields map[string]any, docs map[apiclient.Document]string, tr map[string]string) *archive.Connector {
	d, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	c := &archive.Connector{ScriptName: scriptName, Detail: d}
	for k, v := range docs {
		switch k {
		case apiclient.SourceConfig:
			c.SourceConfig = []byte(v)
		case apiclient.SourceTemplate:
			c.SourceTemplate = []byte(v)
		case apiclient.CorrelationConfig:
			c.CorrelationConfig = []byte(v)
		}
	}
	for l, v := range tr {
		if c.Translations == nil {
			c.Translations = map[string][]byte{}
		}
		c.Translations[l] = []byte(v)
	}
	return c
}

func custom(name string, extra map[string]any) map[string]any {
	f := map[string]any{"name": name, "type": "custom " + name, "className": "sailpoint.connector.OpenConnectorAdapter",
		"directConnect": true, "status": "RELEASED", "applicationXml": "<Application name=\"" + name + "\"/>",
		"connectorMetadata": map[string]any{"platform": "ccg"}}
	for k, v := range extra {
		if v == nil {
			delete(f, k)
			continue
		}
		f[k] = v
	}
	return f
}

func snap(cs ...*archive.Connector) *archive.Snapshot { return &archive.Snapshot{Connectors: cs} }

var docs3 = map[apiclient.Document]string{
	apiclient.SourceConfig:      "<source-config/>",
	apiclient.SourceTemplate:    "<source-template/>",
	apiclient.CorrelationConfig: "<correlation-config/>",
}

// planLine summarises a planned connector for comparison.
type planLine struct {
	Name, Target, TargetScriptName string
	Action                         Action
	Items                          []string
	Warnings                       []string
	Reason                         string
}

func lines(p *Plan) []planLine {
	var out []planLine
	for _, c := range p.Connectors {
		l := planLine{Name: c.Name, Target: c.TargetName, TargetScriptName: c.TargetScriptName, Action: c.Action, Warnings: c.Warnings, Reason: c.Reason}
		for _, it := range c.Items {
			l.Items = append(l.Items, string(it.Change)+" "+it.Path)
		}
		out = append(out, l)
	}
	return out
}

func TestNewPlan(t *testing.T) {
	arch := snap(
		conn("hr", custom("HR", nil), docs3, map[string]string{"en": "a=1\n", "fr": "a=2\n"}),
		conn("crm", custom("CRM", map[string]any{"status": "DEVELOPMENT", "directConnect": false}), map[apiclient.Document]string{apiclient.SourceConfig: "<sc/>"}, nil),
		conn("ad", map[string]any{"name": "Active Directory", "type": "Active Directory - Direct", "className": "x.AD"}, nil, nil),
		conn("same", custom("Same", nil), docs3, nil),
	)
	tests := []struct {
		name    string
		target  *archive.Snapshot
		opts    Options
		want    []planLine
		counts  Counts
		warns   []string
		wantErr string
	}{
		{
			name:   "empty target: create custom, skip built-in",
			target: snap(),
			want: []planLine{
				{Name: "Active Directory", Target: "Active Directory", Action: ActionSkip, Reason: `built-in connector (type "Active Directory - Direct") absent from the target; restore never creates built-in connectors`},
				{Name: "CRM", Target: "CRM", Action: ActionCreate, Items: []string{"add source-config", "add applicationXml", "add connectorMetadata"}},
				{Name: "HR", Target: "HR", Action: ActionCreate, Items: []string{"add source-template", "add source-config", "add correlation-config", "add translations/en", "add translations/fr", "add applicationXml", "add connectorMetadata"}},
				{Name: "Same", Target: "Same", Action: ActionCreate, Items: []string{"add source-template", "add source-config", "add correlation-config", "add applicationXml", "add connectorMetadata"}},
			},
			counts: Counts{Create: 3, Skip: 1},
		},
		{
			name: "update only what differs; warn about the rest",
			target: snap(
				conn("hr-1", custom("HR", map[string]any{"type": "custom HR old", "connectorMetadata": map[string]any{"platform": "old"}, "fileUpload": true}),
					map[apiclient.Document]string{apiclient.SourceConfig: "<old/>", apiclient.SourceTemplate: "<source-template/>"},
					map[string]string{"en": "a=1\n", "de": "a=3\n"}),
				conn("same-1", custom("Same", map[string]any{"s3Location": "elsewhere"}), docs3, map[string]string{"ja": "x=1\n"}),
				conn("other", custom("Other", nil), nil, nil),
				conn("ad-7", map[string]any{"name": "Active Directory", "type": "Active Directory - Direct", "className": "x.AD"}, nil, nil),
			),
			opts: Options{Only: []string{"HR", "Same", "Active Directory"}},
			want: []planLine{
				{Name: "Active Directory", Target: "Active Directory", TargetScriptName: "ad-7", Action: ActionUnchanged},
				{Name: "CRM", Target: "CRM", Action: ActionSkip, Reason: "not selected (--only)"},
				{Name: "HR", Target: "HR", TargetScriptName: "hr-1", Action: ActionUpdate,
					Items: []string{"modify source-config", "add correlation-config", "add translations/fr", "modify connectorMetadata"},
					Warnings: []string{
						"fileUpload: cannot be changed through the API (target true, archive absent); the server may derive it from the source-config being written",
						`type: cannot be changed through the API (target "custom HR old", archive "custom HR")`,
						"translations/de: in the target but not in the archive; left as is (restore never deletes)",
					}},
				{Name: "Same", Target: "Same", TargetScriptName: "same-1", Action: ActionUnchanged,
					Warnings: []string{"translations/ja: in the target but not in the archive; left as is (restore never deletes)"}},
			},
			counts: Counts{Update: 1, Unchanged: 2, Skip: 1},
		},
		{
			name:   "mapping: update the renamed target, create under the mapped name, warn about an unused entry",
			target: snap(conn("hr-prod", custom("HR (prod)", map[string]any{"type": "custom HR", "applicationXml": "<Application name=\"HR\"/>"}), docs3, map[string]string{"en": "a=1\n", "fr": "a=2\n"})),
			opts:   Options{Mapping: map[string]string{"HR": "HR (prod)", "CRM": "CRM (prod)", "Nope": "X"}, Only: []string{"HR", "CRM"}},
			want: []planLine{
				{Name: "Active Directory", Target: "Active Directory", Action: ActionSkip, Reason: "not selected (--only)"},
				{Name: "CRM", Target: "CRM (prod)", Action: ActionCreate, Items: []string{"add source-config", "add applicationXml", "add connectorMetadata"}},
				{Name: "HR", Target: "HR (prod)", TargetScriptName: "hr-prod", Action: ActionUnchanged},
				{Name: "Same", Target: "Same", Action: ActionSkip, Reason: "not selected (--only)"},
			},
			counts: Counts{Create: 1, Unchanged: 1, Skip: 2},
			warns:  []string{`mapping Nope=X matched nothing: no connector "Nope" in the archive`},
		},
		{
			name:    "only names a connector the archive lacks",
			target:  snap(),
			opts:    Options{Only: []string{"Ghost"}},
			wantErr: `--only "Ghost": no such connector in the archive`,
		},
		{
			name:    "two archive connectors onto one target name",
			target:  snap(),
			opts:    Options{Mapping: map[string]string{"HR": "Same"}},
			wantErr: `archive connectors "HR" and "Same" would both be restored onto target connector "Same"`,
		},
		{
			name:    "two target connectors with one name",
			target:  snap(conn("a", custom("HR", nil), nil, nil), conn("b", custom("HR", nil), nil, nil)),
			wantErr: `the target has two connectors named "HR" (scriptNames "a" and "b")`,
		},
		{
			name:    "a target connector without a name",
			target:  snap(conn("a", map[string]any{"type": "x"}, nil, nil)),
			wantErr: `the target, connector "a": its detail has no name`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(arch, tc.target, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, lines(p)); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			if p.Counts != tc.counts {
				t.Errorf("counts %+v, want %+v", p.Counts, tc.counts)
			}
			if d := cmp.Diff(tc.warns, p.Warnings); d != "" {
				t.Errorf("plan warnings (-want +got):\n%s", d)
			}
		})
	}
}

func TestNewPlanCreateBody(t *testing.T) {
	arch := snap(
		conn("crm", custom("CRM", map[string]any{"status": "DEVELOPMENT", "directConnect": false}), nil, nil),
		conn("old", custom("Old", map[string]any{"status": "DEPRECATED", "directConnect": nil}), nil, nil),
		conn("noclass", custom("No Class", map[string]any{"className": nil}), nil, nil),
	)
	p, err := NewPlan(arch, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := map[string]*apiclient.V3CreateConnectorDto{
		"CRM": {Name: "CRM", Type: "custom CRM", ClassName: "sailpoint.connector.OpenConnectorAdapter", DirectConnect: &f, Status: "DEVELOPMENT"},
		"Old": {Name: "Old", Type: "custom Old", ClassName: "sailpoint.connector.OpenConnectorAdapter"},
	}
	for _, c := range p.Connectors {
		if c.Name == "No Class" {
			if c.Action != ActionSkip || !strings.Contains(c.Reason, "className") {
				t.Errorf("no className: %s (%s), want skipped for it", c.Action, c.Reason)
			}
			continue
		}
		if d := cmp.Diff(want[c.Name], c.Create); d != "" {
			t.Errorf("%s create body (-want +got):\n%s", c.Name, d)
		}
	}
	if w := p.Connectors[2].Warnings; len(w) != 1 || !strings.Contains(w[0], "DEPRECATED cannot be set") {
		t.Errorf("Old: warnings %q, want one about DEPRECATED", w)
	}
	if got := p.Writes(); got != 4 {
		t.Errorf("Writes() = %d, want 2 creates and 2 PATCHes: %+v", got, lines(p))
	}
}

// fakeTenant records every call; fail decides a call's error.
type fakeTenant struct {
	mu      sync.Mutex
	calls   []string
	detail  map[string]string // scriptName -> raw detail JSON for GetConnector
	created map[string]string // scriptName -> name of the connectors CreateConnector made, read back when detail lacks them
	fail    func(call string) error
}

func (f *fakeTenant) record(call string) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if f.fail != nil {
		return f.fail(call)
	}
	return nil
}

func (f *fakeTenant) CreateConnector(_ context.Context, in apiclient.V3CreateConnectorDto) (apiclient.V3ConnectorDto, error) {
	if err := f.record("create " + in.Name); err != nil {
		return apiclient.V3ConnectorDto{}, err
	}
	sn := "new-" + strings.ToLower(in.Name)
	f.mu.Lock()
	if f.created == nil {
		f.created = map[string]string{}
	}
	f.created[sn] = in.Name
	f.mu.Unlock()
	return apiclient.V3ConnectorDto{Name: in.Name, ScriptName: sn}, nil
}

func (f *fakeTenant) GetConnector(_ context.Context, scriptName, _ string) (*apiclient.ConnectorDetail, json.RawMessage, error) {
	f.mu.Lock()
	raw, ok := f.detail[scriptName]
	if name, made := f.created[scriptName]; made && !ok {
		b, _ := json.Marshal(map[string]string{"name": name})
		raw, ok = string(b), true
	}
	f.calls = append(f.calls, "get "+scriptName)
	f.mu.Unlock()
	if !ok {
		return nil, nil, &apiclient.Error{Op: "get connector", ScriptName: scriptName, StatusCode: 404}
	}
	var d apiclient.ConnectorDetail
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, nil, err
	}
	return &d, json.RawMessage(raw), nil
}

func (f *fakeTenant) PutDocument(_ context.Context, scriptName string, doc apiclient.Document, data []byte) (*apiclient.UpdateDetail, error) {
	if err := f.record(fmt.Sprintf("put %s %s %s", scriptName, doc, data)); err != nil {
		return nil, err
	}
	return &apiclient.UpdateDetail{Status: apiclient.UpdateUpdated}, nil
}

func (f *fakeTenant) PutTranslation(_ context.Context, scriptName, locale string, data []byte) (*apiclient.UpdateDetail, error) {
	if err := f.record(fmt.Sprintf("put %s translations/%s %s", scriptName, locale, bytes.TrimSpace(data))); err != nil {
		return nil, err
	}
	return &apiclient.UpdateDetail{Status: apiclient.UpdateUnchanged}, nil
}

func (f *fakeTenant) PatchConnector(_ context.Context, scriptName string, ops []apiclient.JsonPatchOperation) (*apiclient.ConnectorDetail, error) {
	b, _ := json.Marshal(ops)
	if err := f.record(fmt.Sprintf("patch %s %s", scriptName, b)); err != nil {
		return nil, err
	}
	return &apiclient.ConnectorDetail{}, nil
}

func (f *fakeTenant) callsFor(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.Contains(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func testPlan(t *testing.T) *Plan {
	t.Helper()
	arch := snap(
		conn("hr", custom("HR", nil), docs3, map[string]string{"en": "a=1\n"}),
		conn("crm", custom("CRM", map[string]any{"connectorMetadata": map[string]any{"platform": "new"}}), map[apiclient.Document]string{apiclient.SourceConfig: "<new/>"}, nil),
		conn("same", custom("Same", nil), nil, nil),
		conn("ad", map[string]any{"name": "AD", "type": "AD", "className": "x"}, nil, nil),
	)
	target := snap(
		conn("crm-9", custom("CRM", nil), map[apiclient.Document]string{apiclient.SourceConfig: "<old/>"}, nil),
		conn("same-9", custom("Same", nil), nil, nil),
	)
	p, err := NewPlan(arch, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestApplyWritesThroughChokePoint checks the exact writes and their order,
// and that the new connector's fields already right are not patched.
func TestApplyWritesThroughChokePoint(t *testing.T) {
	p := testPlan(t)
	ft := &fakeTenant{detail: map[string]string{
		// The server gave the new connector this applicationXml already, and
		// other metadata.
		"new-hr": `{"name":"HR","applicationXml":"<Application name=\"HR\"/>","connectorMetadata":{"platform":"stub"}}`,
	}}
	rep := Apply(context.Background(), ft, p, ApplyOptions{Concurrency: 3})

	hr := slices.DeleteFunc(slices.Clone(ft.calls), func(c string) bool { return !strings.Contains(c, "HR") && !strings.Contains(c, "new-hr") })
	if d := cmp.Diff([]string{
		"create HR",
		"get new-hr", // the new connector is the one asked for
		"put new-hr source-template <source-template/>",
		"put new-hr source-config <source-config/>",
		"put new-hr correlation-config <correlation-config/>",
		"put new-hr translations/en a=1",
		"get new-hr",
		`patch new-hr [{"op":"replace","path":"/connectorMetadata","value":{"platform":"ccg"}}]`,
	}, hr); d != "" {
		t.Errorf("HR calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{
		"put crm-9 source-config <new/>",
		"get crm-9", // 404 in this fake: every field is patched
		`patch crm-9 [{"op":"replace","path":"/connectorMetadata","value":{"platform":"new"}}]`,
	}, ft.callsFor("crm-9")); d != "" {
		t.Errorf("CRM calls (-want +got):\n%s", d)
	}
	if got := append(ft.callsFor("same"), ft.callsFor("AD")...); len(got) != 0 {
		t.Errorf("unchanged and skipped connectors were written: %q", got)
	}
	want := ReportCounts{Created: 1, Updated: 1, Unchanged: 1, Skipped: 1}
	if rep.Counts != want || rep.Failed() {
		t.Errorf("counts %+v, want %+v", rep.Counts, want)
	}
	for _, r := range rep.Results {
		if r.Name == "HR" {
			if r.ScriptName != "new-hr" || !r.Created || !slices.Equal(r.Unchanged, []string{"translations/en"}) || !slices.Contains(r.Written, "connectorMetadata") {
				t.Errorf("HR result %+v", r)
			}
		}
	}
}

// TestApplyNotAppliedWritesNothing: planning talks to no tenant, and an
// empty plan applied writes nothing.
func TestApplyNotAppliedWritesNothing(t *testing.T) {
	arch := snap(conn("same", custom("Same", nil), docs3, nil))
	p, err := NewPlan(arch, arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() || p.Writes() != 0 {
		t.Fatalf("plan of identical snapshots: %+v", lines(p))
	}
	ft := &fakeTenant{}
	rep := Apply(context.Background(), ft, p, ApplyOptions{})
	if len(ft.calls) != 0 || rep.Counts.Unchanged != 1 {
		t.Errorf("calls %q, counts %+v", ft.calls, rep.Counts)
	}
}

func TestApplyFailures(t *testing.T) {
	rejected := &apiclient.Error{Op: "put source-config", ScriptName: "crm-9", StatusCode: 200, Messages: []string{"unsupported xsd version"}, TrackingID: "trk-1", Err: apiclient.ErrUpdateFailed}
	t.Run("a failed write does not stop the connector's other writes or other connectors", func(t *testing.T) {
		ft := &fakeTenant{fail: func(call string) error {
			if strings.HasPrefix(call, "put crm-9 source-config") {
				return rejected
			}
			return nil
		}}
		rep := Apply(context.Background(), ft, testPlan(t), ApplyOptions{})
		if len(ft.callsFor("patch crm-9")) != 1 || len(ft.callsFor("create HR")) != 1 {
			t.Errorf("calls %q: the patch after the failure and the other connector must still run", ft.calls)
		}
		for _, r := range rep.Results {
			if r.Name != "CRM" {
				continue
			}
			want := []Failure{{Item: "source-config", Message: rejected.Error(), StatusCode: 200, TrackingID: "trk-1"}}
			if r.Outcome != OutcomeFailed || !cmp.Equal(r.Failures, want) || !slices.Equal(r.Written, []string{"connectorMetadata"}) {
				t.Errorf("CRM result %+v", r)
			}
		}
		if !rep.Failed() || rep.Counts.Failed != 1 || rep.Counts.Created != 1 {
			t.Errorf("counts %+v", rep.Counts)
		}
		var buf bytes.Buffer
		if err := WriteReportText(&buf, rep); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "connvault: failed CRM (crm-9): 1 of its writes failed, wrote connectorMetadata\nconnvault:     source-config: put source-config \"crm-9\": server reported status ERROR: unsupported xsd version [trackingId trk-1]\n") {
			t.Errorf("text report:\n%s", buf.String())
		}
	})
	t.Run("a failed create stops that connector", func(t *testing.T) {
		ft := &fakeTenant{fail: func(call string) error {
			if call == "create HR" {
				return &apiclient.Error{Op: "create connector", Name: "HR", StatusCode: 400, Messages: []string{"bad"}}
			}
			return nil
		}}
		rep := Apply(context.Background(), ft, testPlan(t), ApplyOptions{})
		if got := ft.callsFor("new-hr"); len(got) != 0 {
			t.Errorf("writes after a failed create: %q", got)
		}
		if rep.Counts.Failed != 1 || rep.Counts.Updated != 1 {
			t.Errorf("counts %+v", rep.Counts)
		}
	})
	t.Run("a create lost in transit is adopted when the archive's scriptName has it", func(t *testing.T) {
		for _, tc := range []struct {
			detail string
			adopt  bool
		}{{`{"name":"HR"}`, true}, {`{"name":"Someone else"}`, false}, {"", false}} {
			ft := &fakeTenant{detail: map[string]string{}, fail: func(call string) error {
				if call == "create HR" {
					return &apiclient.Error{Op: "create connector", Name: "HR", StatusCode: 400, Err: fmt.Errorf("%w: duplicate", apiclient.ErrCreateOutcomeUnknown)}
				}
				return nil
			}}
			if tc.detail != "" {
				ft.detail["hr"] = tc.detail
			}
			rep := Apply(context.Background(), ft, testPlan(t), ApplyOptions{})
			for _, r := range rep.Results {
				if r.Name != "HR" {
					continue
				}
				if tc.adopt && (r.Outcome != OutcomeCreated || r.ScriptName != "hr" || len(ft.callsFor("put hr ")) != 4) {
					t.Errorf("detail %s: %+v, calls %q; want the connector adopted and written", tc.detail, r, ft.calls)
				}
				if !tc.adopt && (r.Outcome != OutcomeFailed || len(r.Failures) != 1 || !strings.Contains(r.Failures[0].Message, apiclient.ErrCreateOutcomeUnknown.Error())) {
					t.Errorf("detail %q: %+v, want failed with the create's error", tc.detail, r)
				}
			}
		}
	})
	t.Run("a cancelled context writes nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ft := &fakeTenant{}
		rep := Apply(ctx, ft, testPlan(t), ApplyOptions{})
		if len(ft.calls) != 0 || rep.Counts.Failed != 2 {
			t.Errorf("calls %q counts %+v", ft.calls, rep.Counts)
		}
	})
}

func TestWritePlanText(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePlanText(&buf, testPlan(t)); err != nil {
		t.Fatal(err)
	}
	want := `- skipped AD (built-in connector (type "AD") absent from the target; restore never creates built-in connectors)
~ update CRM (crm-9)
    ~ source-config
    ~ connectorMetadata
+ create HR
    + source-template
    + source-config
    + correlation-config
    + translations/en
    + applicationXml
    + connectorMetadata
= unchanged Same (same-9)

Plan: 1 to create, 1 to update, 1 unchanged, 1 skipped.
`
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("plan text (-want +got):\n%s", d)
	}
}

func TestWriteJSON(t *testing.T) {
	p := testPlan(t)
	var buf bytes.Buffer
	if err := WritePlanJSON(&buf, p, Info{Archive: "a.tar.zst", Target: "https://acme.api.identitynow.com", DryRun: true}); err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(buf.Bytes(), &plan); err != nil {
		t.Fatal(err)
	}
	summary := plan["summary"].(map[string]any)
	if plan["version"] != 1.0 || plan["kind"] != "plan" || plan["dryRun"] != true || summary["writes"] != float64(p.Writes()) || len(plan["connectors"].([]any)) != 4 {
		t.Errorf("plan JSON:\n%s", buf.String())
	}
	hr := plan["connectors"].([]any)[2].(map[string]any)
	if hr["action"] != "create" || hr["create"].(map[string]any)["className"] != "sailpoint.connector.OpenConnectorAdapter" ||
		hr["items"].([]any)[0].(map[string]any)["path"] != "source-template" {
		t.Errorf("HR in plan JSON: %v", hr)
	}

	buf.Reset()
	rep := Apply(context.Background(), &fakeTenant{}, p, ApplyOptions{})
	if err := WriteReportJSON(&buf, rep, []string{"w"}, Info{Backup: "/b/x.tar.zst"}); err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r["kind"] != "report" || r["backup"] != "/b/x.tar.zst" || r["summary"].(map[string]any)["created"] != 1.0 || len(r["warnings"].([]any)) != 1 {
		t.Errorf("report JSON:\n%s", buf.String())
	}
	for _, c := range r["connectors"].([]any) {
		m := c.(map[string]any)
		for _, k := range []string{"written", "unchanged", "failures", "warnings"} {
			if _, ok := m[k].([]any); !ok {
				t.Errorf("connector %v: %s is not an array", m["name"], k)
			}
		}
	}
}

// FuzzNewPlan feeds arbitrary detail JSON and documents (an archive is
// outside input) to NewPlan: it must never panic, and a plan it makes must be
// consistent.
func FuzzNewPlan(f *testing.F) {
	f.Add([]byte(`{"name":"HR","type":"custom HR","className":"c","connectorMetadata":{"a":1}}`), []byte(`{"name":"HR","type":"custom X","applicationXml":"<a/>"}`), []byte("<sc/>"), "en")
	f.Add([]byte(`{"name":"AD","type":"AD"}`), []byte(`{}`), []byte(nil), "xx")
	f.Add([]byte(`null`), []byte(`[]`), []byte{}, "")
	f.Add([]byte(`{"name":"A","status":"DEPRECATED","type":"custom A","className":"c","directConnect":"yes"}`), []byte(`{"name":"A","status":1e999}`), []byte("x"), "fr")
	f.Fuzz(func(t *testing.T, archDetail, targetDetail, doc []byte, locale string) {
		a := &archive.Connector{ScriptName: "a", Detail: archDetail, SourceConfig: doc, Translations: map[string][]byte{locale: doc}}
		b := &archive.Connector{ScriptName: "b", Detail: targetDetail, CorrelationConfig: doc}
		p, err := NewPlan(snap(a), snap(b), Options{})
		if err != nil {
			return
		}
		if n := p.Counts.Create + p.Counts.Update + p.Counts.Unchanged + p.Counts.Skip; n != len(p.Connectors) || n != 1 {
			t.Fatalf("counts %+v for %d connectors", p.Counts, len(p.Connectors))
		}
		c := p.Connectors[0]
		if (c.Action == ActionCreate) != (c.Create != nil) || c.Action == ActionCreate && !strings.HasPrefix(c.Create.Type, CustomTypePrefix) {
			t.Fatalf("create %+v for action %s", c.Create, c.Action)
		}
		if (c.Action == ActionUpdate) != (c.TargetScriptName != "" && len(c.Items) > 0) {
			t.Fatalf("action %s with %d items, target %q", c.Action, len(c.Items), c.TargetScriptName)
		}
		for _, it := range c.Items {
			if (it.Kind == ItemDocument || it.Kind == ItemTranslation) && it.data == nil || it.Kind == ItemField && it.value == nil {
				t.Fatalf("item %s without content", it.Path)
			}
		}
		if err := WritePlanText(&bytes.Buffer{}, p); err != nil {
			t.Fatal(err)
		}
		if err := WritePlanJSON(&bytes.Buffer{}, p, Info{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTargetNames(t *testing.T) {
	arch := snap(
		conn("a", map[string]any{"name": "A", "type": "custom A"}, nil, nil),
		conn("b", map[string]any{"name": "B", "type": "custom B"}, nil, nil),
	)
	got, err := TargetNames(arch, Options{Mapping: map[string]string{"A": "A (prod)"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A (prod)", "B"}; !slices.Equal(got, want) {
		t.Errorf("TargetNames = %q, want %q", got, want)
	}
	if _, err := TargetNames(arch, Options{Only: []string{"C"}}); !errors.Is(err, ErrNotInArchive) {
		t.Errorf("unknown --only: %v, want ErrNotInArchive", err)
	}
	dup := snap(conn("a", map[string]any{"name": "A"}, nil, nil), conn("a2", map[string]any{"name": "A"}, nil, nil))
	if _, err := TargetNames(dup, Options{}); err == nil || !strings.Contains(err.Error(), "two connectors named") {
		t.Errorf("duplicate names: %v", err)
	}
}
