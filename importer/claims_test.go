package importer

import (
	"context"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
)

// answeringTenant answers every create with the scriptName answer gives.
type answeringTenant struct {
	*fakeTenant
	answer func(name string) string
}

func (a *answeringTenant) CreateConnector(ctx context.Context, in apiclient.V3CreateConnectorDto) (apiclient.V3ConnectorDto, error) {
	if err := a.record("create " + in.Name); err != nil {
		return apiclient.V3ConnectorDto{}, err
	}
	return apiclient.V3ConnectorDto{Name: in.Name, ScriptName: a.answer(in.Name)}, nil
}

// TestApplyRefusesCreateAnsweredWithAnotherConnector:
// a create answered with a scriptName the target already had, one an
// earlier create of the run was given, or one whose detail names another
// connector fails that connector, and nothing of it is written anywhere.
func TestApplyRefusesCreateAnsweredWithAnotherConnector(t *testing.T) {
	arch := snap(
		conn("hr", custom("HR", nil), docs3, nil),
		conn("fin", custom("FIN", nil), docs3, nil),
		conn("crm", custom("CRM", nil), docs3, nil),
	)
	target := snap(conn("crm-9", custom("CRM", nil), nil, nil))
	p, err := NewPlan(arch, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		answer func(name string) string
		detail map[string]string
		known  []string
		failed []string // connectors whose create is refused
	}{
		{"an existing target connector", func(string) string { return "crm-9" },
			map[string]string{"crm-9": `{"name":"CRM"}`}, nil, []string{"HR", "FIN"}},
		{"a connector outside the plan the target is known to hold", func(string) string { return "payroll" },
			map[string]string{"payroll": `{"name":"Payroll"}`}, []string{"payroll"}, []string{"HR", "FIN"}},
		{"the same scriptName for two creates", func(string) string { return "shared" },
			map[string]string{"shared": `{"name":"HR"}`}, nil, []string{"HR", "FIN"}},
		{"a scriptName whose detail names another connector", func(n string) string { return "x-" + n },
			map[string]string{"x-HR": `{"name":"HR"}`, "x-FIN": `{"name":"Legacy"}`}, nil, []string{"FIN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := &answeringTenant{fakeTenant: &fakeTenant{detail: tc.detail}, answer: tc.answer}
			rep := Apply(context.Background(), at, p, ApplyOptions{Concurrency: 1, TargetScriptNames: tc.known})
			failed := map[string]bool{}
			for _, r := range rep.Results {
				if r.Outcome != OutcomeFailed {
					continue
				}
				failed[r.Name] = true
				if len(r.Failures) != 1 || r.Failures[0].Item != "create" || !strings.Contains(r.Failures[0].Message, "nothing was written") {
					t.Errorf("%s: failures %+v; want the create refused, saying nothing was written", r.Name, r.Failures)
				}
				if r.Created || len(r.Written) > 0 {
					t.Errorf("%s: %+v; a refused create writes nothing and is not reported created", r.Name, r)
				}
			}
			if len(failed) != len(tc.failed) {
				t.Errorf("failed %v, want %v", failed, tc.failed)
			}
			for _, n := range tc.failed {
				if !failed[n] {
					t.Errorf("%s was not refused", n)
				}
				// crm-9 gets CRM's own update (three documents), nothing more.
				sn, own := tc.answer(n), 0
				if sn == "crm-9" {
					own = 3
				}
				if calls := at.callsFor("put " + sn + " "); len(calls) != own {
					t.Errorf("%s's create was answered with %s, and %s got %d writes, want %d: %q", n, sn, sn, len(calls), own, calls)
				}
			}
		})
	}
}
