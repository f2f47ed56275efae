package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	ok := Config{BaseURL: "https://acme.api.identitynow.com", ClientID: "id", ClientSecret: "secret"}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"trailing slash", func(c *Config) { c.BaseURL += "/" }, ""},
		{"v2025", func(c *Config) { c.APIVersion = "v2025" }, ""},
		{"no base", func(c *Config) { c.BaseURL = "" }, "base URL"},
		{"no id", func(c *Config) { c.ClientID = "" }, "client id"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "client secret"},
		{"all missing", func(c *Config) { *c = Config{} }, "base URL (SAIL_BASE_URL), client id (SAIL_CLIENT_ID), client secret"},
		{"bad version", func(c *Config) { c.APIVersion = "beta" }, `unsupported API version "beta"`},
		{"version in base", func(c *Config) { c.BaseURL += "/v3/" }, "must not include the API version"},
		{"no scheme", func(c *Config) { c.BaseURL = "acme.api.identitynow.com" }, "not of the form"},
		{"query", func(c *Config) { c.BaseURL += "?x=1" }, "not of the form"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			c, err := New(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.BaseURL() != "https://acme.api.identitynow.com" {
					t.Errorf("BaseURL = %q", c.BaseURL())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret\"") || (cfg.ClientSecret != "" && strings.Contains(err.Error(), cfg.ClientSecret)) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
	c, _ := New(ok)
	if c.APIVersion() != "v3" {
		t.Errorf("default API version = %q, want v3", c.APIVersion())
	}
	if got := c.EffectiveRate(); got < 9.8 || got > 9.9 {
		t.Errorf("default effective rate = %v, want 10/s less the 1.5%% margin", got)
	}
	if c.hc.Timeout != 0 {
		t.Error("default HTTP client has an overall timeout that would cut off a slow large download")
	}
	if tr := c.hc.Transport.(*http.Transport); tr.ResponseHeaderTimeout == 0 || tr.TLSHandshakeTimeout == 0 {
		t.Error("default transport lacks header or TLS timeouts")
	}
	cfg := ok
	cfg.Rate = -1
	c, _ = New(cfg)
	if c.pacerFor(VersionV3).lim != nil {
		t.Error("negative rate did not disable pacing")
	}
}

func TestRetryTransientFailures(t *testing.T) {
	cases := []struct {
		name    string
		fail    func(t *testing.T, w http.ResponseWriter)
		retries int
	}{
		{"503 burst", func(t *testing.T, w http.ResponseWriter) {
			writeJSON(w, 503, `{"detailCode":"503","messages":[{"text":"unavailable"}]}`)
		}, 4},
		{"500", func(t *testing.T, w http.ResponseWriter) {
			writeJSON(w, 500, `{"detailCode":"500.0 Internal Fault","trackingId":"x","messages":[{"text":"boom"}]}`)
		}, 3},
		{"502 html", func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		}, 2},
		{"dropped connection", func(t *testing.T, w http.ResponseWriter) { dropConnection(t, w) }, 3},
		{"429 without Retry-After", func(t *testing.T, w http.ResponseWriter) {
			writeJSON(w, 429, `{"message":" Rate Limit Exceeded "}`)
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n < tc.retries {
					tc.fail(t, w)
					return
				}
				w.Header().Set("Content-Type", "application/xml")
				io.WriteString(w, "<ok/>")
			})
			c := newTestClient(t, f, nil)
			b, err := c.GetDocument(context.Background(), "acme", SourceConfig)
			if err != nil {
				t.Fatalf("call failed despite retries: %v", err)
			}
			if string(b) != "<ok/>" {
				t.Errorf("body = %q", b)
			}
			st := c.Stats()
			if tc.name == "dropped connection" {
				// net/http itself repeats a GET whose reused connection
				// died, so only part of the drops reach this client.
				if st.Retries < 1 || st.Requests != st.Retries+1 {
					t.Errorf("stats = %+v, want the drops retried", st)
				}
				return
			}
			if st.Requests != int64(tc.retries+1) || st.Retries != int64(tc.retries) {
				t.Errorf("stats = %+v, want %d requests and %d retries", st, tc.retries+1, tc.retries)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 503, `{"detailCode":"503 Service Unavailable","trackingId":"trk-9","messages":[{"text":"down"}]}`)
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, _, err := c.GetConnector(context.Background(), "acme", "")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.StatusCode != 503 || e.TrackingID != "trk-9" || e.Attempts != 3 || e.ScriptName != "acme" || e.Op != "get connector" {
		t.Errorf("error = %+v", e)
	}
	if len(f.requests()) != 3 {
		t.Errorf("%d requests, want MaxAttempts = 3", len(f.requests()))
	}

	// A wait beyond MaxWait ends retries before the attempts do.
	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, 429, `{"message":" Rate Limit Exceeded "}`)
	})
	c2 := newTestClient(t, f2, func(cfg *Config) { cfg.MaxWait = time.Second })
	_, _, err = c2.GetConnector(context.Background(), "acme", "")
	if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "--max-wait") || !strings.Contains(err.Error(), "Rate Limit Exceeded") {
		t.Errorf("err = %v, want a rate-limit error that names --max-wait", err)
	}
	if len(f2.requests()) != 1 {
		t.Errorf("%d requests, want 1: a wait beyond the budget is not started", len(f2.requests()))
	}

	// Client errors are final.
	f3 := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 400, `{"detailCode":"400.1 Bad Request Content","messages":[{"text":"bad"}]}`)
	})
	c3 := newTestClient(t, f3, nil)
	if _, err := c3.ListConnectors(context.Background(), ListQuery{Filters: "x"}); err == nil || len(f3.requests()) != 1 {
		t.Errorf("400: err = %v after %d requests, want an error after 1", err, len(f3.requests()))
	}
}

func TestRetryAfterIsWaitedOutByEveryWorker(t *testing.T) {
	var first429 atomic.Int64 // unix nanos of the 429
	got429 := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			first429.Store(time.Now().UnixNano())
			writeJSON(w, 429, `{"message":" Rate Limit Exceeded "}`)
			close(got429)
			return
		}
		writeJSON(w, 200, `{"name":"x"}`)
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, err := c.GetConnector(ctx, "a", "")
		errs <- err
	}()
	<-got429
	// Workers that start after the 429 must also wait for the pause.
	time.Sleep(50 * time.Millisecond)
	for _, s := range []string{"b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.GetConnector(ctx, s, "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (one 429, its retry, two others)", len(reqs))
	}
	pauseEnd := time.Unix(0, first429.Load()).Add(time.Second)
	for _, r := range reqs[1:] {
		if r.At.Before(pauseEnd.Add(-20 * time.Millisecond)) {
			t.Errorf("request %s sent %v before Retry-After ran out", r.Path, pauseEnd.Sub(r.At))
		}
	}
	if st := c.Stats(); st.RateLimited != 1 || st.Retries != 1 {
		t.Errorf("stats = %+v, want 1 rate-limited and 1 retry", st)
	}
}

func TestCancelDuringPause(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 429, `{"message":"slow down"}`)
	})
	c := newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.GetConnector(ctx, "acme", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("cancellation did not end the 429 pause")
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `{"name":"x"}`) })
	f.expiresIn = 600
	c := newTestClient(t, f, nil)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	c.now = func() time.Time { return time.Unix(0, now.Load()) }
	ctx := context.Background()
	for i := range 3 {
		if _, _, err := c.GetConnector(ctx, "acme", ""); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// The server-side token is about to expire: the client must have moved
	// on before it does.
	now.Add(int64(545 * time.Second))
	f.revokeAll()
	for i := range 3 {
		if _, _, err := c.GetConnector(ctx, "acme", ""); err != nil {
			t.Fatalf("call after expiry %d: %v", i, err)
		}
	}
	st := c.Stats()
	if st.TokenRequests != 2 || st.Reauths != 0 || f.tokens() != 2 {
		t.Errorf("stats = %+v, server tokens %d; want 2 token fetches and no 401-driven re-auth", st, f.tokens())
	}
	for _, r := range f.requests() {
		if r.Auth == "" {
			t.Error("request without token")
		}
	}
	if st.Requests != 6 {
		t.Errorf("%d API requests, want 6: no call may have needed a retry", st.Requests)
	}
}

func TestUnauthorizedReauthOnce(t *testing.T) {
	t.Run("token died early", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `[]`) })
		c := newTestClient(t, f, nil)
		ctx := context.Background()
		if _, err := c.ListConnectors(ctx, ListQuery{}); err != nil {
			t.Fatal(err)
		}
		f.revokeAll()
		if _, err := c.ListConnectors(ctx, ListQuery{}); err != nil {
			t.Fatalf("call after revocation: %v", err)
		}
		st := c.Stats()
		if st.Reauths != 1 || st.TokenRequests != 2 || st.Requests != 3 {
			t.Errorf("stats = %+v, want exactly one re-auth and one repeated request", st)
		}
	})
	t.Run("still refused", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 401, `{"error":"JWT validation failed: JWT is expired"}`)
		})
		c := newTestClient(t, f, nil)
		err := c.DeleteConnector(context.Background(), "acme")
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 401 {
			t.Fatalf("err = %v, want a 401 *Error", err)
		}
		for _, want := range []string{"JWT is expired", "idn:connector-config:manage", "ORG_ADMIN", "SOURCE_SUBADMIN"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if n := len(f.requests()); n != 2 || f.tokens() != 2 {
			t.Errorf("%d API requests and %d token fetches, want 2 and 2 (one re-auth only)", n, f.tokens())
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 403, `{"detailCode":"403 Forbidden","trackingId":"t4","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"The server understood the request but refuses to authorize it."}]}`)
		})
		c := newTestClient(t, f, nil)
		_, err := c.GetDocument(context.Background(), "acme", SourceConfig)
		for _, want := range []string{"HTTP 403", "idn:connector-config:read", "SOURCE_ADMIN", "personal access token", "t4"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %q", err, want)
			}
		}
		if len(f.requests()) != 1 || f.tokens() != 1 {
			t.Error("403 was retried or re-authenticated")
		}
	})
	t.Run("bad credentials", func(t *testing.T) {
		f := newFake(t, nil)
		c := newTestClient(t, f, func(cfg *Config) { cfg.ClientSecret = "wrong-secret-value" })
		_, err := c.ListConnectors(context.Background(), ListQuery{})
		var e *Error
		if !errors.As(err, &e) || !e.Token || e.StatusCode != 401 {
			t.Fatalf("err = %v, want a token-endpoint 401", err)
		}
		if !strings.Contains(err.Error(), "SAIL_CLIENT_SECRET") || strings.Contains(err.Error(), "wrong-secret-value") {
			t.Errorf("error %q: want a credentials hint and no secret", err)
		}
		if len(f.requests()) != 0 {
			t.Error("API called without a token")
		}
	})
}

// createFake is a tenant that stores created connectors, lists RELEASED ones
// by name prefix, and can fail a POST after or before carrying it out.
type createFake struct {
	mu      sync.Mutex
	byName  map[string]V3ConnectorDto
	posts   int
	lists   []string // filters of each list call
	probes  []string // scriptNames asked for by detail GETs
	postHow func(n int) string
}

func (cf *createFake) handler(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		cf.mu.Lock()
		defer cf.mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			if sn, ok := strings.CutPrefix(r.URL.Path, "/v3/connectors/"); ok {
				// A probe of a scriptName (findCreated).
				cf.probes = append(cf.probes, sn)
				for _, c := range cf.byName {
					if c.ScriptName == sn {
						b, _ := json.Marshal(ConnectorDetail{Name: c.Name, ScriptName: c.ScriptName, Status: c.Status})
						writeJSON(w, 200, string(b))
						return
					}
				}
				writeJSON(w, 404, `{"detailCode":"404 Not found","messages":[{"text":"no such connector"}]}`)
				return
			}
			filters := r.URL.Query().Get("filters")
			cf.lists = append(cf.lists, filters)
			var out []V3ConnectorDto
			for _, c := range cf.byName {
				if c.Status == StatusReleased && strings.HasPrefix(`name sw "`+quoteFilter(c.Name)+`"`, strings.TrimSuffix(filters, `"`)) {
					out = append(out, c)
				}
			}
			b, _ := json.Marshal(append([]V3ConnectorDto{}, out...))
			writeJSON(w, 200, string(b))
		case http.MethodPost:
			var in V3CreateConnectorDto
			json.NewDecoder(r.Body).Decode(&in)
			cf.posts++
			how := cf.postHow(cf.posts)
			if how == "503-before" {
				writeJSON(w, 503, `{"detailCode":"503","messages":[{"text":"unavailable"}]}`)
				return
			}
			if _, dup := cf.byName[in.Name]; dup {
				writeJSON(w, 400, `{"detailCode":"400.1 Bad Request Content","trackingId":"dup","messages":[{"text":"A connector with this name already exists"}]}`)
				return
			}
			out := V3ConnectorDto{Name: in.Name, ScriptName: fmt.Sprintf("script-%d", cf.posts), Status: in.Status}
			cf.byName[in.Name] = out
			switch how {
			case "drop-after":
				dropConnection(t, w)
			case "500-after":
				writeJSON(w, 500, `{"detailCode":"500.0 Internal Fault","messages":[{"text":"fault"}]}`)
			default:
				b, _ := json.Marshal(out)
				writeJSON(w, 200, string(b))
			}
		}
	}
}

func TestCreateNeverSentTwice(t *testing.T) {
	name := `Acme "Quoted" \ #1 & co`
	cases := []struct {
		name      string
		status    string
		how       []string // per POST
		wantPosts int
		wantLists int
		wantErr   error
	}{
		{"dropped after create", StatusReleased, []string{"drop-after"}, 1, 1, nil},
		{"500 after create", StatusReleased, []string{"500-after"}, 1, 1, nil},
		{"503 before create", StatusReleased, []string{"503-before", "ok"}, 2, 1, nil},
		{"unlisted status then duplicate", StatusDevelopment, []string{"drop-after", "ok"}, 2, 2, ErrCreateOutcomeUnknown},
		{"plain success", StatusReleased, []string{"ok"}, 1, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cf := &createFake{byName: map[string]V3ConnectorDto{}, postHow: func(n int) string {
				if n <= len(tc.how) {
					return tc.how[n-1]
				}
				return "ok"
			}}
			f := newFake(t, cf.handler(t))
			c := newTestClient(t, f, nil)
			out, err := c.CreateConnector(context.Background(), V3CreateConnectorDto{Name: name, ClassName: "sailpoint.connector.OpenConnectorAdapter", Status: tc.status})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "check the tenant") || !strings.Contains(err.Error(), "dup") {
					t.Errorf("error %q should say to check the tenant and carry the trackingId", err)
				}
			} else {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				if out.Name != name || out.ScriptName != cf.byName[name].ScriptName {
					t.Errorf("got %+v, want the connector the server holds (%+v)", out, cf.byName[name])
				}
			}
			if cf.posts != tc.wantPosts || len(cf.lists) != tc.wantLists {
				t.Errorf("%d POSTs and %d lookups, want %d and %d", cf.posts, len(cf.lists), tc.wantPosts, tc.wantLists)
			}
			for _, fl := range cf.lists {
				if fl != `name sw "Acme \"Quoted\" \\ #1 & co"` {
					t.Errorf("lookup filter = %s", fl)
				}
			}
		})
	}
}

func TestCreateRetries429WithoutLookup(t *testing.T) {
	var posts atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method != http.MethodPost {
			t.Errorf("unexpected %s: a 429 is not ambiguous", r.Method)
		}
		if posts.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 429, `{"message":" Rate Limit Exceeded "}`)
			return
		}
		writeJSON(w, 200, `{"name":"A","scriptName":"a"}`)
	})
	c := newTestClient(t, f, nil)
	out, err := c.CreateConnector(context.Background(), V3CreateConnectorDto{Name: "A", ClassName: "x"})
	if err != nil || out.ScriptName != "a" || posts.Load() != 2 {
		t.Errorf("create = %+v, %v after %d POSTs; want success after 2", out, err, posts.Load())
	}
}

// TestRedirectNeverCarriesToken: a redirect to any other origin is refused,
// so the other server sees neither the token nor the request; one within the
// tenant's origin is followed with the token.
func TestRedirectNeverCarriesToken(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, "<moved/>")
	}))
	defer other.Close()
	ou, _ := url.Parse(other.URL)
	// Same IP and a different port: Go alone would keep the header here.
	samehost := other.URL
	// A different host name for the same server.
	otherName := "http://localhost:" + ou.Port()

	for _, target := range []string{samehost, otherName} {
		var local atomic.Int32
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if strings.HasSuffix(r.URL.Path, "/local") {
				local.Add(1)
				w.Header().Set("Content-Type", "application/xml")
				io.WriteString(w, "<local/>")
				return
			}
			if strings.HasSuffix(r.URL.Path, "/source-config") {
				http.Redirect(w, r, "/v3/connectors/acme/local", http.StatusFound)
				return
			}
			http.Redirect(w, r, target+"/elsewhere", http.StatusTemporaryRedirect)
		})
		c := newTestClient(t, f, nil)
		b, err := c.GetDocument(context.Background(), "acme", SourceTemplate)
		if !errors.Is(err, errCrossOriginRedirect) || b != nil || !strings.Contains(err.Error(), `"acme"`) || strings.Contains(err.Error(), "/elsewhere") {
			t.Fatalf("redirect to %s: %q, %v; want a refused redirect naming the connector", target, b, err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("redirect to %s: %d requests to the tenant, want 1 (a refused redirect is not retried)", target, n)
		}
		// A same-origin redirect still carries the token.
		if b, err := c.GetDocument(context.Background(), "acme", SourceConfig); err != nil || string(b) != "<local/>" {
			t.Errorf("same-origin redirect: %q, %v", b, err)
		}
		if local.Load() != 1 {
			t.Error("same-origin redirect target not reached with the token")
		}
	}
	if n := otherHits.Load(); n != 0 {
		t.Fatalf("other host saw %d requests, want none", n)
	}
}

// TestStalledBodyAbandoned: a server that stops mid-body is cut off after
// the idle timeout and retried; a slow but steady body is not.
func TestStalledBodyAbandoned(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/xml")
		if strings.HasSuffix(r.URL.Path, "/source-template") {
			// Steady: a byte every 20 ms, well past the idle timeout in total.
			for i := 0; i < 10; i++ {
				io.WriteString(w, "x")
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
			return
		}
		io.WriteString(w, "<Application")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.IdleTimeout = 100 * time.Millisecond; cfg.MaxAttempts = 3 })
	_, err := c.GetDocument(context.Background(), "acme", SourceConfig)
	var e *Error
	// A stall is retried, but a second one ends the call (maxSilentAttempts).
	if !errors.Is(err, errStalled) || !errors.As(err, &e) || e.Attempts != maxSilentAttempts || !strings.Contains(err.Error(), `"acme"`) {
		t.Fatalf("err = %v; want a stalled-body error after %d attempts naming the connector", err, maxSilentAttempts)
	}
	if b, err := c.GetDocument(context.Background(), "acme", SourceTemplate); err != nil || len(b) != 10 {
		t.Errorf("steady slow body: %q, %v", b, err)
	}
}

// TestStalledTokenAnswerAbandoned: a token endpoint that sends its headers
// and goes quiet is cut off after the idle timeout and asked again, instead
// of hanging the run; the partial answer never shows in the error.
func TestStalledTokenAnswerAbandoned(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, "<Application/>")
	})
	f.tokenStall = 1
	c := newTestClient(t, f, func(cfg *Config) { cfg.IdleTimeout = 100 * time.Millisecond; cfg.MaxAttempts = 3 })
	if b, err := c.GetDocument(context.Background(), "acme", SourceConfig); err != nil || string(b) != "<Application/>" {
		t.Fatalf("after one stalled token answer: %q, %v", b, err)
	}
	if f.tokenCalls != 1 {
		t.Errorf("token endpoint issued %d tokens, want 1", f.tokenCalls)
	}

	g := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {})
	g.tokenStall = 10
	c = newTestClient(t, g, func(cfg *Config) { cfg.IdleTimeout = 100 * time.Millisecond; cfg.MaxAttempts = 2 })
	_, err := c.GetDocument(context.Background(), "acme", SourceConfig)
	var e *Error
	if !errors.Is(err, errStalled) || !errors.As(err, &e) || !e.Token {
		t.Fatalf("err = %v; want a token error saying the answer stalled", err)
	}
	if strings.Contains(err.Error(), "PARTIAL-TOKEN") {
		t.Errorf("error shows the partial token answer: %v", err)
	}
	if g.tokenStall != 8 {
		t.Errorf("token endpoint asked %d times, want 2 (MaxAttempts)", 10-g.tokenStall)
	}
}

func TestOversizedBodyRefused(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write(bytes.Repeat([]byte("x"), 4097))
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.MaxBodyBytes = 4096 })
	_, err := c.GetDocument(context.Background(), "acme", SourceConfig)
	if !errors.Is(err, errBodyTooLarge) || !strings.Contains(err.Error(), "4096") || !strings.Contains(err.Error(), `"acme"`) {
		t.Errorf("err = %v, want a body-too-large error naming the cap and the connector", err)
	}
	if len(f.requests()) != 1 {
		t.Errorf("%d requests, want 1: an oversized body is not retried", len(f.requests()))
	}
	// Exactly at the cap is fine.
	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { w.Write(bytes.Repeat([]byte("x"), 4096)) })
	c2 := newTestClient(t, f2, func(cfg *Config) { cfg.MaxBodyBytes = 4096 })
	if b, err := c2.GetDocument(context.Background(), "acme", SourceConfig); err != nil || len(b) != 4096 {
		t.Errorf("body at the cap: %d bytes, %v", len(b), err)
	}
}

func TestDebugLogRedactsSecrets(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 2 {
			writeJSON(w, 503, `{"messages":[{"text":"busy"}]}`)
			return
		}
		writeJSON(w, 200, `[]`)
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.Logger = logger })
	ctx := context.Background()
	c.ListConnectors(ctx, ListQuery{})
	f.revokeAll()
	c.ListConnectors(ctx, ListQuery{})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "Authorization=REDACTED") {
		t.Errorf("log does not show the redacted header:\n%s", out)
	}
	for _, secret := range []string{testSecret, "TOKEN-1-abcdefghijkl", "TOKEN-2-abcdefghijkl", "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "retrying") || !strings.Contains(out, "re-authenticating") {
		t.Errorf("log lacks the retry and re-auth events:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestStatsUnderConcurrency(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n%5 == 0 {
			writeJSON(w, 503, `{}`)
			return
		}
		writeJSON(w, 200, `{"status":"UNCHANGED"}`)
	})
	c := newTestClient(t, f, nil)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.PutTranslation(context.Background(), fmt.Sprint("s", i), "en", []byte("k=v")); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	st := c.Stats()
	reqs := int64(len(f.requests()))
	if st.Requests != reqs || st.Requests != 40+st.Retries {
		t.Errorf("stats = %+v, server saw %d: counters disagree", st, reqs)
	}
	if st.BytesOut == 0 || st.BytesIn == 0 {
		t.Errorf("byte counters not kept: %+v", st)
	}
	if failed.Load() != 0 {
		t.Errorf("%d calls failed", failed.Load())
	}
}

func TestPatchNotIdempotentIsNotRepeated(t *testing.T) {
	for _, tc := range []struct {
		ops       []JsonPatchOperation
		wantCalls int
	}{
		{[]JsonPatchOperation{{Op: "replace", Path: "/sourceConfigXml", Value: "<x/>"}}, 2},
		{[]JsonPatchOperation{{Op: "remove", Path: "/connectorMetadata/shortDesc"}}, 1},
		{[]JsonPatchOperation{{Op: "add", Path: "/connectorMetadata/tags/-", Value: "x"}}, 1},
	} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				writeJSON(w, 502, `{}`)
				return
			}
			writeJSON(w, 200, `{"name":"x"}`)
		})
		c := newTestClient(t, f, nil)
		_, err := c.PatchConnector(context.Background(), "acme", tc.ops)
		if got := len(f.requests()); got != tc.wantCalls {
			t.Errorf("%s: %d requests, want %d", tc.ops[0].Op, got, tc.wantCalls)
		}
		if tc.wantCalls == 1 && (err == nil || !strings.Contains(err.Error(), "not idempotent")) {
			t.Errorf("%s: err = %v, want it to say why it was not repeated", tc.ops[0].Op, err)
		}
	}
}

func TestCreateGivesUpWithOutcomeUnknown(t *testing.T) {
	var posts atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			writeJSON(w, 503, `{"messages":[{"text":"down"}]}`)
			return
		}
		if r.URL.Path != "/v3/connectors" {
			writeJSON(w, 404, `{"messages":[{"text":"no such connector"}]}`)
			return
		}
		writeJSON(w, 200, `[]`)
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, err := c.CreateConnector(context.Background(), V3CreateConnectorDto{Name: "A", ClassName: "x"})
	var e *Error
	if !errors.Is(err, ErrCreateOutcomeUnknown) || !errors.As(err, &e) || e.StatusCode != 503 || e.Attempts != 3 {
		t.Errorf("err = %v, want a 503 after 3 attempts marked outcome unknown", err)
	}
	lists := 0
	for _, r := range f.requests() {
		if r.Path == "/v3/connectors" && r.Method == http.MethodGet {
			lists++
		}
	}
	if posts.Load() != 3 || lists != 3 {
		t.Errorf("%d POSTs and %d lists, want 3 POSTs each followed by a lookup", posts.Load(), lists)
	}
}

func TestConcurrent401sShareOneReauth(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `{"name":"x"}`) })
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if _, _, err := c.GetConnector(ctx, "warm", ""); err != nil {
		t.Fatal(err)
	}
	f.revokeAll()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.GetConnector(ctx, fmt.Sprint("c", i), ""); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d calls failed across a token revocation", failed.Load())
	}
	if st := c.Stats(); st.TokenRequests != 2 || st.Reauths != 1 {
		t.Errorf("stats = %+v, want one shared re-auth", st)
	}
}

func TestTokenEndpointOutageIsRetried(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `[]`) })
	f.tokenFail = 2
	c := newTestClient(t, f, nil)
	if _, err := c.ListConnectors(context.Background(), ListQuery{}); err != nil {
		t.Fatalf("list across a token-endpoint outage: %v", err)
	}
	if st := c.Stats(); st.Retries != 2 || st.TokenRequests != 3 || st.Requests != 1 {
		t.Errorf("stats = %+v, want 2 retries, 3 token fetches, 1 API request", st)
	}
	f.mu.Lock()
	f.tokenFail = 100
	f.mu.Unlock()
	c2 := newTestClient(t, f, func(cfg *Config) { cfg.MaxAttempts = 2 })
	_, err := c2.ListConnectors(context.Background(), ListQuery{})
	var e *Error
	if !errors.As(err, &e) || !e.Token || e.StatusCode != 503 || !strings.Contains(err.Error(), "token service busy") {
		t.Errorf("err = %v, want a token-endpoint 503 with its message", err)
	}
}

func TestReadCappedTrustsNoDeclaredLength(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 3000)
	for _, tc := range []struct {
		name     string
		size     int64
		limit    int64
		strict   bool
		wantLen  int
		wantFail bool
	}{
		{"declared exactly", 3000, 10000, true, 3000, false},
		{"declared too little", 100, 10000, true, 3000, false},
		{"declared too much", 9000, 10000, true, 3000, false},
		{"declared absurdly", 1 << 40, 10000, true, 3000, false},
		{"unknown", -1, 10000, true, 3000, false},
		{"over the limit, declared small", 100, 2000, true, 0, true},
		{"over the limit, error body truncated", 100, 2000, false, 2000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readCapped(bytes.NewReader(data), tc.size, tc.limit, tc.strict)
			if tc.wantFail {
				if !errors.Is(err, errBodyTooLarge) {
					t.Fatalf("err = %v, want errBodyTooLarge", err)
				}
				return
			}
			if err != nil || len(got) != tc.wantLen || !bytes.Equal(got, data[:tc.wantLen]) {
				t.Fatalf("got %d bytes, err %v; want %d", len(got), err, tc.wantLen)
			}
		})
	}
}
