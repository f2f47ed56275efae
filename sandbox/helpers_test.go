package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// fakeClock lets tests move time for token expiry and rate windows.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	// Aligned to a 10 s boundary plus 2.5 s, so rate windows are predictable.
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 52, 500_000_000, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a spec-validated sandbox server and a client with a token.
type env struct {
	t      *testing.T
	srv    *sandbox.Server
	tenant *sandbox.Tenant
	token  string
	hc     *http.Client
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	srv := spectest.Start(t, opts)
	e := &env{t: t, srv: srv, tenant: srv.Tenant, hc: &http.Client{Timeout: 30 * time.Second}}
	e.token = e.getToken(srv.ClientID, srv.ClientSecret)
	return e
}

func (e *env) getToken(id, secret string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := e.hc.PostForm(e.srv.URL+"/oauth/token", form)
	if err != nil {
		e.t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var tok apiclient.OAuthTokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		e.t.Fatalf("token request: status %d, err %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not the expected JSON: %v\n%s", a.status, err, a.body)
	}
}

// errorText returns the first message of an ErrorResponseDto answer.
func (a answer) errorText(t *testing.T) string {
	t.Helper()
	var e apiclient.ErrorResponseDto
	a.json(t, &e)
	if e.DetailCode == "" || e.TrackingID == "" || len(e.Messages) == 0 {
		t.Fatalf("answer %d is not a full ErrorResponseDto: %s", a.status, a.body)
	}
	return e.Messages[0].Text
}

// do sends a request with the env's token (unless a header map overrides Authorization).
func (e *env) do(method, path string, body io.Reader, contentType string) answer {
	e.t.Helper()
	return e.doAuth(method, path, body, contentType, "Bearer "+e.token)
}

func (e *env) doAuth(method, path string, body io.Reader, contentType, auth string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func (e *env) get(path string) answer { return e.do(http.MethodGet, path, nil, "") }

func (e *env) list(query string) ([]apiclient.V3ConnectorDto, answer) {
	e.t.Helper()
	a := e.get("/v3/connectors" + query)
	if a.status != 200 {
		return nil, a
	}
	var out []apiclient.V3ConnectorDto
	a.json(e.t, &out)
	return out, a
}

func scriptNames(cs []apiclient.V3ConnectorDto) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ScriptName
	}
	return out
}

func (e *env) postJSON(path string, v any) answer {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(http.MethodPost, path, bytes.NewReader(b), "application/json")
}

func (e *env) patch(scriptName string, ops any) answer {
	e.t.Helper()
	b, err := json.Marshal(ops)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(http.MethodPatch, "/v3/connectors/"+scriptName, bytes.NewReader(b), "application/json-patch+json")
}

// multipartBody builds a multipart body with one file part per name.
func multipartBody(t *testing.T, parts map[string][]byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, data := range parts {
		w, err := mw.CreateFormFile(name, name+".bin")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (e *env) put(path, part string, data []byte) answer {
	e.t.Helper()
	body, ct := multipartBody(e.t, map[string][]byte{part: data})
	return e.do(http.MethodPut, path, body, ct)
}

func (e *env) putUpdate(path, part string, data []byte) apiclient.UpdateDetail {
	e.t.Helper()
	a := e.put(path, part, data)
	if a.status != 200 {
		e.t.Fatalf("PUT %s: status %d: %s", path, a.status, a.body)
	}
	var ud apiclient.UpdateDetail
	a.json(e.t, &ud)
	return ud
}

func (e *env) detail(scriptName string) apiclient.ConnectorDetail {
	e.t.Helper()
	a := e.get("/v3/connectors/" + scriptName)
	if a.status != 200 {
		e.t.Fatalf("GET detail %s: %d %s", scriptName, a.status, a.body)
	}
	var d apiclient.ConnectorDetail
	a.json(e.t, &d)
	return d
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustContain(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s: %q does not contain %q", what, got, want)
	}
}
