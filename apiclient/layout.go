package apiclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// API layouts. SailPoint publishes the Connectors API in two layouts: the
// yearly collections (/v3/connectors, /v2024/connectors, ...) and the
// per-service one (/connectors/v1), which the newest SDKs call and which is
// to outlive the yearly ones. The paths below the connector collection, the
// bodies and the answers are the same in both.
const (
	// VersionAuto lists through /connectors/v1 first and, when that route
	// itself answers 404, uses v3 for the rest of the run.
	VersionAuto = "auto"
	// VersionV1 is the per-service layout /connectors/v1.
	VersionV1 = "v1"
	// VersionV3 is the oldest yearly collection, the default of Config.
	VersionV3 = "v3"
)

// APIVersions are the values Config.APIVersion (and --api-version, and a
// tenant's apiVersion) accepts.
var APIVersions = []string{VersionAuto, VersionV1, VersionV3, "v2024", "v2025", "v2026"}

// Layouts are the concrete layouts, the per-service one first: auto resolves
// to one of them.
var Layouts = []string{VersionV1, VersionV3, "v2024", "v2025", "v2026"}

// fallbackOrder is the order in which other layouts are tried for a route
// the chosen one does not serve: the per-service layout, then the newest
// yearly collection first (the older ones are retired first), v3 last
// because its published spec no longer has correlation-config.
var fallbackOrder = []string{VersionV1, "v2026", "v2025", "v2024", VersionV3}

// Publishes reports whether the official spec of layout version publishes
// the route of doc. correlation-config was removed from the published v3
// spec in December 2024, while v2024 and later and /connectors/v1 keep it.
func Publishes(version string, doc Document) bool {
	return doc != CorrelationConfig || version != VersionV3
}

// collectionPath is the path of the connector collection in a layout.
func collectionPath(version string) string {
	if version == VersionV1 {
		return "/connectors/v1"
	}
	return "/" + version + "/connectors"
}

// apiPath is the full path of r in layout version; r.path is written below
// the version as the yearly layouts have it ("/connectors/...").
func apiPath(version, path string) string {
	return collectionPath(version) + strings.TrimPrefix(path, "/connectors")
}

// layouts is a client's knowledge of the tenant's layouts: the one chosen
// for the run and, per document route, the layout found to serve it when the
// chosen one does not.
type layouts struct {
	requested string
	sem       chan struct{} // one resolution at a time; ctx-aware unlike a mutex
	// elsewhere serialises lookups through other layouts: they are rare,
	// and the first one teaches the rest which layouts lack the route.
	elsewhere chan struct{}

	mu      sync.Mutex
	chosen  string              // "" until auto is resolved
	absent  map[string]bool     // layouts whose list answered 404
	missing map[docRoute]bool   // routes a layout was found not to serve
	served  map[Document]string // the layout that served a route the chosen one lacks
}

type docRoute struct {
	version string
	doc     Document
}

func newLayouts(requested string) *layouts {
	l := &layouts{requested: requested, sem: make(chan struct{}, 1), elsewhere: make(chan struct{}, 1),
		absent: map[string]bool{}, missing: map[docRoute]bool{}, served: map[Document]string{}}
	if requested != VersionAuto {
		l.chosen = requested
	}
	return l
}

func (l *layouts) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.chosen
}

// APIVersion is the layout requests go to: the configured one, or for auto
// the one resolved by the first request ("auto" until then).
func (c *Client) APIVersion() string {
	if v := c.lay.current(); v != "" {
		return v
	}
	return VersionAuto
}

// RequestedAPIVersion is the configured layout, possibly "auto".
func (c *Client) RequestedAPIVersion() string { return c.lay.requested }

// ResolveAPIVersion settles auto now, with a one-item list through
// /connectors/v1 unless a request already did, and returns the layout chosen.
func (c *Client) ResolveAPIVersion(ctx context.Context) (string, error) {
	if v := c.lay.current(); v != "" {
		return v, nil
	}
	probe := &request{op: "list connectors", method: http.MethodGet, path: "/connectors",
		query: url.Values{"limit": {"1"}}, accept: acceptJSON}
	if _, err := c.do(ctx, probe, &budget{}); err != nil {
		return "", err
	}
	return c.APIVersion(), nil
}

// resolve settles auto with r as the probe when r is a list (its answer is
// then the caller's), else with a one-item list. done reports that r has
// been answered (resp or err); otherwise the caller sends r in the layout
// now chosen.
func (c *Client) resolve(ctx context.Context, r *request, b *budget) (resp *response, done bool, err error) {
	select {
	case c.lay.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
	defer func() { <-c.lay.sem }()
	if c.lay.current() != "" {
		return nil, false, nil
	}
	isList := r.method == http.MethodGet && r.path == "/connectors"
	probe := *r
	pb := b
	if !isList {
		probe = request{op: "list connectors", method: http.MethodGet, path: "/connectors",
			query: url.Values{"limit": {"1"}}, accept: acceptJSON}
		pb = &budget{}
	}
	probe.version = VersionV1
	resp, err = c.send(ctx, &probe, pb)
	var apiErr *Error
	switch {
	case err == nil:
		c.choose(ctx, VersionV1, "")
		if isList {
			return resp, true, nil
		}
		return nil, false, nil
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && !apiErr.Token:
		c.lay.mu.Lock()
		c.lay.absent[VersionV1] = true
		c.lay.mu.Unlock()
		c.choose(ctx, VersionV3, "/connectors/v1 answered 404")
		return nil, false, nil
	default:
		return nil, true, err
	}
}

func (c *Client) choose(ctx context.Context, version, why string) {
	c.lay.mu.Lock()
	c.lay.chosen = version
	c.lay.mu.Unlock()
	if why == "" {
		c.log.InfoContext(ctx, "API layout chosen (--api-version auto): the per-service /connectors/v1", "apiVersion", version)
		return
	}
	c.log.InfoContext(ctx, "API layout chosen (--api-version auto): "+why+", so the versioned /v3 collection serves this run", "apiVersion", version)
}

// routeLayouts is the order in which layouts are asked for doc: the one found
// to serve it when the chosen one does not; else the chosen one when its spec
// publishes the route (or chosenFirst is set), then the others that publish
// it and were not found lacking, and the chosen one last if not yet listed.
func (c *Client) routeLayouts(doc Document, chosenFirst bool) []string {
	l := c.lay
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.served[doc]; ok {
		return []string{v}
	}
	var out []string
	if chosenFirst || Publishes(l.chosen, doc) {
		out = append(out, l.chosen)
	}
	for _, v := range fallbackOrder {
		if v == l.chosen || l.absent[v] || l.missing[docRoute{v, doc}] || !Publishes(v, doc) {
			continue
		}
		out = append(out, v)
	}
	if !slices.Contains(out, l.chosen) {
		out = append(out, l.chosen) // last resort: the route may still answer
	}
	return out
}

// learnRoute records that the layouts tried answered 404 for doc of a
// connector that layout served answered for: they lack the route, and served
// is asked first from now on.
func (c *Client) learnRoute(doc Document, tried []string, served string) {
	l := c.lay
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range tried {
		l.missing[docRoute{v, doc}] = true
	}
	if served != l.chosen {
		l.served[doc] = served
	}
}

// GetDocumentElsewhere fetches doc through the layouts other than the chosen
// one that publish its route, for a connector whose detail says it has the
// document while the chosen layout answered 404. It returns the bytes and the
// layout that served them, or a not-found error when none did. A layout found
// lacking the route is not asked again in this run, and the one that served
// it is asked first next time.
func (c *Client) GetDocumentElsewhere(ctx context.Context, scriptName string, doc Document) ([]byte, string, error) {
	op := "get " + string(doc)
	if err := checkDocument(op, scriptName, doc); err != nil {
		return nil, "", err
	}
	select {
	case c.lay.elsewhere <- struct{}{}:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	defer func() { <-c.lay.elsewhere }()
	chosen := c.APIVersion()
	tried := []string{chosen}
	var first error
	for _, v := range c.routeLayouts(doc, false) {
		if v == chosen {
			continue
		}
		r := &request{op: op, scriptName: scriptName, method: http.MethodGet, path: connectorPath(scriptName) + "/" + string(doc), accept: acceptXML, version: v}
		b, err := c.getRaw(ctx, r)
		if err == nil {
			c.learnRoute(doc, tried, v)
			return b, v, nil
		}
		if !IsNotFound(err) {
			return nil, "", err
		}
		if first == nil {
			first = err
		}
		tried = append(tried, v)
	}
	// The caller knows the connector has the document: every layout that
	// answered 404 lacks the route, and is not asked again in this run.
	c.lay.mu.Lock()
	for _, v := range tried {
		c.lay.missing[docRoute{v, doc}] = true
	}
	c.lay.mu.Unlock()
	if first == nil {
		first = &Error{Op: op, ScriptName: scriptName, Method: http.MethodGet, Path: apiPath(chosen, connectorPath(scriptName)+"/"+string(doc)),
			StatusCode: http.StatusNotFound, Err: errors.New("no other API layout serves this route")}
	}
	return nil, "", first
}
