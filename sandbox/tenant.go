// Package sandbox is an in-memory, goroutine-safe fake of a SailPoint Identity
// Security Cloud tenant's Connectors API, served as an http.Handler. Tests,
// benchmarks and `connvault --sandbox` run against it because no real tenant is
// reachable, so it follows ../shared/spec/connectors-openapi.yaml and NOTES.md:
// the 13 connector operations under /v3, /v2024, /v2025 and /v2026 and in
// the per-service layout /connectors/v1, and POST /oauth/token (client
// credentials).
//
// Choices the upstream documentation leaves open, made here on purpose:
//
//   - scriptName: the name lower-cased, every run of characters outside a-z
//     and 0-9 (non-ASCII letters included) turned into one '-', leading and
//     trailing '-' trimmed ("connector" if nothing is left); on a collision
//     with an existing scriptName, "-2", "-3", ... is appended.
//   - Names are unique case-insensitively: creating "Foo" when "foo" exists is
//     a 400.
//   - A create without status makes a RELEASED connector (the upstream default
//     is not documented), so what a tool creates shows up in the list.
//   - A new connector has an applicationXml built from its name, type and
//     className (the shape of the spec's example) and no XML documents or
//     translations: GETting them answers 404 until they are PUT.
//   - Only custom connectors (created through the API, or seeded as custom)
//     can be deleted; deleting a built-in one is a 400.
//   - Server-managed detail fields: sourceConfig is the stored source-config
//     text; fileUpload is the fileUpload attribute of the source-config's root
//     element; sourceConfigFrom is "sp-connect" when a source-config exists;
//     s3Location is "<pod>/<org>/connectorFiles/<scriptName>" (from the
//     tenant); uploadedFiles is "<s3Location>/<scriptName>.jar" when fileUpload
//     is true and absent otherwise.
//   - The locale parameter of list and detail is validated against the enum and
//     otherwise changes nothing; translationProperties always carries every
//     locale that has a stored translation.
//   - The rate limit counts requests per client id and API version (v1 is a
//     version of its own) in fixed windows aligned to multiples of the window
//     length; the token endpoint is not limited.
//   - Access tokens are JWTs (HS256 with a key of the process, not meant to
//     be verified by clients) carrying the claims a tenant's tokens carry:
//     authorities (user levels), scope, client_id, tenant_id, pod, org, exp
//     and jti. The connector operations need a user level of ORG_ADMIN,
//     SOURCE_ADMIN or SOURCE_SUBADMIN and a scope of sp:scopes:all or
//     idn:connector-config:read (GET) or :manage (all): anything else is
//     answered 403, as the tenant does.
package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Tenant. The zero value is a seeded tenant with one
// client pair, no faults and 12 h tokens.
type Options struct {
	Clients    map[string]string // client id -> secret; nil: one default pair (DefaultClientID)
	Empty      bool              // no seeded connectors
	Synthetic  int               // add N synthetic connectors (see DocSize, Locales)
	DocSize    int               // bytes per synthetic XML document (default 20 KB)
	Locales    int               // locales per synthetic connector (default 3, at most 19)
	Latency    time.Duration     // every answer leaves this long after its request arrived (or later, if the work takes longer)
	Jitter     time.Duration     // plus a uniform random share of this
	RateLimit  int               // requests per RateWindow per client id (and API version); 0: off
	RateWindow time.Duration     // default 10 s
	ErrorRate  float64           // share of 500/503 answers, 0..1
	DropRate   float64           // share of dropped connections, 0..1
	TokenTTL   time.Duration     // default 12 h
	Seed       int64             // for the fault RNG, reproducible runs

	// Clock replaces time.Now for token expiry and rate windows, so tests can
	// move time without sleeping. nil: time.Now.
	Clock func() time.Time
	// Org and Pod name the tenant in server-made fields (s3Location, token
	// answers). Defaults: "sandbox", "sandbox-pod".
	Org, Pod string
	// TenantID is the tenant_id its tokens carry, which names the tenant
	// however its URL is spelled. Default: a new random id, so two
	// sandboxes are two tenants.
	TenantID string

	// Layouts lists the API layouts served ("v1", "v3", "v2024", "v2025",
	// "v2026"); empty: all. Every path of a layout not served answers 404,
	// as a gateway without the route does.
	Layouts []string
	// NoCorrelationConfig lists layouts whose correlation-config route
	// answers 404 (the published v3 spec lacks it), while details still
	// carry correlationConfigXml.
	NoCorrelationConfig []string
	// Authorities and Scopes are the claims of issued tokens. nil:
	// ORG_ADMIN and sp:scopes:all. An empty, non-nil Authorities models a
	// client-credentials token without user context.
	Authorities, Scopes []string
	// DateOffset moves the Date header of every answer away from the
	// sandbox's clock, to model a tenant whose clock is off from the client's.
	DateOffset time.Duration
}

// Default credentials when Options.Clients is nil. They are not secrets: the
// sandbox exists to be used without any.
const (
	DefaultClientID     = "sandbox-client"
	DefaultClientSecret = "sandbox-secret"
)

// FaultHeader marks answers the sandbox produced as injected faults (value
// "500" or "503"), so a validating wrapper can tell them from real answers.
const FaultHeader = "X-Sandbox-Fault"

// Tenant is the fake tenant; it is an http.Handler. Create it with New.
type Tenant struct {
	opts  Options
	now   func() time.Time
	store *store

	hookMu sync.RWMutex
	hook   func(http.ResponseWriter, *http.Request) bool

	authMu sync.Mutex
	tokens map[string]tokenInfo
	issued uint64

	rlMu    sync.Mutex
	windows map[string]*window

	rngMu sync.Mutex
	rng   *rand.Rand

	stats statsCollector
}

type tokenInfo struct {
	clientID            string
	expires             time.Time
	authorities, scopes []string
}

type window struct {
	start time.Time
	count int
}

// New builds a tenant: the embedded seed connectors (unless Empty) followed by
// opts.Synthetic generated ones.
func New(opts Options) *Tenant {
	if opts.Clients == nil {
		opts.Clients = map[string]string{DefaultClientID: DefaultClientSecret}
	}
	if opts.DocSize <= 0 {
		opts.DocSize = 20 << 10
	}
	if opts.Locales <= 0 {
		opts.Locales = 3
	}
	if opts.Locales > len(localeEnum) {
		opts.Locales = len(localeEnum)
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 10 * time.Second
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 12 * time.Hour
	}
	if opts.Org == "" {
		opts.Org = "sandbox"
	}
	if opts.TenantID == "" {
		opts.TenantID = uuidFrom("tenant:" + randomHex(16))
	}
	if opts.Pod == "" {
		opts.Pod = "sandbox-pod"
	}
	if opts.Authorities == nil {
		opts.Authorities = []string{"ORG_ADMIN"}
	}
	if opts.Scopes == nil {
		opts.Scopes = []string{"sp:scopes:all"}
	}
	now := opts.Clock
	if now == nil {
		now = time.Now
	}
	t := &Tenant{
		opts:    opts,
		now:     now,
		tokens:  map[string]tokenInfo{},
		windows: map[string]*window{},
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
		stats:   newStatsCollector(),
	}
	t.store = newStore(opts.Org, opts.Pod, synthConfig{size: opts.DocSize, locales: opts.Locales, seed: opts.Seed})
	if !opts.Empty {
		t.store.loadSeed()
	}
	t.store.addSynthetic(opts.Synthetic)
	return t
}

// SetHook installs a function that sees every request first (after it is
// counted, before latency, auth, rate limit and faults). If it returns true it
// has answered and the tenant does nothing else. nil removes the hook.
func (t *Tenant) SetHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	t.hookMu.Lock()
	t.hook = h
	t.hookMu.Unlock()
}

// ServeHTTP implements http.Handler.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	rt, ok := route(r)
	t.stats.request(rt.op, rt.version)

	t.hookMu.RLock()
	hook := t.hook
	t.hookMu.RUnlock()
	if hook != nil && hook(w, r) {
		return
	}

	// The answer is worked out while the latency runs and held until it has
	// passed: a real tenant's latency includes its own work, and the
	// sandbox's work is done on the client's CPU.
	d := t.latency()
	if d <= 0 {
		t.answer(w, r, rt, ok)
		return
	}
	held := &heldResponse{w: w, ctx: r.Context(), until: arrived.Add(d)}
	t.answer(held, r, rt, ok)
	held.send()
}

// answer is ServeHTTP after the hook: routing errors, the token endpoint,
// auth, the rate limit, faults and the operation itself.
func (t *Tenant) answer(w http.ResponseWriter, r *http.Request, rt routed, ok bool) {
	if t.opts.DateOffset != 0 {
		w.Header().Set("Date", t.now().Add(t.opts.DateOffset).UTC().Format(http.TimeFormat))
	}
	if ok && rt.op != opToken && !t.serves(rt) {
		ok = false
	}
	if !ok {
		if rt.methodNotAllowed {
			w.Header().Set("Allow", rt.allow)
			writeError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		writeError(w, http.StatusNotFound, "404 Not found", fmt.Sprintf("no such resource: %s", r.URL.Path))
		return
	}
	if rt.op == opToken {
		if t.fault(w, true) {
			return
		}
		t.serveToken(w, r)
		return
	}
	tok, ok := t.authenticate(w, r)
	if !ok {
		return
	}
	clientID := tok.clientID
	if !t.authorize(w, tok, rt.op) {
		return
	}
	if !t.allow(w, clientID+"|"+rt.version) {
		return
	}
	if t.fault(w, false) {
		return
	}
	if isWrite(rt.op) {
		t.stats.write(rt.op)
	}
	t.serveOp(w, r, rt)
}

// latency is Latency plus a random share of Jitter.
func (t *Tenant) latency() time.Duration {
	d := t.opts.Latency
	if t.opts.Jitter > 0 {
		t.rngMu.Lock()
		d += time.Duration(t.rng.Int64N(int64(t.opts.Jitter)))
		t.rngMu.Unlock()
	}
	return d
}

// heldResponse buffers an answer until its time has come. Headers go
// straight to the real writer, since net/http sends nothing before
// WriteHeader or Write.
type heldResponse struct {
	w      http.ResponseWriter
	ctx    context.Context
	until  time.Time
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.w.Header() }

func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(p)
}

// Hijack lets a dropped-connection fault drop it when the answer would have
// been due, not before.
func (h *heldResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.w.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	if err := h.wait(); err != nil {
		return nil, nil, err
	}
	h.status = -1 // nothing more to send
	return hj.Hijack()
}

// wait sleeps until the answer is due, or until the client goes away.
func (h *heldResponse) wait() error {
	d := time.Until(h.until)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-h.ctx.Done():
		return h.ctx.Err() // the client went away while we were being slow
	}
}

// bodyAllowed reports whether a status may carry a body (RFC 9110 6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// send writes the held answer once it is due.
func (h *heldResponse) send() {
	if h.status < 0 || h.wait() != nil {
		return
	}
	if h.status == 0 {
		h.status = http.StatusOK
	}
	// The whole answer is known: a Content-Length spares it chunked encoding.
	if h.w.Header().Get("Content-Length") == "" && bodyAllowed(h.status) {
		h.w.Header().Set("Content-Length", strconv.Itoa(h.body.Len()))
	}
	h.w.WriteHeader(h.status)
	_, _ = h.w.Write(h.body.Bytes())
}

// fault injects a dropped connection or a 5xx answer with the configured
// probabilities. The token endpoint only gets 503s, since its spec lists no 500.
func (t *Tenant) fault(w http.ResponseWriter, tokenEndpoint bool) bool {
	if t.opts.DropRate <= 0 && t.opts.ErrorRate <= 0 {
		return false
	}
	t.rngMu.Lock()
	drop := t.opts.DropRate > 0 && t.rng.Float64() < t.opts.DropRate
	fail := !drop && t.opts.ErrorRate > 0 && t.rng.Float64() < t.opts.ErrorRate
	use503 := t.rng.IntN(2) == 0
	t.rngMu.Unlock()
	switch {
	case drop:
		t.stats.fault("drop")
		dropConnection(w)
		return true
	case fail:
		if use503 || tokenEndpoint {
			t.stats.fault("503")
			w.Header().Set(FaultHeader, "503")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n"))
			return true
		}
		t.stats.fault("500")
		w.Header().Set(FaultHeader, "500")
		writeError(w, http.StatusInternalServerError, "500.0 Internal Fault", "An internal fault occurred.")
		return true
	}
	return false
}

// dropConnection closes the connection without an answer. Hijacking is the
// direct way; ErrAbortHandler makes net/http do the same where hijacking is
// not possible (HTTP/2).
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// authenticate checks the bearer token, answering 401 when it is missing,
// unknown or expired.
func (t *Tenant) authenticate(w http.ResponseWriter, r *http.Request) (tokenInfo, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, found := strings.Cut(h, " ")
	if h == "" {
		t.unauthorized(w, "JWT validation failed: no token provided")
		return tokenInfo{}, false
	}
	if !found || !strings.EqualFold(scheme, "bearer") || tok == "" {
		t.unauthorized(w, "JWT validation failed: Authorization header is not a bearer token")
		return tokenInfo{}, false
	}
	t.authMu.Lock()
	info, ok := t.tokens[tok]
	t.authMu.Unlock()
	if !ok {
		t.unauthorized(w, "JWT validation failed: invalid token")
		return tokenInfo{}, false
	}
	if !t.now().Before(info.expires) {
		t.unauthorized(w, "JWT validation failed: JWT is expired")
		return tokenInfo{}, false
	}
	return info, true
}

func (t *Tenant) unauthorized(w http.ResponseWriter, msg string) {
	t.stats.unauthorized()
	w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

// allow applies the fixed-window rate limit for one client id and API version.
func (t *Tenant) allow(w http.ResponseWriter, key string) bool {
	if t.opts.RateLimit <= 0 {
		return true
	}
	now := t.now()
	win := t.opts.RateWindow
	start := time.Unix(0, now.UnixNano()/int64(win)*int64(win))
	t.rlMu.Lock()
	wd := t.windows[key]
	if wd == nil || !wd.start.Equal(start) {
		wd = &window{start: start}
		t.windows[key] = wd
	}
	ok := wd.count < t.opts.RateLimit
	if ok {
		wd.count++
	}
	t.rlMu.Unlock()
	if ok {
		return true
	}
	t.stats.rateLimited()
	wait := start.Add(win).Sub(now)
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"message": " Rate Limit Exceeded "})
	return false
}
