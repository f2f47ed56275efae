// Package apiclient talks to the Connectors REST API of a SailPoint Identity
// Security Cloud tenant: the 13 connector operations, OAuth2 client
// credentials, one shared pace for every request, one retry policy, and typed
// errors. It is safe for concurrent use by many workers.
package apiclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults of Config.
const (
	DefaultRate         = 10.0 // requests per second: the gateway allows 100 per 10 s per client id
	DefaultRateWindow   = 10 * time.Second
	DefaultMaxAttempts  = 6
	DefaultMaxWait      = 30 * time.Minute
	DefaultMaxBodyBytes = 128 << 20 // a detail repeats every document, and documents of tens of MiB exist
	DefaultIdleTimeout  = 2 * time.Minute
	DefaultUserAgent    = "connvault"
)

// Config configures a Client. BaseURL, ClientID and ClientSecret are required.
type Config struct {
	BaseURL      string  // https://TENANT.api.identitynow.com, no version suffix, trailing slash tolerated
	APIVersion   string  // one of APIVersions: "auto", "v1", "v3" (the default when empty), "v2024", "v2025", "v2026"
	ClientID     string  // OAuth2 client id (an API client or a personal access token)
	ClientSecret string  // never logged, never part of an error
	Rate         float64 // requests per second; 0 means DefaultRate; negative disables pacing
	// RateWindow is the window the rate is counted in: at most Rate ×
	// RateWindow requests (less a safety margin) in any span of it, per
	// API version. 0 means DefaultRateWindow, the gateway's.
	RateWindow  time.Duration
	HTTPClient  *http.Client // nil: a default one with dial, TLS and header timeouts but no overall timeout
	MaxAttempts int          // attempts per call; 0 means DefaultMaxAttempts
	// MaxWait bounds one wait between attempts (a Retry-After above all);
	// a longer one fails the call at once instead of stalling the run.
	// 0 means DefaultMaxWait.
	MaxWait time.Duration
	Clock   Clock // nil: the wall clock

	Logger       *slog.Logger // debug log of every request, secrets redacted; nil: silent
	UserAgent    string       // "" means DefaultUserAgent
	MaxBodyBytes int64        // cap on one response body; 0 means DefaultMaxBodyBytes
	// IdleTimeout is the longest a response body may pause before the
	// attempt is abandoned as stalled (and retried like a dropped
	// connection); 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Stats are a client's running totals, for summaries and benchmarks.
type Stats struct {
	Requests      int64 // API requests sent, retries included, token requests excluded
	Retries       int64 // requests repeated after a failure (including the one retry after a 401)
	RateLimited   int64 // 429 answers
	Reauths       int64 // token fetches forced by a 401
	TokenRequests int64 // all token fetches
	BytesIn       int64 // response body bytes read
	BytesOut      int64 // request body bytes sent
}

// Client is a connection to one tenant. Create it with New.
type Client struct {
	base   string // scheme://host[/prefix] without trailing slash
	lay    *layouts
	hc     *http.Client
	oauth  clientcredentials.Config
	secret string
	log    *slog.Logger
	ua     string
	clock  Clock

	// pacers holds one pacer per rate-limit bucket: the gateway counts per
	// client id and API version.
	pacerMu  sync.Mutex
	pacers   map[string]*pacer
	rps      float64
	rateSpan time.Duration
	observe  func(Observation) // see Observe
	// identity is the tenant the last token named (see TenantIdentity).
	identity atomic.Pointer[string]

	maxAttempts int
	maxWait     time.Duration
	maxBody     int64
	idle        time.Duration
	// backoffBase and backoffMax shape the wait between attempts; tests set
	// them tiny.
	backoffBase, backoffMax time.Duration
	// now is the clock for token expiry; tests move it forward.
	now func() time.Time

	tokSem chan struct{} // one token fetch at a time; ctx-aware unlike a mutex
	tok    *oauth2.Token
	// tokStalled is set when the token answer being read stalled (token
	// fetches are serialised by tokSem).
	tokStalled atomic.Bool
	refreshAt  time.Time
	forced     bool // the next fetch is a re-authentication after a 401
	// red knows every secret and token this client held, for scrubbing,
	// which must never wait for a fetch.
	red redactor

	requests, retries, rateLimited, reauths, tokens, bytesIn, bytesOut atomic.Int64
}

// New checks cfg and returns a client. It makes no request: credentials are
// first used, and checked, by the first call.
func New(cfg Config) (*Client, error) {
	var missing []string
	if strings.TrimSpace(cfg.BaseURL) == "" {
		missing = append(missing, "base URL (SAIL_BASE_URL)")
	}
	if cfg.ClientID == "" {
		missing = append(missing, "client id (SAIL_CLIENT_ID)")
	}
	if cfg.ClientSecret == "" {
		missing = append(missing, "client secret (SAIL_CLIENT_SECRET)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("apiclient: missing %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("apiclient: base URL %q is not of the form https://TENANT.api.identitynow.com", cfg.BaseURL)
	}
	base := strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	if strings.HasSuffix(base, "/connectors/v1") || strings.HasSuffix(base, "/connectors") {
		return nil, fmt.Errorf("apiclient: base URL %q must not include the API path; drop everything after the host and set the API version instead", cfg.BaseURL)
	}
	for _, v := range APIVersions {
		if strings.HasSuffix(base, "/"+v) {
			return nil, fmt.Errorf("apiclient: base URL %q must not include the API version; drop the /%s and set the API version instead", cfg.BaseURL, v)
		}
	}
	version := cfg.APIVersion
	if version == "" {
		version = VersionV3
	}
	if !slices.Contains(APIVersions, version) {
		return nil, fmt.Errorf("apiclient: unsupported API version %q; use one of %s", cfg.APIVersion, strings.Join(APIVersions, ", "))
	}
	rps := cfg.Rate
	if rps == 0 {
		rps = DefaultRate
	}
	c := &Client{
		base:        base,
		lay:         newLayouts(version),
		secret:      cfg.ClientSecret,
		pacers:      map[string]*pacer{},
		rps:         rps,
		rateSpan:    cfg.RateWindow,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		ua:          cfg.UserAgent,
		maxAttempts: cfg.MaxAttempts,
		maxWait:     cfg.MaxWait,
		maxBody:     cfg.MaxBodyBytes,
		idle:        cfg.IdleTimeout,
		backoffBase: 500 * time.Millisecond,
		backoffMax:  30 * time.Second,
		now:         time.Now,
		tokSem:      make(chan struct{}, 1),
	}
	c.red.add(cfg.ClientSecret)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.rateSpan <= 0 {
		c.rateSpan = DefaultRateWindow
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.idle <= 0 {
		c.idle = DefaultIdleTimeout
	}
	c.hc = guardRedirects(cfg.HTTPClient)
	c.oauth = clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     base + "/oauth/token",
		// The docs show the credentials as form parameters; auto-detection
		// would cost a failed request first.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	return c, nil
}

// BaseURL is the tenant URL without version, as normalised by New.
func (c *Client) BaseURL() string { return c.base }

// Stats returns the running totals. Safe to call while requests run.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:      c.requests.Load(),
		Retries:       c.retries.Load(),
		RateLimited:   c.rateLimited.Load(),
		Reauths:       c.reauths.Load(),
		TokenRequests: c.tokens.Load(),
		BytesIn:       c.bytesIn.Load(),
		BytesOut:      c.bytesOut.Load(),
	}
}

// EffectiveRate is the pace in requests per second after any 429 slow-down
// (0 when pacing is disabled).
func (c *Client) EffectiveRate() float64 { return c.pacerFor(c.APIVersion()).rate() }

// pacerFor is the pacer of one API version's rate-limit bucket.
func (c *Client) pacerFor(version string) *pacer {
	c.pacerMu.Lock()
	defer c.pacerMu.Unlock()
	p := c.pacers[version]
	if p == nil {
		p = newPacer(c.rps, c.rateSpan)
		c.pacers[version] = p
	}
	return p
}

// defaultHTTPClient bounds every phase that can hang silently but sets no
// overall timeout: a large document on a slow link must be allowed to finish,
// and the caller's ctx decides when to give up.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	t.ResponseHeaderTimeout = 90 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t}
}

// guardRedirects returns a copy of hc (or a default client) that follows
// redirects within the tenant's origin only. Go drops the Authorization
// header only when the target is neither the same host name nor a subdomain
// of it: a different port, a downgrade to http or a subdomain would still get
// the token, so a redirect to any other origin is refused.
func guardRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = defaultHTTPClient()
	}
	cp := *hc
	inner := hc.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 {
			first := via[0].URL
			if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
				// The Connectors API never redirects elsewhere: following
				// would hand the request (and, in Go's rules, possibly the
				// token) to another server and take its answer for the
				// tenant's.
				req.Header.Del("Authorization")
				return fmt.Errorf("%w (%s://%s): not followed, so the token and the request stay with the tenant; check SAIL_BASE_URL",
					errCrossOriginRedirect, req.URL.Scheme, req.URL.Host)
			}
			if err := redirectAllowed(req, via); err != nil {
				return err
			}
		}
		if inner != nil {
			return inner(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

// request describes one API call; it is rebuilt into a fresh *http.Request
// for every attempt, so bodies are replayable.
type request struct {
	op, scriptName, name string
	method               string
	path                 string // escaped, below /{version} as the yearly layouts have it: "/connectors/..."
	// version is the layout the request goes to; "" means the one chosen
	// for the run.
	version     string
	query       url.Values
	body        []byte
	contentType string
	accept      string
	// create marks a request that must not be repeated blindly: an ambiguous
	// failure is handed back to the caller as *ambiguousError.
	create bool
	// once marks a request that is not idempotent and has no lookup to settle
	// an ambiguous failure: it is then reported, not repeated.
	once bool
}

// budget is what one call may still spend on retries; create shares it
// between its attempts and lookups.
type budget struct {
	attempts int
	waited   time.Duration
	silent   int // attempts the server answered with silence (silentServer)
}

type ambiguousError struct{ err *Error }

func (a *ambiguousError) Error() string { return a.err.Error() }
func (a *ambiguousError) Unwrap() error { return a.err }

// response is a completed answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// layoutOf is the layout r goes to.
func (c *Client) layoutOf(r *request) string {
	if r.version != "" {
		return r.version
	}
	return c.APIVersion()
}

// pathOf is r's path with its layout's prefix, without query.
func (c *Client) pathOf(r *request) string { return apiPath(c.layoutOf(r), r.path) }

func (c *Client) url(r *request) string {
	u := c.base + c.pathOf(r)
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

// do runs r with the retry policy and returns a 2xx answer or an *Error.
// Under --api-version auto the first request settles the layout first.
func (c *Client) do(ctx context.Context, r *request, b *budget) (*response, error) {
	if r.version == "" && c.lay.current() == "" {
		if resp, done, err := c.resolve(ctx, r, b); done {
			return resp, err
		}
	}
	return c.send(ctx, r, b)
}

// send is do once the layout is known.
func (c *Client) send(ctx context.Context, r *request, b *budget) (*response, error) {
	reauthed := false
	p := c.pacerFor(c.layoutOf(r))
	for {
		b.attempts++
		hr, body, tok, sent, err := c.attempt(ctx, r, p)
		if err == nil && hr.StatusCode < 300 {
			p.onSuccess(sent, c.clock.Now())
			return &response{status: hr.StatusCode, header: hr.Header, body: body}, nil
		}
		if err == nil && hr.StatusCode == http.StatusUnauthorized && !reauthed {
			// A token can die before its announced expiry (revoked, clock
			// skew, server restart): fetch a new one and try once more.
			reauthed = true
			b.attempts--
			c.retries.Add(1)
			c.invalidate(ctx, tok)
			c.log.DebugContext(ctx, "apiclient: 401, re-authenticating", "op", r.op, "scriptName", r.scriptName)
			continue
		}
		apiErr := c.makeError(r, hr, body, err)
		if b.attempts > 1 {
			apiErr.Attempts = b.attempts
		}
		if !shouldRetry(ctx, hr, err) {
			if ctx.Err() != nil && apiErr.Err == nil {
				apiErr.Err = ctx.Err()
			}
			return nil, apiErr
		}
		now := c.clock.Now()
		wait, tooLong := c.retryWait(ctx, r, p, hr, sent, now, b.attempts)
		if tooLong {
			apiErr.Err = errors.Join(apiErr.Err, ErrWaitTooLong)
			apiErr.Hint = joinHint(apiErr.Hint, fmt.Sprintf("The server asked to wait %s before trying again (Retry-After), longer than --max-wait %s: "+
				"not retried, so the rest of the run goes on; run again later, or raise --max-wait", wait.Round(time.Second), c.maxWait))
			return nil, apiErr
		}
		if r.create && ambiguous(hr, err) {
			return nil, &ambiguousError{apiErr}
		}
		if r.once && ambiguous(hr, err) {
			apiErr.Hint = joinHint(apiErr.Hint, "Not repeated: the request is not idempotent and may have been applied; check the connector before retrying")
			return nil, apiErr
		}
		if b.attempts >= c.maxAttempts {
			return nil, apiErr
		}
		if c.silentServer(ctx, r, b, err, apiErr, wait) {
			return nil, apiErr
		}
		b.waited += wait
		c.retries.Add(1)
		c.log.DebugContext(ctx, "apiclient: retrying", "op", r.op, "scriptName", r.scriptName, "attempt", b.attempts, "wait", wait, "error", apiErr.Error())
		if hr == nil || hr.StatusCode != http.StatusTooManyRequests {
			if err := c.clock.Sleep(ctx, wait); err != nil {
				apiErr.Err = err
				return nil, apiErr
			}
		}
	}
}

func joinHint(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + ". " + b
}

// attempt sends r once. hr is the answer (body already read into body) or,
// for a failed token request, the token endpoint's answer. tok is the access
// token used, for invalidation on 401.
func (c *Client) attempt(ctx context.Context, r *request, p *pacer) (hr *http.Response, body []byte, tok string, sent time.Time, err error) {
	t, err := c.token(ctx, p)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			hr = re.Response
		}
		return hr, nil, "", time.Now(), err
	}
	tok = t.AccessToken
	if err := p.wait(ctx, c.clock, c.announcePace(ctx)); err != nil {
		return nil, nil, tok, time.Now(), err
	}
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	// The attempt's own context lets a stalled body be abandoned without
	// cancelling the caller's ctx.
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, r.method, c.url(r), rd)
	if err != nil {
		return nil, nil, tok, time.Now(), err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", c.ua)
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	sent = c.clock.Now()
	c.requests.Add(1)
	c.bytesOut.Add(int64(len(r.body)))
	hr, err = c.hc.Do(req)
	if err != nil {
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.DebugContext(ctx, "apiclient: request failed", "method", r.method, "url", req.URL.String(), "headers", redactHeaders(req.Header), "error", c.scrub(err.Error()), "elapsed", time.Since(sent))
		}
		return nil, nil, tok, sent, err
	}
	defer hr.Body.Close()
	limit := c.maxBody
	if hr.StatusCode >= 300 {
		limit = min(limit, maxErrorBody)
	}
	guard := &stallGuard{rd: hr.Body, idle: c.idle, timer: time.AfterFunc(time.Hour, func() { cancel(errStalled) })}
	guard.timer.Stop()
	body, err = readCapped(guard, hr.ContentLength, limit, hr.StatusCode < 300)
	if err != nil && errors.Is(context.Cause(actx), errStalled) && ctx.Err() == nil {
		err = fmt.Errorf("%w: no data for %s after %d bytes", errStalled, c.idle, len(body))
	}
	c.bytesIn.Add(int64(len(body)))
	c.observed(r, hr, sent)
	// The arguments cost a URL string and a header copy per request: build
	// them only when someone reads them.
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.DebugContext(ctx, "apiclient: request", "method", r.method, "url", req.URL.String(), "headers", redactHeaders(req.Header),
			"status", hr.StatusCode, "bytesOut", len(r.body), "bytesIn", len(body), "elapsed", time.Since(sent), "retryAfter", hr.Header.Get("Retry-After"))
	}
	if err != nil {
		return hr, body, tok, sent, err
	}
	return hr, body, tok, sent, nil
}

// errStalled marks a response body that stopped arriving: the client sets
// no overall timeout (a large document on a slow link must be allowed to
// finish), so a server or proxy that goes quiet mid-body is cut off by the
// idle timeout instead.
var errStalled = errors.New("the server stopped sending its answer")

// errCrossOriginRedirect marks a refused redirect to another origin.
var errCrossOriginRedirect = errors.New("the server redirected to another host")

// stallGuard runs the idle timer only while a Read waits for the server, so
// time the caller spends between reads (growing its buffer, a GC pause) is
// never taken for a stall.
type stallGuard struct {
	rd    io.Reader
	idle  time.Duration
	timer *time.Timer
}

func (g *stallGuard) Read(p []byte) (int, error) {
	g.timer.Reset(g.idle)
	n, err := g.rd.Read(p)
	g.timer.Stop()
	return n, err
}

// maxPresize bounds the buffer a declared Content-Length reserves up front.
const maxPresize = 8 << 20

// readCapped reads at most limit bytes. When strict, a longer body is an
// error (a body far larger than any real one is a fault, not data); error
// bodies are silently truncated instead, since only their start is shown.
func readCapped(rd io.Reader, size, limit int64, strict bool) ([]byte, error) {
	// A declared length sizes the buffer once; io.ReadAll would grow it from
	// 512 bytes, copying a 100 KB detail a dozen times. The declaration is
	// only a hint (bounded, so a lying server cannot make us allocate much):
	// the limit still applies to what actually arrives.
	var body []byte
	var err error
	if size > 0 && size <= min(limit, maxPresize) {
		buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
		_, err = buf.ReadFrom(io.LimitReader(rd, limit+1))
		body = buf.Bytes()
	} else {
		body, err = io.ReadAll(io.LimitReader(rd, limit+1))
	}
	if err != nil {
		return body, err
	}
	if int64(len(body)) > limit {
		if strict {
			return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
		}
		body = body[:limit]
	}
	return body, nil
}

// makeError turns a failed attempt into an *Error.
func (c *Client) makeError(r *request, hr *http.Response, body []byte, err error) *Error {
	e := &Error{Op: r.op, ScriptName: r.scriptName, Name: r.name, Method: r.method, Path: c.pathOf(r)}
	var tokErr *Error
	if errors.As(err, &tokErr) && tokErr.Token {
		e.Token = true
		e.StatusCode = tokErr.StatusCode
		e.DetailCode, e.TrackingID, e.Messages, e.Snippet = tokErr.DetailCode, tokErr.TrackingID, tokErr.Messages, tokErr.Snippet
		e.Hint = tokErr.Hint
		e.Err = tokErr.Err
		return e
	}
	if hr != nil && (err == nil || hr.StatusCode >= 300) {
		e.StatusCode = hr.StatusCode
		// Scrubbed before decoding, which cuts long messages: a token cut
		// in half would no longer be recognised.
		decodeErrorBody(e, hr.Header.Get("Content-Type"), c.scrubBody(body))
		e.Messages = c.scrubAll(e.Messages)
		e.Snippet = c.scrub(e.Snippet)
		e.Hint = joinHint(authHint(hr.StatusCode, r.method), redirectHint(hr, r.method))
		redirectError(e, hr, r.method)
		if err != nil {
			e.Err = err
		}
		return e
	}
	if err != nil {
		var ue *url.Error
		switch {
		case errors.Is(err, errCrossOriginRedirect) && errors.As(err, &ue):
			// url.Error would repeat the redirect target's full URL.
			e.Err = ue.Err
		case errors.Is(err, errBodyTooLarge) || errors.Is(err, errStalled) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			e.Err = err
		default:
			e.Err = &scrubbedError{msg: c.scrub(err.Error()), err: err}
		}
		if hr != nil {
			e.Hint = fmt.Sprintf("The answer (HTTP %d) could not be read", hr.StatusCode)
		}
	}
	return e
}

// scrubbedError keeps the cause for errors.Is/As while printing a message
// from which secrets were removed.
type scrubbedError struct {
	msg string
	err error
}

func (s *scrubbedError) Error() string { return s.msg }
func (s *scrubbedError) Unwrap() error { return s.err }

// token returns a valid access token, fetching one when none is cached or
// the cached one is within its refresh margin.
func (c *Client) token(ctx context.Context, p *pacer) (*oauth2.Token, error) {
	select {
	case c.tokSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.tokSem }()
	if c.tok != nil && c.now().Before(c.refreshAt) {
		return c.tok, nil
	}
	// The token endpoint sits behind the same gateway; pacing it costs one
	// slot every few minutes and keeps "every request is paced" true.
	if err := p.wait(ctx, c.clock, c.announcePace(ctx)); err != nil {
		return nil, err
	}
	hc := c.tokenHTTPClient()
	c.tokStalled.Store(false)
	t, err := c.oauth.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	c.tokens.Add(1)
	if err != nil {
		if c.tokStalled.Load() && ctx.Err() == nil {
			err = fmt.Errorf("token endpoint: %w: no data for %s", errStalled, c.idle)
		}
		return nil, c.tokenError(err)
	}
	if t.AccessToken == "" {
		return nil, &Error{Op: "authenticate", Token: true, Err: errors.New("token endpoint answered without an access_token")}
	}
	forced := c.forced
	if forced {
		c.reauths.Add(1)
		c.forced = false
	}
	now := c.now()
	life := tokenLifetime(t)
	if life <= 0 {
		// No lifetime announced: keep it until a 401 says otherwise.
		c.refreshAt = now.Add(100 * 365 * 24 * time.Hour)
	} else {
		// Refresh a minute early (a fifth early for short-lived tokens) so
		// a token never expires between the check and the server's.
		c.refreshAt = now.Add(life - min(time.Minute, life/5))
	}
	c.tok = t
	if claims, ok := jwtClaims(t.AccessToken); ok {
		id := identityOf(claims)
		c.identity.Store(&id)
	}
	c.red.add(t.AccessToken)
	c.log.DebugContext(ctx, "apiclient: token fetched", "lifetime", life, "forced", forced)
	return t, nil
}

// tokenLifetime reads expires_in. clientcredentials does not copy it into
// Token.ExpiresIn, but keeps the raw answer; Expiry is the fallback.
func tokenLifetime(t *oauth2.Token) time.Duration {
	secs := t.ExpiresIn
	switch v := t.Extra("expires_in").(type) {
	case float64:
		secs = int64(v)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			secs = n
		}
	}
	if secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if !t.Expiry.IsZero() {
		return time.Until(t.Expiry)
	}
	return 0
}

func (c *Client) tokenHTTPClient() *http.Client {
	cp := *c.hc
	cp.Transport = &tokenTransport{base: c.hc.Transport, in: &c.bytesIn, idle: c.idle, stalled: &c.tokStalled}
	return &cp
}

// tokenTransport counts token response bytes into BytesIn and abandons a
// token answer whose body stops arriving for the idle timeout, as attempt
// does for API answers: a nightly run must not hang on a token endpoint
// that sent its headers and went quiet. The oauth2 package formats body
// errors with %v, so the stall is reported through stalled instead.
type tokenTransport struct {
	base    http.RoundTripper
	in      *atomic.Int64
	idle    time.Duration
	stalled *atomic.Bool
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return resp, err
	}
	b := &tokenBody{rc: resp.Body, n: t.in, idle: t.idle, cancel: cancel}
	b.timer = time.AfterFunc(time.Hour, func() {
		t.stalled.Store(true)
		cancel(errStalled)
	})
	b.timer.Stop()
	resp.Body = b
	return resp, nil
}

type tokenBody struct {
	rc     io.ReadCloser
	n      *atomic.Int64
	idle   time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

func (b *tokenBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	b.n.Add(int64(n))
	return n, err
}

func (b *tokenBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}

// tokenError converts a token fetch failure. The oauth2 error text embeds the
// response body, so the message is rebuilt from decoded parts instead.
func (c *Client) tokenError(err error) error {
	e := &Error{Op: "authenticate", Token: true}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
			decodeErrorBody(e, re.Response.Header.Get("Content-Type"), c.scrubBody(re.Body))
			if re.ErrorCode != "" && len(e.Messages) == 0 {
				addMessage(e, re.ErrorCode+" "+re.ErrorDescription)
			}
		}
		e.Messages = c.scrubAll(e.Messages)
		e.Snippet = c.scrub(e.Snippet)
		e.Hint = tokenHint(e.StatusCode)
		e.Err = &scrubbedError{msg: "token endpoint refused the request", err: re}
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e.Err = err
	} else {
		e.Err = &scrubbedError{msg: c.scrub(err.Error()), err: err}
		e.Hint = networkHint(err)
	}
	return e
}

// invalidate drops the cached token if it is still the one a 401 refused;
// when several workers see the same 401, only the first forces a fetch.
func (c *Client) invalidate(ctx context.Context, tok string) {
	select {
	case c.tokSem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-c.tokSem }()
	if c.tok != nil && c.tok.AccessToken == tok {
		c.tok = nil
		c.forced = true
	}
}

// scrub removes from s the client secret, every token this client ever
// held and any echoed credential (redact.go).
func (c *Client) scrub(s string) string { return c.red.scrub(s) }

func (c *Client) scrubAll(ss []string) []string {
	for i := range ss {
		ss[i] = c.scrub(ss[i])
	}
	return ss
}

var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// redactHeaders renders headers for the debug log with credentials hidden.
func redactHeaders(h http.Header) slog.Value {
	attrs := make([]slog.Attr, 0, len(h))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		for _, s := range sensitiveHeaders {
			if strings.EqualFold(k, s) {
				v = "REDACTED"
			}
		}
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.GroupValue(attrs...)
}
