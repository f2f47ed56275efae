package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// weird needs escaping in a path segment: a space, a slash and a percent.
const weird = "acme dir/v1%"

// xmlDoc has bytes a re-serialiser would change: a BOM, CDATA, CRLF and a
// trailing space without newline.
var xmlDoc = []byte("\ufeff<?xml version=\"1.0\"?>\r\n<Application><![CDATA[a<b]]></Application> ")

func TestRequestShapes(t *testing.T) {
	detail := `{"name":"Acme","scriptName":"acme dir/v1%","directConnect":true,"fileUpload":false}`
	updated := `{"status":"UPDATED","updatedFiles":["f"]}`
	type tc struct {
		name      string
		call      func(ctx context.Context, c *Client) error
		method    string
		path      string // below /{version}
		query     url.Values
		ctype     string // exact, or "multipart" for a form with part file
		body      string // JSON body, compared as JSON
		filename  string // multipart filename
		respond   func(w http.ResponseWriter)
		checkResp func(t *testing.T, got any)
	}
	var got any
	cases := []tc{
		{
			name: "list", method: "GET", path: "/connectors",
			query: url.Values{"filters": {`name sw "A&B#"`}, "limit": {"10"}, "offset": {"20"}, "count": {"true"}, "locale": {"de"}},
			call: func(ctx context.Context, c *Client) error {
				p, err := c.ListConnectors(ctx, ListQuery{Filters: `name sw "A&B#"`, Limit: 10, Offset: 20, Count: true, Locale: "de"})
				got = p
				return err
			},
			respond: func(w http.ResponseWriter) {
				w.Header().Set("X-Total-Count", "42")
				writeJSON(w, 200, `[{"name":"A","scriptName":"a","status":"RELEASED","directConnect":true}]`)
			},
			checkResp: func(t *testing.T, got any) {
				want := Page{Total: 42, Items: []V3ConnectorDto{{Name: "A", ScriptName: "a", Status: "RELEASED", DirectConnect: true}}}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("page (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "list without count", method: "GET", path: "/connectors", query: url.Values{},
			call: func(ctx context.Context, c *Client) error {
				p, err := c.ListConnectors(ctx, ListQuery{})
				got = p
				return err
			},
			respond: func(w http.ResponseWriter) { w.Header().Set("X-Total-Count", "7"); writeJSON(w, 200, `[]`) },
			checkResp: func(t *testing.T, got any) {
				if p := got.(Page); p.Total != -1 || len(p.Items) != 0 {
					t.Errorf("page = %+v, want Total -1 and no items", p)
				}
			},
		},
		{
			name: "create", method: "POST", path: "/connectors", ctype: "application/json",
			body: `{"name":"Acme","className":"sailpoint.connector.OpenConnectorAdapter","directConnect":true,"status":"DEVELOPMENT"}`,
			call: func(ctx context.Context, c *Client) error {
				dc := true
				out, err := c.CreateConnector(ctx, V3CreateConnectorDto{Name: "Acme", ClassName: "sailpoint.connector.OpenConnectorAdapter", DirectConnect: &dc, Status: "DEVELOPMENT"})
				got = out
				return err
			},
			respond: func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"name":"Acme","scriptName":"acme-42","status":"DEVELOPMENT","directConnect":true}`)
			},
			checkResp: func(t *testing.T, got any) {
				if g := got.(V3ConnectorDto); g.ScriptName != "acme-42" {
					t.Errorf("scriptName = %q, want the server's acme-42", g.ScriptName)
				}
			},
		},
		{
			name: "get detail", method: "GET", path: "/connectors/acme%20dir%2Fv1%25", query: url.Values{"locale": {"fr"}},
			call: func(ctx context.Context, c *Client) error {
				d, raw, err := c.GetConnector(ctx, weird, "fr")
				got = [2]any{d, raw}
				return err
			},
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, detail) },
			checkResp: func(t *testing.T, got any) {
				pair := got.([2]any)
				if d := pair[0].(*ConnectorDetail); d.Name != "Acme" || !d.DirectConnect {
					t.Errorf("detail = %+v", d)
				}
				if raw := pair[1].(json.RawMessage); string(raw) != detail {
					t.Errorf("raw = %s, want the body byte for byte", raw)
				}
			},
		},
		{
			name: "delete", method: "DELETE", path: "/connectors/acme%20dir%2Fv1%25",
			call:    func(ctx context.Context, c *Client) error { return c.DeleteConnector(ctx, weird) },
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		},
		{
			name: "patch", method: "PATCH", path: "/connectors/acme%20dir%2Fv1%25", ctype: "application/json-patch+json",
			body: `[{"op":"replace","path":"/connectorMetadata","value":{"shortDesc":"x"}}]`,
			call: func(ctx context.Context, c *Client) error {
				d, err := c.PatchConnector(ctx, weird, []JsonPatchOperation{{Op: "replace", Path: "/connectorMetadata", Value: map[string]any{"shortDesc": "x"}}})
				got = d
				return err
			},
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, detail) },
		},
	}
	for _, doc := range Documents {
		cases = append(cases,
			tc{
				name: "get " + string(doc), method: "GET", path: "/connectors/acme%20dir%2Fv1%25/" + string(doc),
				call: func(ctx context.Context, c *Client) error {
					b, err := c.GetDocument(ctx, weird, doc)
					got = b
					return err
				},
				respond: func(w http.ResponseWriter) {
					w.Header().Set("Content-Type", "application/xml")
					w.Write(xmlDoc)
				},
				checkResp: func(t *testing.T, got any) {
					if !bytes.Equal(got.([]byte), xmlDoc) {
						t.Errorf("document = %q, want the body byte for byte", got)
					}
				},
			},
			tc{
				name: "put " + string(doc), method: "PUT", path: "/connectors/acme%20dir%2Fv1%25/" + string(doc), ctype: "multipart", filename: string(doc) + ".xml",
				call: func(ctx context.Context, c *Client) error {
					ud, err := c.PutDocument(ctx, weird, doc, xmlDoc)
					got = ud
					return err
				},
				respond: func(w http.ResponseWriter) { writeJSON(w, 200, updated) },
				checkResp: func(t *testing.T, got any) {
					if ud := got.(*UpdateDetail); ud.Status != UpdateUpdated {
						t.Errorf("status = %q", ud.Status)
					}
				},
			})
	}
	props := []byte("key=Wert mit Ümlaut\r\nother=\\u00e9\n")
	cases = append(cases,
		tc{
			name: "get translation", method: "GET", path: "/connectors/acme%20dir%2Fv1%25/translations/zh-TW",
			call: func(ctx context.Context, c *Client) error {
				b, err := c.GetTranslation(ctx, weird, "zh-TW")
				got = b
				return err
			},
			respond: func(w http.ResponseWriter) { w.Header().Set("Content-Type", "text/plain"); w.Write(props) },
			checkResp: func(t *testing.T, got any) {
				if !bytes.Equal(got.([]byte), props) {
					t.Errorf("translation = %q", got)
				}
			},
		},
		tc{
			name: "put translation", method: "PUT", path: "/connectors/acme%20dir%2Fv1%25/translations/zh-TW", ctype: "multipart", filename: "zh-TW.properties",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.PutTranslation(ctx, weird, "zh-TW", props)
				return err
			},
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, updated) },
		})

	for _, version := range Layouts {
		for _, tc := range cases {
			t.Run(version+"/"+tc.name, func(t *testing.T) {
				f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { tc.respond(w) })
				c := newTestClient(t, f, func(cfg *Config) { cfg.APIVersion = version })
				got = nil
				if err := tc.call(context.Background(), c); err != nil {
					t.Fatalf("call: %v", err)
				}
				reqs := f.requests()
				if len(reqs) != 1 {
					t.Fatalf("server saw %d requests, want 1", len(reqs))
				}
				r := reqs[0]
				want := apiPath(version, tc.path)
				if version == VersionV3 && tc.name == "put correlation-config" {
					// The v3 spec no longer publishes this route: the
					// write goes through the per-service layout.
					want = apiPath(VersionV1, tc.path)
				}
				if r.Method != tc.method || r.Path != want {
					t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, tc.method, want)
				}
				if !strings.HasPrefix(r.Auth, "Bearer TOKEN-") {
					t.Errorf("Authorization = %q, want a bearer token", r.Auth)
				}
				if tc.query != nil {
					q, _ := url.ParseQuery(r.Query)
					if d := cmp.Diff(tc.query, q); d != "" {
						t.Errorf("query (-want +got):\n%s", d)
					}
				}
				switch tc.ctype {
				case "":
					if len(r.Body) != 0 {
						t.Errorf("unexpected body %q", r.Body)
					}
				case "multipart":
					name, data := onlyPart(t, r)
					if name != tc.filename {
						t.Errorf("filename = %q, want %q", name, tc.filename)
					}
					want := xmlDoc
					if strings.Contains(tc.path, "translations") {
						want = props
					}
					if !bytes.Equal(data, want) {
						t.Errorf("part file = %q, want the bytes exactly as given %q", data, want)
					}
				default:
					if r.ContentType != tc.ctype {
						t.Errorf("Content-Type = %q, want %q", r.ContentType, tc.ctype)
					}
					var g, w any
					json.Unmarshal(r.Body, &g)
					json.Unmarshal([]byte(tc.body), &w)
					if d := cmp.Diff(w, g); d != "" {
						t.Errorf("body (-want +got):\n%s", d)
					}
				}
				if tc.checkResp != nil {
					tc.checkResp(t, got)
				}
			})
		}
	}
}

// onlyPart checks that the body is multipart/form-data with exactly one part,
// named file, and returns its filename and bytes.
func onlyPart(t *testing.T, r seen) (filename string, data []byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.ContentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type = %q, want multipart/form-data", r.ContentType)
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	n := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		n++
		if p.FormName() != "file" {
			t.Errorf("part name = %q, want file", p.FormName())
		}
		filename = p.FileName()
		data, _ = io.ReadAll(p)
	}
	if n != 1 {
		t.Errorf("%d parts, want 1", n)
	}
	return filename, data
}

func TestAllConnectorsPaging(t *testing.T) {
	for _, total := range []int{0, 1, 249, 250, 251, 600} {
		t.Run("", func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				q := r.URL.Query()
				off, lim := atoi(q.Get("offset")), atoi(q.Get("limit"))
				var items []V3ConnectorDto
				for i := off; i < total && i < off+lim; i++ {
					items = append(items, V3ConnectorDto{Name: "c", ScriptName: "s" + itoa(i)})
				}
				b, _ := json.Marshal(append([]V3ConnectorDto{}, items...))
				writeJSON(w, 200, string(b))
			})
			c := newTestClient(t, f, nil)
			var names []string
			for it, err := range c.AllConnectors(context.Background(), `type eq "x"`, "en") {
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, it.ScriptName)
			}
			if len(names) != total {
				t.Fatalf("got %d connectors, want %d", len(names), total)
			}
			for i, n := range names {
				if n != "s"+itoa(i) {
					t.Fatalf("item %d = %s, out of order or duplicated", i, n)
				}
			}
			reqs := f.requests()
			if want := total/MaxPageSize + 1; len(reqs) != want {
				t.Errorf("%d list requests, want %d (stop on the first short page)", len(reqs), want)
			}
			for i, r := range reqs {
				q, _ := url.ParseQuery(r.Query)
				if q.Get("limit") != "250" || atoi(q.Get("offset")) != i*MaxPageSize || q.Get("filters") != `type eq "x"` || q.Get("locale") != "en" {
					t.Errorf("page %d query = %s", i, r.Query)
				}
			}
		})
	}
}

func TestAllConnectorsStopsOnError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 400, `{"detailCode":"400.1 Bad Request Content","trackingId":"t1","messages":[{"text":"bad filter"}]}`)
	})
	c := newTestClient(t, f, nil)
	var errs int
	for _, err := range c.AllConnectors(context.Background(), "nonsense", "") {
		if err == nil {
			t.Fatal("item yielded from a failing list")
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d errors yielded, want 1", errs)
	}
}

func TestBadInputsFailBeforeSending(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { t.Error("request sent for bad input") })
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	calls := map[string]func() error{
		"limit":     func() error { _, err := c.ListConnectors(ctx, ListQuery{Limit: 251}); return err },
		"offset":    func() error { _, err := c.ListConnectors(ctx, ListQuery{Offset: -1}); return err },
		"no name":   func() error { _, err := c.CreateConnector(ctx, V3CreateConnectorDto{ClassName: "x"}); return err },
		"no class":  func() error { _, err := c.CreateConnector(ctx, V3CreateConnectorDto{Name: "x"}); return err },
		"script":    func() error { _, _, err := c.GetConnector(ctx, "", ""); return err },
		"document":  func() error { _, err := c.GetDocument(ctx, "s", "application-xml"); return err },
		"locale":    func() error { _, err := c.PutTranslation(ctx, "s", "", nil); return err },
		"patch ops": func() error { _, err := c.PatchConnector(ctx, "s", nil); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestUpdateDetailError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, `{"message":"unsupported xsd version","scriptName":"acme","status":"ERROR"}`)
	})
	c := newTestClient(t, f, nil)
	ud, err := c.PutDocument(context.Background(), "acme", SourceConfig, xmlDoc)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrUpdateFailed) {
		t.Fatalf("err = %v, want an *Error wrapping ErrUpdateFailed", err)
	}
	if e.ScriptName != "acme" || e.Op != "put source-config" || len(e.Messages) != 1 || e.Messages[0] != "unsupported xsd version" {
		t.Errorf("error = %+v", e)
	}
	if !strings.Contains(err.Error(), "unsupported xsd version") || !strings.Contains(err.Error(), `"acme"`) {
		t.Errorf("message %q lacks the server's message or the connector", err)
	}
	if ud == nil || ud.Status != UpdateError {
		t.Errorf("UpdateDetail = %+v, want it returned alongside the error", ud)
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("%d requests, want 1: a refused document is not retried", got)
	}
}

func TestContentTypeChecks(t *testing.T) {
	html := "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please log in</body></html>"
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, html)
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	_, err := c.ListConnectors(ctx, ListQuery{})
	if err == nil || !strings.Contains(err.Error(), "expected JSON") || !strings.Contains(err.Error(), "Sign in") {
		t.Errorf("list of HTML: err = %v, want a clear content-type error with the page's text", err)
	}
	_, err = c.GetDocument(ctx, "acme", SourceTemplate)
	if err == nil || !strings.Contains(err.Error(), "expected a document") {
		t.Errorf("document of HTML: err = %v", err)
	}
	if got := len(f.requests()); got != 2 {
		t.Errorf("%d requests, want 2 (no retries)", got)
	}
}

func TestDeleteRepeatFindsItGone(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			writeJSON(w, 504, `{"detailCode":"504","messages":[{"text":"gateway timeout"}]}`)
			return
		}
		writeJSON(w, 404, `{"detailCode":"404 Not found","trackingId":"t","messages":[{"text":"not found"}]}`)
	})
	c := newTestClient(t, f, nil)
	if err := c.DeleteConnector(context.Background(), "acme"); err != nil {
		t.Errorf("delete whose repeat finds it gone: %v", err)
	}
	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 404, `{"detailCode":"404 Not found","messages":[{"text":"not found"}]}`)
	})
	c2 := newTestClient(t, f2, nil)
	if err := c2.DeleteConnector(context.Background(), "acme"); !IsNotFound(err) {
		t.Errorf("first-attempt 404: err = %v, want not found", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
