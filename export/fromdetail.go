package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
)

// detailDocs are the documents a ConnectorDetail carries.
type detailDocs struct {
	SourceConfigXML       string         `json:"sourceConfigXml"`
	CorrelationConfigXML  string         `json:"correlationConfigXml"`
	TranslationProperties map[string]any `json:"translationProperties"`
}

// fillFromDetail completes c once its requests are done, and returns where
// the documents that did not come from their own route in the chosen layout
// came from.
//
// With fromDetail, source-config, correlation-config and the translations
// (of locales, or all the detail has) are taken from the detail. Otherwise
// a document that answered 404 (absent) while the detail carries it is not
// dropped: correlation-config is asked of the other layouts that publish its
// route (the published v3 spec lacks it), and failing that, as for the
// others, the detail's copy is kept. Where both exist and differ, the
// sub-resource's bytes are kept and the difference is logged at debug level.
//
// The detail is decoded only when something needs it: export's own
// canonicaliser reads it once, and a second decode of every detail would
// double the CPU cost of a large backup.
func fillFromDetail(ctx context.Context, t Tenant, c *archive.Connector, absent map[string]bool, via map[string]string,
	locales []string, fromDetail bool, acquire func(context.Context) error, release func(), log *slog.Logger) ([]domain.DocumentSource, error) {
	var srcs []domain.DocumentSource
	for _, what := range slices.Sorted(maps.Keys(via)) {
		srcs = append(srcs, domain.DocumentSource{ScriptName: c.ScriptName, Document: what, From: domain.FromSubResource, APIVersion: via[what]})
	}
	debug := log.Enabled(ctx, slog.LevelDebug)
	if !fromDetail && len(absent) == 0 && !debug {
		return srcs, nil
	}
	var d detailDocs
	if err := json.Unmarshal(c.Detail, &d); err != nil {
		return nil, fmt.Errorf("reading the documents the detail carries: %w", err)
	}
	docs := map[domain.Document]string{domain.SourceConfig: d.SourceConfigXML, domain.CorrelationConfig: d.CorrelationConfigXML}
	trans := map[string]string{}
	for l, v := range d.TranslationProperties {
		if s, ok := v.(string); ok && domain.ValidLocale(l) {
			trans[l] = s
		}
	}

	if fromDetail {
		for _, doc := range []domain.Document{domain.SourceConfig, domain.CorrelationConfig} {
			if text := docs[doc]; text != "" {
				c.SetDocument(doc, []byte(text))
			}
		}
		want := locales
		if want == nil {
			want = slices.Sorted(maps.Keys(trans))
		}
		for _, l := range want {
			if text, ok := trans[l]; ok {
				if c.Translations == nil {
					c.Translations = map[string][]byte{}
				}
				c.Translations[l] = []byte(text)
			}
		}
		return srcs, nil
	}

	differs := func(what string, sub []byte, text string) {
		if debug && text != "" && sub != nil && !bytes.Equal(sub, []byte(text)) {
			log.Debug("the detail's copy differs from the sub-resource; the sub-resource's bytes are kept",
				"scriptName", c.ScriptName, "document", what, "subResourceBytes", len(sub), "detailBytes", len(text))
		}
	}
	fromDetailCopy := func(what string) {
		srcs = append(srcs, domain.DocumentSource{ScriptName: c.ScriptName, Document: what, From: domain.FromDetail})
	}
	lt, layered := t.(layoutTenant)
	for _, doc := range []domain.Document{domain.SourceConfig, domain.CorrelationConfig} {
		what, text := string(doc), docs[doc]
		if !absent[what] || text == "" {
			differs(what, c.Document(doc), text)
			continue
		}
		// Only correlation-config has a route some layouts lack; the others
		// are published everywhere, so another layout would answer alike.
		if doc == domain.CorrelationConfig && layered {
			if err := acquire(ctx); err != nil {
				return nil, err
			}
			b, v, err := lt.GetDocumentElsewhere(ctx, c.ScriptName, doc)
			release()
			if err == nil {
				c.SetDocument(doc, b)
				srcs = append(srcs, domain.DocumentSource{ScriptName: c.ScriptName, Document: what, From: domain.FromSubResource, APIVersion: v})
				differs(what, b, text)
				continue
			}
			if !apiclient.IsNotFound(err) {
				return nil, fmt.Errorf("reading %s through another API layout: %w", what, err)
			}
		}
		c.SetDocument(doc, []byte(text))
		fromDetailCopy(what)
	}
	for _, l := range slices.Sorted(maps.Keys(trans)) {
		what, text := "translations/"+l, trans[l]
		if !absent[what] || text == "" {
			differs(what, c.Translations[l], text)
			continue
		}
		if c.Translations == nil {
			c.Translations = map[string][]byte{}
		}
		c.Translations[l] = []byte(text)
		fromDetailCopy(what)
	}
	return srcs, nil
}
