package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestOtherDocumentsNeverDroppedSilently checks the promise "never drop content
// silently" for the documents every layout publishes: source-config and a
// translation answer 404 while the detail carries them. The detail's copies
// are archived, the result's sources name each, and the run warns once.
func TestOtherDocumentsNeverDroppedSilently(t *testing.T) {
	const sn, locale = "workday", "de"
	srv := spectest.Start(t, sandbox.Options{})
	want, ok := srv.Tenant.Connector(sn)
	if !ok || want.SourceConfig == nil || want.Translations[locale] == nil {
		t.Fatalf("setup: %s lacks a source-config or a %s translation", sn, locale)
	}
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		p := r.URL.Path
		if r.Method != http.MethodGet || !strings.HasSuffix(p, "/"+sn+"/source-config") && !strings.HasSuffix(p, "/"+sn+"/translations/"+locale) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"detailCode":"404 Not found","trackingId":"t","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"none"}]}`))
		return true
	})
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, APIVersion: "v1", ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuf
	var got *archive.Connector
	res, err := export.Run(context.Background(), c, export.Options{Locales: []string{locale, "en"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		func(c *archive.Connector) error {
			if c.ScriptName == sn {
				got = c
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || !bytes.Equal(got.SourceConfig, want.SourceConfig) || !bytes.Equal(got.Translations[locale], want.Translations[locale]) {
		t.Fatalf("%s: the detail's source-config and %s translation were not archived", sn, locale)
	}
	srcs := map[string]string{}
	for _, s := range res.Sources {
		if s.ScriptName != sn {
			t.Errorf("unexpected source %+v", s)
		}
		srcs[s.Document] = s.From
	}
	if len(res.Sources) != 2 || srcs["source-config"] != domain.FromDetail || srcs["translations/"+locale] != domain.FromDetail {
		t.Errorf("sources %+v, want source-config and translations/%s from the detail", res.Sources, locale)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "2 documents") {
		t.Errorf("%d warnings, want one with the count:\n%s", n, logs.String())
	}
}

// TestFromDetailLackingFieldsReadFromTheirRoutes: with --from-detail, a
// detail without sourceConfigXml, or without a translation the full fetch
// would read, does not drop that document: it is read from its own route,
// the result's sources name it, and the run warns once with the count.
func TestFromDetailLackingFieldsReadFromTheirRoutes(t *testing.T) {
	const sn, locale = "workday", "de"
	srv := spectest.Start(t, sandbox.Options{})
	want, ok := srv.Tenant.Connector(sn)
	if !ok || want.SourceConfig == nil || want.Translations[locale] == nil || want.Translations["en"] == nil {
		t.Fatalf("setup: %s lacks a source-config or a %s/en translation", sn, locale)
	}
	d, _ := srv.Tenant.Detail(sn)
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "sourceConfigXml")
	tp, _ := m["translationProperties"].(map[string]any)
	if tp == nil || tp[locale] == nil {
		t.Fatalf("setup: the detail of %s has no %s translation", sn, locale)
	}
	delete(tp, locale)
	lacking, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/"+sn) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(lacking)
		return true
	})
	for _, version := range []string{"auto", "v3"} {
		t.Run(version, func(t *testing.T) {
			c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, APIVersion: version, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
			if err != nil {
				t.Fatal(err)
			}
			var logs logBuf
			var got *archive.Connector
			res, err := export.Run(context.Background(), c, export.Options{FromDetail: true, Locales: []string{locale, "en"}, ScriptNames: []string{sn}, ListDisabled: true,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))},
				func(c *archive.Connector) error { got = c; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatalf("%s was not archived", sn)
			}
			if !bytes.Equal(got.SourceConfig, want.SourceConfig) || !bytes.Equal(got.Translations[locale], want.Translations[locale]) ||
				!bytes.Equal(got.Translations["en"], want.Translations["en"]) {
				t.Fatalf("%s: source-config or a translation the detail lacks was dropped (source-config %d bytes, translations %v)", sn, len(got.SourceConfig), slices.Sorted(maps.Keys(got.Translations)))
			}
			srcs := map[string]domain.DocumentSource{}
			for _, s := range res.Sources {
				srcs[s.Document] = s
			}
			for _, what := range []string{"source-config", "translations/" + locale} {
				if s := srcs[what]; s.ScriptName != sn || s.From != domain.FromSubResource || s.APIVersion != c.APIVersion() {
					t.Errorf("source of %s: %+v, want its sub-resource in %s", what, s, c.APIVersion())
				}
			}
			if len(res.Sources) != 2 {
				t.Errorf("sources %+v, want exactly the two the detail lacks", res.Sources)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "2 documents") || !strings.Contains(logs.String(), "2 the connector's detail lacked") {
				t.Errorf("%d warnings, want one with the count:\n%s", n, logs.String())
			}
		})
	}
}
