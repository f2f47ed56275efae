package diff

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
)

// benchXML makes a document of about size bytes, unique to the connector.
func benchXML(root, conn string, size int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s connector=%q>\n", root, conn)
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "  <Field name=\"field%03d\" type=\"string\" default=\"%s-value-%03d\"/>\n", i, conn, i)
	}
	fmt.Fprintf(&sb, "</%s>\n", root)
	return []byte(sb.String())
}

func cloneConnector(c *archive.Connector) *archive.Connector {
	cp := func(b []byte) []byte { return append([]byte(nil), b...) }
	out := &archive.Connector{ScriptName: c.ScriptName, Detail: cp(c.Detail), SourceConfig: cp(c.SourceConfig),
		SourceTemplate: cp(c.SourceTemplate), CorrelationConfig: cp(c.CorrelationConfig), Translations: map[string][]byte{}}
	for k, v := range c.Translations {
		out.Translations[k] = cp(v)
	}
	return out
}

// benchSnapshots builds two snapshots of n connectors with 20 KB documents.
// B is a deep copy of A (distinct memory, as two archives read from disk
// would be) in which every 30th connector has one change: a source-config
// line, a translation line or a connectorMetadata value, in turn.
func benchSnapshots(b *testing.B, n int) (*archive.Snapshot, *archive.Snapshot, int) {
	sa, sb := &archive.Snapshot{}, &archive.Snapshot{}
	changed := 0
	for i := range n {
		script := fmt.Sprintf("connector-%04d", i)
		d := baseDetail(fmt.Sprintf("Connector %04d", i), script)
		c := &archive.Connector{
			ScriptName:        script,
			Detail:            detailJSON(b, d),
			SourceConfig:      benchXML("Form", script, 20<<10),
			SourceTemplate:    benchXML("Application", script, 20<<10),
			CorrelationConfig: benchXML("CorrelationConfig", script, 20<<10),
			Translations: map[string][]byte{
				"en": []byte(strings.Repeat("key.name="+script+" label\n", 40)),
				"de": []byte(strings.Repeat("key.name="+script+" Beschriftung\n", 40)),
			},
		}
		c2 := cloneConnector(c)
		if i%30 == 7 {
			changed++
			switch (i / 30) % 3 {
			case 0:
				c2.SourceConfig = []byte(strings.Replace(string(c2.SourceConfig), "field100", "field100b", 1))
			case 1:
				c2.Translations["en"] = []byte(strings.Replace(string(c2.Translations["en"]), " label\n", " caption\n", 1))
			default:
				d["connectorMetadata"].(map[string]any)["shortDesc"] = "changed"
				c2.Detail = detailJSON(b, d)
			}
		}
		sa.Connectors = append(sa.Connectors, c)
		sb.Connectors = append(sb.Connectors, c2)
	}
	return sa, sb, changed
}

// BenchmarkCompareAndWriteText is the cost of `connvault diff` between two
// 1,000-connector archives already in memory (reading them is the archive
// package's benchmark): Compare plus the text output.
func BenchmarkCompareAndWriteText(b *testing.B) {
	a, bb, changed := benchSnapshots(b, 1000)
	var size int64
	for _, c := range a.Connectors {
		size += int64(len(c.Detail) + len(c.SourceConfig) + len(c.SourceTemplate) + len(c.CorrelationConfig))
		for _, t := range c.Translations {
			size += int64(len(t))
		}
	}
	b.SetBytes(2 * size) // both sides are read
	b.ReportAllocs()
	for b.Loop() {
		r, err := Compare(a, bb, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if r.Summary.Connectors.Changed != changed {
			b.Fatalf("changed = %d, want %d", r.Summary.Connectors.Changed, changed)
		}
		if err := WriteText(io.Discard, r, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
