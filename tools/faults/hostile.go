package main

// The hostile-server cases: a server that answers wrongly rather
// than failing. Each case runs connvault's own export or restore code
// against a sandbox whose hook plays the hostile part, and checks the safe
// outcome: no write to another connector, no false "written", one create,
// the mismatch named, paging stopped, the run not stalled, the archive
// readable, no token in any message.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/sandbox"
)

// hostileRow is one line of the hostile-server table.
type hostileRow struct {
	Name    string // the case
	Layout  string // the API layout asked for and the one(s) the requests used: "auto → v1"
	Server  string // what the server does
	Want    string // the safe outcome
	Outcome string // what happened, in a few words
	OK      bool
}

type hostileCase struct {
	name, server, want string
	run                func(ctx context.Context, dir string, env *hostileEnv) (outcome string, err error)
}

// hostileLayouts are the API layouts every case runs in: the default users
// get (auto, which picks /connectors/v1 on a tenant serving it) and the
// yearly v3 collection, so the guards are shown in both path shapes.
var hostileLayouts = []string{apiclient.VersionAuto, apiclient.VersionV3}

// hostileEnv is one case's run: the layout its clients ask for, and the
// layouts their API requests went to.
type hostileEnv struct {
	version string
	mu      sync.Mutex
	used    map[string]bool
}

// layoutUsed records the layout of an API request path.
func (e *hostileEnv) layoutUsed(path string) {
	coll, _, ok := collectionOf(path)
	if !ok {
		return // the token endpoint
	}
	v := apiclient.VersionV1
	if coll != "/connectors/v1" {
		v = strings.TrimSuffix(strings.TrimPrefix(coll, "/"), "/connectors")
	}
	e.mu.Lock()
	e.used[v] = true
	e.mu.Unlock()
}

// layout is what the row shows: the layout asked for, what auto resolved
// to ("auto → v1"), and any other layout a route went to because the chosen
// one does not publish it ("v3 (+v1)": correlation-config).
func (e *hostileEnv) layout() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.used) == 0 {
		return e.version + " (no request)"
	}
	chosen := e.version
	if chosen == apiclient.VersionAuto {
		// auto resolves to the first layout that lists: the per-service one
		// when it is served.
		for _, l := range apiclient.Layouts {
			if e.used[l] {
				chosen = l
				break
			}
		}
	}
	var also []string
	for _, l := range slices.Sorted(maps.Keys(e.used)) {
		if l != chosen {
			also = append(also, "+"+l)
		}
	}
	out := chosen
	if e.version == apiclient.VersionAuto {
		out = "auto → " + chosen
	}
	if len(also) > 0 {
		out += " (" + strings.Join(also, " ") + ")"
	}
	return out
}

// recordLayouts is a transport that tells env which layout each request
// went to.
type recordLayouts struct {
	rt  http.RoundTripper
	env *hostileEnv
}

func (r recordLayouts) RoundTrip(req *http.Request) (*http.Response, error) {
	r.env.layoutUsed(req.URL.Path)
	return r.rt.RoundTrip(req)
}

// runHostile runs every case in every layout of hostileLayouts; a case
// whose outcome is not the safe one is not OK, and its error says why.
func runHostile(ctx context.Context, dir string, log func(string, ...any)) []hostileRow {
	var rows []hostileRow
	for _, version := range hostileLayouts {
		for i, hc := range hostileCases() {
			d := filepath.Join(dir, fmt.Sprintf("hostile-%s-%02d", version, i))
			env := &hostileEnv{version: version, used: map[string]bool{}}
			out, err := "", os.MkdirAll(d, 0o755)
			if err == nil {
				out, err = hc.run(ctx, d, env)
			}
			row := hostileRow{Name: hc.name, Layout: env.layout(), Server: hc.server, Want: hc.want, Outcome: out, OK: err == nil}
			if err != nil {
				row.Outcome = "UNSAFE: " + err.Error()
			}
			log("hostile: %-44s %-10s %s", hc.name, row.Layout, row.Outcome)
			rows = append(rows, row)
		}
	}
	return rows
}

func hostileTable(rows []hostileRow) string {
	var b strings.Builder
	b.WriteString("| case | API layout | the server | safe outcome | outcome | result |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		res := "ok"
		if !r.OK {
			res = "UNSAFE"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Name, r.Layout, r.Server, r.Want, strings.ReplaceAll(r.Outcome, "|", "\\|"), res)
	}
	return b.String()
}

// collectionOf splits an API path into the connector collection of its
// layout ("/v3/connectors", "/connectors/v1") and what follows it ("",
// "alpha", "alpha/source-config"). ok is false for other paths.
func collectionOf(path string) (collection, rest string, ok bool) {
	if path == "/connectors/v1" || strings.HasPrefix(path, "/connectors/v1/") {
		collection = "/connectors/v1"
	} else if i := strings.Index(path, "/connectors"); i > 0 && !strings.Contains(path[1:i], "/") {
		collection = path[:i+len("/connectors")]
	} else {
		return "", "", false
	}
	rest = strings.TrimPrefix(path[len(collection):], "/")
	if path != collection && !strings.HasPrefix(path, collection+"/") {
		return "", "", false
	}
	return collection, rest, true
}

// connectorOf is the scriptName an API path is about ("" for the
// collection itself).
func connectorOf(path string) string {
	_, rest, _ := collectionOf(path)
	return strings.SplitN(rest, "/", 2)[0]
}

// isCollection reports whether path is the connector collection (list, create).
func isCollection(path string) bool {
	_, rest, ok := collectionOf(path)
	return ok && rest == ""
}

// hostileServer is a sandbox tenant serving over HTTP, with the client
// connvault would use.
type hostileServer struct {
	srv *sandbox.Server
	c   *apiclient.Client
	log *bytes.Buffer // the client's log, info level
}

func startHostile(ctx context.Context, env *hostileEnv, opts sandbox.Options, tune func(*apiclient.Config)) (*hostileServer, error) {
	srv, err := sandbox.Start(ctx, "", opts)
	if err != nil {
		return nil, err
	}
	hs := &hostileServer{srv: srv, log: &bytes.Buffer{}}
	var mu sync.Mutex
	cfg := apiclient.Config{BaseURL: srv.URL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1, UserAgent: "connvault-faults",
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, hs.log}, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if tune != nil {
		tune(&cfg)
	}
	cfg.APIVersion = env.version
	hc := &http.Client{Transport: http.DefaultTransport}
	if cfg.HTTPClient != nil {
		hc = cfg.HTTPClient
	}
	rec := *hc
	if rec.Transport == nil {
		rec.Transport = http.DefaultTransport
	}
	rec.Transport = recordLayouts{rec.Transport, env}
	cfg.HTTPClient = &rec
	if hs.c, err = apiclient.New(cfg); err != nil {
		_ = srv.Close()
		return nil, err
	}
	return hs, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// source is the sandbox's seeded tenant as an archive snapshot: what a
// restore restores.
func source() (*archive.Snapshot, error) {
	return state(sandbox.New(sandbox.Options{}))
}

// restoreInto plans and applies arch against hs as `connvault restore --yes
// --no-backup` does.
func restoreInto(ctx context.Context, hs *hostileServer, arch *archive.Snapshot, opts importer.Options) (*importer.Report, error) {
	names, err := importer.TargetNames(arch, opts)
	if err != nil {
		return nil, err
	}
	var sns []string
	for _, c := range arch.Connectors {
		sns = append(sns, c.ScriptName)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	target := &archive.Snapshot{}
	if _, err := export.Run(ctx, hs.c, export.Options{ScriptNames: sns, Concurrency: 4, Logger: slog.New(slog.DiscardHandler),
		Select: func(d apiclient.V3ConnectorDto) bool { return want[d.Name] }},
		func(conn *archive.Connector) error { target.Connectors = append(target.Connectors, conn); return nil }); err != nil {
		return nil, fmt.Errorf("reading the target: %w", err)
	}
	plan, err := importer.NewPlan(arch, target, opts)
	if err != nil {
		return nil, err
	}
	return importer.Apply(ctx, hs.c, plan, importer.ApplyOptions{Concurrency: 2, TargetScriptNames: importer.ScriptNames(target)}), nil
}

// exportTo exports hs into path as `connvault export` does.
func exportTo(ctx context.Context, hs *hostileServer, path string, opts export.Options) (*export.Result, error) {
	w, err := archive.Create(ctx, path, archive.Meta{ToolVersion: "faults", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	opts.Logger = slog.New(slog.DiscardHandler)
	res, err := export.Run(ctx, hs.c, opts, func(conn *archive.Connector) error { return w.Add(ctx, conn) })
	if err != nil {
		return res, err
	}
	if res.Partial() {
		w.SetPartial(res.Skipped)
	}
	_, err = w.Close(ctx)
	return res, err
}

// holder is an existing connector of the target, with a document, and a
// check that it is untouched.
func holder(tn *sandbox.Tenant, name string) (string, func() bool, error) {
	dto, err := tn.CreateDirect(apiclient.V3CreateConnectorDto{Name: name, ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		return "", nil, err
	}
	if err := tn.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, []byte("<holder/>")); err != nil {
		return "", nil, err
	}
	before, _ := tn.Connector(dto.ScriptName)
	return dto.ScriptName, func() bool {
		after, _ := tn.Connector(dto.ScriptName)
		return reflect.DeepEqual(before, after)
	}, nil
}

func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && isCollection(r.URL.Path)
}

func writeJSONAnswer(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// createRefused restores the seeded custom connectors into a tenant whose
// creates are answered by answer, and checks every create was refused and
// the existing connector untouched.
func createRefused(ctx context.Context, env *hostileEnv, answer func(w http.ResponseWriter, r *http.Request, holderSN string) bool) (string, error) {
	arch, err := source()
	if err != nil {
		return "", err
	}
	hs, err := startHostile(ctx, env, sandbox.Options{Empty: true}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	sn, untouched, err := holder(hs.srv.Tenant, "Bravo Existing")
	if err != nil {
		return "", err
	}
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		return isCreate(r) && answer(w, r, sn)
	})
	rep, err := restoreInto(ctx, hs, arch, importer.Options{})
	if err != nil {
		return "", err
	}
	if !untouched() {
		return "", fmt.Errorf("the existing connector %s was written", sn)
	}
	if rep.Counts.Created != 0 || rep.Counts.Failed == 0 {
		return "", fmt.Errorf("report %+v: want every create failed", rep.Counts)
	}
	for _, r := range rep.Results {
		if r.Outcome == importer.OutcomeFailed && (len(r.Failures) != 1 || r.Failures[0].Item != "create") {
			return "", fmt.Errorf("%s: failures %+v, want the create alone", r.Name, r.Failures)
		}
	}
	return fmt.Sprintf("%d creates refused, %s untouched, nothing reported written", rep.Counts.Failed, sn), nil
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{"create answered with another connector", "POST /connectors answered 200 with an existing connector", "create refused, existing connector untouched",
			func(ctx context.Context, _ string, env *hostileEnv) (string, error) {
				return createRefused(ctx, env, func(w http.ResponseWriter, r *http.Request, sn string) bool {
					writeJSONAnswer(w, http.StatusOK, apiclient.V3ConnectorDto{Name: "Bravo Existing", ScriptName: sn, Status: "RELEASED"})
					return true
				})
			}},
		{"create redirected to another connector", "POST /connectors answered 302 to an existing connector's URL", "create refused (not followed), existing connector untouched",
			func(ctx context.Context, _ string, env *hostileEnv) (string, error) {
				return createRefused(ctx, env, func(w http.ResponseWriter, r *http.Request, sn string) bool {
					http.Redirect(w, r, r.URL.Path+"/"+sn, http.StatusFound)
					return true
				})
			}},
		{"create answered with an existing scriptName", "POST /connectors answered 200 with the name asked for and an existing connector's scriptName", "create refused, existing connector untouched",
			func(ctx context.Context, _ string, env *hostileEnv) (string, error) {
				return createRefused(ctx, env, func(w http.ResponseWriter, r *http.Request, sn string) bool {
					var in apiclient.V3CreateConnectorDto
					_ = json.NewDecoder(r.Body).Decode(&in)
					writeJSONAnswer(w, http.StatusOK, apiclient.V3ConnectorDto{Name: in.Name, ScriptName: sn, Status: "RELEASED"})
					return true
				})
			}},
		{"write answered with a redirect", "every PUT answered 303 to the connector's detail (200)", "every PUT a failure, nothing reported written", putRedirected},
		{"lost answer to a hidden create", "the answer of a DEVELOPMENT connector's create lost (the list never shows it), under a mapped name", "found by probing its scriptName, created once", lostHiddenCreate},
		{"detail of another connector", "GET /connectors/A answered with B's detail", "export fails naming both; --keep-going records A failed", wrongDetail},
		{"endless paging", "every list page answered with the same 250 connectors", "export stops after 2 pages with ErrEndlessList, no archive", endlessPaging},
		{"large documents", "a 20 MiB source-config (its detail repeats it)", "archive written, verified and read back", largeDocument},
		{"rotated token echoed", "a 403 quoting the token the client held before a 401 made it renew, and the request's headers", "no token or header value in the error", rotatedToken},
		{"server that never answers", "every API request taken and never answered (header timeout 200 ms)", "2 attempts, an info line after the first, then a clear error", neverAnswers},
		{"unarchivable scriptNames", "connectors named a/b, .. and 10,000 bytes", "--keep-going records them failed, archives the rest", unarchivable},
		{"enormous Retry-After", "one document answered 429 with Retry-After: 999999 on every try", "that connector failed at once naming --max-wait, --keep-going archives the rest, the run not stalled", enormousRetryAfter},
	}
}

func putRedirected(ctx context.Context, _ string, env *hostileEnv) (string, error) {
	arch, err := source()
	if err != nil {
		return "", err
	}
	hs, err := startHostile(ctx, env, sandbox.Options{Empty: true}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		coll, _, _ := collectionOf(r.URL.Path)
		http.Redirect(w, r, coll+"/"+connectorOf(r.URL.Path), http.StatusSeeOther)
		return true
	})
	rep, err := restoreInto(ctx, hs, arch, importer.Options{})
	if err != nil {
		return "", err
	}
	puts := 0
	for _, r := range rep.Results {
		for _, w := range r.Written {
			if w != "connectorMetadata" && w != "applicationXml" {
				return "", fmt.Errorf("%s: %s reported written, but its PUT was redirected", r.Name, w)
			}
		}
		for _, f := range r.Failures {
			if !strings.Contains(f.Message, "HTTP 303") {
				return "", fmt.Errorf("%s: %s failed for another reason: %s", r.Name, f.Item, f.Message)
			}
			puts++
		}
	}
	if puts == 0 || !rep.Failed() {
		return "", fmt.Errorf("report %+v: want the PUTs failed", rep.Counts)
	}
	return fmt.Sprintf("%d PUTs failed with HTTP 303, none reported written", puts), nil
}

func lostHiddenCreate(ctx context.Context, _ string, env *hostileEnv) (string, error) {
	arch, err := source()
	if err != nil {
		return "", err
	}
	const from, to = "Legacy Mainframe RACF Bridge", "Mainframe Bridge (restored)"
	hs, err := startHostile(ctx, env, sandbox.Options{Empty: true}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	tn := hs.srv.Tenant
	// The tenant carries the create out, then the connection drops: the
	// client never hears back.
	lose := sandbox.LoseCreateAnswers(tn, to)
	tn.SetHook(lose.Hook)
	rep, err := restoreInto(ctx, hs, arch, importer.Options{Only: []string{from}, Mapping: map[string]string{from: to}})
	if err != nil {
		return "", err
	}
	if got := lose.Lost(); len(got) != 1 || got[0] != to {
		return "", fmt.Errorf("lost the answers to creating %q, want %q: the case never happened", got, to)
	}
	if n := tn.Stats().Creates[to]; n != 1 || len(tn.ScriptNames()) != 1 || rep.Counts.Created != 1 {
		return "", fmt.Errorf("%d creates reached the tenant, it holds %d connectors, report %+v: want one of each", n, len(tn.ScriptNames()), rep.Counts)
	}
	c, _ := tn.Connector(tn.ScriptNames()[0])
	if c.Status != apiclient.StatusDevelopment || c.SourceConfig == nil {
		return "", fmt.Errorf("the connector is %s with %d bytes of source-config", c.Status, len(c.SourceConfig))
	}
	return fmt.Sprintf("1 create; found again as %s (DEVELOPMENT) and restored", tn.ScriptNames()[0]), nil
}

func wrongDetail(ctx context.Context, dir string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	tn := hs.srv.Tenant
	var released []string
	for _, sn := range tn.ScriptNames() {
		if c, _ := tn.Connector(sn); c.Status == apiclient.StatusReleased {
			released = append(released, sn)
		}
	}
	victim, other := released[0], released[1]
	d, _ := tn.Detail(other)
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if _, rest, ok := collectionOf(r.URL.Path); ok && r.Method == http.MethodGet && rest == victim {
			writeJSONAnswer(w, http.StatusOK, d)
			return true
		}
		return false
	})
	_, err = exportTo(ctx, hs, filepath.Join(dir, "a.tar.zst"), export.Options{Concurrency: 4})
	if !errors.Is(err, apiclient.ErrWrongConnector) || !strings.Contains(err.Error(), `"`+other+`"`) {
		return "", fmt.Errorf("export: %v; want ErrWrongConnector naming %s", err, other)
	}
	path := filepath.Join(dir, "b.tar.zst")
	res, err := exportTo(ctx, hs, path, export.Options{Concurrency: 4, KeepGoing: true})
	if err != nil {
		return "", err
	}
	snap, err := archive.ReadFile(path, archive.ReadOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range snap.Connectors {
		if c.ScriptName == victim {
			return "", fmt.Errorf("%s archived with %s's detail", victim, other)
		}
	}
	if len(res.Failed) != 1 || res.Failed[0].ScriptName != victim {
		return "", fmt.Errorf("--keep-going failed %+v, want %s", res.Failed, victim)
	}
	return fmt.Sprintf("export failed naming %s and %s; --keep-going archived %d, %s failed", victim, other, len(snap.Connectors), victim), nil
}

func endlessPaging(ctx context.Context, dir string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	var page []apiclient.V3ConnectorDto
	for i := range apiclient.MaxPageSize {
		page = append(page, apiclient.V3ConnectorDto{Name: fmt.Sprintf("Ghost %d", i), ScriptName: fmt.Sprintf("ghost-%d", i), Status: "RELEASED"})
	}
	var lists atomic.Int32
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !isCollection(r.URL.Path) {
			return false
		}
		lists.Add(1)
		w.Header().Set("X-Total-Count", "1000000")
		writeJSONAnswer(w, http.StatusOK, page)
		return true
	})
	path := filepath.Join(dir, "x.tar.zst")
	_, err = exportTo(ctx, hs, path, export.Options{Concurrency: 4})
	if !errors.Is(err, apiclient.ErrEndlessList) {
		return "", fmt.Errorf("export: %v; want ErrEndlessList", err)
	}
	if n := lists.Load(); n != 2 {
		return "", fmt.Errorf("%d list requests, want 2", n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		return "", fmt.Errorf("export left %v", left)
	}
	return "stopped after 2 list requests, nothing left on disk", nil
}

func largeDocument(ctx context.Context, dir string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{Empty: true}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	tn := hs.srv.Tenant
	dto, err := tn.CreateDirect(apiclient.V3CreateConnectorDto{Name: "Huge", ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		return "", err
	}
	doc := append(append([]byte("<big>"), bytes.Repeat([]byte("a"), 20<<20)...), "</big>"...)
	if err := tn.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, doc); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "x.tar.zst")
	if _, err := exportTo(ctx, hs, path, export.Options{Concurrency: 2}); err != nil {
		return "", err
	}
	if ps := archive.Verify(path, archive.ReadOptions{}); len(ps) > 0 {
		return "", fmt.Errorf("verify: %w", ps[0])
	}
	snap, err := archive.ReadFile(path, archive.ReadOptions{})
	if err != nil {
		return "", err
	}
	if len(snap.Connectors) != 1 || !bytes.Equal(snap.Connectors[0].SourceConfig, doc) {
		return "", errors.New("the document did not come back")
	}
	return fmt.Sprintf("archived; detail.json %d bytes; verify and read back ok", len(snap.Connectors[0].Detail)), nil
}

func rotatedToken(ctx context.Context, _ string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	var mu sync.Mutex
	var first string
	n := 0
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/oauth/token" {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		switch n {
		case 1:
			first = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			w.WriteHeader(http.StatusUnauthorized) // the client renews its token
		default:
			writeJSONAnswer(w, http.StatusForbidden, map[string]any{"messages": []map[string]string{{"text": fmt.Sprintf(
				"token %s is not allowed; request headers: Authorization: %s", first, r.Header.Get("Authorization"))}}})
		}
		return true
	})
	_, _, err = hs.c.GetConnector(ctx, "anything", "")
	if err == nil {
		return "", errors.New("want a 403")
	}
	if st := hs.c.Stats(); st.TokenRequests != 2 || first == "" {
		return "", fmt.Errorf("%d tokens fetched, want 2 (a rotation)", st.TokenRequests)
	}
	if strings.Contains(err.Error(), first) || strings.Contains(err.Error(), "Bearer ey") {
		return "", fmt.Errorf("the error holds a token: %s", err)
	}
	return "403 reported with both tokens and the header value REDACTED", nil
}

func neverAnswers(ctx context.Context, dir string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{}, func(cfg *apiclient.Config) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = 200 * time.Millisecond
		cfg.HTTPClient = &http.Client{Transport: tr}
	})
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	var reqs atomic.Int32
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/oauth/token" {
			return false
		}
		reqs.Add(1)
		<-r.Context().Done()
		return true
	})
	start := time.Now()
	_, err = exportTo(ctx, hs, filepath.Join(dir, "x.tar.zst"), export.Options{Concurrency: 2})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "sent no answer, 2 times") {
		return "", fmt.Errorf("export: %v; want a call given up after 2 silent attempts", err)
	}
	if n := reqs.Load(); n != 2 {
		return "", fmt.Errorf("%d requests, want 2", n)
	}
	if !strings.Contains(hs.log.String(), "level=INFO") || !strings.Contains(hs.log.String(), "no answer from the server to list connectors") {
		return "", fmt.Errorf("no info line after the first timeout; log:\n%s", hs.log.String())
	}
	return fmt.Sprintf("gave up after 2 requests in %.1f s, having said what it retried", took.Seconds()), nil
}

func unarchivable(ctx context.Context, dir string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	bad := []string{"a/b", "..", strings.Repeat("x", 10000)}
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		coll, _, ok := collectionOf(r.URL.EscapedPath())
		if !ok {
			return false
		}
		for i, sn := range bad {
			p := strings.TrimSuffix(r.URL.EscapedPath(), "/")
			prefix := coll + "/" + url.PathEscape(sn)
			switch {
			case p == prefix:
				writeJSONAnswer(w, http.StatusOK, apiclient.ConnectorDetail{Name: fmt.Sprintf("Bad %d", i), ScriptName: sn, Type: "custom Bad", ClassName: "x"})
				return true
			case strings.HasPrefix(p, prefix+"/"):
				writeJSONAnswer(w, http.StatusNotFound, map[string]any{"messages": []map[string]string{{"text": "none"}}})
				return true
			}
		}
		return false
	})
	path := filepath.Join(dir, "x.tar.zst")
	res, err := exportTo(ctx, hs, path, export.Options{Concurrency: 4, KeepGoing: true, ScriptNames: bad})
	if err != nil {
		return "", err
	}
	if len(res.Failed) != len(bad) {
		return "", fmt.Errorf("%d failed, want %d", len(res.Failed), len(bad))
	}
	m, err := archive.ReadManifest(path)
	if err != nil {
		return "", err
	}
	if !m.Partial {
		return "", errors.New("the archive is not marked partial")
	}
	return fmt.Sprintf("%d recorded failed, %d connectors archived, archive partial", len(res.Failed), m.ConnectorCount), nil
}

// enormousRetryAfter: one 429 asking for 999,999 s must fail
// its own request at once (the default --max-wait is 30 min) and leave the
// rest of the run going, not pause every worker of the bucket.
func enormousRetryAfter(ctx context.Context, dir string, env *hostileEnv) (string, error) {
	hs, err := startHostile(ctx, env, sandbox.Options{}, nil)
	if err != nil {
		return "", err
	}
	defer hs.srv.Close()
	const victim = "okta"
	var poisoned atomic.Int32
	hs.srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/"+victim+"/source-template") {
			return false
		}
		poisoned.Add(1)
		w.Header().Set("Retry-After", "999999")
		writeJSONAnswer(w, http.StatusTooManyRequests, map[string]any{"message": " Rate Limit Exceeded "})
		return true
	})
	path := filepath.Join(dir, "x.tar.zst")
	start := time.Now()
	res, err := exportTo(ctx, hs, path, export.Options{Concurrency: 4, KeepGoing: true})
	took := time.Since(start)
	if err != nil {
		return "", err
	}
	if len(res.Failed) != 1 || res.Failed[0].ScriptName != victim || !errors.Is(res.Failed[0].Err, apiclient.ErrWaitTooLong) || !strings.Contains(res.Failed[0].Message, "--max-wait") {
		return "", fmt.Errorf("failed %+v, want %s alone, naming --max-wait", res.Failed, victim)
	}
	if n := poisoned.Load(); n != 1 {
		return "", fmt.Errorf("the poisoned document was asked for %d times, want once (no wait, no retry)", n)
	}
	if took > 30*time.Second {
		return "", fmt.Errorf("the run took %v: the Retry-After stalled it", took)
	}
	m, err := archive.ReadManifest(path)
	if err != nil {
		return "", err
	}
	if !m.Partial || m.ConnectorCount == 0 {
		return "", fmt.Errorf("archive partial %v with %d connectors, want a partial archive of the rest", m.Partial, m.ConnectorCount)
	}
	return fmt.Sprintf("%s failed after 1 request naming --max-wait; %d connectors archived (partial) in %.1f s", victim, m.ConnectorCount, took.Seconds()), nil
}

// checkHostile fails when any case did not end safely.
func checkHostile(rows []hostileRow) error {
	var bad []string
	for _, r := range rows {
		if !r.OK {
			bad = append(bad, r.Name+": "+r.Outcome)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("hostile server: %s", strings.Join(bad, "; "))
	}
	return nil
}

// withHostile puts the hostile-server section into the report, before the
// list of what the tests cover.
func withHostile(report string, rows []hostileRow) string {
	unsafe := 0
	for _, r := range rows {
		if !r.OK {
			unsafe++
		}
	}
	section := "\n## Hostile server\n\n" +
		"A server that answers wrongly rather than failing. Each case runs connvault's own export or\n" +
		"restore code against a sandbox tenant that plays the hostile part, and checks the safe outcome: no write\n" +
		"to another connector, no false \"written\", one create, the mismatch named, paging stopped, the run not\n" +
		"stalled, the archive readable, no token in any message. The command exits 1 if any case is unsafe.\n" +
		"Every case runs in the default layout (auto, which picks /connectors/v1 here) and in v3; \"(+v1)\" marks\n" +
		"a run in which a route v3 does not publish (correlation-config) went to v1.\n\n" +
		hostileTable(rows) + fmt.Sprintf("\nUnsafe: %d of %d cases.\n", unsafe, len(rows))
	const marker = "\n## Also covered by"
	if i := strings.Index(report, marker); i >= 0 {
		return report[:i] + section + report[i:]
	}
	return report + section
}
