package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
)

var releasedSeed = []string{
	"atlassian-suite-cloud", "delinea-secret-server", "acme-hr-feed", "z-rich-payroll-bridge", "contoso-badge-system",
	"initech-ticketing", "active-directory", "servicenow", "workday", "sap-hana-database", "okta",
}

var hiddenSeed = []string{"legacy-mainframe-racf-bridge", "globex-crm-beta", "salesforce-preview"}

func TestListReleasedOnlyAndPaging(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	all, a := e.list("")
	if a.header.Get("X-Total-Count") != "" {
		t.Errorf("X-Total-Count sent without count=true: %q", a.header.Get("X-Total-Count"))
	}
	if got := scriptNames(all); !slices.Equal(got, releasedSeed) {
		t.Fatalf("list = %v, want the RELEASED seed %v", got, releasedSeed)
	}
	for _, c := range all {
		if c.Status != apiclient.StatusReleased {
			t.Errorf("%s listed with status %s", c.ScriptName, c.Status)
		}
	}
	for _, h := range hiddenSeed {
		c, ok := e.tenant.Connector(h)
		if !ok || c.Status == apiclient.StatusReleased {
			t.Fatalf("seed connector %s should exist and not be RELEASED", h)
		}
		// Hidden from the list, but reachable by scriptName.
		if d := e.detail(h); d.Status != c.Status {
			t.Errorf("detail of hidden %s has status %q, want %q", h, d.Status, c.Status)
		}
	}

	var paged []string
	for offset := 0; ; offset += 4 {
		page, a := e.list(fmt.Sprintf("?limit=4&offset=%d&count=true", offset))
		if a.status != 200 {
			t.Fatalf("page at %d: %d %s", offset, a.status, a.body)
		}
		if got := a.header.Get("X-Total-Count"); got != "11" {
			t.Errorf("X-Total-Count = %q, want 11 whatever limit and offset", got)
		}
		paged = append(paged, scriptNames(page)...)
		if len(page) < 4 {
			break
		}
	}
	if !slices.Equal(paged, releasedSeed) {
		t.Errorf("pages joined = %v, want %v", paged, releasedSeed)
	}
	for _, q := range []string{"?limit=0&count=true", "?offset=11", "?offset=1000"} {
		page, a := e.list(q)
		if a.status != 200 || len(page) != 0 || string(bytes.TrimSpace(a.body)) != "[]" {
			t.Errorf("list%s = %d %s, want 200 []", q, a.status, a.body)
		}
	}
	if page, _ := e.list("?limit=250&locale=de"); len(page) != 11 {
		t.Errorf("limit=250&locale=de gave %d connectors, want 11", len(page))
	}
}

func TestListFilters(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	odd := `Quote "Q" \ #1 & 50%`
	created, err := e.tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: odd, ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{`name sw "a"`, []string{"atlassian-suite-cloud", "acme-hr-feed", "active-directory"}},
		{`name sw "ATLASSIAN"`, []string{"atlassian-suite-cloud"}},
		{`name co "server"`, []string{"delinea-secret-server"}},
		{`name sw "zÜrich"`, []string{"z-rich-payroll-bridge"}},
		{`type eq "servicenow"`, []string{"servicenow"}},
		{`type co "directory"`, []string{"active-directory"}},
		{`type sw "custom " and not name sw "quote"`, []string{"atlassian-suite-cloud", "delinea-secret-server", "acme-hr-feed", "z-rich-payroll-bridge", "contoso-badge-system", "initech-ticketing"}},
		{`not type sw "custom "`, []string{"active-directory", "servicenow", "workday", "sap-hana-database", "okta"}},
		{`directConnect eq "false"`, []string{"contoso-badge-system"}},
		{`directConnect eq false`, []string{"contoso-badge-system"}},
		{`category eq "hr"`, []string{"workday"}},
		{`features ca ("PROVISIONING","SEARCH") and not name co "quote"`, []string{"atlassian-suite-cloud", "delinea-secret-server", "active-directory", "servicenow", "sap-hana-database", "okta"}},
		{`labels ca ("saas")`, []string{"atlassian-suite-cloud", "servicenow", "workday", "okta"}},
		{`labels ca ("SaaS","ITSM")`, []string{"servicenow"}},
		{`(name co "suite" or name co "okta") and not directConnect eq "false"`, []string{"atlassian-suite-cloud", "okta"}},
		// and binds tighter than or
		{`name sw "okta" or name sw "workday" and directConnect eq "false"`, []string{"okta"}},
		{`(name sw "okta" or name sw "workday") and directConnect eq "true"`, []string{"workday", "okta"}},
		// not binds tighter than and
		{`not name sw "o" and name sw "w"`, []string{"workday"}},
		// escapes: \" and \\ in the string; #, & and % are URL-encoded as %23, %26, %25
		{`name co "\"q\" \\ #1 & 50%"`, []string{created.ScriptName}},
		{`name eq "x" or name sw "x"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			q := url.Values{"filters": {tc.filter}}.Encode()
			got, a := e.list("?" + q)
			if tc.want == nil {
				if a.status != 400 {
					t.Fatalf("status %d, want 400 (name has no eq)", a.status)
				}
				return
			}
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if names := scriptNames(got); !slices.Equal(names, tc.want) {
				t.Errorf("filters=%s gave %v, want %v", tc.filter, names, tc.want)
			}
		})
	}
	// The escapes as the docs write them, in a raw query string.
	got, a := e.list(`?filters=name%20co%20%22%231%20%26%2050%25%22`)
	if a.status != 200 || !slices.Equal(scriptNames(got), []string{created.ScriptName}) {
		t.Errorf("raw escaped filter: %d %v", a.status, scriptNames(got))
	}
}

func TestListBadRequests(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	tests := []struct{ query, want string }{
		{"filters=" + url.QueryEscape(`description co "x"`), `"description" is not supported`},
		{"filters=" + url.QueryEscape(`name eq "x"`), `operator eq is not supported on name`},
		{"filters=" + url.QueryEscape(`type EQ "x"`), `must be lower-case`},
		{"filters=" + url.QueryEscape(`(name sw "x"`), `missing closing parenthesis`},
		{"filters=" + url.QueryEscape(`name sw "x`), `unterminated string`},
		{"filters=" + url.QueryEscape(`name sw "\x"`), `unknown escape`},
		{"filters=" + url.QueryEscape(`name sw "x" or`), `filter ends`},
		{"limit=251", "limit must be an integer from 0 to 250"},
		{"limit=-1", "limit must be"},
		{"limit=ten", "limit must be"},
		{"offset=-1", "offset must be a non-negative integer"},
		{"count=yes", "count must be true or false"},
		{"locale=xx", `locale "xx" is not one of`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			_, a := e.list("?" + tc.query)
			if a.status != 400 {
				t.Fatalf("status %d, want 400: %s", a.status, a.body)
			}
			mustContain(t, "message", a.errorText(t), tc.want)
		})
	}
}

func TestCreateScriptNames(t *testing.T) {
	e := newEnv(t, sandbox.Options{Empty: true})
	const cls = "sailpoint.connector.OpenConnectorAdapter"
	f := false
	tests := []struct {
		in         apiclient.V3CreateConnectorDto
		scriptName string
		typ        string
		direct     bool
	}{
		{apiclient.V3CreateConnectorDto{Name: "My Connector", ClassName: cls}, "my-connector", "custom My Connector", true},
		{apiclient.V3CreateConnectorDto{Name: "My Connector!", ClassName: cls}, "my-connector-2", "custom My Connector!", true},
		{apiclient.V3CreateConnectorDto{Name: "my_connector", ClassName: cls}, "my-connector-3", "custom my_connector", true},
		{apiclient.V3CreateConnectorDto{Name: "  Zürich -- Payroll (v2)  ", ClassName: cls}, "z-rich-payroll-v2", "custom Zürich -- Payroll (v2)", true},
		{apiclient.V3CreateConnectorDto{Name: "接続", ClassName: cls, Type: "Web Services", DirectConnect: &f}, "connector", "Web Services", false},
		{apiclient.V3CreateConnectorDto{Name: "HR 2024", ClassName: cls, Status: "DEVELOPMENT"}, "hr-2024", "custom HR 2024", true},
	}
	for _, tc := range tests {
		a := e.postJSON("/v3/connectors", tc.in)
		if a.status != 200 {
			t.Fatalf("create %q: status %d (want 200, not 201): %s", tc.in.Name, a.status, a.body)
		}
		var got apiclient.V3ConnectorDto
		a.json(t, &got)
		if got.ScriptName != tc.scriptName || got.Type != tc.typ || got.DirectConnect != tc.direct || got.Name != strings.TrimSpace(tc.in.Name) {
			t.Errorf("create %q = {scriptName %q type %q directConnect %v name %q}, want {%q %q %v}",
				tc.in.Name, got.ScriptName, got.Type, got.DirectConnect, got.Name, tc.scriptName, tc.typ, tc.direct)
		}
		wantStatus := tc.in.Status
		if wantStatus == "" {
			wantStatus = apiclient.StatusReleased
		}
		if got.Status != wantStatus {
			t.Errorf("create %q: status %q, want %q", tc.in.Name, got.Status, wantStatus)
		}
		d := e.detail(got.ScriptName)
		mustContain(t, "applicationXml of "+got.ScriptName, d.ApplicationXML, `<Application connector="`+cls+`"`)
		for _, doc := range apiclient.Documents {
			if a := e.get("/v3/connectors/" + got.ScriptName + "/" + string(doc)); a.status != 404 {
				t.Errorf("new connector's %s: status %d, want 404 until it is PUT", doc, a.status)
			}
		}
	}
	// The DEVELOPMENT one is hidden from the list.
	listed, _ := e.list("")
	if contains(scriptNames(listed), "hr-2024") || len(listed) != 5 {
		t.Errorf("list after creates = %v, want the five RELEASED ones", scriptNames(listed))
	}

	bad := []struct {
		body any
		want string
	}{
		{apiclient.V3CreateConnectorDto{Name: "MY CONNECTOR", ClassName: cls}, "already exists"},
		{apiclient.V3CreateConnectorDto{Name: "", ClassName: cls}, "name is required"},
		{apiclient.V3CreateConnectorDto{Name: "No class"}, "className is required"},
		{apiclient.V3CreateConnectorDto{Name: "Bad status", ClassName: cls, Status: "DEPRECATED"}, "status"},
	}
	for _, tc := range bad {
		a := e.postJSON("/v3/connectors", tc.body)
		if a.status != 400 {
			t.Errorf("create %+v: status %d, want 400", tc.body, a.status)
			continue
		}
		mustContain(t, "create error", a.errorText(t), tc.want)
	}
	if a := e.do(http.MethodPost, "/v3/connectors", strings.NewReader(`{"name":`), "application/json"); a.status != 400 {
		t.Errorf("truncated JSON: status %d, want 400", a.status)
	}
	st := e.tenant.Stats()
	if st.Creates["My Connector"] != 1 || st.Creates["MY CONNECTOR"] != 1 {
		t.Errorf("Stats.Creates = %v", st.Creates)
	}
	if st.WritesByOp["createCustomConnector"] != 11 {
		t.Errorf("create writes = %d, want 11 (every create that reached the store, failed ones too)", st.WritesByOp["createCustomConnector"])
	}
}

func TestPutDocuments(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	const sn = "initech-ticketing"
	for _, doc := range apiclient.Documents {
		t.Run(string(doc), func(t *testing.T) {
			path := "/v3/connectors/" + sn + "/" + string(doc)
			orig := e.get(path)
			if orig.status != 200 || !strings.HasPrefix(orig.header.Get("Content-Type"), "application/xml") {
				t.Fatalf("GET %s: %d %s", path, orig.status, orig.header.Get("Content-Type"))
			}
			if ud := e.putUpdate(path, "file", orig.body); ud.Status != apiclient.UpdateUnchanged || ud.ScriptName != sn {
				t.Errorf("PUT of identical bytes: %+v, want UNCHANGED", ud)
			}
			// Namespace prefixes, CDATA and comments must come back byte for byte.
			changed := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- edited -->\n<x:Doc xmlns:x=\"urn:x\"><x:v><![CDATA[a < b && c]]></x:v>\r\n<x:e  a='1'/></x:Doc>")
			if ud := e.putUpdate(path, "file", changed); ud.Status != apiclient.UpdateUpdated || len(ud.UpdatedFiles) != 1 {
				t.Errorf("PUT of new bytes: %+v, want UPDATED with the file", ud)
			}
			if got := e.get(path); !bytes.Equal(got.body, changed) {
				t.Errorf("GET after PUT = %q, want the stored bytes exactly", got.body)
			}
			for _, bad := range []string{"<a><b></a>", "not xml", "<a/><b/>", "", "<a>&undefined;</a>"} {
				ud := e.putUpdate(path, "file", []byte(bad))
				if ud.Status != apiclient.UpdateError || ud.Message == "" {
					t.Errorf("PUT of %q: %+v, want ERROR with a message at HTTP 200", bad, ud)
				}
			}
			if got := e.get(path); !bytes.Equal(got.body, changed) {
				t.Errorf("a rejected PUT changed the document to %q", got.body)
			}
			if a := e.put(path, "document", changed); a.status != 400 {
				t.Errorf("PUT without a part named file: %d, want 400", a.status)
			} else {
				mustContain(t, "missing part", a.errorText(t), `no part named "file"`)
			}
			if a := e.do(http.MethodPut, path, bytes.NewReader(changed), "application/xml"); a.status != 400 {
				t.Errorf("PUT of a bare XML body: %d, want 400", a.status)
			}
			if a := e.put("/v3/connectors/nope/"+string(doc), "file", changed); a.status != 404 {
				t.Errorf("PUT on an unknown connector: %d, want 404", a.status)
			}
		})
	}
	d := e.detail(sn)
	src, _ := e.tenant.Connector(sn)
	if d.SourceConfigXML != string(src.SourceConfig) || d.SourceConfig == nil || *d.SourceConfig != d.SourceConfigXML {
		t.Errorf("detail sourceConfigXml/sourceConfig do not follow the PUT source-config")
	}
	if d.CorrelationConfigXML != string(src.CorrelationConfig) {
		t.Errorf("detail correlationConfigXml does not follow the PUT correlation-config")
	}
	if d.ApplicationXML == string(src.SourceTemplate) {
		t.Errorf("applicationXml followed source-template; they are separate fields")
	}
}

func TestPutTranslations(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	const sn = "atlassian-suite-cloud"
	de := e.get("/v3/connectors/" + sn + "/translations/de")
	if de.status != 200 || !bytes.Contains(de.body, []byte(`\u00fc`)) || !strings.HasPrefix(de.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET de translations: %d %q", de.status, de.header.Get("Content-Type"))
	}
	if ud := e.putUpdate("/v3/connectors/"+sn+"/translations/de", "file", de.body); ud.Status != apiclient.UpdateUnchanged {
		t.Errorf("identical translations: %+v, want UNCHANGED", ud)
	}
	ja := []byte("# 日本語\nmenuLabel_ConnectionSettings=接続設定\nescaped=\\u63a5\\u7d9a\n")
	// The translations part name is undocumented: any single part is accepted.
	if ud := e.putUpdate("/v3/connectors/"+sn+"/translations/ja", "translations", ja); ud.Status != apiclient.UpdateUpdated {
		t.Errorf("new locale: %+v, want UPDATED", ud)
	}
	if got := e.get("/v3/connectors/" + sn + "/translations/ja"); !bytes.Equal(got.body, ja) {
		t.Errorf("GET ja = %q, want the stored text", got.body)
	}
	d := e.detail(sn)
	if d.TranslationProperties["ja"] != string(ja) || d.TranslationProperties["de"] != string(de.body) || len(d.TranslationProperties) != 4 {
		t.Errorf("translationProperties has %d locales; ja/de not the stored text", len(d.TranslationProperties))
	}
	body, ct := multipartBody(t, map[string][]byte{"a": ja, "b": ja})
	if a := e.do(http.MethodPut, "/v3/connectors/"+sn+"/translations/ja", body, ct); a.status != 400 {
		t.Errorf("two parts, none named file: %d, want 400", a.status)
	}
	body, ct = multipartBody(t, map[string][]byte{})
	if a := e.do(http.MethodPut, "/v3/connectors/"+sn+"/translations/ja", body, ct); a.status != 400 {
		t.Errorf("empty multipart (what the generated SDK sends): %d, want 400", a.status)
	}
	for _, path := range []string{"/v3/connectors/" + sn + "/translations/xx", "/v3/connectors/" + sn + "/translations/EN"} {
		if a := e.get(path); a.status != 400 {
			t.Errorf("GET %s: %d, want 400 for a locale outside the enum", path, a.status)
		}
	}
	if a := e.get("/v3/connectors/" + sn + "/translations/pl"); a.status != 404 {
		t.Errorf("GET a locale without translations: %d, want 404", a.status)
	}
}

func TestPatch(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	const sn = "delinea-secret-server"
	newSC := `<?xml version="1.0"?><Form xmlns="http://www.sailpoint.com/xsd/sailpoint_form_2_0.xsd" fileUpload="true" type="SourceConfig"><!-- patched --></Form>`
	a := e.patch(sn, []map[string]any{
		{"op": "replace", "path": "/sourceConfigXml", "value": newSC},
		{"op": "add", "path": "/connectorMetadata/owner", "value": map[string]any{"team": "iam", "ids": []any{1, 2}}},
		{"op": "add", "path": "/connectorMetadata/owner/ids/-", "value": 3},
		{"op": "remove", "path": "/connectorMetadata/platform"},
		{"op": "replace", "path": "/connectorMetadata/supportedUI", "value": "ANGULAR"},
		{"op": "remove", "path": "/correlationConfigXml"},
	})
	if a.status != 200 {
		t.Fatalf("PATCH: %d %s", a.status, a.body)
	}
	var d apiclient.ConnectorDetail
	a.json(t, &d)
	if d.SourceConfigXML != newSC || !d.FileUpload || len(d.UploadedFiles) != 1 {
		t.Errorf("PATCH answer: sourceConfigXml %q fileUpload %v uploadedFiles %v", d.SourceConfigXML, d.FileUpload, d.UploadedFiles)
	}
	if got := e.get("/v3/connectors/" + sn + "/source-config"); string(got.body) != newSC {
		t.Errorf("GET source-config after PATCH = %q, want the patched text", got.body)
	}
	if got := e.get("/v3/connectors/" + sn + "/correlation-config"); got.status != 404 {
		t.Errorf("GET correlation-config after remove: %d, want 404", got.status)
	}
	wantMeta := `{"owner":{"ids":[1,2,3],"team":"iam"},"shortDesc":"Delinea Secret Server On-Premise custom connector","supportedUI":"ANGULAR"}`
	if b, _ := json.Marshal(d.ConnectorMetadata); string(b) != wantMeta {
		t.Errorf("connectorMetadata = %s, want %s", b, wantMeta)
	}
	// A PUT of source-config shows in the next detail (and so in a PATCH answer).
	other := `<Form xmlns="http://www.sailpoint.com/xsd/sailpoint_form_2_0.xsd" fileUpload="false"/>`
	e.putUpdate("/v3/connectors/"+sn+"/source-config", "file", []byte(other))
	if d := e.detail(sn); d.SourceConfigXML != other || d.FileUpload || d.UploadedFiles != nil {
		t.Errorf("detail after PUT: sourceConfigXml %q fileUpload %v", d.SourceConfigXML, d.FileUpload)
	}

	before := e.detail(sn)
	bad := []struct {
		ops  any
		want string
	}{
		{[]map[string]any{{"op": "replace", "path": "/name", "value": "x"}}, "only connectorMetadata, applicationXml"},
		{[]map[string]any{{"op": "replace", "path": "/status", "value": "DEMO"}}, "cannot be patched"},
		{[]map[string]any{{"op": "move", "from": "/applicationXml", "path": "/sourceConfigXml"}}, `op "move" is not supported`},
		{[]map[string]any{{"op": "test", "path": "/applicationXml", "value": "x"}}, `op "test" is not supported`},
		{[]map[string]any{{"op": "replace", "path": "/connectorMetadata/nope", "value": "x"}}, "no member"},
		{[]map[string]any{{"op": "replace", "path": "/sourceConfigXml", "value": "<broken"}}, "not well-formed"},
		{[]map[string]any{{"op": "replace", "path": "/sourceConfigXml", "value": true}}, "must be a string"},
		{[]map[string]any{{"op": "replace", "path": "/connectorMetadata", "value": "flat"}}, "must be an object"},
		{[]map[string]any{{"op": "replace", "path": "/applicationXml/x", "value": "<a/>"}}, "has no members"},
		{[]map[string]any{{"op": "add", "path": "/connectorMetadata/owner/ids/9", "value": 1}}, "out of range"},
		// The first op is fine, the second fails: nothing is applied.
		{[]map[string]any{{"op": "add", "path": "/connectorMetadata/partial", "value": 1}, {"op": "remove", "path": "/connectorMetadata/absent"}}, "no member"},
	}
	for _, tc := range bad {
		a := e.patch(sn, tc.ops)
		if a.status != 400 {
			t.Errorf("PATCH %v: %d, want 400", tc.ops, a.status)
			continue
		}
		mustContain(t, fmt.Sprint(tc.ops), a.errorText(t), tc.want)
	}
	if after := e.detail(sn); after.ConnectorMetadata["partial"] != nil || after.SourceConfigXML != before.SourceConfigXML {
		t.Errorf("a rejected PATCH changed the connector")
	}
	body, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/connectorMetadata/x", "value": 1}})
	if a := e.do(http.MethodPatch, "/v3/connectors/"+sn, bytes.NewReader(body), "application/json"); a.status != 400 {
		t.Errorf("PATCH as application/json: %d, want 400", a.status)
	}
	if a := e.patch("nope", []map[string]any{}); a.status != 404 {
		t.Errorf("PATCH unknown connector: %d, want 404", a.status)
	}
}

func TestDeleteAndNotFound(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	if a := e.do(http.MethodDelete, "/v3/connectors/acme-hr-feed", nil, ""); a.status != 204 || len(a.body) != 0 {
		t.Fatalf("DELETE: %d %q, want 204 and no body", a.status, a.body)
	}
	if a := e.do(http.MethodDelete, "/v3/connectors/active-directory", nil, ""); a.status != 400 {
		t.Errorf("DELETE of a built-in connector: %d, want 400", a.status)
	}
	for _, p := range []string{
		"/v3/connectors/acme-hr-feed", "/v3/connectors/acme-hr-feed/source-config", "/v3/connectors/acme-hr-feed/source-template",
		"/v3/connectors/acme-hr-feed/correlation-config", "/v3/connectors/acme-hr-feed/translations/en", "/v2025/connectors/does-not-exist",
	} {
		a := e.get(p)
		if a.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, a.status)
			continue
		}
		mustContain(t, p, a.errorText(t), strings.Split(p, "/")[3])
	}
	if a := e.do(http.MethodDelete, "/v3/connectors/acme-hr-feed", nil, ""); a.status != 404 {
		t.Errorf("second DELETE: %d, want 404", a.status)
	}
	if all, _ := e.list(""); contains(scriptNames(all), "acme-hr-feed") {
		t.Errorf("deleted connector still listed")
	}
	// Its name is free again; the scriptName is derived afresh.
	a := e.postJSON("/v3/connectors", apiclient.V3CreateConnectorDto{Name: "Acme HR Feed", ClassName: "x"})
	var c apiclient.V3ConnectorDto
	a.json(t, &c)
	if c.ScriptName != "acme-hr-feed" {
		t.Errorf("re-created connector got scriptName %q", c.ScriptName)
	}
}

func TestVersionsAndRoutes(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	for _, v := range []string{"v3", "v2024", "v2025", "v2026"} {
		a := e.get("/" + v + "/connectors?limit=2")
		if a.status != 200 {
			t.Errorf("GET /%s/connectors: %d", v, a.status)
		}
		if d := e.get("/" + v + "/connectors/okta/correlation-config"); d.status != 200 {
			t.Errorf("GET /%s/.../correlation-config: %d", v, d.status)
		}
	}
	for _, p := range []string{"/beta/connectors", "/v3/sources", "/v3/connectors/okta/unknown", "/"} {
		if a := e.get(p); a.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, a.status)
		}
	}
	if a := e.do(http.MethodPut, "/v3/connectors/okta", nil, ""); a.status != 405 || a.header.Get("Allow") != "DELETE, GET, PATCH" {
		t.Errorf("PUT on a detail: %d Allow %q, want 405 with Allow", a.status, a.header.Get("Allow"))
	}
	if a := e.get("/v3/connectors/okta?locale=fr"); a.status != 200 {
		t.Errorf("detail with locale=fr: %d", a.status)
	}
	if a := e.get("/v3/connectors/okta?locale=klingon"); a.status != 400 {
		t.Errorf("detail with locale=klingon: %d, want 400", a.status)
	}
}
