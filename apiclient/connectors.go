package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPageSize is the largest limit the list accepts, and the page size of
// AllConnectors.
const MaxPageSize = 250

// ListQuery holds the list parameters. Zero values are left out of the
// request, so the server's defaults apply (limit 250, offset 0).
type ListQuery struct {
	Filters string // e.g. `name sw "Acme"`, see the spec's filter grammar
	Limit   int    // 0..250; 0 leaves it to the server
	Offset  int
	Count   bool // ask for X-Total-Count
	Locale  string
}

// Page is one page of the list. Total is the X-Total-Count header, or -1 when
// it was not asked for or not sent.
type Page struct {
	Items []V3ConnectorDto
	Total int
}

const (
	acceptJSON = "application/json"
	acceptXML  = "application/xml, text/xml;q=0.9, application/json;q=0.5, */*;q=0.1"
	acceptText = "text/plain, application/json;q=0.5, */*;q=0.1"
)

// ListConnectors fetches one page. The server lists only RELEASED connectors.
func (c *Client) ListConnectors(ctx context.Context, q ListQuery) (Page, error) {
	return c.listIn(ctx, "", q)
}

// listIn is ListConnectors through layout version ("" for the chosen one).
func (c *Client) listIn(ctx context.Context, version string, q ListQuery) (Page, error) {
	if q.Limit < 0 || q.Limit > MaxPageSize {
		return Page{}, fmt.Errorf("list connectors: limit %d is outside 0..%d", q.Limit, MaxPageSize)
	}
	if q.Offset < 0 {
		return Page{}, fmt.Errorf("list connectors: offset %d is negative", q.Offset)
	}
	v := url.Values{}
	if q.Filters != "" {
		v.Set("filters", q.Filters)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Count {
		v.Set("count", "true")
	}
	if q.Locale != "" {
		v.Set("locale", q.Locale)
	}
	r := &request{op: "list connectors", method: http.MethodGet, path: "/connectors", query: v, accept: acceptJSON, version: version}
	resp, err := c.do(ctx, r, &budget{})
	if err != nil {
		return Page{}, err
	}
	var items []V3ConnectorDto
	if err := c.decodeJSON(r, resp, &items); err != nil {
		return Page{}, err
	}
	p := Page{Items: items, Total: -1}
	if q.Count {
		if n, err := strconv.Atoi(strings.TrimSpace(resp.header.Get("X-Total-Count"))); err == nil && n >= 0 {
			p.Total = n
		}
	}
	return p, nil
}

// AllConnectors pages through the whole list, MaxPageSize at a time, and
// stops after the first short page. Each connector is yielded once; a server
// that pages wrong (repeats, no end) ends the sequence with ErrEndlessList
// (pageAll); an X-Total-Count the pages contradict is logged as a warning. An error is yielded once and ends
// the sequence.
func (c *Client) AllConnectors(ctx context.Context, filters, locale string) iter.Seq2[V3ConnectorDto, error] {
	return func(yield func(V3ConnectorDto, error) bool) {
		fetch := func(ctx context.Context, offset int) (Page, error) {
			return c.ListConnectors(ctx, ListQuery{Filters: filters, Limit: MaxPageSize, Offset: offset, Locale: locale, Count: true})
		}
		warn := func(msg string) { c.log.WarnContext(ctx, msg) }
		pageAll(ctx, fetch, MaxPageSize, MaxListPages, warn, yield)
	}
}

// CreateConnector creates a custom connector and returns it with the
// scriptName the server derived from its name.
//
// A create is never sent twice blindly. After an ambiguous failure (5xx,
// dropped connection, timeout) the connector is looked up by exact name
// first (findCreated: the list, which shows RELEASED connectors only, then
// probes of the scriptNames the server is likely to have derived), and
// returned if the failed attempt did create it. When a lookup fails, or a
// later attempt is refused as a duplicate, the error wraps
// ErrCreateOutcomeUnknown and tells the user to check the tenant.
//
// An answer must name the connector asked for (checkCreated): one naming
// another connector is ErrWrongConnector, and nothing is done with it.
func (c *Client) CreateConnector(ctx context.Context, in V3CreateConnectorDto) (V3ConnectorDto, error) {
	if strings.TrimSpace(in.Name) == "" {
		return V3ConnectorDto{}, errors.New("create connector: name is empty")
	}
	if strings.TrimSpace(in.ClassName) == "" {
		return V3ConnectorDto{}, fmt.Errorf("create connector (name %q): className is empty; sailpoint.connector.OpenConnectorAdapter is the usual value", in.Name)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return V3ConnectorDto{}, fmt.Errorf("create connector (name %q): encode body: %w", in.Name, err)
	}
	r := &request{op: "create connector", name: in.Name, method: http.MethodPost, path: "/connectors",
		body: body, contentType: "application/json", accept: acceptJSON, create: true}
	b := &budget{}
	var firstAmbiguous *Error
	for {
		resp, err := c.do(ctx, r, b)
		if err == nil {
			var out V3ConnectorDto
			if err := c.decodeJSON(r, resp, &out); err != nil {
				return V3ConnectorDto{}, err
			}
			if err := c.wrongConnector(r, resp, checkCreated(in.Name, out)); err != nil {
				return V3ConnectorDto{}, err
			}
			return out, nil
		}
		var amb *ambiguousError
		if errors.As(err, &amb) {
			if firstAmbiguous == nil {
				firstAmbiguous = amb.err
			}
			found, lerr := c.findCreated(ctx, in.Name)
			if lerr != nil {
				return V3ConnectorDto{}, outcomeUnknown(amb.err, fmt.Sprintf("looking it up by name failed too (%v)", lerr))
			}
			if found != nil {
				c.log.InfoContext(ctx, "apiclient: create failed in transit but the connector exists; using it", "name", in.Name, "scriptName", found.ScriptName)
				return *found, nil
			}
			notListed := "neither the list nor a probe of the likely scriptNames finds it"
			if b.attempts >= c.maxAttempts {
				return V3ConnectorDto{}, outcomeUnknown(amb.err, notListed)
			}
			wait := backoff(c.backoffBase, c.backoffMax, b.attempts)
			if wait > c.maxWait {
				return V3ConnectorDto{}, outcomeUnknown(amb.err, notListed)
			}
			b.waited += wait
			c.retries.Add(1)
			if err := c.clock.Sleep(ctx, wait); err != nil {
				amb.err.Err = err
				return V3ConnectorDto{}, amb.err
			}
			continue
		}
		var apiErr *Error
		if firstAmbiguous != nil && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest && looksLikeDuplicate(apiErr) {
			// The earlier attempt most likely went through; give the list
			// one more chance (it may have lagged) before saying so.
			if found, lerr := c.findCreated(ctx, in.Name); lerr == nil && found != nil {
				return *found, nil
			}
			return V3ConnectorDto{}, outcomeUnknown(apiErr, "the server now says it already exists, but neither the list nor a probe of the likely scriptNames finds it")
		}
		return V3ConnectorDto{}, err
	}
}

func outcomeUnknown(e *Error, why string) error {
	cp := *e
	cp.Err = fmt.Errorf("%w: %s", ErrCreateOutcomeUnknown, why)
	cp.Hint = joinHint(cp.Hint, fmt.Sprintf("An earlier attempt failed in transit and may have created connector %q: check the tenant before retrying", e.Name))
	return &cp
}

// looksLikeDuplicate recognises a refusal because the name is taken. The
// wording is not documented, so it matches loosely.
func looksLikeDuplicate(e *Error) bool {
	text := strings.ToLower(strings.Join(append([]string{e.DetailCode, e.Snippet}, e.Messages...), " "))
	for _, w := range []string{"exist", "duplicate", "unique", "already", "in use", "taken"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// findByName returns the listed connector whose name is exactly name, or nil.
func (c *Client) findByName(ctx context.Context, name string) (*V3ConnectorDto, error) {
	for it, err := range c.AllConnectors(ctx, `name sw "`+quoteFilter(name)+`"`, "") {
		if err != nil {
			return nil, err
		}
		if it.Name == name {
			return &it, nil
		}
	}
	return nil, nil
}

// quoteFilter escapes a string for a double-quoted filter value. The URL
// encoding of the query takes care of #, % and &.
func quoteFilter(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// GetConnector fetches a connector's detail. The raw body is returned too, so
// an archive keeps exactly what the server sent.
func (c *Client) GetConnector(ctx context.Context, scriptName, locale string) (*ConnectorDetail, json.RawMessage, error) {
	r, resp, err := c.getDetail(ctx, scriptName, locale)
	if err != nil {
		return nil, nil, err
	}
	var d ConnectorDetail
	if err := c.decodeJSON(r, resp, &d); err != nil {
		return nil, nil, err
	}
	return &d, json.RawMessage(resp.body), nil
}

// GetConnectorRaw is GetConnector without decoding the answer: the JSON body
// as the server sent it (its content type checked). Export decodes a detail
// once into its own canonical form, and a detail carries every document, so a
// second decode here would double the CPU cost of a large backup.
func (c *Client) GetConnectorRaw(ctx context.Context, scriptName, locale string) (json.RawMessage, error) {
	r, resp, err := c.getDetail(ctx, scriptName, locale)
	if err != nil {
		return nil, err
	}
	if mt := mediaType(resp.header); mt != "" && !strings.Contains(mt, "json") {
		return nil, c.contentError(r, resp, "JSON")
	}
	return json.RawMessage(resp.body), nil
}

func (c *Client) getDetail(ctx context.Context, scriptName, locale string) (*request, *response, error) {
	if err := checkScriptName("get connector", scriptName); err != nil {
		return nil, nil, err
	}
	var q url.Values
	if locale != "" {
		q = url.Values{"locale": {locale}}
	}
	r := &request{op: "get connector", scriptName: scriptName, method: http.MethodGet, path: connectorPath(scriptName), query: q, accept: acceptJSON}
	resp, err := c.do(ctx, r, &budget{})
	if err == nil {
		err = c.wrongConnector(r, resp, checkDetailFor(r.op, scriptName, resp.body))
	}
	return r, resp, err
}

// DeleteConnector deletes a connector. If a repeat after a lost answer finds
// it already gone, that counts as done.
func (c *Client) DeleteConnector(ctx context.Context, scriptName string) error {
	if err := checkScriptName("delete connector", scriptName); err != nil {
		return err
	}
	r := &request{op: "delete connector", scriptName: scriptName, method: http.MethodDelete, path: connectorPath(scriptName), accept: acceptJSON}
	b := &budget{}
	_, err := c.do(ctx, r, b)
	if err != nil && b.attempts > 1 && IsNotFound(err) {
		return nil
	}
	return err
}

// PatchConnector applies JSON-patch operations (application/json-patch+json)
// and returns the updated detail. Only PatchableFields can be patched. A
// patch that is not idempotent (remove, move, copy, array append) is not
// repeated after an ambiguous failure.
func (c *Client) PatchConnector(ctx context.Context, scriptName string, ops []JsonPatchOperation) (*ConnectorDetail, error) {
	if err := checkScriptName("patch connector", scriptName); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("patch connector %q: no operations", scriptName)
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("patch connector %q: encode operations: %w", scriptName, err)
	}
	r := &request{op: "patch connector", scriptName: scriptName, method: http.MethodPatch, path: connectorPath(scriptName),
		body: body, contentType: "application/json-patch+json", accept: acceptJSON, once: !idempotentPatch(ops)}
	resp, err := c.do(ctx, r, &budget{})
	if err != nil {
		return nil, err
	}
	var d ConnectorDetail
	if err := c.decodeJSON(r, resp, &d); err != nil {
		return nil, err
	}
	if d.ScriptName != "" && d.ScriptName != scriptName {
		return nil, c.wrongConnector(r, resp, fmt.Errorf("%w: the answer to the patch is the detail of scriptName %s, not %q; not counted as written",
			ErrWrongConnector, quoteShort(d.ScriptName), scriptName))
	}
	return &d, nil
}

// idempotentPatch reports whether applying ops twice equals applying them
// once: replace and test always, add unless it appends to an array. Restore
// patches with replace only; anything else is not repeated after an
// ambiguous failure.
func idempotentPatch(ops []JsonPatchOperation) bool {
	for _, op := range ops {
		switch op.Op {
		case "replace", "test":
		case "add":
			if strings.HasSuffix(op.Path, "/-") {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// GetDocument fetches one XML document, byte for byte as served.
func (c *Client) GetDocument(ctx context.Context, scriptName string, doc Document) ([]byte, error) {
	b, _, err := c.GetDocumentVia(ctx, scriptName, doc)
	return b, err
}

// GetDocumentVia is GetDocument that also says which layout served the
// document: the chosen one, unless this run found that the chosen one lacks
// the route and another serves it (see GetDocumentElsewhere).
func (c *Client) GetDocumentVia(ctx context.Context, scriptName string, doc Document) ([]byte, string, error) {
	op := "get " + string(doc)
	if err := checkDocument(op, scriptName, doc); err != nil {
		return nil, "", err
	}
	if _, err := c.ResolveAPIVersion(ctx); err != nil {
		return nil, "", err
	}
	v := c.routeLayouts(doc, true)[0]
	r := &request{op: op, scriptName: scriptName, method: http.MethodGet, path: connectorPath(scriptName) + "/" + string(doc), accept: acceptXML, version: v}
	b, err := c.getRaw(ctx, r)
	return b, v, err
}

// PutDocument replaces one XML document; data goes out exactly as given, as
// the multipart part "file". An answer of HTTP 200 with status ERROR returns
// the UpdateDetail together with an *Error wrapping ErrUpdateFailed.
//
// A document whose route the chosen layout does not publish
// (correlation-config in v3) is written through a layout that does; a
// layout answering 404 is followed by the next one that publishes the
// route, and the one that took the document takes the rest of the run's.
// When every layout answers 404, a correlation-config is written as the
// detail's correlationConfigXml (PATCH, one of the four patchable fields);
// a 404 there too means the connector is gone, and the PUT's first 404 is
// returned.
func (c *Client) PutDocument(ctx context.Context, scriptName string, doc Document, data []byte) (*UpdateDetail, error) {
	op := "put " + string(doc)
	if err := checkDocument(op, scriptName, doc); err != nil {
		return nil, err
	}
	if _, err := c.ResolveAPIVersion(ctx); err != nil {
		return nil, err
	}
	path := connectorPath(scriptName) + "/" + string(doc)
	if doc != CorrelationConfig {
		return c.putFile(ctx, op, scriptName, path, string(doc)+".xml", data, "")
	}
	var tried []string
	var first error
	for _, v := range c.routeLayouts(doc, false) {
		ud, err := c.putFile(ctx, op, scriptName, path, string(doc)+".xml", data, v)
		if !IsNotFound(err) {
			if err == nil && len(tried) > 0 {
				c.log.DebugContext(ctx, "apiclient: correlation-config written through another layout", "scriptName", scriptName, "apiVersion", v, "lacking", tried)
			}
			if err == nil || ud != nil {
				c.learnRoute(doc, tried, v)
			}
			return ud, err
		}
		if first == nil {
			first = err
		}
		tried = append(tried, v)
	}
	if !utf8.Valid(data) {
		// A JSON string cannot carry these bytes unchanged.
		return nil, first
	}
	d, err := c.PatchConnector(ctx, scriptName, []JsonPatchOperation{{Op: "replace", Path: "/correlationConfigXml", Value: string(data)}})
	if err != nil {
		if IsNotFound(err) {
			return nil, first
		}
		return nil, err
	}
	if d.CorrelationConfigXML != string(data) {
		e := &Error{Op: op, ScriptName: scriptName, Method: http.MethodPatch, Path: c.pathOf(&request{path: connectorPath(scriptName)}), StatusCode: http.StatusOK, Err: ErrUpdateFailed}
		addMessage(e, "no API layout serves the correlation-config route, and the detail patched with correlationConfigXml does not carry it back")
		return nil, e
	}
	// The connector exists: every layout that answered 404 lacks the route.
	c.lay.mu.Lock()
	for _, v := range tried {
		c.lay.missing[docRoute{v, doc}] = true
	}
	c.lay.mu.Unlock()
	c.log.DebugContext(ctx, "apiclient: correlation-config written as correlationConfigXml: no layout serves its route", "scriptName", scriptName, "lacking", tried)
	return &UpdateDetail{Message: "correlation-config written as the detail's correlationConfigXml (PATCH): no API layout serves its route",
		ScriptName: scriptName, Status: UpdateUpdated}, nil
}

// GetTranslation fetches the properties text of one locale.
func (c *Client) GetTranslation(ctx context.Context, scriptName, locale string) ([]byte, error) {
	op := "get translations"
	if err := checkLocale(op, scriptName, locale); err != nil {
		return nil, err
	}
	r := &request{op: op, scriptName: scriptName, method: http.MethodGet, path: translationPath(scriptName, locale), accept: acceptText}
	return c.getRaw(ctx, r)
}

// PutTranslation replaces the properties text of one locale, as the
// multipart part "file" named <locale>.properties. Status ERROR is handled as
// in PutDocument.
func (c *Client) PutTranslation(ctx context.Context, scriptName, locale string, data []byte) (*UpdateDetail, error) {
	op := "put translations"
	if err := checkLocale(op, scriptName, locale); err != nil {
		return nil, err
	}
	return c.putFile(ctx, op, scriptName, translationPath(scriptName, locale), locale+".properties", data, "")
}

func connectorPath(scriptName string) string { return "/connectors/" + url.PathEscape(scriptName) }

func translationPath(scriptName, locale string) string {
	return connectorPath(scriptName) + "/translations/" + url.PathEscape(locale)
}

func checkScriptName(op, scriptName string) error {
	if scriptName == "" {
		return fmt.Errorf("%s: scriptName is empty", op)
	}
	return nil
}

func checkDocument(op, scriptName string, doc Document) error {
	if err := checkScriptName(op, scriptName); err != nil {
		return err
	}
	if !slices.Contains(Documents, doc) {
		return fmt.Errorf("%s %q: unknown document %q; use %s, %s or %s", op, scriptName, doc, SourceConfig, SourceTemplate, CorrelationConfig)
	}
	return nil
}

func checkLocale(op, scriptName, locale string) error {
	if err := checkScriptName(op, scriptName); err != nil {
		return err
	}
	if locale == "" {
		return fmt.Errorf("%s %q: locale is empty", op, scriptName)
	}
	return nil
}

// getRaw fetches a document body. Any text type is accepted; an HTML page
// is refused, because at HTTP 200 it is a proxy or login page, not a document.
func (c *Client) getRaw(ctx context.Context, r *request) ([]byte, error) {
	resp, err := c.do(ctx, r, &budget{})
	if err != nil {
		return nil, err
	}
	if mt := mediaType(resp.header); mt == "text/html" {
		return nil, c.contentError(r, resp, "a document")
	}
	return resp.body, nil
}

// putFile PUTs data as the multipart part "file" to path in layout version
// ("" for the chosen one).
func (c *Client) putFile(ctx context.Context, op, scriptName, path, filename string, data []byte, version string) (*UpdateDetail, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreateFormFile("file", filename)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: build multipart body: %w", op, scriptName, err)
	}
	r := &request{op: op, scriptName: scriptName, method: http.MethodPut, path: path,
		body: buf.Bytes(), contentType: w.FormDataContentType(), accept: acceptJSON, version: version}
	resp, err := c.do(ctx, r, &budget{})
	if err != nil {
		return nil, err
	}
	var ud UpdateDetail
	if err := c.decodeJSON(r, resp, &ud); err != nil {
		return nil, err
	}
	if strings.EqualFold(ud.Status, UpdateError) {
		e := &Error{Op: op, ScriptName: scriptName, Method: r.method, Path: c.pathOf(r), StatusCode: resp.status, Err: ErrUpdateFailed}
		if ud.Message != "" {
			addMessage(e, ud.Message)
		}
		return &ud, e
	}
	if err := c.wrongConnector(r, resp, checkUpdate(scriptName, &ud)); err != nil {
		return nil, err
	}
	return &ud, nil
}

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(h.Get("Content-Type")))
	}
	return mt
}

// decodeJSON decodes a JSON answer. A missing content type is tolerated;
// a non-JSON one (an HTML page at HTTP 200) is an error.
func (c *Client) decodeJSON(r *request, resp *response, v any) error {
	if mt := mediaType(resp.header); mt != "" && !strings.Contains(mt, "json") {
		return c.contentError(r, resp, "JSON")
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		e := c.answerError(r, resp)
		e.Err = fmt.Errorf("decode answer: %w", err)
		return e
	}
	return nil
}

func (c *Client) contentError(r *request, resp *response, want string) error {
	e := c.answerError(r, resp)
	e.Err = fmt.Errorf("expected %s but the server sent %q", want, resp.header.Get("Content-Type"))
	return e
}

func (c *Client) answerError(r *request, resp *response) *Error {
	return &Error{Op: r.op, ScriptName: r.scriptName, Name: r.name, Method: r.method, Path: c.pathOf(r),
		StatusCode: resp.status, Snippet: c.scrub(snippet(resp.header.Get("Content-Type"), resp.body))}
}
