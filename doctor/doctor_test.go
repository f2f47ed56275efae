package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/doctor"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

func check(r *doctor.Report, name string) doctor.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return doctor.Check{}
}

func runOn(t *testing.T, srv *sandbox.Server, version, secret string) *doctor.Report {
	t.Helper()
	if secret == "" {
		secret = srv.ClientSecret
	}
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, APIVersion: version, ClientID: srv.ClientID, ClientSecret: secret, Rate: -1, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	r, err := doctor.Run(context.Background(), c, doctor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHealthySandbox(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{})
	r := runOn(t, srv, "auto", "")
	if !r.OK || r.APIVersion != "v1" {
		t.Fatalf("report not OK or layout %q: %+v", r.APIVersion, r.Checks)
	}
	for _, name := range []string{"token", "permissions", "layouts", "connectors", "correlation-config", "from-detail", "clock"} {
		if c := check(r, name); c.Status != doctor.OK {
			t.Errorf("check %s: %+v, want ok", name, c)
		}
	}
	if r.Listed != 11 || r.Custom+r.BuiltIn != r.Listed || r.Custom == 0 || r.BuiltIn == 0 || len(r.Sampled) != 5 {
		t.Errorf("counts: listed %d, custom %d, built-in %d, sampled %v", r.Listed, r.Custom, r.BuiltIn, r.Sampled)
	}
	if !r.FromDetailEquivalent || r.TokenLifetimeSeconds != 12*3600 || len(r.Layouts) != 5 || r.Requests == 0 || r.ClockSkewSeconds == nil {
		t.Errorf("report = %+v", r)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		t.Fatal(err)
	}
	if err := doctor.WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{srv.ClientSecret, srv.ClientID, "sbx.", "eyJ"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the report holds %q:\n%s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "result: export and restore can work") {
		t.Errorf("text report:\n%s", buf.String())
	}
}

// TestEachProblem runs doctor against sandboxes with one problem each: the
// report fails and names it, with what to do.
func TestEachProblem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    sandbox.Options
		hook    func(w http.ResponseWriter, r *http.Request) bool
		secret  string
		version string
		check   string
		words   string
	}{
		{name: "wrong secret", secret: "not-the-secret", check: "token", words: "SAIL_CLIENT_SECRET"},
		{name: "no user level", opts: sandbox.Options{Authorities: []string{}}, check: "permissions", words: "ORG_ADMIN"},
		{name: "read-only scope", opts: sandbox.Options{Scopes: []string{"idn:connector-config:read"}}, check: "permissions", words: "not restore"},
		{name: "no layout answers", hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/oauth/token" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			w.Write([]byte(`{"detailCode":"404 Not found","trackingId":"t","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"no"}]}`))
			return true
		}, check: "layouts", words: "SAIL_BASE_URL"},
		{name: "details refused", hook: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || strings.Count(strings.TrimPrefix(r.URL.Path, "/connectors/v1/"), "/") != 0 || !strings.HasPrefix(r.URL.Path, "/connectors/v1/") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(403)
			w.Write([]byte(`{"detailCode":"403 Forbidden","trackingId":"t","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"no"}]}`))
			return true
		}, check: "details", words: "permissions"},
		{name: "chosen layout not served", opts: sandbox.Options{Layouts: []string{"v3"}}, version: "v2025", check: "layouts", words: "--api-version v3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := spectest.Start(t, tc.opts)
			if tc.hook != nil {
				srv.Tenant.SetHook(tc.hook)
			}
			v := tc.version
			if v == "" {
				v = "auto"
			}
			r := runOn(t, srv, v, tc.secret)
			c := check(r, tc.check)
			if r.OK || c.Status != doctor.Fail || c.Fix == "" || !strings.Contains(c.Detail+" "+c.Fix, tc.words) {
				t.Errorf("OK %v, check %s = %+v; want a failure naming %q", r.OK, tc.check, c, tc.words)
			}
			var buf bytes.Buffer
			doctor.WriteText(&buf, r)
			if !strings.Contains(buf.String(), "cannot work until this is fixed: ") || !strings.Contains(buf.String(), tc.check) {
				t.Errorf("text report:\n%s", buf.String())
			}
		})
	}
}

// TestWarnings: findings that leave export and restore working are named,
// with exit status OK.
func TestWarnings(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{DateOffset: 10 * time.Minute})
	r := runOn(t, srv, "auto", "")
	if c := check(r, "clock"); !r.OK || c.Status != doctor.Warn || r.ClockSkewSeconds == nil || *r.ClockSkewSeconds < 590 {
		t.Errorf("clock 10 min ahead: OK %v, %+v", r.OK, c)
	}

	srv = spectest.Start(t, sandbox.Options{})
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/source-config") {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte("<Form/>"))
		return true
	})
	r = runOn(t, srv, "auto", "")
	if c := check(r, "from-detail"); !r.OK || c.Status != doctor.Warn || r.FromDetailEquivalent || !strings.Contains(c.Detail, "source-config") {
		t.Errorf("details differing from sub-resources: OK %v, %+v", r.OK, c)
	}

	// A detail without sourceConfigXml is no difference: export
	// --from-detail reads the sub-resource then, as the full fetch does.
	srv = spectest.Start(t, sandbox.Options{})
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		sn := path.Base(r.URL.Path)
		d, ok := srv.Tenant.Detail(sn)
		if r.Method != http.MethodGet || !ok || d.SourceConfigXML == "" {
			return false
		}
		d.SourceConfigXML = ""
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(d)
		return true
	})
	r = runOn(t, srv, "auto", "")
	if c := check(r, "from-detail"); c.Status != doctor.OK || !r.FromDetailEquivalent || !strings.Contains(c.Detail, "the details lack are read from their sub-resources") {
		t.Errorf("details lacking sourceConfigXml: %+v, differences %v", c, r.Differences)
	}

	// No layout serves correlation-config: export keeps the detail's copy
	// and restore PATCHes it, so it is a warning.
	srv = spectest.Start(t, sandbox.Options{NoCorrelationConfig: sandbox.Layouts})
	r = runOn(t, srv, "auto", "")
	if c := check(r, "correlation-config"); !r.OK || c.Status != doctor.Warn || !strings.Contains(c.Fix, "PATCH") {
		t.Errorf("no layout serves correlation-config: OK %v, %+v", r.OK, c)
	}

	// A rate-limited tenant: the 429s and their Retry-After are reported.
	srv = spectest.Start(t, sandbox.Options{RateLimit: 25, RateWindow: time.Second})
	r = runOn(t, srv, "auto", "")
	if c := check(r, "rate limit"); r.RateLimited == 0 || len(r.RateHeaders["Retry-After"]) == 0 || !strings.Contains(c.Detail, "Retry-After: 1") {
		t.Errorf("rate-limited tenant: %d 429s, headers %v, %+v", r.RateLimited, r.RateHeaders, c)
	}

	// A tenant without /connectors/v1: auto runs on v3, which is fine.
	srv = spectest.Start(t, sandbox.Options{Layouts: []string{"v3"}})
	r = runOn(t, srv, "auto", "")
	if !r.OK || r.APIVersion != "v3" || !strings.Contains(check(r, "layouts").Detail, "v1 404") {
		t.Errorf("v3-only tenant: OK %v, layout %q, %+v", r.OK, r.APIVersion, check(r, "layouts"))
	}
}
