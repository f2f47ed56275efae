package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// newRawEnv starts a validated server without asking for a token over HTTP
// (fault injection may hit the token endpoint too).
func newRawEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	srv := spectest.Start(t, opts)
	e := &env{t: t, srv: srv, tenant: srv.Tenant, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	tok, ok := srv.Tenant.IssueToken(srv.ClientID)
	if !ok {
		t.Fatal("IssueToken refused the server's own client id")
	}
	e.token = tok
	return e
}

func TestTokenEndpoint(t *testing.T) {
	clock := newClock()
	e := newEnv(t, sandbox.Options{
		Clients:  map[string]string{"alpha": "alpha-secret", "beta": "beta-secret"},
		TokenTTL: 10 * time.Minute, Clock: clock.Now,
	})
	post := func(query url.Values, body *bytes.Buffer, ct string) (int, map[string]any) {
		t.Helper()
		u := e.srv.URL + "/oauth/token"
		if query != nil {
			u += "?" + query.Encode()
		}
		if body == nil {
			body = &bytes.Buffer{}
		}
		req, _ := http.NewRequest(http.MethodPost, u, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("token answer %d is not JSON: %v", resp.StatusCode, err)
		}
		return resp.StatusCode, m
	}
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {"beta"}, "client_secret": {"beta-secret"}}

	status, m := post(good, nil, "")
	if status != 200 || m["token_type"] != "bearer" || m["expires_in"] != float64(600) || m["access_token"] == "" {
		t.Errorf("token from the query string: %d %v", status, m)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range good {
		mw.WriteField(k, v[0])
	}
	mw.Close()
	if status, m := post(nil, &mp, mw.FormDataContentType()); status != 200 || m["access_token"] == "" {
		t.Errorf("token from a multipart body: %d %v", status, m)
	}
	for name, q := range map[string]url.Values{
		"wrong secret":   {"grant_type": {"client_credentials"}, "client_id": {"beta"}, "client_secret": {"alpha-secret"}},
		"unknown client": {"grant_type": {"client_credentials"}, "client_id": {"gamma"}, "client_secret": {"x"}},
		"other grant":    {"grant_type": {"refresh_token"}, "client_id": {"beta"}, "client_secret": {"beta-secret"}},
	} {
		status, m := post(nil, bytes.NewBufferString(q.Encode()), "application/x-www-form-urlencoded")
		if status != 401 || m["error"] == nil {
			t.Errorf("%s: %d %v, want 401 with an error field", name, status, m)
		}
		if s := fmt.Sprint(m); strings.Contains(s, "beta-secret") || strings.Contains(s, "alpha-secret") {
			t.Errorf("%s: the answer echoes a secret: %v", name, m)
		}
	}

	// API calls: missing, malformed, unknown and expired tokens are 401 {"error"}.
	for name, auth := range map[string]string{"missing": "", "basic": "Basic YWxwaGE6YWxwaGEtc2VjcmV0", "unknown": "Bearer sbx.nope"} {
		a := e.doAuth(http.MethodGet, "/v3/connectors", nil, "", auth)
		var body map[string]string
		a.json(t, &body)
		if a.status != 401 || body["error"] == "" {
			t.Errorf("%s token: %d %s, want 401 {\"error\"}", name, a.status, a.body)
		}
	}
	if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
		t.Fatalf("fresh token: %d", a.status)
	}
	clock.Add(10*time.Minute - time.Second)
	if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
		t.Errorf("token 1 s before expiry: %d, want 200", a.status)
	}
	clock.Add(time.Second)
	a := e.get("/v3/connectors?limit=1")
	if a.status != 401 || !strings.Contains(string(a.body), "JWT is expired") {
		t.Errorf("expired token: %d %s, want 401 JWT is expired", a.status, a.body)
	}
	e.token = e.getToken("alpha", "alpha-secret")
	if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
		t.Errorf("new token after expiry: %d", a.status)
	}
	if st := e.tenant.Stats(); st.Unauthorized != 7 {
		t.Errorf("Stats.Unauthorized = %d, want 7 (3 token refusals, 3 bad headers, 1 expiry)", st.Unauthorized)
	}
}

func TestRateLimit(t *testing.T) {
	clock := newClock() // 2.5 s into a 10 s window
	e := newEnv(t, sandbox.Options{
		Clients:   map[string]string{"alpha": "a", "beta": "b"},
		RateLimit: 3, Clock: clock.Now,
	})
	e.token = e.getToken("alpha", "a")
	for i := 0; i < 3; i++ {
		if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
			t.Fatalf("request %d within the limit: %d", i+1, a.status)
		}
	}
	a := e.get("/v3/connectors/okta")
	if a.status != 429 || a.header.Get("Retry-After") != "8" {
		t.Fatalf("4th request: %d Retry-After %q, want 429 and 8 (7.5 s rounded up)", a.status, a.header.Get("Retry-After"))
	}
	var body map[string]string
	a.json(t, &body)
	if body["message"] != " Rate Limit Exceeded " {
		t.Errorf("429 body = %q", a.body)
	}
	// Counted per client id and per API version.
	if a := e.get("/v2024/connectors?limit=1"); a.status != 200 {
		t.Errorf("same client, other API version: %d, want 200", a.status)
	}
	alpha := e.token
	e.token = e.getToken("beta", "b")
	if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
		t.Errorf("other client id: %d, want 200", a.status)
	}
	e.token = alpha
	clock.Add(7 * time.Second) // 9.5 s into the window
	if a := e.get("/v3/connectors?limit=1"); a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Errorf("0.5 s before the reset: %d Retry-After %q, want 429 and 1", a.status, a.header.Get("Retry-After"))
	}
	clock.Add(500 * time.Millisecond) // the next window
	for i := 0; i < 3; i++ {
		if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
			t.Errorf("new window, request %d: %d", i+1, a.status)
		}
	}
	st := e.tenant.Stats()
	if st.RateLimited != 2 {
		t.Errorf("Stats.RateLimited = %d, want 2", st.RateLimited)
	}
	if st.Requests["getConnectorList"] != 9 || st.Requests["getConnector"] != 1 || st.Requests["requestAccessToken"] != 3 {
		t.Errorf("Stats.Requests = %v", st.Requests)
	}
}

// faultRun sends n sequential list requests and returns their statuses (0 for
// a dropped connection).
func faultRun(t *testing.T, opts sandbox.Options, n int) ([]int, sandbox.Stats) {
	t.Helper()
	e := newRawEnv(t, opts)
	out := make([]int, n)
	for i := range out {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v3/connectors?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := e.hc.Do(req)
		if err != nil {
			continue // dropped
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		out[i] = resp.StatusCode
		if resp.StatusCode >= 500 && resp.Header.Get(sandbox.FaultHeader) == "" {
			t.Errorf("a %d without the fault marker", resp.StatusCode)
		}
	}
	return out, e.tenant.Stats()
}

func TestFaultInjection(t *testing.T) {
	opts := sandbox.Options{ErrorRate: 0.3, DropRate: 0.1, Seed: 42}
	const n = 300
	first, st := faultRun(t, opts, n)
	counts := map[int]int{}
	for _, s := range first {
		counts[s]++
	}
	if counts[500] == 0 || counts[503] == 0 || counts[0] == 0 {
		t.Fatalf("statuses %v: want some 500s, 503s and drops", counts)
	}
	if counts[500]+counts[503]+counts[0] != st.Faults || st.FaultsByKind["500"] != counts[500] ||
		st.FaultsByKind["503"] != counts[503] || st.FaultsByKind["drop"] != counts[0] {
		t.Errorf("client saw %v, Stats.FaultsByKind = %v (total %d)", counts, st.FaultsByKind, st.Faults)
	}
	// Drops take ~10% and 5xx ~30% of the rest: allow wide margins (it is a fixed seed anyway).
	if d := counts[0]; d < n*5/100 || d > n*16/100 {
		t.Errorf("%d drops in %d requests at DropRate 0.1", d, n)
	}
	if f := counts[500] + counts[503]; f < n*18/100 || f > n*36/100 {
		t.Errorf("%d 5xx in %d requests at ErrorRate 0.3", f, n)
	}
	if st.Writes != 0 {
		t.Errorf("Stats.Writes = %d for a read-only run", st.Writes)
	}
	second, _ := faultRun(t, opts, n)
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("the same seed gave different fault sequences")
	}
	opts.Seed = 43
	third, _ := faultRun(t, opts, n)
	if fmt.Sprint(first) == fmt.Sprint(third) {
		t.Errorf("a different seed gave the same fault sequence")
	}
}

func TestLatencyKnobsAnswerNormally(t *testing.T) {
	// No timing assertions here: the knobs must only delay, never change answers.
	e := newEnv(t, sandbox.Options{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1})
	if all, a := e.list(""); a.status != 200 || len(all) != 11 {
		t.Errorf("list with latency: %d, %d connectors", a.status, len(all))
	}
}

func TestLatencyIsALowerBound(t *testing.T) {
	// An answer must never leave before its latency has run, whether it is a
	// detail, an error or a dropped connection.
	const lat = 30 * time.Millisecond
	e := newEnv(t, sandbox.Options{Latency: lat, Seed: 1})
	for _, path := range []string{"/v3/connectors/servicenow", "/v3/connectors/no-such-connector", "/v3/connectors/servicenow/source-config"} {
		start := time.Now()
		a := e.get(path)
		if took := time.Since(start); took < lat {
			t.Errorf("GET %s answered %d after %v, before the %v latency", path, a.status, took, lat)
		}
		if a.status == 0 || len(a.body) == 0 {
			t.Errorf("GET %s: empty answer %d", path, a.status)
		}
	}
	srv := spectest.Start(t, sandbox.Options{Latency: lat, DropRate: 1, Seed: 1})
	start := time.Now()
	resp, err := http.PostForm(srv.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.ClientID}, "client_secret": {srv.ClientSecret}})
	if err == nil {
		resp.Body.Close()
		t.Fatalf("DropRate 1 answered %d", resp.StatusCode)
	}
	if took := time.Since(start); took < lat {
		t.Errorf("connection dropped after %v, before the %v latency", took, lat)
	}
}

func TestHook(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	e.tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v3/connectors/okta":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"detailCode":"404 Not found","trackingId":"hook","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"gone"}]}`))
			return true
		case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/workday/source-template"):
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(apiclient.UpdateDetail{Status: apiclient.UpdateError, ScriptName: "workday", Message: "unsupported xsd version"})
			return true
		}
		return false
	})
	if a := e.get("/v3/connectors/okta"); a.status != 404 || a.errorText(t) != "gone" {
		t.Errorf("hooked detail: %d %s", a.status, a.body)
	}
	if d := e.detail("servicenow"); d.ScriptName != "servicenow" {
		t.Errorf("unhooked detail answered %q", d.ScriptName)
	}
	orig, _ := e.tenant.Connector("workday")
	if ud := e.putUpdate("/v3/connectors/workday/source-template", "file", []byte("<a/>")); ud.Status != apiclient.UpdateError {
		t.Errorf("hooked PUT: %+v, want ERROR", ud)
	}
	if now, _ := e.tenant.Connector("workday"); !bytes.Equal(now.SourceTemplate, orig.SourceTemplate) {
		t.Errorf("a hooked PUT reached the store")
	}
	if ud := e.putUpdate("/v3/connectors/workday/source-config", "file", []byte("<a/>")); ud.Status != apiclient.UpdateUpdated {
		t.Errorf("unhooked PUT: %+v", ud)
	}
	st := e.tenant.Stats()
	if st.Requests["getConnector"] != 2 || st.Writes != 1 || st.WritesByOp["putConnectorSourceConfig"] != 1 {
		t.Errorf("Stats after hooks: requests %v, writes %d %v", st.Requests, st.Writes, st.WritesByOp)
	}
	e.tenant.SetHook(nil)
	if a := e.get("/v3/connectors/okta"); a.status != 200 {
		t.Errorf("after removing the hook: %d", a.status)
	}
}
