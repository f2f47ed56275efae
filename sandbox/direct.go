package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/connvault/connvault/apiclient"
)

// Direct access for tests: no HTTP, no counters, no validation (a test may
// store malformed XML on purpose to see how a client copes).

// ApplicationXML names the applicationXml field for PutDocumentDirect; it has
// no sub-resource of its own (only the detail and PATCH reach it).
const ApplicationXML apiclient.Document = "applicationXml"

// Connector is a copy of one stored connector as the tenant would serve it
// (synthetic documents resolved). A nil document is one the tenant does not
// have (its GET answers 404).
type Connector struct {
	ScriptName, Name, Type, ClassName, Status, Category string
	Custom, DirectConnect                               bool
	Features, Labels                                    []string
	Metadata                                            map[string]any
	SourceConfig, SourceTemplate, CorrelationConfig     []byte
	ApplicationXML                                      []byte
	Translations                                        map[string][]byte
}

// Connector returns a copy of the connector with this scriptName, whatever its status.
func (t *Tenant) Connector(scriptName string) (Connector, bool) {
	r, ok := t.store.snapshot(scriptName)
	if !ok {
		return Connector{}, false
	}
	s := t.store
	return Connector{
		ScriptName: r.scriptName, Name: r.name, Type: r.typ, ClassName: r.className, Status: r.status, Category: r.category,
		Custom: r.custom, DirectConnect: r.directConnect,
		Features: slices.Clone(r.features), Labels: slices.Clone(r.labels), Metadata: cloneJSON(r.metadata),
		SourceConfig: slices.Clone(s.doc(&r, docSourceConfig)), SourceTemplate: slices.Clone(s.doc(&r, docSourceTemplate)),
		CorrelationConfig: slices.Clone(s.doc(&r, docCorrelation)), ApplicationXML: slices.Clone(s.doc(&r, docApplication)),
		Translations: maps.Clone(s.translations(&r)),
	}, true
}

// Detail returns the ConnectorDetail that GET /connectors/{scriptName} would answer.
func (t *Tenant) Detail(scriptName string) (apiclient.ConnectorDetail, bool) {
	r, ok := t.store.snapshot(scriptName)
	if !ok {
		return apiclient.ConnectorDetail{}, false
	}
	return t.store.detail(&r), true
}

// ScriptNames lists every connector, whatever its status, in list order.
func (t *Tenant) ScriptNames() []string {
	t.store.mu.RLock()
	defer t.store.mu.RUnlock()
	out := make([]string, len(t.store.order))
	for i, r := range t.store.order {
		out[i] = r.scriptName
	}
	return out
}

func docKindOf(d apiclient.Document) (docKind, error) {
	for k := range numDocs {
		if docNames[k] == string(d) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("sandbox: unknown document %q; use source-config, source-template, correlation-config or applicationXml", d)
}

// PutDocumentDirect stores a document as given; nil removes it.
func (t *Tenant) PutDocumentDirect(scriptName string, doc apiclient.Document, data []byte) error {
	k, err := docKindOf(doc)
	if err != nil {
		return err
	}
	_, err = t.store.putDoc(scriptName, k, data)
	return directErr(scriptName, err)
}

// PutTranslationDirect stores one locale's translations; nil removes them.
func (t *Tenant) PutTranslationDirect(scriptName, locale string, data []byte) error {
	if !validLocale(locale) {
		return fmt.Errorf("sandbox: locale %q is not one of the API's locales", locale)
	}
	if data == nil {
		_, err := t.store.update(scriptName, func(r *record) error {
			tr := maps.Clone(r.trans)
			if tr == nil {
				tr = map[string][]byte{}
			}
			tr[locale] = nil // a tombstone also hides a synthetic translation
			r.trans = tr
			return nil
		})
		return directErr(scriptName, err)
	}
	_, err := t.store.putTranslation(scriptName, locale, data)
	return directErr(scriptName, err)
}

// SetStatusDirect changes a connector's status (RELEASED, DEVELOPMENT, DEMO or DEPRECATED).
func (t *Tenant) SetStatusDirect(scriptName, status string) error {
	switch status {
	case apiclient.StatusReleased, apiclient.StatusDevelopment, apiclient.StatusDemo, apiclient.StatusDeprecated:
	default:
		return fmt.Errorf("sandbox: status %q is not RELEASED, DEVELOPMENT, DEMO or DEPRECATED", status)
	}
	_, err := t.store.update(scriptName, func(r *record) error { r.status = status; return nil })
	return directErr(scriptName, err)
}

// SetMetadataDirect replaces a connector's connectorMetadata (copied).
func (t *Tenant) SetMetadataDirect(scriptName string, m map[string]any) error {
	m = cloneJSON(m)
	_, err := t.store.update(scriptName, func(r *record) error { r.metadata = m; return nil })
	return directErr(scriptName, err)
}

// CreateDirect creates a connector exactly as POST /connectors would.
func (t *Tenant) CreateDirect(in apiclient.V3CreateConnectorDto) (apiclient.V3ConnectorDto, error) {
	r, err := t.store.create(in)
	if err != nil {
		return apiclient.V3ConnectorDto{}, fmt.Errorf("sandbox: create %q: %w", in.Name, err)
	}
	return dto(&r), nil
}

// DeleteDirect removes any connector, built-in ones included.
func (t *Tenant) DeleteDirect(scriptName string) error {
	return directErr(scriptName, t.store.delete(scriptName, true))
}

func directErr(scriptName string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errNotFound) {
		return fmt.Errorf("sandbox: no connector with scriptName %q: %w", scriptName, err)
	}
	return fmt.Errorf("sandbox: %s: %w", scriptName, err)
}
