package diff

import (
	"bytes"
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
)

// matrixSides are three operands: the first two agree but for one
// translation, the third lacks a connector and has another source-config.
func matrixSides(t *testing.T) []*MatrixSide {
	t.Helper()
	mk := func(label string, cs ...*archive.Connector) *MatrixSide {
		s := NewMatrixSide(label)
		for _, c := range cs {
			if err := s.Add(c); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	conn := func(name, sn, cfg, de string) *archive.Connector {
		return &archive.Connector{ScriptName: sn, Detail: []byte(`{"name":"` + name + `","scriptName":"` + sn + `","type":"custom x"}` + "\n"),
			SourceConfig: []byte(cfg), Translations: map[string][]byte{"de": []byte(de)}}
	}
	return []*MatrixSide{
		mk("tenant:dev", conn("HR Feed", "hr", "<a/>", "t=1"), conn("CRM @ops #1", "crm", "<c/>", "t=1")),
		// Another scriptName for the same name is the same connector.
		mk("tenant:test", conn("HR Feed", "hr-2", "<a/>", "t=2"), conn("CRM @ops #1", "crm", "<c/>", "t=1")),
		mk("tenant:prod", conn("HR Feed", "hr", "<b/>", "t=1")),
	}
}

// TestMatrixSaysWhichOperandsAgree: per connector and document, the
// operands with the same version share a letter, an absent one shows -, and
// only what differs is counted.
func TestMatrixSaysWhichOperandsAgree(t *testing.T) {
	m := NewMatrix(matrixSides(t))
	got := map[string]string{}
	for _, r := range m.Rows {
		cells := ""
		for i := range m.Operands {
			cells += r.cell(i)
		}
		got[r.Connector+" "+r.Document] = cells
	}
	want := map[string]string{
		"CRM @ops #1 detail": "AA-", "CRM @ops #1 source-config": "AA-", "CRM @ops #1 translations/de": "AA-",
		"HR Feed detail": "===", "HR Feed source-config": "AAB", "HR Feed translations/de": "ABA",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	// Equal where present but absent in one: that row differs too.
	if m.Differ != 5 || m.Equal() {
		t.Errorf("differ %d, want 5 (every row but HR Feed's detail)", m.Differ)
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"matrix.txt.golden", func(b *bytes.Buffer) error { return m.WriteText(b, false) }},
		{"matrix.json.golden", func(b *bytes.Buffer) error { return m.WriteJSON(b) }},
		{"matrix.md.golden", func(b *bytes.Buffer) error { return m.WriteMarkdown(b) }},
		{"matrix.html.golden", func(b *bytes.Buffer) error { return m.WriteHTML(b) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, f.name, b.Bytes())
	}
}

// TestMatrixHTMLInChromium: the matrix page loads in headless Chromium with
// nothing fetched and no error, one heading per connector.
func TestMatrixHTMLInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	var page bytes.Buffer
	if err := NewMatrix(matrixSides(t)).WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	const csp = "default-src 'none'; style-src 'unsafe-inline'"
	src := strings.Replace(page.String(), csp, csp+"; script-src 'unsafe-inline'", 1)
	src = strings.Replace(src, "</body>", `<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + (e.message || 'resource')), true);
document.addEventListener('securitypolicyviolation', e => window.__errors.push('blocked: ' + e.blockedURI));
window.addEventListener('load', () => {
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({headings: document.querySelectorAll('section > h2').length,
    differing: document.querySelectorAll('td.v.d').length,
    resources: performance.getEntriesByType('resource').map(r => r.name), errors: window.__errors});
  document.body.appendChild(pre);
});
</script>
</body>`, 1)
	dom, _ := chromiumDOM(t, chromium, src)
	mm := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if mm == nil {
		t.Fatalf("the probe did not run\n%.2000s", dom)
	}
	var got struct {
		Headings, Differing int
		Resources, Errors   []string
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(mm[1])), &got); err != nil {
		t.Fatal(err)
	}
	if got.Headings != 2 || got.Differing != 15 || len(got.Resources) != 0 || len(got.Errors) != 0 {
		t.Errorf("probe %+v: want 2 connector headings, 15 differing cells, nothing fetched, no error", got)
	}
}
