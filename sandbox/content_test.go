package sandbox_test

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
)

func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	roots := 0
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		return errors.New("not exactly one root element")
	}
	return nil
}

// TestDetailMatchesSubResources checks, for every connector of the seed, that
// the detail carries exactly what the sub-resources serve.
func TestDetailMatchesSubResources(t *testing.T) {
	e := newEnv(t, sandbox.Options{Synthetic: 3, DocSize: 4096})
	for _, sn := range e.tenant.ScriptNames() {
		d := e.detail(sn)
		sc := e.get("/v3/connectors/" + sn + "/source-config")
		if sc.status != 200 || string(sc.body) != d.SourceConfigXML || d.SourceConfig == nil || *d.SourceConfig != d.SourceConfigXML {
			t.Errorf("%s: source-config %d does not match sourceConfigXml/sourceConfig", sn, sc.status)
		}
		cc := e.get("/v3/connectors/" + sn + "/correlation-config")
		switch {
		case cc.status == 404 && d.CorrelationConfigXML != "":
			t.Errorf("%s: correlation-config 404 but correlationConfigXml is set", sn)
		case cc.status == 200 && string(cc.body) != d.CorrelationConfigXML:
			t.Errorf("%s: correlation-config does not match correlationConfigXml", sn)
		}
		for _, l := range apiclient.Locales {
			a := e.get("/v3/connectors/" + sn + "/translations/" + l)
			text, has := d.TranslationProperties[l]
			if has != (a.status == 200) || has && string(a.body) != text {
				t.Errorf("%s/%s: GET %d, in translationProperties %v (or texts differ)", sn, l, a.status, has)
			}
		}
		c, _ := e.tenant.Connector(sn)
		if d.S3Location != "sandbox-pod/sandbox/connectorFiles/"+sn || d.FileUpload != strings.Contains(string(c.SourceConfig), `fileUpload="true"`) {
			t.Errorf("%s: s3Location %q fileUpload %v not derived as documented", sn, d.S3Location, d.FileUpload)
		}
		if d.ApplicationXML != string(c.ApplicationXML) || d.ApplicationXML == "" {
			t.Errorf("%s: applicationXml is not the stored field", sn)
		}
	}
}

func TestSeedShape(t *testing.T) {
	tn := sandbox.New(sandbox.Options{})
	names := tn.ScriptNames()
	if len(names) < 12 {
		t.Fatalf("%d seed connectors, want at least 12", len(names))
	}
	var custom, builtIn, hidden, noCorrelation, withFileUpload int
	var all bytes.Buffer
	locales := map[string]bool{}
	var escaped, rawUTF8 bool
	for _, sn := range names {
		c, _ := tn.Connector(sn)
		if strings.HasPrefix(c.Type, "custom ") {
			custom++
		} else {
			builtIn++
		}
		if c.Status != apiclient.StatusReleased {
			hidden++
		}
		if c.CorrelationConfig == nil {
			noCorrelation++
		}
		for name, doc := range map[string][]byte{"source-config": c.SourceConfig, "source-template": c.SourceTemplate, "correlation-config": c.CorrelationConfig, "applicationXml": c.ApplicationXML} {
			if doc == nil {
				continue
			}
			if err := wellFormed(doc); err != nil {
				t.Errorf("%s %s is not well-formed: %v", sn, name, err)
			}
			all.Write(doc)
		}
		if bytes.Contains(c.SourceConfig, []byte(`fileUpload="true"`)) {
			withFileUpload++
		}
		for l, text := range c.Translations {
			locales[l] = true
			escaped = escaped || bytes.Contains(text, []byte(`\u00`))
			rawUTF8 = rawUTF8 || bytes.ContainsAny(text, "接ñé")
		}
	}
	if custom < 4 || builtIn < 4 || hidden < 2 || noCorrelation < 2 || withFileUpload < 1 {
		t.Errorf("seed mix: %d custom, %d built-in, %d hidden, %d without correlation-config, %d fileUpload", custom, builtIn, hidden, noCorrelation, withFileUpload)
	}
	for _, want := range []string{"xmlns=", "xmlns:xsi=", "<![CDATA[", "<!--", "<!DOCTYPE", "Zürich", "<Form", "<Application", "<CorrelationConfig"} {
		if !bytes.Contains(all.Bytes(), []byte(want)) {
			t.Errorf("no seed document contains %q", want)
		}
	}
	if len(locales) < 4 || !escaped || !rawUTF8 {
		t.Errorf("translations: locales %v, \\u escapes %v, raw UTF-8 %v", locales, escaped, rawUTF8)
	}
}

func TestSyntheticConnectors(t *testing.T) {
	const size = 8 << 10
	e := newEnv(t, sandbox.Options{Empty: true, Synthetic: 12, DocSize: size, Locales: 4, Seed: 9})
	all, _ := e.list("?count=true")
	if len(all) != 12 || all[0].ScriptName != "synthetic-connector-00001" {
		t.Fatalf("synthetic list: %d connectors, first %q", len(all), all[0].ScriptName)
	}
	twin := sandbox.New(sandbox.Options{Empty: true, Synthetic: 12, DocSize: size, Locales: 4, Seed: 9})
	var corpus bytes.Buffer
	seen := map[string]bool{}
	for _, c := range all {
		mine, _ := e.tenant.Connector(c.ScriptName)
		theirs, _ := twin.Connector(c.ScriptName)
		for _, doc := range apiclient.Documents {
			a := e.get("/v3/connectors/" + c.ScriptName + "/" + string(doc))
			if a.status != 200 || len(a.body) != size {
				t.Errorf("%s %s: %d, %d bytes, want %d", c.ScriptName, doc, a.status, len(a.body), size)
				continue
			}
			if err := wellFormed(a.body); err != nil {
				t.Errorf("%s %s is not well-formed: %v", c.ScriptName, doc, err)
			}
			if seen[string(a.body)] {
				t.Errorf("%s %s repeats another document", c.ScriptName, doc)
			}
			seen[string(a.body)] = true
			corpus.Write(a.body)
		}
		if !bytes.Equal(mine.SourceConfig, theirs.SourceConfig) || len(mine.Translations) != 4 || len(theirs.Translations) != 4 {
			t.Errorf("%s: not derived deterministically from the seed (or not 4 locales)", c.ScriptName)
		}
	}
	// Realistic config compresses well, but not like a run of one byte.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(corpus.Bytes())
	zw.Close()
	ratio := float64(corpus.Len()) / float64(gz.Len())
	if ratio < 3 || ratio > 30 {
		t.Errorf("synthetic XML compresses %.1fx with gzip; want 3x..30x like real config", ratio)
	}

	// Copy-on-write: a PUT stores that one document only.
	const sn = "synthetic-connector-00003"
	before, _ := e.tenant.Connector(sn)
	if ud := e.putUpdate("/v3/connectors/"+sn+"/source-template", "file", before.SourceTemplate); ud.Status != apiclient.UpdateUnchanged {
		t.Errorf("PUT of the derived bytes: %s, want UNCHANGED", ud.Status)
	}
	if ud := e.putUpdate("/v3/connectors/"+sn+"/source-config", "file", []byte("<Form/>")); ud.Status != apiclient.UpdateUpdated {
		t.Errorf("PUT of new bytes: %s, want UPDATED", ud.Status)
	}
	after, _ := e.tenant.Connector(sn)
	if string(after.SourceConfig) != "<Form/>" || !bytes.Equal(after.SourceTemplate, before.SourceTemplate) || !bytes.Equal(after.CorrelationConfig, before.CorrelationConfig) {
		t.Errorf("after one PUT the other documents changed")
	}
	if d := e.detail(sn); d.SourceConfigXML != "<Form/>" || len(d.TranslationProperties) != 4 {
		t.Errorf("detail after PUT: sourceConfigXml %q, %d locales", d.SourceConfigXML, len(d.TranslationProperties))
	}
	if err := e.tenant.PutTranslationDirect(sn, "en", nil); err != nil {
		t.Fatal(err)
	}
	if a := e.get("/v3/connectors/" + sn + "/translations/en"); a.status != 404 {
		t.Errorf("GET of a removed synthetic translation: %d, want 404", a.status)
	}
}

// TestSyntheticMemory checks that a large synthetic tenant costs an index, not
// its documents: 5,000 connectors of 100 KB documents (1.5 GB if stored).
func TestSyntheticMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tn := sandbox.New(sandbox.Options{Empty: true, Synthetic: 5000, DocSize: 100 << 10})
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grew > 16<<20 {
		t.Errorf("a 5,000-connector synthetic tenant holds %d MB of heap; want under 16 MB", grew>>20)
	}
	c, ok := tn.Connector("synthetic-connector-04999")
	if !ok || len(c.SourceConfig) != 100<<10 {
		t.Errorf("connector 4999: found %v, source-config %d bytes", ok, len(c.SourceConfig))
	}
	runtime.KeepAlive(tn)
	t.Logf("heap for 5,000 synthetic connectors: %d KB", grew>>10)
}

func TestDirectAccess(t *testing.T) {
	tn := sandbox.New(sandbox.Options{})
	if _, ok := tn.Connector("nope"); ok {
		t.Error("Connector found an unknown scriptName")
	}
	if err := tn.PutDocumentDirect("okta", apiclient.CorrelationConfig, nil); err != nil {
		t.Fatal(err)
	}
	if c, _ := tn.Connector("okta"); c.CorrelationConfig != nil {
		t.Error("PutDocumentDirect(nil) did not remove the document")
	}
	if err := tn.PutDocumentDirect("okta", sandbox.ApplicationXML, []byte("<broken")); err != nil {
		t.Fatalf("direct writes do not validate: %v", err)
	}
	if err := tn.PutDocumentDirect("okta", "bogus", nil); err == nil || !strings.Contains(err.Error(), "unknown document") {
		t.Errorf("unknown document: %v", err)
	}
	if err := tn.PutDocumentDirect("nope", apiclient.SourceConfig, nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown connector: %v", err)
	}
	if err := tn.SetStatusDirect("okta", apiclient.StatusDeprecated); err != nil {
		t.Fatal(err)
	}
	if d, _ := tn.Detail("okta"); d.Status != apiclient.StatusDeprecated {
		t.Errorf("status after SetStatusDirect: %s", d.Status)
	}
	if err := tn.SetMetadataDirect("okta", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := tn.DeleteDirect("okta"); err != nil {
		t.Errorf("DeleteDirect of a built-in connector: %v", err)
	}
	if err := tn.DeleteDirect("okta"); err == nil {
		t.Error("DeleteDirect twice succeeded")
	}
	if st := tn.Stats(); st.TotalRequests() != 0 || st.Writes != 0 {
		t.Errorf("direct access was counted: %+v", st)
	}
}
