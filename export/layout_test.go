package export_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// logBuf collects log lines from concurrent writers.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type run struct {
	conns map[string]*archive.Connector
	res   *export.Result
	logs  string
	stats sandbox.Stats
}

func exportFrom(t *testing.T, opts sandbox.Options, version string, eo export.Options, level slog.Level) run {
	t.Helper()
	srv := spectest.Start(t, opts)
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, APIVersion: version, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuf
	eo.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))
	r := run{conns: map[string]*archive.Connector{}}
	r.res, err = export.Run(context.Background(), c, eo, func(c *archive.Connector) error {
		r.conns[c.ScriptName] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.logs, r.stats = logs.String(), srv.Tenant.Stats()
	return r
}

// wantCorrelation lists the seeded connectors that have a correlation config,
// with it, as the sandbox stores it.
func wantCorrelation(t *testing.T) map[string][]byte {
	tn := sandbox.New(sandbox.Options{})
	out := map[string][]byte{}
	for _, sn := range tn.ScriptNames() {
		if c, _ := tn.Connector(sn); c.CorrelationConfig != nil && c.Status == domain.StatusReleased {
			out[sn] = c.CorrelationConfig
		}
	}
	if len(out) < 3 {
		t.Fatalf("setup: only %d seeded connectors have a correlation config", len(out))
	}
	return out
}

// TestCorrelationConfigNeverDroppedSilently: the chosen layout (v3) answers
// 404 on correlation-config for every connector while the details carry it.
// The archive still holds every correlation config, the manifest's sources
// say where each came from, and the run warns once, with the count.
func TestCorrelationConfigNeverDroppedSilently(t *testing.T) {
	want := wantCorrelation(t)
	base := exportFrom(t, sandbox.Options{}, "v3", export.Options{}, slog.LevelInfo).stats.TotalRequests()
	for _, tc := range []struct {
		name     string
		opts     sandbox.Options
		from     string
		via      string
		maxExtra int // requests beyond those of the same export where v3 serves it
	}{
		// v1 serves it: read through v1 (at most one more request per
		// document, until the layout that serves it is learnt).
		{"another layout serves it", sandbox.Options{NoCorrelationConfig: []string{"v3"}}, domain.FromSubResource, "v1", len(want)},
		// No layout serves it: the detail's copy.
		{"no layout serves it", sandbox.Options{Layouts: []string{"v3"}, NoCorrelationConfig: []string{"v3"}}, domain.FromDetail, "", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exportFrom(t, tc.opts, "v3", export.Options{}, slog.LevelInfo)
			for sn, doc := range want {
				c := r.conns[sn]
				if c == nil || !bytes.Equal(c.CorrelationConfig, doc) {
					t.Errorf("%s: correlation config %q, want the tenant's", sn, c.Document(domain.CorrelationConfig))
				}
			}
			if len(r.res.Sources) != len(want) {
				t.Errorf("%d document sources, want one per correlation config (%d): %+v", len(r.res.Sources), len(want), r.res.Sources)
			}
			for _, s := range r.res.Sources {
				if s.Document != "correlation-config" || s.From != tc.from || s.APIVersion != tc.via || want[s.ScriptName] == nil {
					t.Errorf("source %+v, want correlation-config from %s %s", s, tc.from, tc.via)
				}
			}
			if n := strings.Count(r.logs, "level=WARN"); n != 1 || !strings.Contains(r.logs, "documents were not served by their own route") {
				t.Errorf("%d warnings, want one with the count:\n%s", n, r.logs)
			}
			if r.res.Fetch != domain.FetchFull {
				t.Errorf("fetch mode %q", r.res.Fetch)
			}
			if extra := r.stats.TotalRequests() - base; extra > tc.maxExtra {
				t.Errorf("%d more requests (%v) than where v3 serves it, want at most %d: the layout that serves the route is learnt", extra, r.stats.ByVersion, tc.maxExtra)
			}
		})
	}
}

// TestFromDetailSameContent: on the sandbox, whose details carry the same
// bytes as the sub-resources, --from-detail gives the same archive content
// with fewer requests.
func TestFromDetailSameContent(t *testing.T) {
	opts := sandbox.Options{Synthetic: 20, Locales: 3, DocSize: 1024}
	full := exportFrom(t, opts, "auto", export.Options{}, slog.LevelDebug)
	fast := exportFrom(t, opts, "auto", export.Options{FromDetail: true}, slog.LevelInfo)
	if len(full.conns) != len(fast.conns) || len(full.conns) < 30 {
		t.Fatalf("%d and %d connectors", len(full.conns), len(fast.conns))
	}
	for sn, a := range full.conns {
		b := fast.conns[sn]
		if !bytes.Equal(a.Detail, b.Detail) || !bytes.Equal(a.SourceConfig, b.SourceConfig) || !bytes.Equal(a.SourceTemplate, b.SourceTemplate) ||
			!bytes.Equal(a.CorrelationConfig, b.CorrelationConfig) || len(a.Translations) != len(b.Translations) {
			t.Errorf("%s differs between the full fetch and --from-detail", sn)
		}
		for l, v := range a.Translations {
			if !bytes.Equal(v, b.Translations[l]) {
				t.Errorf("%s: translation %s differs", sn, l)
			}
		}
	}
	if fast.res.Fetch != domain.FetchFromDetail || len(fast.res.Sources) != 0 {
		t.Errorf("from-detail result: fetch %q, %d sources", fast.res.Fetch, len(fast.res.Sources))
	}
	if strings.Contains(full.logs, "differs from the sub-resource") {
		t.Errorf("the sandbox's details differ from its sub-resources:\n%s", full.logs)
	}
	nFull, nFast := full.stats.TotalRequests(), fast.stats.TotalRequests()
	if nFast >= nFull/2 {
		t.Errorf("--from-detail sent %d requests, the full fetch %d: want well under half", nFast, nFull)
	}
	t.Logf("full fetch %d requests, --from-detail %d", nFull, nFast)
}

// TestDifferingDetailIsLoggedAndSubResourceKept: where the detail and the
// sub-resource disagree, the archive keeps the sub-resource's bytes and the
// difference is logged at debug level.
func TestDifferingDetailIsLoggedAndSubResourceKept(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{Empty: true})
	if _, err := srv.Tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: "Odd", ClassName: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Tenant.PutDocumentDirect("odd", apiclient.SourceConfig, []byte("<Form a='1'/>")); err != nil {
		t.Fatal(err)
	}
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/odd/source-config") {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte("<Form a='2'/>"))
		return true
	})
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, APIVersion: "v1", ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuf
	var got *archive.Connector
	_, err = export.Run(context.Background(), c, export.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		func(c *archive.Connector) error { got = c; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || string(got.SourceConfig) != "<Form a='2'/>" {
		t.Errorf("source-config %q, want the sub-resource's bytes", got.SourceConfig)
	}
	if !strings.Contains(logs.String(), "level=DEBUG msg=\"the detail's copy differs") || !strings.Contains(logs.String(), "document=source-config") {
		t.Errorf("no debug line about the difference:\n%s", logs.String())
	}
}
