// Package realistic makes connectors shaped like the ones diff and restore
// see: the sandbox's synthetic connectors (ISC-like XML documents, properties
// translations) with the detail export saves, which embeds every document
// again as a JSON string (sourceConfigXml, sourceConfig, correlationConfigXml,
// applicationXml, translationProperties). With the sandbox's default 20 KB
// documents and 3 locales a detail is about 84 KB, as measured against it.
// Benchmarks use it so that their figures hold for real archives, not for
// 470-byte details.
package realistic

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/sandbox"
)

// Generator derives connectors from a sandbox tenant of synthetic ones.
type Generator struct {
	t     *sandbox.Tenant
	names []string
}

// New makes a generator of n connectors with documents of docSize bytes and
// the given number of locales, the sandbox's --doc-size and --locales
// (20 KB and 3 by default there).
func New(n, docSize, locales int) *Generator {
	t := sandbox.New(sandbox.Options{Empty: true, Synthetic: n, DocSize: docSize, Locales: locales, Seed: 1})
	return &Generator{t: t, names: t.ScriptNames()}
}

// Len is the number of connectors.
func (g *Generator) Len() int { return len(g.names) }

// Tenant is the sandbox tenant the connectors come from.
func (g *Generator) Tenant() *sandbox.Tenant { return g.t }

// Connector returns connector i (0-based) as export would save it.
func (g *Generator) Connector(i int) *archive.Connector {
	sn := g.names[i]
	c, _ := g.t.Connector(sn)
	d, _ := g.t.Detail(sn)
	raw, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("realistic: encode the sandbox's detail of %s: %v", sn, err))
	}
	detail, err := export.Canonical(raw)
	if err != nil {
		panic(fmt.Sprintf("realistic: canonicalise the sandbox's detail of %s: %v", sn, err))
	}
	return &archive.Connector{ScriptName: sn, Detail: detail, SourceConfig: c.SourceConfig, SourceTemplate: c.SourceTemplate,
		CorrelationConfig: c.CorrelationConfig, Translations: c.Translations}
}

// Snapshot returns all connectors in memory.
func (g *Generator) Snapshot() *archive.Snapshot {
	s := &archive.Snapshot{}
	for i := range g.names {
		s.Connectors = append(s.Connectors, g.Connector(i))
	}
	return s
}

// Change alters connector c in one of three ways, by kind modulo 3: a line of
// its source-config (in the document and in the detail's copies), a line of
// its first translation (both places too), or its connectorMetadata.
func Change(c *archive.Connector, kind int) *archive.Connector {
	out := Clone(c)
	var fields map[string]any
	dec := json.NewDecoder(strings.NewReader(string(out.Detail)))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		panic(fmt.Sprintf("realistic: decode detail of %s: %v", c.ScriptName, err))
	}
	switch kind % 3 {
	case 0:
		sc := strings.Replace(string(out.SourceConfig), "<Section name=\"section2\"", "<Section name=\"section2b\"", 1)
		out.SourceConfig = []byte(sc)
		fields["sourceConfigXml"], fields["sourceConfig"] = sc, sc
	case 1:
		loc := "en"
		tr := string(out.Translations[loc]) + "changed.key=Changed value\n"
		out.Translations[loc] = []byte(tr)
		if tp, ok := fields["translationProperties"].(map[string]any); ok {
			tp[loc] = tr
		}
	default:
		fields["connectorMetadata"] = map[string]any{"shortDesc": "changed", "platform": "ccg", "supportedUI": "ANGULAR"}
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	if out.Detail, err = export.Canonical(raw); err != nil {
		panic(err)
	}
	return out
}

// Clone deep-copies c.
func Clone(c *archive.Connector) *archive.Connector {
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		return append([]byte{}, b...)
	}
	out := &archive.Connector{ScriptName: c.ScriptName, Detail: cp(c.Detail), SourceConfig: cp(c.SourceConfig),
		SourceTemplate: cp(c.SourceTemplate), CorrelationConfig: cp(c.CorrelationConfig)}
	if c.Translations != nil {
		out.Translations = make(map[string][]byte, len(c.Translations))
		for k, v := range c.Translations {
			out.Translations[k] = cp(v)
		}
	}
	return out
}

// ArchiveBytes is a real archive of no connectors, for tests that need files
// that are archives (prune gives a keep slot only to those) without what is
// in them mattering.
func ArchiveBytes(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.tar.zst")
	w, err := archive.Create(context.Background(), path, archive.Meta{ToolVersion: "test", CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
