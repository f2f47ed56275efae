// Package doctor checks, read-only, whether a tenant behaves as connvault
// expects: whether the token works and what it may do, which API layouts
// answer, whether each connector's detail carries the same bytes as its
// sub-resources (so that export --from-detail is equivalent), how the
// gateway limits and how far its clock is off. The report is safe to paste
// into a support ticket: it holds the base URL but no secret, no token, no
// client id and no identity.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/domain"
)

// Status of one check.
const (
	OK   = "ok"
	Info = "info"
	Warn = "warn" // worth knowing; export and restore still work
	Fail = "fail" // export or restore cannot work until fixed
)

// Check is one finding.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"` // what to do, for warn and fail
}

// Layout is what one API layout answered.
type Layout struct {
	APIVersion        string `json:"apiVersion"`
	List              int    `json:"list"`                        // HTTP status of a one-item list; 0: no answer
	CorrelationConfig int    `json:"correlationConfig,omitempty"` // of GET correlation-config of a connector whose detail has one; 0: not asked
}

// Report is the whole result.
type Report struct {
	BaseURL    string  `json:"baseUrl"`
	APIVersion string  `json:"apiVersion"` // the layout a run would use
	OK         bool    `json:"ok"`         // no check failed: export and restore can work
	Checks     []Check `json:"checks"`

	TokenLifetimeSeconds int64    `json:"tokenLifetimeSeconds,omitempty"`
	UserLevels           []string `json:"userLevels,omitempty"`
	Scopes               []string `json:"scopes,omitempty"`
	Layouts              []Layout `json:"layouts"`
	Listed               int      `json:"listed"`
	Custom               int      `json:"custom"`
	BuiltIn              int      `json:"builtIn"`
	Sampled              []string `json:"sampled,omitempty"`
	// FromDetailEquivalent is set when every sampled detail field equalled
	// its sub-resource byte for byte.
	FromDetailEquivalent bool                `json:"fromDetailEquivalent"`
	Differences          []string            `json:"differences,omitempty"`
	RateHeaders          map[string][]string `json:"rateHeaders,omitempty"`
	RateLimited          int                 `json:"rateLimited"`
	Requests             int                 `json:"requests"`
	MedianLatencyMS      float64             `json:"medianLatencyMs"`
	ClockSkewSeconds     *float64            `json:"clockSkewSeconds,omitempty"` // server Date minus this machine's clock
}

// Options tune a run.
type Options struct {
	Sample int              // connectors compared field by field; 0 means 5
	Now    func() time.Time // this machine's clock; nil: time.Now
}

// maxSkew is the clock difference worth a warning: Retry-After may come as
// an HTTP date, which is read against this machine's clock.
const maxSkew = time.Minute

// userLevels the connector operations accept; scopes that cover them.
var (
	userLevels  = []string{"ORG_ADMIN", "SOURCE_ADMIN", "SOURCE_SUBADMIN"}
	manageScope = "idn:connector-config:manage"
	readScope   = "idn:connector-config:read"
	allScope    = "sp:scopes:all"
)

type observations struct {
	mu   sync.Mutex
	list []apiclient.Observation
}

// Run checks the tenant c talks to. It fails only when it cannot run at all
// (ctx cancelled); every finding is in the report.
func Run(ctx context.Context, c *apiclient.Client, opts Options) (*Report, error) {
	if opts.Sample <= 0 {
		opts.Sample = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	obs := &observations{}
	c.Observe(func(o apiclient.Observation) {
		obs.mu.Lock()
		obs.list = append(obs.list, o)
		obs.mu.Unlock()
	})
	r := &Report{BaseURL: c.BaseURL()}
	add := func(ch Check) { r.Checks = append(r.Checks, ch) }
	checkTransport(r.BaseURL, add)

	if !checkToken(ctx, c, r, add) {
		return finish(ctx, r, obs, opts)
	}
	chosen := checkLayouts(ctx, c, r, add)
	if chosen == "" {
		return finish(ctx, r, obs, opts)
	}
	r.APIVersion = chosen
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sample := checkConnectors(ctx, c, chosen, r, add, opts.Sample)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	checkCorrelation(ctx, c, r, add, sample)
	checkDetails(ctx, c, r, add, sample)
	return finish(ctx, r, obs, opts)
}

func finish(ctx context.Context, r *Report, obs *observations, opts Options) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	checkGateway(r, obs, opts)
	r.OK = true
	for _, ch := range r.Checks {
		if ch.Status == Fail {
			r.OK = false
		}
	}
	return r, nil
}

func errText(err error) string {
	var e *apiclient.Error
	if errors.As(err, &e) && e.StatusCode != 0 {
		s := fmt.Sprintf("HTTP %d", e.StatusCode)
		if len(e.Messages) > 0 {
			s += ": " + e.Messages[0]
		}
		return s
	}
	return err.Error()
}

// checkTransport fails a base URL that sends the secret in clear: plain
// http:// to a host that is not this machine's loopback (which only
// --allow-insecure-http lets a run reach).
func checkTransport(baseURL string, add func(Check)) {
	u, err := url.Parse(baseURL)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); (err == nil && a.Unmap().IsLoopback()) || host == "localhost" {
		return
	}
	add(Check{Name: "transport", Status: Fail, Detail: "plain http:// to " + host + ": the client secret and every connector travel in clear",
		Fix: "use the tenant's https:// API URL (https://TENANT.api.identitynow.com)"})
}

func checkToken(ctx context.Context, c *apiclient.Client, r *Report, add func(Check)) bool {
	info, err := c.TokenInfo(ctx)
	if err != nil {
		fix := "check SAIL_CLIENT_ID and SAIL_CLIENT_SECRET (a personal access token's id and secret) and SAIL_BASE_URL (https://TENANT.api.identitynow.com)"
		var e *apiclient.Error
		if errors.As(err, &e) && e.StatusCode == 0 && e.Hint != "" {
			// The host was not reached: the credentials are not the question.
			fix = e.Hint
		}
		add(Check{Name: "token", Status: Fail, Detail: "no access token: " + errText(err), Fix: fix})
		return false
	}
	r.TokenLifetimeSeconds = int64(info.Lifetime / time.Second)
	life := "no lifetime announced (expires_in missing): renewed on the first 401"
	if info.Lifetime > 0 {
		life = "lifetime " + info.Lifetime.String()
	}
	add(Check{Name: "token", Status: OK, Detail: "obtained; " + life})
	if !info.JWT {
		add(Check{Name: "permissions", Status: Info, Detail: "the token is not a JWT: its user level and scopes cannot be read; the layout checks below show what it may do"})
		return true
	}
	levels := stringList(info.Claims["authorities"])
	r.UserLevels = levels
	var problems, fixes []string
	if !slices.ContainsFunc(levels, func(l string) bool { return slices.Contains(userLevels, l) }) {
		have := "none (a client-credentials token of an API client has no user context)"
		if len(levels) > 0 {
			have = strings.Join(levels, ", ")
		}
		problems = append(problems, "user level "+have+": the connector API needs ORG_ADMIN, SOURCE_ADMIN or SOURCE_SUBADMIN")
		fixes = append(fixes, "use a personal access token (PAT) of a user with one of those levels")
	}
	scopeDetail := ""
	switch raw := info.Claims["scope"].(type) {
	case nil:
		scopeDetail = "no scope claim"
	case string:
		// SailPoint encodes scopes as a bitmap in some tokens ("FA==").
		if strings.Contains(raw, ":") {
			r.Scopes = strings.Fields(raw)
		} else {
			scopeDetail = fmt.Sprintf("scope claim %q is encoded and cannot be read", raw)
		}
	default:
		r.Scopes = stringList(raw)
	}
	if r.Scopes != nil {
		scopeDetail = "scope " + strings.Join(r.Scopes, " ")
		manage := slices.Contains(r.Scopes, allScope) || slices.Contains(r.Scopes, manageScope)
		read := manage || slices.Contains(r.Scopes, readScope)
		switch {
		case !read:
			problems = append(problems, "the scopes allow neither export ("+readScope+") nor restore ("+manageScope+")")
			fixes = append(fixes, "give the token the scope "+manageScope+" (or "+allScope+")")
		case !manage:
			problems = append(problems, "the scopes allow export but not restore, which needs "+manageScope)
			fixes = append(fixes, "give the token the scope "+manageScope+" (or "+allScope+") to restore with it")
		}
	}
	detail := "user level " + strings.Join(levels, ", ") + "; " + scopeDetail
	if len(levels) == 0 {
		detail = "no user level; " + scopeDetail
	}
	if len(problems) > 0 {
		add(Check{Name: "permissions", Status: Fail, Detail: detail + ": " + strings.Join(problems, "; "), Fix: strings.Join(fixes, "; ")})
	} else {
		add(Check{Name: "permissions", Status: OK, Detail: detail})
	}
	return true
}

func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		return strings.Fields(x)
	}
	return nil
}

func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var e *apiclient.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// checkLayouts lists one item through every layout and returns the layout
// a run would use (the configured one, or what auto would pick), "" when
// none can list.
func checkLayouts(ctx context.Context, c *apiclient.Client, r *Report, add func(Check)) string {
	errs := map[string]error{}
	var parts []string
	for _, v := range apiclient.Layouts {
		_, err := c.ListIn(ctx, v, apiclient.ListQuery{Limit: 1})
		if ctx.Err() != nil {
			return ""
		}
		errs[v] = err
		r.Layouts = append(r.Layouts, Layout{APIVersion: v, List: statusOf(err)})
		parts = append(parts, fmt.Sprintf("%s %s", v, statusText(statusOf(err))))
	}
	want := c.RequestedAPIVersion()
	if want == apiclient.VersionAuto {
		want = apiclient.VersionV3
		if statusOf(errs[apiclient.VersionV1]) != http.StatusNotFound {
			want = apiclient.VersionV1
		}
	}
	detail := "list answered: " + strings.Join(parts, ", ")
	if err := errs[want]; err != nil {
		fix := "check SAIL_BASE_URL and --api-version"
		switch statusOf(err) {
		case http.StatusForbidden:
			fix = "the token may not list connectors: use a PAT of a user with ORG_ADMIN, SOURCE_ADMIN or SOURCE_SUBADMIN and scope " + manageScope
		case http.StatusNotFound:
			var ok []string
			for _, v := range apiclient.Layouts {
				if errs[v] == nil {
					ok = append(ok, v)
				}
			}
			if len(ok) > 0 {
				fix = "this tenant does not serve " + want + ": use --api-version " + ok[0]
			} else {
				fix = "no layout answers: check SAIL_BASE_URL (https://TENANT.api.identitynow.com, nothing after the host)"
			}
		}
		add(Check{Name: "layouts", Status: Fail, Detail: detail + fmt.Sprintf("; the run's layout %s cannot list (%s)", want, errText(err)), Fix: fix})
		return ""
	}
	st := OK
	fix := ""
	if want != apiclient.VersionV1 && errs[apiclient.VersionV1] == nil {
		st, fix = Info, "the per-service layout /connectors/v1 answers too; --api-version auto (the default) uses it"
	}
	add(Check{Name: "layouts", Status: st, Detail: detail + "; a run uses " + want, Fix: fix})
	return want
}

func statusText(code int) string {
	if code == 0 {
		return "no answer"
	}
	return fmt.Sprint(code)
}

type sampled struct {
	scriptName string
	detail     *apiclient.ConnectorDetail
}

// checkConnectors counts the listed connectors and returns the sample:
// custom connectors first (they are what a backup is for), their details
// read.
func checkConnectors(ctx context.Context, c *apiclient.Client, version string, r *Report, add func(Check), n int) []sampled {
	var custom, builtIn []string
	offset := 0
	for {
		p, err := c.ListIn(ctx, version, apiclient.ListQuery{Limit: apiclient.MaxPageSize, Offset: offset})
		if err != nil {
			add(Check{Name: "connectors", Status: Fail, Detail: "listing connectors failed at offset " + fmt.Sprint(offset) + ": " + errText(err), Fix: "run again; if it persists, quote the error to SailPoint support"})
			return nil
		}
		for _, it := range p.Items {
			if domain.IsCustomType(it.Type) {
				custom = append(custom, it.ScriptName)
			} else {
				builtIn = append(builtIn, it.ScriptName)
			}
		}
		if len(p.Items) < apiclient.MaxPageSize || offset > 100_000 {
			break
		}
		offset += len(p.Items)
	}
	r.Listed, r.Custom, r.BuiltIn = len(custom)+len(builtIn), len(custom), len(builtIn)
	add(Check{Name: "connectors", Status: OK, Detail: fmt.Sprintf("%d listed (RELEASED only): %d custom (type starting with \"custom \" or \"custom_\"), %d built-in", r.Listed, r.Custom, r.BuiltIn)})
	names := append(custom, builtIn...)
	var out []sampled
	for _, sn := range names {
		if len(out) >= n {
			break
		}
		d, _, err := c.GetConnector(ctx, sn, "")
		if err != nil {
			add(Check{Name: "details", Status: Fail, Detail: fmt.Sprintf("reading the detail of %s failed: %s", sn, errText(err)), Fix: "export cannot read this connector; check the token's permissions or quote the error to SailPoint support"})
			return out
		}
		out = append(out, sampled{sn, d})
		r.Sampled = append(r.Sampled, sn)
	}
	return out
}

// checkCorrelation asks every layout that lists for the correlation-config
// of a sampled connector whose detail has one.
func checkCorrelation(ctx context.Context, c *apiclient.Client, r *Report, add func(Check), sample []sampled) {
	var sn string
	for _, s := range sample {
		if s.detail.CorrelationConfigXML != "" {
			sn = s.scriptName
			break
		}
	}
	if sn == "" {
		add(Check{Name: "correlation-config", Status: Info, Detail: "no sampled connector has a correlation config: the route was not tried"})
		return
	}
	var served, parts []string
	for i := range r.Layouts {
		l := &r.Layouts[i]
		if l.List != http.StatusOK {
			continue
		}
		_, err := c.GetDocumentIn(ctx, l.APIVersion, sn, apiclient.CorrelationConfig)
		l.CorrelationConfig = statusOf(err)
		parts = append(parts, fmt.Sprintf("%s %s", l.APIVersion, statusText(l.CorrelationConfig)))
		if err == nil {
			served = append(served, l.APIVersion)
		}
	}
	detail := fmt.Sprintf("GET correlation-config of %s answered: %s", sn, strings.Join(parts, ", "))
	switch {
	case len(served) == 0:
		add(Check{Name: "correlation-config", Status: Warn, Detail: detail + "; no layout serves it",
			Fix: "export keeps the detail's correlationConfigXml and restore writes it with PATCH, so both work; ask SailPoint support whether the route is gone for good"})
	case !slices.Contains(served, r.APIVersion):
		add(Check{Name: "correlation-config", Status: Info, Detail: detail + fmt.Sprintf("; the run's layout %s lacks it, so export and restore use %s for it", r.APIVersion, served[0])})
	default:
		add(Check{Name: "correlation-config", Status: OK, Detail: detail})
	}
}

// checkDetails compares each sampled detail's document fields with the
// sub-resources, byte for byte.
func checkDetails(ctx context.Context, c *apiclient.Client, r *Report, add func(Check), sample []sampled) {
	if len(sample) == 0 {
		return
	}
	fields, lacking := 0, 0
	compare := func(sn, what, field string, get func() ([]byte, error)) {
		b, err := get()
		switch {
		case apiclient.IsNotFound(err) && field == "":
			return // neither has it
		case err == nil && field == "" && len(b) > 0:
			// export --from-detail reads what the detail lacks from its
			// sub-resource, so the archive is the same; it costs a request.
			lacking++
		case apiclient.IsNotFound(err):
			r.Differences = append(r.Differences, fmt.Sprintf("%s %s: the detail has it, the sub-resource answers 404", sn, what))
		case err != nil:
			r.Differences = append(r.Differences, fmt.Sprintf("%s %s: %s", sn, what, errText(err)))
		case string(b) != field:
			r.Differences = append(r.Differences, fmt.Sprintf("%s %s: the detail's %d bytes differ from the sub-resource's %d", sn, what, len(field), len(b)))
		}
		fields++
	}
	for _, s := range sample {
		sn, d := s.scriptName, s.detail
		compare(sn, "source-config", d.SourceConfigXML, func() ([]byte, error) { return c.GetDocument(ctx, sn, apiclient.SourceConfig) })
		compare(sn, "correlation-config", d.CorrelationConfigXML, func() ([]byte, error) { return c.GetDocument(ctx, sn, apiclient.CorrelationConfig) })
		for _, l := range slices.Sorted(maps.Keys(d.TranslationProperties)) {
			if !domain.ValidLocale(l) {
				continue
			}
			compare(sn, "translations/"+l, d.TranslationProperties[l], func() ([]byte, error) { return c.GetTranslation(ctx, sn, l) })
		}
		if ctx.Err() != nil {
			return
		}
	}
	if len(r.Differences) > 0 {
		add(Check{Name: "from-detail", Status: Warn,
			Detail: fmt.Sprintf("%d of %d document fields of %d sampled details differ from their sub-resources: %s", len(r.Differences), fields, len(sample), strings.Join(r.Differences, "; ")),
			Fix:    "keep the full fetch (the default); export --from-detail would archive the detail's bytes"})
		return
	}
	r.FromDetailEquivalent = true
	detail := fmt.Sprintf("all %d document fields of %d sampled details equal their sub-resources byte for byte: export --from-detail is equivalent here", fields, len(sample))
	if lacking > 0 {
		detail = fmt.Sprintf("%d document fields of %d sampled details equal their sub-resources byte for byte and %d the details lack are read from their sub-resources: export --from-detail is equivalent here (it names those in the manifest's documentSources)",
			fields-lacking, len(sample), lacking)
	}
	add(Check{Name: "from-detail", Status: OK, Detail: detail})
}

// checkGateway reports what every answer said: rate-limit headers, latency,
// and the server's clock.
func checkGateway(r *Report, obs *observations, opts Options) {
	obs.mu.Lock()
	list := slices.Clone(obs.list)
	obs.mu.Unlock()
	r.Requests = len(list)
	if len(list) == 0 {
		return
	}
	lat := make([]time.Duration, 0, len(list))
	var skews []float64
	for _, o := range list {
		lat = append(lat, o.Latency)
		if o.Status == http.StatusTooManyRequests {
			r.RateLimited++
		}
		for k, v := range o.RateHeaders {
			if r.RateHeaders == nil {
				r.RateHeaders = map[string][]string{}
			}
			for _, x := range v {
				if !slices.Contains(r.RateHeaders[k], x) && len(r.RateHeaders[k]) < 10 {
					r.RateHeaders[k] = append(r.RateHeaders[k], x)
				}
			}
		}
		if d, err := http.ParseTime(o.Date); err == nil {
			// The Date is stamped while the answer is made: about the
			// middle of the round trip, to a whole second.
			skews = append(skews, d.Sub(o.Sent.Add(o.Latency/2)).Seconds())
		}
	}
	slices.Sort(lat)
	r.MedianLatencyMS = float64(lat[len(lat)/2].Microseconds()) / 1000
	r.Checks = append(r.Checks, Check{Name: "latency", Status: Info, Detail: fmt.Sprintf("median %.0f ms over %d requests", r.MedianLatencyMS, len(list))})

	rate := "no rate-limit headers seen"
	if len(r.RateHeaders) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.RateHeaders)) {
			parts = append(parts, k+": "+strings.Join(r.RateHeaders[k], ", "))
		}
		rate = "seen " + strings.Join(parts, "; ")
	}
	r.Checks = append(r.Checks, Check{Name: "rate limit", Status: Info, Detail: fmt.Sprintf("%s; %d answers were 429", rate, r.RateLimited)})

	if len(skews) == 0 {
		r.Checks = append(r.Checks, Check{Name: "clock", Status: Info, Detail: "the answers carry no Date header: the clocks cannot be compared"})
		return
	}
	sort.Float64s(skews)
	skew := skews[len(skews)/2]
	r.ClockSkewSeconds = &skew
	ch := Check{Name: "clock", Status: OK, Detail: fmt.Sprintf("the tenant's clock is %+.0f s from this machine's (Date header, 1 s resolution)", skew)}
	if abs(skew) < 1 {
		ch.Detail = "the tenant's clock agrees with this machine's to within the Date header's second"
	}
	if abs(skew) > maxSkew.Seconds() {
		ch.Status = Warn
		ch.Fix = "synchronise this machine's clock (NTP): a Retry-After given as a date is read against it, and archive times come from it"
	}
	r.Checks = append(r.Checks, ch)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
