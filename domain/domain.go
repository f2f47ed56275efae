// Package domain holds the types every other package of connvault shares: a
// connector as connvault keeps it, a snapshot of a tenant, the connector's
// XML document kinds, statuses and locales, and the custom-connector test.
//
// It is a leaf: it imports no package of this module, so diff, importer,
// export, archive and sandbox can all depend on it without depending on the
// API client or on each other.
package domain

import "strings"

// Document names a connector's XML sub-resource; the value is its path
// segment in the API and its file name (plus ".xml") in an archive.
type Document string

const (
	SourceConfig      Document = "source-config"
	SourceTemplate    Document = "source-template"
	CorrelationConfig Document = "correlation-config"
)

// Documents is every document kind, in the one order connvault uses for
// them: fetching, comparing, reporting and applying. The template (the
// Application object) comes first because restore applies it first.
var Documents = []Document{SourceTemplate, SourceConfig, CorrelationConfig}

// Valid reports whether d is one of Documents.
func (d Document) Valid() bool {
	for _, k := range Documents {
		if k == d {
			return true
		}
	}
	return false
}

// Document returns the connector's document of kind d (nil when it has none
// or d is not a document kind).
func (c *Connector) Document(d Document) []byte {
	if p := c.documentPtr(d); p != nil {
		return *p
	}
	return nil
}

// SetDocument stores b as the connector's document of kind d. It reports
// false, storing nothing, when d is not a document kind.
func (c *Connector) SetDocument(d Document, b []byte) bool {
	p := c.documentPtr(d)
	if p == nil {
		return false
	}
	*p = b
	return true
}

// documentPtr is the one place that maps a document kind to its field.
func (c *Connector) documentPtr(d Document) *[]byte {
	switch d {
	case SourceConfig:
		return &c.SourceConfig
	case SourceTemplate:
		return &c.SourceTemplate
	case CorrelationConfig:
		return &c.CorrelationConfig
	}
	return nil
}

// Connector status values (the spec's enum).
const (
	StatusDeprecated  = "DEPRECATED"
	StatusDevelopment = "DEVELOPMENT"
	StatusDemo        = "DEMO"
	StatusReleased    = "RELEASED"
)

// Statuses lists every connector status, in the spec's order.
var Statuses = []string{StatusDeprecated, StatusDevelopment, StatusDemo, StatusReleased}

// CreatableStatus reports whether a create (POST) may set status s: the API
// refuses DEPRECATED there.
func CreatableStatus(s string) bool {
	return s == StatusDevelopment || s == StatusDemo || s == StatusReleased
}

// Locales is the spec's locale enum, in the spec's order.
var Locales = []string{"de", "no", "fi", "sv", "ru", "pt", "ko", "zh-TW", "en", "it", "fr", "zh-CN", "hu", "es", "cs", "ja", "pl", "da", "nl"}

// ValidLocale reports whether l is one of Locales.
func ValidLocale(l string) bool {
	for _, k := range Locales {
		if k == l {
			return true
		}
	}
	return false
}

// CustomTypePrefixes are the type prefixes of a custom connector: the server
// gives a connector created without a type the type "custom " + name, and
// SailPoint's own guide creates one with "custom_" + name. No field marks a
// custom connector, so this is a convention, not a guarantee.
var CustomTypePrefixes = []string{DefaultCustomTypePrefix, "custom_"}

// DefaultCustomTypePrefix is the prefix of the type the server gives a
// connector created without one.
const DefaultCustomTypePrefix = "custom "

// CustomTypeFilter is the list filter that selects the custom connectors as
// IsCustomType does, every prefix of CustomTypePrefixes:
// type sw "custom " or type sw "custom_".
func CustomTypeFilter() string {
	parts := make([]string, len(CustomTypePrefixes))
	for i, p := range CustomTypePrefixes {
		parts[i] = `type sw "` + p + `"`
	}
	return strings.Join(parts, " or ")
}

// IsCustomType reports whether a connector of type typ is a custom connector.
// Anything else is taken for a built-in connector, which restore never creates.
func IsCustomType(typ string) bool {
	for _, p := range CustomTypePrefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}
