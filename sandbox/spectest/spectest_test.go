package spectest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/connvault/connvault/sandbox"
)

// captureTB records what Wrap reports instead of failing the test.
type captureTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
	logs []string
}

func (c *captureTB) Errorf(format string, args ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *captureTB) Logf(format string, args ...any) {
	c.mu.Lock()
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *captureTB) Helper() {}

func (c *captureTB) take() (errs, logs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs, logs = c.errs, c.logs
	c.errs, c.logs = nil, nil
	return errs, logs
}

// TestWrapCatchesViolations serves deliberately wrong answers and checks that
// each one is reported, and that right ones and exempt faults are not.
func TestWrapCatchesViolations(t *testing.T) {
	type reply struct {
		status int
		ct     string
		body   string
		fault  string
	}
	var mu sync.Mutex
	var next reply
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		rp := next
		mu.Unlock()
		if rp.fault != "" {
			w.Header().Set(sandbox.FaultHeader, rp.fault)
		}
		if rp.ct != "" {
			w.Header().Set("Content-Type", rp.ct)
		}
		w.WriteHeader(rp.status)
		io.WriteString(w, rp.body)
	})
	tb := &captureTB{TB: t}
	srv := httptest.NewServer(Wrap(tb, h))
	defer srv.Close()

	okErr := `{"detailCode":"400.1 Bad Request Content","trackingId":"x","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"no"}]}`
	tests := []struct {
		name, method, path, auth string
		reply                    reply
		wantErr                  string // "" means no report
	}{
		{"valid list", "GET", "/v3/connectors?limit=5", "Bearer x", reply{200, "application/json", `[{"name":"a","directConnect":true}]`, ""}, ""},
		{"valid xml", "GET", "/v2025/connectors/a/source-config", "Bearer x", reply{200, "application/xml", `<a/>`, ""}, ""},
		{"wrong body type", "GET", "/v3/connectors/a", "Bearer x", reply{200, "application/json", `{"name":5}`, ""}, "does not match the spec"},
		{"bad enum in answer", "GET", "/v3/connectors/a", "Bearer x", reply{200, "application/json", `{"status":"GONE"}`, ""}, "does not match the spec"},
		{"undeclared status", "GET", "/v3/connectors/a", "Bearer x", reply{418, "application/json", `{}`, ""}, "does not match the spec"},
		{"invalid request accepted", "GET", "/v3/connectors?limit=999", "Bearer x", reply{200, "application/json", `[]`, ""}, "the spec rejects this request"},
		{"invalid request refused", "GET", "/v3/connectors?limit=999", "Bearer x", reply{400, "application/json", okErr, ""}, ""},
		{"no token accepted", "GET", "/v3/connectors", "", reply{200, "application/json", `[]`, ""}, "the spec rejects this request"},
		{"unknown path accepted", "GET", "/v9/connectors", "Bearer x", reply{200, "application/json", `[]`, ""}, "the spec rejects this request"},
		{"bad 401 body", "GET", "/v3/connectors", "", reply{401, "application/json", `[1]`, ""}, "does not match the spec"},
		{"injected 503 exempt", "GET", "/v3/connectors", "Bearer x", reply{503, "text/html", `<html/>`, "503"}, ""},
		{"injected 500 checked", "GET", "/v3/connectors", "Bearer x", reply{500, "text/html", `<html/>`, "500"}, "does not match the spec"},
	}
	for _, tc := range tests {
		mu.Lock()
		next = tc.reply
		mu.Unlock()
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		errs, logs := tb.take()
		switch {
		case tc.wantErr == "" && len(errs) > 0:
			t.Errorf("%s: unexpected report %q", tc.name, errs)
		case tc.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.wantErr)):
			t.Errorf("%s: reports %q, want one mentioning %q", tc.name, errs, tc.wantErr)
		}
		if tc.reply.fault == "503" && (len(logs) != 1 || !strings.Contains(logs[0], "exempt")) {
			t.Errorf("%s: logs %q, want an exemption note", tc.name, logs)
		}
	}
}

func TestStartServesValidatedTenant(t *testing.T) {
	srv := Start(t, sandbox.Options{Empty: true})
	resp, err := http.Get(srv.URL + "/v3/connectors")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated list: %d, want 401", resp.StatusCode)
	}
	if !strings.HasSuffix(SpecPath(), "testdata/connectors-openapi.yaml") {
		t.Errorf("SpecPath = %s", SpecPath())
	}
}

// TestWrapValidatesTheV1Layout: requests under /connectors/v1 are checked
// against the v1 spec, whose paths carry the whole prefix.
func TestWrapValidatesTheV1Layout(t *testing.T) {
	var status int
	var body string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	tb := &captureTB{TB: t}
	srv := httptest.NewServer(Wrap(tb, h))
	defer srv.Close()
	get := func(path string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	status, body = 200, `[{"name":"a","directConnect":true}]`
	get("/connectors/v1?limit=5")
	if errs, _ := tb.take(); len(errs) != 0 {
		t.Errorf("valid v1 list reported: %v", errs)
	}
	status, body = 200, `{"name":"a"}`
	get("/connectors/v1?limit=5")
	if errs, _ := tb.take(); len(errs) != 1 || !strings.Contains(errs[0], "does not match the spec") {
		t.Errorf("a detail in place of the v1 list: %v", errs)
	}
	get("/connectors/v1/a/translations/klingon")
	if errs, _ := tb.take(); len(errs) == 0 || !strings.Contains(errs[0], "the spec rejects this request") {
		t.Errorf("a bad locale answered 200 on v1: %v", errs)
	}
	if !strings.HasSuffix(SpecPathV1(), "testdata/connectors-v1-openapi.yaml") {
		t.Errorf("SpecPathV1 = %s", SpecPathV1())
	}
}
