// Package spectest checks a handler's traffic against the project's copies of
// the Connectors API spec, so that what passes against the sandbox is what
// the real API accepts: testdata/connectors-openapi.yaml for the yearly
// layouts (/v3, /v2024, /v2025, /v2026) and the token endpoint, and
// testdata/connectors-v1-openapi.yaml for the per-service layout
// /connectors/v1. It is imported by tests only.
//
// Rules Wrap applies to every exchange:
//   - A request the spec accepts gets its response validated: status declared
//     for the operation, headers and body matching their schemas.
//   - A request the spec rejects (bad parameter, body or missing bearer token,
//     unknown path) must be refused by the handler with a 4xx; a 2xx or 5xx
//     answer is a failure. The 4xx body is still validated when the operation
//     is known.
//   - Injected faults are exempt and logged as such: 503 answers marked with
//     sandbox.FaultHeader (the spec lists no 503) and dropped connections.
//     Injected 500s are validated like any answer, since the spec lists 500.
package spectest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/connvault/connvault/sandbox"
)

// maxBody bounds what Wrap buffers of one request body.
const maxBody = 256 << 20

var (
	loadOnce sync.Once
	router   routers.Router // the yearly layouts and the token endpoint
	routerV1 routers.Router // /connectors/v1
	loadErr  error
)

// SpecPath is the spec copy Wrap validates the yearly layouts against, found
// from this source file's location so tests in any package can use it.
func SpecPath() string { return testdataPath("connectors-openapi.yaml") }

// SpecPathV1 is the spec copy of the per-service layout /connectors/v1.
func SpecPathV1() string { return testdataPath("connectors-v1-openapi.yaml") }

func testdataPath(name string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", name)
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", name)
}

func load() (routers.Router, routers.Router, error) {
	loadOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/xml", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("multipart/form-data", multipartDecoder)
		router, loadErr = loadRouter(SpecPath())
		if loadErr == nil {
			routerV1, loadErr = loadRouter(SpecPathV1())
		}
	})
	return router, routerV1, loadErr
}

func loadRouter(path string) (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("spectest: load %s: %w", path, err)
	}
	// The upstream JsonPatchOperation example fails strict example
	// validation (NOTES.md), so examples are not checked.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("spectest: %s is not a valid spec: %w", path, err)
	}
	// Requests are routed by path alone (the yearly spec's paths are
	// matched with the version prefix stripped, since the same paths serve
	// /v3, /v2024, ...), so the specs' absolute server URLs are dropped.
	doc.Servers = nil
	for _, p := range doc.Paths.Map() {
		p.Servers = nil
	}
	return legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
}

var apiVersions = []string{"/v3/", "/v2024/", "/v2025/", "/v2026/"}

// multipartDecoder fills a gap in kin-openapi's multipart decoder, which
// refuses every part when the schema declares neither properties nor
// additionalProperties. PUT translations declares exactly that (a bare
// `type: object`), and JSON Schema allows any member there, so each part is
// then decoded as a string; other schemas go to the built-in decoder.
func multipartDecoder(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	s := schema.Value
	if s == nil || len(s.Properties) > 0 || len(s.AllOf) > 0 || s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil {
		return openapi3filter.MultipartBodyDecoder(body, h, schema, enc)
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(body, params["boundary"])
	obj := map[string]any{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return obj, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", p.FormName(), err)
		}
		obj[p.FormName()] = string(data)
	}
}

// Wrap returns h with every request and response checked against the spec;
// failures are reported with tb.Errorf.
func Wrap(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	rt, rtV1, err := load()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	// Reports must not outlive the test, so the test waits for handlers in flight.
	var inflight sync.WaitGroup
	tb.Cleanup(inflight.Wait)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Done()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			tb.Errorf("spectest: %s %s: cannot read request body: %v", r.Method, r.URL.Path, err)
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		reqErr, route, input := validateRequest(r, body, rt, rtV1)

		rec := &recorder{w: w, header: http.Header{}}
		h.ServeHTTP(rec, r)
		rec.finish()

		what := fmt.Sprintf("%s %s", r.Method, r.URL.RequestURI())
		if rec.hijacked {
			tb.Logf("spectest: %s: connection dropped by fault injection (exempt from validation)", what)
			return
		}
		if rec.header.Get(sandbox.FaultHeader) == "503" {
			tb.Logf("spectest: %s: injected 503 (exempt from validation: the spec lists no 503)", what)
			return
		}
		if reqErr != nil && (rec.status < 400 || rec.status > 499) {
			tb.Errorf("spectest: %s: the spec rejects this request (%v) but the handler answered %d", what, reqErr, rec.status)
		}
		if route == nil {
			return
		}
		rin := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input,
			Status:                 rec.status,
			Header:                 rec.header,
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		rin.SetBodyBytes(rec.body.Bytes())
		if err := openapi3filter.ValidateResponse(r.Context(), rin); err != nil {
			tb.Errorf("spectest: %s: response %d does not match the spec: %v\nbody: %s", what, rec.status, err, snippet(rec.body.Bytes()))
		}
	})
}

// validateRequest checks r against the spec of its layout. route is nil when
// no operation matches.
func validateRequest(r *http.Request, body []byte, rt, rtV1 routers.Router) (error, *routers.Route, *openapi3filter.RequestValidationInput) {
	vr := r.Clone(r.Context())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	u := *r.URL
	if u.Path == "/connectors/v1" || strings.HasPrefix(u.Path, "/connectors/v1/") {
		// The v1 spec's paths carry the whole prefix.
		rt = rtV1
	} else {
		for _, v := range apiVersions {
			if strings.HasPrefix(u.Path, v) {
				u.Path = u.Path[len(v)-1:]
				if u.RawPath != "" {
					u.RawPath = u.RawPath[len(v)-1:]
				}
				break
			}
		}
		if u.Path != "/oauth/token" && len(u.Path) == len(r.URL.Path) {
			return fmt.Errorf("path %s is not under /connectors/v1, /v3, /v2024, /v2025 or /v2026", r.URL.Path), nil, nil
		}
	}
	vr.URL = &u
	vr.RequestURI = ""
	route, params, err := rt.FindRoute(vr)
	if err != nil {
		return fmt.Errorf("no operation for %s %s: %w", r.Method, u.Path, err), nil, nil
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    vr,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: bearerPresent,
			MultiError:         false,
		},
	}
	err = openapi3filter.ValidateRequest(r.Context(), input)
	// ValidateRequest consumed the body; the response check reads the route only.
	return err, route, input
}

// bearerPresent is the spec-level check of userAuth: a bearer token must be
// sent. Whether it is valid is the handler's business (it answers 401).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, tok, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return errors.New("no bearer token in the Authorization header")
	}
	return nil
}

func snippet(b []byte) string {
	const max = 400
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// recorder passes the answer through to the client and keeps a copy.
type recorder struct {
	w           http.ResponseWriter
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
	hijacked    bool
}

func (rc *recorder) Header() http.Header { return rc.w.Header() }

func (rc *recorder) WriteHeader(code int) {
	if rc.wroteHeader {
		return
	}
	rc.wroteHeader = true
	rc.status = code
	rc.header = rc.w.Header().Clone()
	rc.w.WriteHeader(code)
}

func (rc *recorder) Write(p []byte) (int, error) {
	if !rc.wroteHeader {
		rc.WriteHeader(http.StatusOK)
	}
	rc.body.Write(p)
	return rc.w.Write(p)
}

func (rc *recorder) Flush() {
	if f, ok := rc.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (rc *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := rc.w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("spectest: underlying ResponseWriter cannot hijack")
	}
	rc.hijacked = true
	return hj.Hijack()
}

// finish records an implicit 200 for handlers that wrote nothing.
func (rc *recorder) finish() {
	if !rc.wroteHeader && !rc.hijacked {
		rc.status = http.StatusOK
		rc.header = rc.w.Header().Clone()
	}
}

// Start serves a new sandbox tenant built from opts behind Wrap on a free
// local port, and closes it when the test ends.
func Start(tb testing.TB, opts sandbox.Options) *sandbox.Server {
	tb.Helper()
	t := sandbox.New(opts)
	srv, err := sandbox.Serve(context.Background(), "", t, Wrap(tb, t))
	if err != nil {
		tb.Fatalf("spectest: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}
