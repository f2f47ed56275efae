package archive

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Synthetic connectors with XML, JSON and properties text shaped like real
// ones (repeated element and attribute names, varied values), so compression
// figures mean something: random bytes would not compress, repeated bytes
// would compress absurdly well.

var (
	synthAttrs = []string{"displayName", "mail", "employeeId", "department", "manager", "title", "givenName",
		"sn", "uid", "memberOf", "accountStatus", "lastLogin", "costCenter", "location", "phone", "startDate"}
	synthWords = []string{"identity", "account", "group", "entitlement", "provisioning", "aggregation", "source",
		"connector", "schema", "correlation", "attribute", "role", "access", "request", "certification", "policy",
		"native", "rule", "delta", "partition", "filter", "endpoint", "token", "timeout", "page", "size"}
	synthTypes  = []string{"string", "int", "boolean", "date", "secret"}
	synthLocale = []string{"en", "fr", "de"}
)

func synthWord(r *rand.Rand) string { return synthWords[r.IntN(len(synthWords))] }

func synthValue(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("%s-%d", synthWord(r), r.IntN(100000))
	case 1:
		return fmt.Sprintf("https://%s.example.com/api/v%d/%s", synthWord(r), 1+r.IntN(3), synthWord(r))
	case 2:
		return fmt.Sprintf("%t", r.IntN(2) == 0)
	default:
		return synthWord(r) + " " + synthWord(r) + " " + synthWord(r)
	}
}

func synthSourceConfig(r *rand.Rand, name string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE Application PUBLIC \"sailpoint.dtd\" \"sailpoint.dtd\">\n")
	fmt.Fprintf(&b, "<Application connector=\"sailpoint.connector.OpenConnectorAdapter\" name=%q type=\"custom %s\">\n  <Attributes>\n    <Map>\n", name, name)
	for b.Len() < size/2 {
		fmt.Fprintf(&b, "      <entry key=\"%s.%s\" value=%q/>\n", synthWord(r), synthAttrs[r.IntN(len(synthAttrs))], synthValue(r))
	}
	b.WriteString("    </Map>\n  </Attributes>\n  <Schemas>\n    <Schema displayAttribute=\"uid\" identityAttribute=\"uid\" nativeObjectType=\"account\" objectType=\"account\">\n")
	for b.Len() < size {
		a := synthAttrs[r.IntN(len(synthAttrs))]
		fmt.Fprintf(&b, "      <AttributeDefinition name=\"%s%d\" type=%q multi=\"%t\">\n        <Description><![CDATA[%s %s of the %s]]></Description>\n      </AttributeDefinition>\n",
			a, r.IntN(50), synthTypes[r.IntN(len(synthTypes))], r.IntN(5) == 0, synthWord(r), a, synthWord(r))
	}
	b.WriteString("    </Schema>\n  </Schemas>\n</Application>\n")
	return b.String()
}

func synthCorrelation(r *rand.Rand, size int) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CorrelationConfig name=\"Correlation\">\n  <AttributeAssignments>\n")
	for b.Len() < size {
		fmt.Fprintf(&b, "    <Filter operation=\"EQ\" property=\"%s\" value=\"%s\" ignoreCase=\"%t\"/>\n",
			synthAttrs[r.IntN(len(synthAttrs))], synthAttrs[r.IntN(len(synthAttrs))], r.IntN(2) == 0)
	}
	b.WriteString("  </AttributeAssignments>\n</CorrelationConfig>\n")
	return b.String()
}

func synthProperties(r *rand.Rand, locale string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", locale)
	for b.Len() < size {
		fmt.Fprintf(&b, "connector.%s.%s=%s %s\n", synthWord(r), synthAttrs[r.IntN(len(synthAttrs))], synthWord(r), synthValue(r))
	}
	return b.String()
}

// synthConnector makes connector i; docSize is the source-config size, the
// other documents scale from it.
func synthConnector(i, docSize int) *Connector {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	name := fmt.Sprintf("Connector %s %d", synthWord(r), i)
	sn := fmt.Sprintf("connector-%s-%d", synthWord(r), i)
	sc := synthSourceConfig(r, name, docSize)
	tpl := synthSourceConfig(r, name, docSize/3)
	corr := synthCorrelation(r, docSize/8)
	tr := map[string][]byte{}
	props := map[string]string{}
	for _, loc := range synthLocale[:1+i%3] {
		p := synthProperties(r, loc, docSize/8)
		tr[loc], props[loc] = []byte(p), p
	}
	detail, err := json.MarshalIndent(map[string]any{
		"name": name, "scriptName": sn, "type": "custom " + name, "className": "sailpoint.connector.OpenConnectorAdapter",
		"status": "RELEASED", "directConnect": true, "sourceConfigXml": sc, "correlationConfigXml": corr,
		"connectorMetadata":     map[string]any{"supportedUI": "EXTJS", "platform": "ccg", "shortDesc": synthValue(r)},
		"translationProperties": props,
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return &Connector{
		ScriptName:        sn,
		Detail:            append(detail, '\n'),
		SourceConfig:      []byte(sc),
		SourceTemplate:    []byte(tpl),
		CorrelationConfig: []byte(corr),
		Translations:      tr,
	}
}

func synthConnectors(n, docSize int) []*Connector {
	cs := make([]*Connector, n)
	for i := range cs {
		cs[i] = synthConnector(i, docSize)
	}
	return cs
}

func contentSize(cs []*Connector) int64 {
	var n int64
	for _, c := range cs {
		for _, f := range connectorFiles(c) {
			n += int64(len(f.data))
		}
	}
	return n
}
