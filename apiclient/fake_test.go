package apiclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const (
	testClientID = "test-client-id"
	testSecret   = "s3cr3t-VALUE-do-not-print"
)

// seen is one request as the fake tenant received it.
type seen struct {
	Method, Path, Query, ContentType, Accept, Auth string
	Body                                           []byte
	At                                             time.Time
}

// fakeTenant is a minimal token endpoint plus an API whose behaviour each
// test supplies; it records every API request.
type fakeTenant struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	reqs       []seen
	tokenCalls int
	valid      map[string]bool
	expiresIn  int
	tokenFail  int                                                 // answer this many token requests with 503 first
	tokenStall int                                                 // then stall this many mid-body (until the client gives up)
	api        func(w http.ResponseWriter, r *http.Request, n int) // n: 0-based index among API requests
}

func newFake(t testing.TB, api func(w http.ResponseWriter, r *http.Request, n int)) *fakeTenant {
	t.Helper()
	f := &fakeTenant{t: t, valid: map[string]bool{}, expiresIn: 3600, api: api}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTenant) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth/token" {
		f.token(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	auth := r.Header.Get("Authorization")
	ok := len(auth) > 7 && f.valid[auth[7:]]
	n := len(f.reqs)
	f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), Auth: auth, Body: body, At: time.Now()})
	f.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"JWT validation failed: JWT is expired"}`)
		return
	}
	f.api(w, r, n)
}

func (f *fakeTenant) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_client","error_description":"Bad credentials"}`)
		return
	}
	f.mu.Lock()
	if f.tokenFail > 0 {
		f.tokenFail--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		writeJSON(w, http.StatusServiceUnavailable, `{"detailCode":"503","messages":[{"text":"token service busy"}]}`)
		return
	}
	if f.tokenStall > 0 {
		f.tokenStall--
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"PARTIAL-TOKEN-`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	f.tokenCalls++
	tok := fmt.Sprintf("TOKEN-%d-abcdefghijkl", f.tokenCalls)
	f.valid[tok] = true
	exp := f.expiresIn
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":%d,"scope":"idn:connector-config:manage"}`, tok, exp)
}

// revokeAll makes every issued token invalid, as an expiry on the server
// side would.
func (f *fakeTenant) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

func (f *fakeTenant) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeTenant) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls
}

// newTestClient returns an unpaced client with tiny backoffs against f.
func newTestClient(t *testing.T, f *fakeTenant, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.srv.URL + "/", ClientID: testClientID, ClientSecret: testSecret, Rate: -1}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.backoffBase = time.Millisecond
	c.backoffMax = 4 * time.Millisecond
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// dropConnection closes the connection without an answer, as a crashed
// backend or a load balancer reset would.
func dropConnection(t testing.TB, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("response writer cannot hijack")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}
