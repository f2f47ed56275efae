package diff

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/connvault/connvault/archive"
)

// detailJSON renders a detail the way the archive keeps it: keys sorted,
// two-space indent, trailing newline.
func detailJSON(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// baseDetail is a plausible ConnectorDetail without its documents.
func baseDetail(name, script string) map[string]any {
	return map[string]any{
		"name":          name,
		"type":          "custom " + name,
		"className":     "sailpoint.connector.OpenConnectorAdapter",
		"scriptName":    script,
		"s3Location":    "s3://tenant-a/connectors/" + script,
		"uploadedFiles": []string{script + ".jar"},
		"fileUpload":    true,
		"directConnect": true,
		"status":        "RELEASED",
		"connectorMetadata": map[string]any{
			"supportedUI": "EXTJS",
			"platform":    "ccg",
			"shortDesc":   name + " connector",
		},
	}
}

const sourceConfigV1 = `<?xml version="1.0" encoding="UTF-8"?>
<Form name="Web Services" connectorName="Web Services">
  <Section name="Connection">
    <Field name="baseUrl" type="url" required="true"/>
    <Field name="authType" type="string"/>
    <Field name="timeout" type="int" default="30"/>
  </Section>
  <Section name="Paging">
    <Field name="pageSize" type="int" default="100"/>
  </Section>
</Form>
`

const sourceConfigV2 = `<?xml version="1.0" encoding="UTF-8"?>
<Form name="Web Services" connectorName="Web Services">
  <Section name="Connection">
    <Field name="baseUrl" type="url" required="true"/>
    <Field name="authType" type="string"/>
    <Field name="timeout" type="int" default="60"/>
    <Field name="retries" type="int" default="3"/>
  </Section>
  <Section name="Paging">
    <Field name="pageSize" type="int" default="100"/>
  </Section>
</Form>
`

const templateXML = `<?xml version="1.0" encoding="UTF-8"?>
<Application connector="sailpoint.connector.OpenConnectorAdapter" type="Web Services">
  <Attributes>
    <Map>
      <entry key="connectorClass" value="sailpoint.connector.WebServicesConnector"/>
    </Map>
  </Attributes>
</Application>
`

const correlationXML = "<CorrelationConfig name=\"Delimited\">\n  <AttributeAssignments>\n    <Filter operation=\"EQ\" property=\"email\"/>\n  </AttributeAssignments>\n</CorrelationConfig>\n"

// correlationReformatted differs from correlationXML only in whitespace:
// CRLF endings, other indentation, a trailing blank and no final newline.
const correlationReformatted = "<CorrelationConfig name=\"Delimited\">\r\n\t<AttributeAssignments>   \r\n\t\t<Filter  operation=\"EQ\" property=\"email\"/>\r\n\t</AttributeAssignments>\r\n</CorrelationConfig>"

// correlationReformattedChanged reformats correlationXML and changes a value.
const correlationReformattedChanged = "<CorrelationConfig name=\"Delimited\">\r\n\t<AttributeAssignments>\r\n\t\t<Filter operation=\"EQ\" property=\"mail\"/>\r\n\t</AttributeAssignments>\r\n</CorrelationConfig>\r\n"

// goldenSnapshots builds the A and B sides of the golden tests and the
// mapping they use. Each connector exercises one situation:
//   - "Delimited File": translations (en changed, de added, fr removed),
//     connectorMetadata and status changed.
//   - "Web Services": source-config changed, applicationXml (a large string
//     field) changed, s3Location differs (volatile, not reported).
//   - "Static Groups": only s3Location, uploadedFiles and scriptName differ:
//     unchanged.
//   - "HR Feed (dev)" in A is "HR Feed" in B, paired through the mapping;
//     its source-template changed.
//   - "JDBC Legacy" only in A: removed. "SCIM 2.0" only in B: added.
//   - "Directory Sync": correlation-config reformatted only (unchanged with
//     IgnoreWhitespace); "Ticketing": reformatted and changed.
func goldenSnapshots(t testing.TB) (a, b *archive.Snapshot, mapping map[string]string) {
	t.Helper()
	mk := func(script string, d map[string]any, mut func(*archive.Connector)) *archive.Connector {
		c := &archive.Connector{ScriptName: script, Detail: detailJSON(t, d)}
		if mut != nil {
			mut(c)
		}
		return c
	}
	with := func(d map[string]any, kv ...any) map[string]any {
		d = maps.Clone(d)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(d, kv[i].(string))
				continue
			}
			d[kv[i].(string)] = kv[i+1]
		}
		return d
	}

	delimA := baseDetail("Delimited File", "delimited-file")
	delimB := with(delimA, "status", "DEVELOPMENT", "connectorMetadata", map[string]any{
		"supportedUI": "EXTJS", "platform": "ccg", "shortDesc": "Delimited File connector", "beta": true})
	wsA := with(baseDetail("Web Services", "web-services"), "applicationXml", templateXML)
	wsB := with(wsA, "s3Location", "s3://tenant-b/connectors/web-services",
		"applicationXml", templateXML[:len(templateXML)-len("</Application>\n")]+"  <Owner name=\"spadmin\"/>\n</Application>\n")
	staticA := baseDetail("Static Groups", "static-groups")
	staticB := with(baseDetail("Static Groups", "static-groups-1"), "s3Location", "s3://tenant-b/x", "uploadedFiles", []string{})
	hrA := baseDetail("HR Feed (dev)", "hr-feed-dev")
	hrB := with(baseDetail("HR Feed", "hr-feed"), "type", hrA["type"], "connectorMetadata", hrA["connectorMetadata"])
	dirA := baseDetail("Directory Sync", "directory-sync")
	tickA := baseDetail("Ticketing", "ticketing")

	a = &archive.Snapshot{Connectors: []*archive.Connector{
		mk("web-services", wsA, func(c *archive.Connector) {
			c.SourceConfig, c.SourceTemplate = []byte(sourceConfigV1), []byte(templateXML)
		}),
		mk("delimited-file", delimA, func(c *archive.Connector) {
			c.Translations = map[string][]byte{
				"en": []byte("title=Delimited File\nhelp=Upload a CSV file\n"),
				"fr": []byte("title=Fichier délimité\n"),
			}
		}),
		mk("static-groups", staticA, nil),
		mk("hr-feed-dev", hrA, func(c *archive.Connector) { c.SourceTemplate = []byte(templateXML) }),
		mk("jdbc-legacy", baseDetail("JDBC Legacy", "jdbc-legacy"), func(c *archive.Connector) {
			c.SourceConfig = []byte("<Form name=\"JDBC\"/>\n")
		}),
		mk("directory-sync", dirA, func(c *archive.Connector) { c.CorrelationConfig = []byte(correlationXML) }),
		mk("ticketing", tickA, func(c *archive.Connector) { c.CorrelationConfig = []byte(correlationXML) }),
	}}
	b = &archive.Snapshot{Connectors: []*archive.Connector{
		mk("scim-2-0", baseDetail("SCIM 2.0", "scim-2-0"), func(c *archive.Connector) {
			c.Translations = map[string][]byte{"en": []byte("title=SCIM 2.0\n")}
		}),
		mk("delimited-file", delimB, func(c *archive.Connector) {
			c.Translations = map[string][]byte{
				"en": []byte("title=Delimited File\nhelp=Upload a CSV or TSV file\n"),
				"de": []byte("title=Datei mit Trennzeichen\n"),
			}
		}),
		mk("web-services", wsB, func(c *archive.Connector) {
			c.SourceConfig, c.SourceTemplate = []byte(sourceConfigV2), []byte(templateXML)
		}),
		mk("static-groups-1", staticB, nil),
		mk("hr-feed", hrB, func(c *archive.Connector) {
			c.SourceTemplate = []byte(templateXML + "<!-- promoted -->\n")
		}),
		mk("directory-sync", dirA, func(c *archive.Connector) { c.CorrelationConfig = []byte(correlationReformatted) }),
		mk("ticketing", tickA, func(c *archive.Connector) { c.CorrelationConfig = []byte(correlationReformattedChanged) }),
	}}
	return a, b, map[string]string{"HR Feed (dev)": "HR Feed", "Gone Connector": "Anything"}
}
