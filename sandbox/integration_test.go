package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

func newClient(t *testing.T, srv *sandbox.Server, version string) *apiclient.Client {
	t.Helper()
	c, err := apiclient.New(apiclient.Config{
		BaseURL: srv.URL, APIVersion: version, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAPIClientAllOperations drives all 13 operations through the real client
// against the spec-validating sandbox, in both layouts (/connectors/v1 and
// the yearly ones, the latter also chosen by auto when v1 is not served):
// any request or answer outside its layout's spec fails the test through
// spectest.
func TestAPIClientAllOperations(t *testing.T) {
	for _, tc := range []struct {
		version string
		layouts []string // served by the sandbox; nil: all
		want    string   // the layout the requests go to
	}{
		{"v1", nil, "v1"},
		{"v3", nil, "v3"},
		{"v2026", nil, "v2026"},
		{"auto", nil, "v1"},
		{"auto", []string{"v3", "v2025"}, "v3"},
	} {
		version := tc.version
		t.Run(version+"/"+tc.want, func(t *testing.T) {
			ctx := context.Background()
			srv := spectest.Start(t, sandbox.Options{Synthetic: 260, DocSize: 2048, Layouts: tc.layouts})
			c := newClient(t, srv, version)

			page, err := c.ListConnectors(ctx, apiclient.ListQuery{Filters: `type sw "custom " and not name sw "synthetic"`, Count: true, Locale: "de", Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 3 || page.Total != 6 {
				t.Errorf("filtered page: %d items, total %d; want 3 of 6", len(page.Items), page.Total)
			}
			n := 0
			for _, err := range c.AllConnectors(ctx, "", "") {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 11+260 {
				t.Errorf("AllConnectors yielded %d, want %d (two pages)", n, 11+260)
			}

			created, err := c.CreateConnector(ctx, apiclient.V3CreateConnectorDto{Name: "Integration Test Connector", ClassName: "sailpoint.connector.OpenConnectorAdapter"})
			if err != nil {
				t.Fatal(err)
			}
			sn := created.ScriptName
			if sn != "integration-test-connector" {
				t.Errorf("created scriptName %q", sn)
			}
			docs := map[apiclient.Document][]byte{
				apiclient.SourceConfig:      []byte(`<?xml version="1.0" encoding="UTF-8"?><Form xmlns="http://www.sailpoint.com/xsd/sailpoint_form_2_0.xsd" fileUpload="true" type="SourceConfig"><!-- ü --></Form>`),
				apiclient.SourceTemplate:    []byte("<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE Application PUBLIC \"sailpoint.dtd\" \"sailpoint.dtd\">\n<Application name=\"x\"><![CDATA[a<b]]></Application>\n"),
				apiclient.CorrelationConfig: []byte("<CorrelationConfig name=\"c\"/>"),
			}
			for _, d := range apiclient.Documents {
				ud, err := c.PutDocument(ctx, sn, d, docs[d])
				if err != nil || ud.Status != apiclient.UpdateUpdated {
					t.Fatalf("PutDocument %s: %v %+v", d, err, ud)
				}
				if ud, err := c.PutDocument(ctx, sn, d, docs[d]); err != nil || ud.Status != apiclient.UpdateUnchanged {
					t.Errorf("PutDocument %s again: %v %+v, want UNCHANGED", d, err, ud)
				}
				got, err := c.GetDocument(ctx, sn, d)
				if err != nil || !bytes.Equal(got, docs[d]) {
					t.Errorf("GetDocument %s = %q, %v", d, got, err)
				}
			}
			if _, err := c.PutDocument(ctx, sn, apiclient.SourceConfig, []byte("<Form>")); err == nil {
				t.Error("PutDocument of malformed XML: no error for UpdateDetail ERROR")
			}
			props := []byte("# x\nkey=Verbindungseinstellungen f\\u00fcr\n")
			if ud, err := c.PutTranslation(ctx, sn, "de", props); err != nil || ud.Status != apiclient.UpdateUpdated {
				t.Fatalf("PutTranslation: %v %+v", err, ud)
			}
			if got, err := c.GetTranslation(ctx, sn, "de"); err != nil || !bytes.Equal(got, props) {
				t.Errorf("GetTranslation = %q, %v", got, err)
			}
			d, raw, err := c.GetConnector(ctx, sn, "fr")
			if err != nil {
				t.Fatal(err)
			}
			if d.SourceConfigXML != string(docs[apiclient.SourceConfig]) || d.TranslationProperties["de"] != string(props) || !d.FileUpload || len(raw) == 0 {
				t.Errorf("GetConnector does not reflect the PUTs")
			}
			pd, err := c.PatchConnector(ctx, sn, []apiclient.JsonPatchOperation{
				{Op: "add", Path: "/connectorMetadata", Value: map[string]any{"shortDesc": "patched"}},
				{Op: "replace", Path: "/correlationConfigXml", Value: "<CorrelationConfig name=\"d\"/>"},
			})
			if err != nil || pd.ConnectorMetadata["shortDesc"] != "patched" {
				t.Fatalf("PatchConnector: %v", err)
			}
			if got, _ := c.GetDocument(ctx, sn, apiclient.CorrelationConfig); string(got) != `<CorrelationConfig name="d"/>` {
				t.Errorf("correlation-config after PATCH = %q", got)
			}
			if err := c.DeleteConnector(ctx, sn); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.GetConnector(ctx, sn, ""); !apiclient.IsNotFound(err) {
				t.Errorf("GetConnector after delete: %v, want not found", err)
			}
			// Only the ERROR PUT was refused; the client's requests were all valid.
			st := srv.Tenant.Stats()
			if st.Writes != 11 || st.WritesByOp["putConnectorSourceConfig"] != 3 {
				t.Errorf("tenant saw %d writes %v", st.Writes, st.WritesByOp)
			}
			// Every request went to the chosen layout, but for the
			// correlation-config PUTs of v3, whose spec lacks that route:
			// they go through the first layout served that publishes it.
			if c.APIVersion() != tc.want {
				t.Errorf("APIVersion = %q, want %q", c.APIVersion(), tc.want)
			}
			corr := st.Requests["getConnectorCorrelationConfig"] + st.Requests["putConnectorCorrelationConfig"]
			api := st.TotalRequests() - st.Requests["requestAccessToken"]
			switch {
			case tc.want != "v3":
				if st.ByVersion[tc.want] != api {
					t.Errorf("requests by layout %v, want all %d on %s", st.ByVersion, api, tc.want)
				}
			default:
				probe := 0
				if version == "auto" {
					probe = 1 // the list through /connectors/v1 that answered 404
				}
				if st.ByVersion["v3"] != api-corr-probe || st.ByVersion["v3"]+st.ByVersion["v1"]+st.ByVersion["v2026"]+st.ByVersion["v2025"] != api {
					t.Errorf("requests by layout %v: want every one but correlation-config's on v3", st.ByVersion)
				}
			}
		})
	}
}

// TestAPIClientThroughFaults checks that the client's retries against injected
// 500s, 503s and dropped connections stay inside the spec and end with the
// right content.
func TestAPIClientThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("retries wait for the client's backoff")
	}
	ctx := context.Background()
	srv := spectest.Start(t, sandbox.Options{ErrorRate: 0.15, DropRate: 0.05, Seed: 3})
	c := newClient(t, srv, "v3")
	for _, sn := range []string{"okta", "workday", "acme-hr-feed"} {
		want, _ := srv.Tenant.Connector(sn)
		got, err := c.GetDocument(ctx, sn, apiclient.SourceConfig)
		if err != nil {
			t.Fatalf("%s: %v", sn, err)
		}
		if !bytes.Equal(got, want.SourceConfig) {
			t.Errorf("%s: source-config differs after retries", sn)
		}
		if _, _, err := c.GetConnector(ctx, sn, ""); err != nil {
			t.Fatalf("%s detail: %v", sn, err)
		}
	}
	if _, err := c.PutDocument(ctx, "okta", apiclient.SourceTemplate, []byte("<Application/>")); err != nil {
		t.Fatal(err)
	}
	if st := srv.Tenant.Stats(); st.Faults == 0 || c.Stats().Retries == 0 {
		t.Errorf("no faults were injected (%d) or retried (%d); the seed no longer exercises retries", st.Faults, c.Stats().Retries)
	}
	var nf *apiclient.Error
	if _, err := c.GetDocument(ctx, "z-rich-payroll-bridge", apiclient.CorrelationConfig); !errors.As(err, &nf) || !apiclient.IsNotFound(err) {
		t.Errorf("missing correlation-config: %v, want a not-found *apiclient.Error", err)
	}
}
