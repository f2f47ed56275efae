package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Operation names are the spec's operationIds; Stats are keyed by them.
const (
	opList               = "getConnectorList"
	opCreate             = "createCustomConnector"
	opGet                = "getConnector"
	opDelete             = "deleteCustomConnector"
	opPatch              = "updateConnector"
	opGetSourceConfig    = "getConnectorSourceConfig"
	opPutSourceConfig    = "putConnectorSourceConfig"
	opGetSourceTemplate  = "getConnectorSourceTemplate"
	opPutSourceTemplate  = "putConnectorSourceTemplate"
	opGetTranslations    = "getConnectorTranslations"
	opPutTranslations    = "putConnectorTranslations"
	opGetCorrelation     = "getConnectorCorrelationConfig"
	opPutCorrelation     = "putConnectorCorrelationConfig"
	opToken              = "requestAccessToken"
	opUnknown            = "unknown"
	headerTotalCount     = "X-Total-Count"
	contentTypeJSON      = "application/json"
	contentTypeXML       = "application/xml;charset=utf-8"
	contentTypeText      = "text/plain;charset=utf-8"
	contentTypeJSONPatch = "application/json-patch+json"
)

// apiVersions are the yearly layouts, served as /{version}/connectors/...;
// the per-service layout is /connectors/v1/... (version "v1").
var apiVersions = map[string]bool{"v3": true, "v2024": true, "v2025": true, "v2026": true}

// Layouts are every layout the sandbox can serve, as Options.Layouts names them.
var Layouts = []string{"v1", "v3", "v2024", "v2025", "v2026"}

// localeEnum is the spec's locale enum, in the spec's order.
var localeEnum = []string{"de", "no", "fi", "sv", "ru", "pt", "ko", "zh-TW", "en", "it", "fr", "zh-CN", "hu", "es", "cs", "ja", "pl", "da", "nl"}

func validLocale(l string) bool {
	for _, v := range localeEnum {
		if v == l {
			return true
		}
	}
	return false
}

func isWrite(op string) bool {
	switch op {
	case opCreate, opDelete, opPatch, opPutSourceConfig, opPutSourceTemplate, opPutTranslations, opPutCorrelation:
		return true
	}
	return false
}

// docForOp maps a document operation to the stored document it concerns.
var docForOp = map[string]docKind{
	opGetSourceConfig: docSourceConfig, opPutSourceConfig: docSourceConfig,
	opGetSourceTemplate: docSourceTemplate, opPutSourceTemplate: docSourceTemplate,
	opGetCorrelation: docCorrelation, opPutCorrelation: docCorrelation,
}

type routed struct {
	op               string
	version          string
	scriptName       string
	locale           string
	methodNotAllowed bool
	allow            string
}

// route names the operation a request is for. ok is false for unknown paths
// and methods; op is then opUnknown.
func route(r *http.Request) (routed, bool) {
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return routed{op: opUnknown}, false
		}
		segs[i] = u
	}
	pick := func(rt routed, byMethod map[string]string) (routed, bool) {
		if op, ok := byMethod[r.Method]; ok {
			rt.op = op
			return rt, true
		}
		var allow []string
		for m := range byMethod {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		return routed{op: opUnknown, methodNotAllowed: true, allow: strings.Join(allow, ", ")}, false
	}
	if len(segs) == 2 && segs[0] == "oauth" && segs[1] == "token" {
		return pick(routed{}, map[string]string{http.MethodPost: opToken})
	}
	var rt routed
	switch {
	case len(segs) >= 2 && segs[0] == "connectors" && segs[1] == "v1":
		rt.version = "v1"
	case len(segs) >= 2 && apiVersions[segs[0]] && segs[1] == "connectors":
		rt.version = segs[0]
	default:
		return routed{op: opUnknown}, false
	}
	// Below the collection both layouts have the same paths.
	segs = segs[1:]
	switch len(segs) {
	case 1:
		return pick(rt, map[string]string{http.MethodGet: opList, http.MethodPost: opCreate})
	case 2:
		rt.scriptName = segs[1]
		return pick(rt, map[string]string{http.MethodGet: opGet, http.MethodDelete: opDelete, http.MethodPatch: opPatch})
	case 3:
		rt.scriptName = segs[1]
		switch segs[2] {
		case "source-config":
			return pick(rt, map[string]string{http.MethodGet: opGetSourceConfig, http.MethodPut: opPutSourceConfig})
		case "source-template":
			return pick(rt, map[string]string{http.MethodGet: opGetSourceTemplate, http.MethodPut: opPutSourceTemplate})
		case "correlation-config":
			return pick(rt, map[string]string{http.MethodGet: opGetCorrelation, http.MethodPut: opPutCorrelation})
		}
	case 4:
		if segs[2] == "translations" {
			rt.scriptName, rt.locale = segs[1], segs[3]
			return pick(rt, map[string]string{http.MethodGet: opGetTranslations, http.MethodPut: opPutTranslations})
		}
	}
	return routed{op: opUnknown}, false
}

var (
	trackingSeq  atomic.Uint64
	trackingSalt = func() string {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return string(b[:])
	}()
)

// trackingID is unique per answer, across processes too, like the real
// gateway's, and looks like one.
func trackingID() string {
	n := trackingSeq.Add(1)
	sum := sha256.Sum256([]byte(trackingSalt + strconv.FormatUint(n, 10)))
	return hex.EncodeToString(sum[:16])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// The real API does not HTML-escape <, > and & in strings, and XML
	// documents are full of them.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Every value passed here is built from JSON-safe types; failing means a bug.
		panic("sandbox: cannot encode answer: " + err.Error())
	}
	body := buf.Bytes()
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorBody is ErrorResponseDto as the tenant sends it.
type errorBody struct {
	DetailCode string       `json:"detailCode"`
	TrackingID string       `json:"trackingId"`
	Messages   []errMessage `json:"messages"`
	Causes     []errMessage `json:"causes,omitempty"`
}

type errMessage struct {
	Locale       string `json:"locale"`
	LocaleOrigin string `json:"localeOrigin"`
	Text         string `json:"text"`
}

func writeError(w http.ResponseWriter, status int, detailCode, text string) {
	writeJSON(w, status, errorBody{
		DetailCode: detailCode,
		TrackingID: trackingID(),
		Messages:   []errMessage{{Locale: "en-US", LocaleOrigin: "DEFAULT", Text: text}},
	})
}

func badRequest(w http.ResponseWriter, text string) {
	writeError(w, http.StatusBadRequest, "400.1 Bad Request Content", text)
}

func notFound(w http.ResponseWriter, text string) {
	writeError(w, http.StatusNotFound, "404 Not found", text)
}

// Stats is a copy of the tenant's counters.
type Stats struct {
	// Requests counts every request by operation (the spec's operationIds,
	// "requestAccessToken" for the token endpoint, "unknown" for anything else).
	Requests map[string]int
	// ByVersion counts the API requests by layout ("v1", "v3", ...); the
	// token endpoint and unknown paths are not counted.
	ByVersion map[string]int
	// Writes counts POST, PUT, PATCH and DELETE requests that reached the
	// connector store (past auth, rate limit and faults), whatever the outcome;
	// WritesByOp splits them by operation.
	Writes     int
	WritesByOp map[string]int
	// Creates counts create requests that reached the store, by requested name.
	Creates map[string]int
	// RateLimited counts 429 answers, Unauthorized 401 answers.
	RateLimited  int
	Unauthorized int
	// Faults counts injected faults; FaultsByKind splits them into "500",
	// "503" and "drop".
	Faults       int
	FaultsByKind map[string]int
}

// TotalRequests sums Requests.
func (s Stats) TotalRequests() int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n
}

type statsCollector struct {
	mu sync.Mutex
	s  Stats
}

func newStatsCollector() statsCollector {
	return statsCollector{s: Stats{Requests: map[string]int{}, ByVersion: map[string]int{}, WritesByOp: map[string]int{}, Creates: map[string]int{}, FaultsByKind: map[string]int{}}}
}

func (c *statsCollector) request(op, version string) {
	c.mu.Lock()
	c.s.Requests[op]++
	if version != "" {
		c.s.ByVersion[version]++
	}
	c.mu.Unlock()
}

func (c *statsCollector) write(op string) {
	c.mu.Lock()
	c.s.Writes++
	c.s.WritesByOp[op]++
	c.mu.Unlock()
}

func (c *statsCollector) create(name string) {
	c.mu.Lock()
	c.s.Creates[name]++
	c.mu.Unlock()
}

func (c *statsCollector) fault(kind string) {
	c.mu.Lock()
	c.s.Faults++
	c.s.FaultsByKind[kind]++
	c.mu.Unlock()
}

func (c *statsCollector) rateLimited() {
	c.mu.Lock()
	c.s.RateLimited++
	c.mu.Unlock()
}

func (c *statsCollector) unauthorized() {
	c.mu.Lock()
	c.s.Unauthorized++
	c.mu.Unlock()
}

func (c *statsCollector) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.s
	out.Requests = cloneCounts(c.s.Requests)
	out.ByVersion = cloneCounts(c.s.ByVersion)
	out.WritesByOp = cloneCounts(c.s.WritesByOp)
	out.Creates = cloneCounts(c.s.Creates)
	out.FaultsByKind = cloneCounts(c.s.FaultsByKind)
	return out
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Stats returns a copy of the counters.
func (t *Tenant) Stats() Stats { return t.stats.snapshot() }

// ResetStats zeroes the counters, so a test can count the requests of one step.
func (t *Tenant) ResetStats() {
	t.stats.mu.Lock()
	t.stats.s = newStatsCollector().s
	t.stats.mu.Unlock()
}
