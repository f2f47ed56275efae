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
// (of locales, or all the detail lists) are taken from the detail, and what
// the detail lacks is read from its own route (detailLocales are the known
// locales the detail lists, which the full fetch would read). Otherwise
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
	locales, detailLocales []string, fromDetail bool, acquire func(context.Context) error, release func(), log *slog.Logger) ([]domain.DocumentSource, error) {
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
		// What the detail lacks is read from its own route, as the full
		// fetch reads it, so that --from-detail never archives less: the
		// manifest names each such document and the run's warning counts it.
		lt, layered := t.(layoutTenant)
		own := func(what string, get func(context.Context) ([]byte, string, error), store func([]byte)) error {
			if err := acquire(ctx); err != nil {
				return err
			}
			b, v, err := get(ctx)
			release()
			if apiclient.IsNotFound(err) {
				return nil // none here either: the full fetch records it by omission too
			}
			if err != nil {
				return fmt.Errorf("reading %s, which the detail lacks: %w", what, err)
			}
			if b == nil {
				b = []byte{}
			}
			store(b)
			srcs = append(srcs, domain.DocumentSource{ScriptName: c.ScriptName, Document: what, From: domain.FromSubResource, APIVersion: v})
			return nil
		}
		for _, doc := range []domain.Document{domain.SourceConfig, domain.CorrelationConfig} {
			if text := docs[doc]; text != "" {
				c.SetDocument(doc, []byte(text))
				continue
			}
			get := func(ctx context.Context) ([]byte, string, error) {
				b, err := t.GetDocument(ctx, c.ScriptName, doc)
				return b, "", err
			}
			if layered {
				get = func(ctx context.Context) ([]byte, string, error) { return lt.GetDocumentVia(ctx, c.ScriptName, doc) }
			}
			if err := own(string(doc), get, func(b []byte) { c.SetDocument(doc, b) }); err != nil {
				return nil, err
			}
		}
		// The locales the full fetch would ask for: the ones named, or the
		// ones the detail lists (a listed locale whose value is no string
		// is read from its route).
		want := locales
		if want == nil {
			want = detailLocales
		}
		for _, l := range want {
			if c.Translations == nil {
				c.Translations = map[string][]byte{}
			}
			if text, ok := trans[l]; ok {
				c.Translations[l] = []byte(text)
				continue
			}
			get := func(ctx context.Context) ([]byte, string, error) {
				b, err := t.GetTranslation(ctx, c.ScriptName, l)
				v := ""
				if layered {
					v = lt.APIVersion()
				}
				return b, v, err
			}
			if err := own("translations/"+l, get, func(b []byte) { c.Translations[l] = b }); err != nil {
				return nil, err
			}
		}
		if len(c.Translations) == 0 {
			c.Translations = nil
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
