package export_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestOtherDocumentsNeverDroppedSilently is issue 15's "never drop content
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
