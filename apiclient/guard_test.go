package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// forGuardLayouts runs a guard test in the per-service layout (/connectors/v1,
// what the default auto picks) and in the yearly v3 one: the guards match
// paths, and each layout has its own shape. coll is the connector
// collection's path.
func forGuardLayouts(t *testing.T, test func(t *testing.T, layout, coll string)) {
	for _, layout := range []string{VersionV1, VersionV3} {
		t.Run(layout, func(t *testing.T) { test(t, layout, collectionPath(layout)) })
	}
}

// TestWriteNeverFollowsRedirect: a PUT answered 303
// pointing at the connector's detail (which Go's client would fetch with a
// GET, 200) is a failed write, not a written one; so are a PATCH, a DELETE
// and a create answered with a redirect. Only the write itself reaches the
// server.
func TestWriteNeverFollowsRedirect(t *testing.T) {
	forGuardLayouts(t, func(t *testing.T, layout, coll string) {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if r.Method == http.MethodGet {
					// What following the redirect would have read: a valid
					// answer of every shape the writes expect.
					writeJSON(w, http.StatusOK, `{"name":"bravo","scriptName":"bravo","status":"UPDATED","updatedFiles":["x"]}`)
					return
				}
				http.Redirect(w, r, coll+"/bravo", status)
			})
			c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = layout })
			ctx := context.Background()
			calls := map[string]func() error{
				"put": func() error {
					_, err := c.PutDocument(ctx, "alpha", SourceConfig, []byte("<x/>"))
					return err
				},
				"put translation": func() error {
					_, err := c.PutTranslation(ctx, "alpha", "fr", []byte("a=b"))
					return err
				},
				"patch": func() error {
					_, err := c.PatchConnector(ctx, "alpha", []JsonPatchOperation{{Op: "replace", Path: "/applicationXml", Value: "<a/>"}})
					return err
				},
				"delete": func() error { return c.DeleteConnector(ctx, "alpha") },
				"create": func() error {
					_, err := c.CreateConnector(ctx, V3CreateConnectorDto{Name: "alpha", ClassName: "x"})
					return err
				},
			}
			for name, call := range calls {
				before := len(f.requests())
				err := call()
				if !errors.Is(err, ErrRedirectedWrite) {
					t.Errorf("%d, %s: err = %v, want ErrRedirectedWrite", status, name, err)
					continue
				}
				if !strings.Contains(err.Error(), "not followed") || !strings.Contains(err.Error(), coll+"/bravo") {
					t.Errorf("%d, %s: the error does not say the redirect was not followed, or where it led: %v", status, name, err)
				}
				reqs := f.requests()[before:]
				for _, r := range reqs {
					if !strings.HasPrefix(r.Path, coll+"/") && r.Path != coll {
						t.Errorf("%d, %s: %s is not in layout %s", status, name, r.Path, layout)
					}
					if r.Method == http.MethodGet {
						t.Errorf("%d, %s: the redirect was followed (GET %s)", status, name, r.Path)
					}
				}
				if len(reqs) != 1 {
					t.Errorf("%d, %s: %d requests, want the write alone", status, name, len(reqs))
				}
			}
		}
	})
}

// TestReadRedirectStaysOnConnector: a read redirected to another connector's
// path is not followed (its answer would be taken for this connector's); one
// within the same connector still is.
func TestReadRedirectStaysOnConnector(t *testing.T) {
	forGuardLayouts(t, func(t *testing.T, layout, coll string) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			switch r.URL.Path {
			case coll + "/alpha/source-config":
				http.Redirect(w, r, coll+"/bravo/source-config", http.StatusFound)
			case coll + "/alpha/source-template":
				http.Redirect(w, r, coll+"/alpha/source-template-v2", http.StatusFound)
			default:
				w.Header().Set("Content-Type", "application/xml")
				io.WriteString(w, "<doc path=\""+r.URL.Path+"\"/>")
			}
		})
		c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = layout })
		b, err := c.GetDocument(context.Background(), "alpha", SourceConfig)
		if err == nil || b != nil || !strings.Contains(err.Error(), "HTTP 302") || !strings.Contains(err.Error(), "away from the connector") {
			t.Errorf("redirect to bravo: %q, %v; want an error and no document", b, err)
		}
		for _, r := range f.requests() {
			if strings.Contains(r.Path, "bravo") {
				t.Errorf("bravo's document was fetched: %s", r.Path)
			}
		}
		b, err = c.GetDocument(context.Background(), "alpha", SourceTemplate)
		if err != nil || !strings.Contains(string(b), "source-template-v2") {
			t.Errorf("redirect within alpha: %q, %v; want it followed", b, err)
		}
	})
}

// TestDetailForAnotherConnector: GET /connectors/alpha
// answered with bravo's detail is an error for alpha, through both the raw
// and the decoded reads; a detail without a scriptName is accepted.
func TestDetailForAnotherConnector(t *testing.T) {
	forGuardLayouts(t, func(t *testing.T, layout, coll string) {
		body := map[string]string{
			"alpha": `{"name":"Bravo","scriptName":"bravo","sourceConfigXml":"<x a=\"\\\"scriptName\\\"\"/>"}`,
			"gamma": `{"name":"Gamma","sourceConfigXml":"<x/>"}`,
			"delta": `{"name":"Delta","scriptName":"delta"}`,
		}
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, http.StatusOK, body[strings.TrimPrefix(r.URL.Path, coll+"/")])
		})
		c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = layout })
		ctx := context.Background()
		raw, err := c.GetConnectorRaw(ctx, "alpha", "")
		if !errors.Is(err, ErrWrongConnector) || raw != nil || !strings.Contains(err.Error(), `"bravo"`) || !strings.Contains(err.Error(), `get connector "alpha"`) {
			t.Errorf("raw alpha: %s, %v; want ErrWrongConnector naming both", raw, err)
		}
		if d, _, err := c.GetConnector(ctx, "alpha", ""); !errors.Is(err, ErrWrongConnector) || d != nil {
			t.Errorf("decoded alpha: %+v, %v; want ErrWrongConnector", d, err)
		}
		if _, err := c.GetConnectorRaw(ctx, "gamma", ""); err != nil {
			t.Errorf("gamma (no scriptName in the detail): %v", err)
		}
		if _, _, err := c.GetConnector(ctx, "delta", ""); err != nil {
			t.Errorf("delta: %v", err)
		}
	})
}

func TestTopLevelString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`{"scriptName":"a"}`, "a", true},
		{` { "x" : {"scriptName":"inner"} , "scriptName" : "outer" } `, "outer", true},
		{`{"scriptName":"a","scriptName":"b"}`, "b", true},
		{`{"scriptName":"a","scriptName":7}`, "", false},
		{`{"s\u0063riptName":"esc\"aped"}`, `esc"aped`, true},
		{`{"a":"\\","scriptName":"z"}`, "z", true},
		{`{"a":["}",{"b":"]"}],"scriptName":"z"}`, "z", true},
		{`{"scriptName":"a"`, "", false},
		{`{"scriptName":"a"} x`, "", false},
		{`["scriptName","a"]`, "", false},
		{`{}`, "", false},
		{``, "", false},
		{`{"scriptName":"\xff"}`, "", false},
	} {
		got, ok := topLevelString([]byte(tc.in), "scriptName")
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzTopLevelString: whenever the scanner finds a value, encoding/json
// agrees on it for the same well-formed object; it never panics.
func FuzzTopLevelString(f *testing.F) {
	for _, s := range []string{`{"scriptName":"a"}`, `{"x":{"scriptName":"b"},"scriptName":"c"}`, `{"scriptName":"a\"b\\"}`, `{"a":[1,2,{"b":null}],"scriptName":"q"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := topLevelString(b, "scriptName")
		if !ok {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return // the scanner does not validate containers' contents
		}
		if v, _ := m["scriptName"].(string); v != got {
			t.Fatalf("%q: scanner says %q, encoding/json %q", b, got, v)
		}
	})
}

// TestCreateAnsweredWithAnotherConnector: a create answered 200
// with a connector that is not the one asked for (another name, or a
// scriptName that cannot address a connector) is refused, and not repeated.
func TestCreateAnsweredWithAnotherConnector(t *testing.T) {
	forGuardLayouts(t, func(t *testing.T, layout, coll string) {
		for _, answer := range []string{
			`{"name":"Bravo","scriptName":"bravo","status":"RELEASED"}`,
			`{"name":"alpha ","scriptName":"alpha"}`,
			`{"scriptName":"alpha"}`,
			`{"name":"alpha","scriptName":""}`,
			`{"name":"alpha","scriptName":"../bravo"}`,
			`{"name":"alpha","scriptName":"a\u001b[2Jb"}`,
		} {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, http.StatusOK, answer) })
			c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = layout })
			out, err := c.CreateConnector(context.Background(), V3CreateConnectorDto{Name: "alpha", ClassName: "x"})
			if !errors.Is(err, ErrWrongConnector) || out.ScriptName != "" || !strings.Contains(err.Error(), `"alpha"`) {
				t.Errorf("answer %s: %+v, %v; want ErrWrongConnector and no connector", answer, out, err)
			}
			if reqs := f.requests(); len(reqs) != 1 || reqs[0].Path != coll {
				t.Errorf("answer %s: requests %+v, want the create alone, to %s", answer, reqs, coll)
			}
		}
	})
}

// derivingFake creates connectors with scriptNames derived as the sandbox
// derives them (lower case, dashes, -2 on a collision), lists only RELEASED
// ones, and loses the answer of the first create.
type derivingFake struct {
	coll   string // the connector collection's path in the client's layout
	mu     sync.Mutex
	bySN   map[string]V3ConnectorDto
	posts  int
	probes int
}

func (df *derivingFake) handler(t *testing.T) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		df.mu.Lock()
		defer df.mu.Unlock()
		switch {
		case r.Method == http.MethodPost:
			var in V3CreateConnectorDto
			json.NewDecoder(r.Body).Decode(&in)
			df.posts++
			sn := likelyScriptNames(in.Name)[0]
			for i := 2; ; i++ {
				if _, taken := df.bySN[sn]; !taken {
					break
				}
				sn = fmt.Sprintf("%s-%d", likelyScriptNames(in.Name)[0], i)
			}
			df.bySN[sn] = V3ConnectorDto{Name: in.Name, ScriptName: sn, Status: in.Status}
			if df.posts == 1 {
				dropConnection(t, w)
				return
			}
			b, _ := json.Marshal(df.bySN[sn])
			writeJSON(w, 200, string(b))
		case r.URL.Path == df.coll:
			var out []V3ConnectorDto
			for _, c := range df.bySN {
				if c.Status == StatusReleased {
					out = append(out, c)
				}
			}
			b, _ := json.Marshal(append([]V3ConnectorDto{}, out...))
			writeJSON(w, 200, string(b))
		default:
			df.probes++
			c, ok := df.bySN[strings.TrimPrefix(r.URL.Path, df.coll+"/")]
			if !ok {
				writeJSON(w, 404, `{"messages":[{"text":"not found"}]}`)
				return
			}
			b, _ := json.Marshal(ConnectorDetail{Name: c.Name, ScriptName: c.ScriptName, Status: c.Status})
			writeJSON(w, 200, string(b))
		}
	}
}

// TestCreateLostAnswerFindsHiddenConnector: the answer of a
// create of a DEVELOPMENT connector is lost; the list hides it, but a probe
// of the likely scriptName finds it (past an older connector holding the
// plain derivation), and no second create is sent.
func TestCreateLostAnswerFindsHiddenConnector(t *testing.T) {
	forGuardLayouts(t, func(t *testing.T, layout, coll string) {
		for _, status := range []string{StatusDevelopment, StatusDemo, StatusReleased} {
			df := &derivingFake{coll: coll, bySN: map[string]V3ConnectorDto{
				"acme-widget": {Name: "ACME widget (old)", ScriptName: "acme-widget", Status: StatusDevelopment},
			}}
			f := newFake(t, df.handler(t))
			c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = layout })
			out, err := c.CreateConnector(context.Background(), V3CreateConnectorDto{Name: "Acme Widget", ClassName: "x", Status: status})
			if err != nil {
				t.Fatalf("%s: %v", status, err)
			}
			if df.posts != 1 {
				t.Errorf("%s: %d creates sent, want 1", status, df.posts)
			}
			if out.Name != "Acme Widget" || out.ScriptName != "acme-widget-2" {
				t.Errorf("%s: got %+v, want the connector the lost create made (acme-widget-2)", status, out)
			}
		}
	})
}

func TestLikelyScriptNames(t *testing.T) {
	got := likelyScriptNames("A Script Name")
	for _, want := range []string{"a-script-name", "ascriptname", "aScriptName"} {
		if !slices.Contains(got, want) {
			t.Errorf("likelyScriptNames = %q, lacks %q", got, want)
		}
	}
	if got := likelyScriptNames("a/b"); slices.Contains(got, "a/b") {
		t.Errorf("a name with a slash is probed as is: %q", got)
	}
}

func TestConnectorOf(t *testing.T) {
	for in, want := range map[string]string{
		"/v3/connectors/alpha/source-config":      "/v3/connectors/alpha",
		"/v3/connectors/alpha":                    "/v3/connectors/alpha",
		"/connectors/v1/alpha/translations/fr":    "/connectors/v1/alpha",
		"/connectors/v1/bravo":                    "/connectors/v1/bravo",
		"/v2025/connectors/alpha/source-template": "/v2025/connectors/alpha",
		"/v3/connectors":                          "/v3/connectors",
		"/v3/connectors/v1/source-config":         "/v3/connectors/v1",
		"/prefix/connectors/v1/alpha/x":           "/prefix/connectors/v1/alpha",
	} {
		if got := connectorOf(in); got != want {
			t.Errorf("connectorOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSilentServerBounded: a server that takes every request and never
// answers costs two header timeouts, not six; after the first, an info line
// says what is retried.
func TestSilentServerBounded(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	var logs strings.Builder
	var mu sync.Mutex
	c := newTestClient(t, f, func(cfg *Config) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = 50 * time.Millisecond
		cfg.HTTPClient = &http.Client{Transport: tr}
		cfg.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	_, err := c.GetDocument(context.Background(), "acme", SourceConfig)
	var e *Error
	if !errors.As(err, &e) || e.Attempts != maxSilentAttempts || !strings.Contains(err.Error(), "sent no answer, 2 times") {
		t.Fatalf("err = %v; want the call given up after %d silent attempts", err, maxSilentAttempts)
	}
	if n := len(f.requests()); n != maxSilentAttempts {
		t.Errorf("%d requests, want %d", n, maxSilentAttempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Count(logs.String(), "level=INFO"); got != 1 || !strings.Contains(logs.String(), `no answer from the server to get source-config \"acme\"`) {
		t.Errorf("want one info line naming what is retried, got:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// FuzzCreateAnswer drives the create/answer matching with arbitrary names
// and answers: an answer is accepted only when it names exactly the
// connector asked for with a scriptName that can address one; the probes
// after a lost answer only ever ask for such scriptNames.
func FuzzCreateAnswer(f *testing.F) {
	f.Add("Acme HR", []byte(`{"name":"Acme HR","scriptName":"acme-hr"}`))
	f.Add("Acme HR", []byte(`{"name":"Bravo","scriptName":"bravo"}`))
	f.Add("alpha", []byte(`{"name":"alpha","scriptName":"../x"}`))
	f.Add("alpha", []byte(`{"name":"alpha","scriptName":"a\u0000b"}`))
	f.Add("A Script Name", []byte(`{"name":"A Script Name","scriptName":"aScriptName","status":"DEVELOPMENT"}`))
	f.Fuzz(func(t *testing.T, name string, answer []byte) {
		var out V3ConnectorDto
		if json.Unmarshal(answer, &out) != nil {
			return
		}
		err := checkCreated(name, out)
		if err == nil {
			if out.Name != name {
				t.Fatalf("accepted %q for %q", out.Name, name)
			}
			if out.ScriptName == "" || out.ScriptName == "." || out.ScriptName == ".." || strings.ContainsAny(out.ScriptName, "/\\") || !utf8.ValidString(out.ScriptName) {
				t.Fatalf("accepted scriptName %q", out.ScriptName)
			}
			for _, r := range out.ScriptName {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("accepted scriptName %q with a control character", out.ScriptName)
				}
			}
		} else if !errors.Is(err, ErrWrongConnector) {
			t.Fatalf("refusal %v is not ErrWrongConnector", err)
		}
		seen := map[string]bool{}
		for _, sn := range likelyScriptNames(name) {
			if badScriptName(sn) != "" || seen[sn] {
				t.Fatalf("probe %q for %q: %s (or twice)", sn, name, badScriptName(sn))
			}
			seen[sn] = true
		}
	})
}

// TestPutAnswerMustConfirmWrite: a PUT answered 200 with a body
// that does not report the write (empty, a detail, an unknown status, or a
// write to another connector) is not a written document.
func TestPutAnswerMustConfirmWrite(t *testing.T) {
	for answer, want := range map[string]error{
		`{}`: ErrUnconfirmedWrite,
		`{"name":"alpha","scriptName":"alpha","sourceConfigXml":"<x/>"}`: ErrUnconfirmedWrite,
		`{"status":"QUEUED"}`:                           ErrUnconfirmedWrite,
		`{"status":"UPDATED","scriptName":"bravo"}`:     ErrWrongConnector,
		`{"status":"UPDATED","scriptName":"alpha"}`:     nil,
		`{"status":"unchanged"}`:                        nil,
		`{"status":"SKIPPED","updatedFiles":["x"]}`:     nil,
		`{"status":"ERROR","message":"bad xsd"}`:        ErrUpdateFailed,
		`{"status":"UPDATED","updatedFiles":["a.xml"]}`: nil,
	} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, http.StatusOK, answer) })
		c := newTestClient(t, f, nil)
		_, err := c.PutDocument(context.Background(), "alpha", SourceConfig, []byte("<x/>"))
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("answer %s: err = %v, want %v", answer, err, want)
		}
	}
}

// TestPatchAnsweredWithAnotherConnector: a PATCH answered with another
// connector's detail is not a patched connector.
func TestPatchAnsweredWithAnotherConnector(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, http.StatusOK, `{"name":"Bravo","scriptName":"bravo"}`)
	})
	c := newTestClient(t, f, nil)
	d, err := c.PatchConnector(context.Background(), "alpha", []JsonPatchOperation{{Op: "replace", Path: "/applicationXml", Value: "<a/>"}})
	if !errors.Is(err, ErrWrongConnector) || d != nil {
		t.Errorf("%+v, %v; want ErrWrongConnector", d, err)
	}
}
