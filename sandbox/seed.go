package sandbox

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// The seed is a realistic tenant: custom and built-in connectors, RELEASED and
// hidden (DEVELOPMENT, DEMO) ones, XML with namespaces, CDATA, comments,
// DOCTYPEs and non-ASCII text, translations with \uXXXX escapes and raw UTF-8,
// and some connectors without a correlation-config. seed/index.json lists the
// connectors; seed/<scriptName>/ holds their documents byte for byte.
//
//go:embed seed
var seedFS embed.FS

type seedEntry struct {
	ScriptName        string         `json:"scriptName"`
	Name              string         `json:"name"`
	Type              string         `json:"type"`
	ClassName         string         `json:"className"`
	Custom            bool           `json:"custom"`
	Category          string         `json:"category"`
	Labels            []string       `json:"labels"`
	Features          []string       `json:"features"`
	Status            string         `json:"status"`
	DirectConnect     bool           `json:"directConnect"`
	ConnectorMetadata map[string]any `json:"connectorMetadata"`
}

var seedFiles = map[string]docKind{
	"source-config.xml":      docSourceConfig,
	"source-template.xml":    docSourceTemplate,
	"correlation-config.xml": docCorrelation,
	"application.xml":        docApplication,
}

// loadSeed adds the embedded connectors. The seed is part of the binary, so a
// broken one is a build defect: it panics rather than serve a partial tenant.
func (s *store) loadSeed() {
	raw, err := seedFS.ReadFile("seed/index.json")
	if err != nil {
		panic(fmt.Sprintf("sandbox: seed index: %v", err))
	}
	var entries []seedEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		panic(fmt.Sprintf("sandbox: seed index: %v", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		r := &record{
			name: e.Name, typ: e.Type, className: e.ClassName, scriptName: e.ScriptName, status: e.Status,
			category: e.Category, custom: e.Custom, directConnect: e.DirectConnect,
			features: e.Features, labels: e.Labels, metadata: e.ConnectorMetadata,
		}
		dir := path.Join("seed", e.ScriptName)
		for file, k := range seedFiles {
			data, err := seedFS.ReadFile(path.Join(dir, file))
			if err == nil {
				r.docs[k] = data
			}
		}
		tdir := path.Join(dir, "translations")
		files, _ := fs.ReadDir(seedFS, tdir)
		for _, f := range files {
			loc, ok := strings.CutSuffix(f.Name(), ".properties")
			if !ok || !validLocale(loc) {
				panic(fmt.Sprintf("sandbox: seed %s: unexpected translation file %s", e.ScriptName, f.Name()))
			}
			data, err := seedFS.ReadFile(path.Join(tdir, f.Name()))
			if err != nil {
				panic(fmt.Sprintf("sandbox: seed %s: %v", e.ScriptName, err))
			}
			if r.trans == nil {
				r.trans = map[string][]byte{}
			}
			r.trans[loc] = data
		}
		s.insertLocked(r)
	}
}
