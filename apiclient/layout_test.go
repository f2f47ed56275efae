package apiclient

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestAutoPicksV1WhenItAnswers checks that auto lists through /connectors/v1,
// uses that answer as the caller's, and stays there.
func TestAutoPicksV1WhenItAnswers(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.URL.Path == "/connectors/v1":
			writeJSON(w, 200, `[{"name":"A","scriptName":"a"}]`)
		case strings.HasPrefix(r.URL.Path, "/connectors/v1/"):
			writeJSON(w, 200, `{"name":"A"}`)
		default:
			writeJSON(w, 404, `{"detailCode":"404 Not found"}`)
		}
	})
	var logs bytes.Buffer
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.APIVersion = VersionAuto
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if c.APIVersion() != VersionAuto {
		t.Errorf("APIVersion before any request = %q, want auto", c.APIVersion())
	}
	p, err := c.ListConnectors(context.Background(), ListQuery{Limit: 5})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("list: %v %+v", err, p)
	}
	if _, _, err := c.GetConnector(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	if c.APIVersion() != VersionV1 {
		t.Errorf("APIVersion = %q, want v1", c.APIVersion())
	}
	var paths []string
	for _, r := range f.requests() {
		paths = append(paths, r.Path)
	}
	if strings.Join(paths, " ") != "/connectors/v1 /connectors/v1/a" {
		t.Errorf("requests %v: want the list itself as the probe, then the detail through v1", paths)
	}
	if !strings.Contains(logs.String(), "/connectors/v1") {
		t.Errorf("the choice was not logged: %s", logs.String())
	}
}

// TestAutoFallsBackToV3 checks the 404 of /connectors/v1 itself: the run goes
// to v3, a concurrent first wave of requests probes once, and a non-list
// first request is preceded by a one-item probe.
func TestAutoFallsBackToV3(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasPrefix(r.URL.Path, "/v3/") {
			writeJSON(w, 200, `{"name":"x"}`)
			return
		}
		writeJSON(w, 404, `{"detailCode":"404 Not found"}`)
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = VersionAuto })
	var wg sync.WaitGroup
	for _, sn := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.GetConnector(context.Background(), sn, ""); err != nil {
				t.Errorf("get %s: %v", sn, err)
			}
		}()
	}
	wg.Wait()
	if c.APIVersion() != VersionV3 {
		t.Errorf("APIVersion = %q, want v3", c.APIVersion())
	}
	probes := 0
	for _, r := range f.requests() {
		if strings.HasPrefix(r.Path, "/connectors/v1") {
			probes++
			if r.Query != "limit=1" {
				t.Errorf("probe query %q, want limit=1", r.Query)
			}
		}
	}
	if probes != 1 || len(f.requests()) != 5 {
		t.Errorf("%d probes in %d requests, want 1 probe and 4 details", probes, len(f.requests()))
	}
}

// TestAutoProbeFailureIsReported: a probe refused for another reason than
// 404 settles nothing and fails the call with that reason.
func TestAutoProbeFailureIsReported(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 403, `{"detailCode":"403 Forbidden","messages":[{"text":"no"}]}`)
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = VersionAuto })
	_, err := c.ResolveAPIVersion(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 403 || e.Path != "/connectors/v1" {
		t.Fatalf("err = %v, want the probe's 403 on /connectors/v1", err)
	}
	if c.APIVersion() != VersionAuto {
		t.Errorf("APIVersion = %q after a failed probe, want still auto", c.APIVersion())
	}
}

// TestCorrelationConfigThroughAPublishingLayout: with v3 chosen, a PUT of
// correlation-config goes through /connectors/v1; when that answers 404, the
// next layout that publishes the route takes it, and the rest of the run's
// go straight there. GetDocumentElsewhere finds the same layout.
func TestCorrelationConfigThroughAPublishingLayout(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v2026/") && r.Method == http.MethodPut:
			writeJSON(w, 200, `{"status":"UPDATED"}`)
		case strings.HasPrefix(r.URL.Path, "/v2026/"):
			w.Header().Set("Content-Type", "application/xml")
			w.Write([]byte("<CorrelationConfig/>"))
		default:
			writeJSON(w, 404, `{"detailCode":"404 Not found"}`)
		}
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = VersionV3 })
	ctx := context.Background()
	for _, sn := range []string{"a", "b"} {
		if ud, err := c.PutDocument(ctx, sn, CorrelationConfig, []byte("<CorrelationConfig/>")); err != nil || ud.Status != UpdateUpdated {
			t.Fatalf("put %s: %v %+v", sn, err, ud)
		}
	}
	b, via, err := c.GetDocumentElsewhere(ctx, "a", CorrelationConfig)
	if err != nil || via != "v2026" || string(b) != "<CorrelationConfig/>" {
		t.Errorf("GetDocumentElsewhere = %q via %q, %v", b, via, err)
	}
	var got []string
	for _, r := range f.requests() {
		got = append(got, r.Method+" "+r.Path)
	}
	want := []string{"PUT /connectors/v1/a/correlation-config", "PUT /v2026/connectors/a/correlation-config",
		"PUT /v2026/connectors/b/correlation-config", "GET /v2026/connectors/a/correlation-config"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Once learnt, even a plain GET goes where the route is served.
	if _, via, err := c.GetDocumentVia(ctx, "b", CorrelationConfig); err != nil || via != "v2026" {
		t.Errorf("GetDocumentVia after learning: via %q, %v", via, err)
	}
	// A connector no layout has: the first 404 is reported.
	g := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 404, `{"detailCode":"404 Not found"}`)
	})
	c2 := newTestClient(t, g, func(cfg *Config) { cfg.APIVersion = VersionV1 })
	if _, err := c2.PutDocument(ctx, "gone", CorrelationConfig, []byte("<x/>")); !IsNotFound(err) {
		t.Errorf("put to a missing connector: %v, want not found", err)
	}
	if n := len(g.requests()); n != 5 {
		t.Errorf("%d requests for a missing connector, want one per layout that publishes the route (v1, v2026, v2025, v2024) and the PATCH", n)
	}
	// No layout serves the route but the connector exists: the document is
	// written as the detail's correlationConfigXml.
	h := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == http.MethodPatch && r.URL.Path == "/connectors/v1/here" {
			writeJSON(w, 200, `{"name":"here","correlationConfigXml":"<CorrelationConfig name=\"ü\"/>"}`)
			return
		}
		writeJSON(w, 404, `{"detailCode":"404 Not found"}`)
	})
	c3 := newTestClient(t, h, func(cfg *Config) { cfg.APIVersion = VersionV1 })
	ud, err := c3.PutDocument(ctx, "here", CorrelationConfig, []byte(`<CorrelationConfig name="ü"/>`))
	if err != nil || ud.Status != UpdateUpdated || !strings.Contains(ud.Message, "PATCH") {
		t.Errorf("put through PATCH: %+v, %v", ud, err)
	}
	reqs := h.requests()
	if last := reqs[len(reqs)-1]; last.Method != http.MethodPatch || !strings.Contains(string(last.Body), `"path":"/correlationConfigXml"`) {
		t.Errorf("last request %s %s %s, want the PATCH of correlationConfigXml", last.Method, last.Path, last.Body)
	}
}

// TestRateBucketsPerVersion: the gateway counts per API version, so the pace
// of one layout does not hold back another's.
func TestRateBucketsPerVersion(t *testing.T) {
	c, err := New(Config{BaseURL: "https://acme.api.identitynow.com", ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if c.pacerFor("v1") == c.pacerFor("v3") || c.pacerFor("v3") != c.pacerFor("v3") {
		t.Error("pacers are not one per API version")
	}
	for _, bad := range []string{"https://acme.api.identitynow.com/connectors/v1", "https://acme.api.identitynow.com/v1"} {
		if _, err := New(Config{BaseURL: bad, ClientID: "id", ClientSecret: "secret"}); err == nil {
			t.Errorf("base URL %s accepted", bad)
		}
	}
	if _, err := New(Config{BaseURL: "https://a.example", ClientID: "id", ClientSecret: "s", APIVersion: "v4"}); err == nil || !strings.Contains(err.Error(), "auto, v1, v3") {
		t.Errorf("unknown version: %v", err)
	}
}

// FuzzJWTClaims: the token is the server's text; reading its claims must
// never panic, and only a three-part token with a JSON object payload counts.
func FuzzJWTClaims(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6WyJzcDpzY29wZXM6YWxsIl19.sig")
	f.Add("sbx.abc")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("x.eyJhIjpbXX0=.y")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, ok := jwtClaims(tok)
		if ok && (claims == nil || strings.Count(tok, ".") != 2) {
			t.Errorf("jwtClaims(%q) = %v, true", tok, claims)
		}
	})
}
