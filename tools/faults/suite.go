package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/importer"
	"github.com/connvault/connvault/sandbox"
)

// config sizes a suite run. The defaults are in main; the test shrinks them.
type config struct {
	Connectors int           // synthetic custom connectors in the source tenant
	Locales    int           // translations per connector
	DocSize    int           // bytes per XML document
	Seed       int64         // tenant content and fault dice
	TokenTTL   time.Duration // the short token lifetime
	Slow       time.Duration // latency of the short-token scenario, so runs outlast several tokens
	RateLimit  int           // requests per RateWindow in the 429 scenarios
	RateWindow time.Duration
	Spike      time.Duration // how long a latency spike holds a request
	StallShare float64       // share of answers that stall mid-body
	Idle       time.Duration // the client's idle timeout in the stall scenarios
	MaxRuns    int           // restore runs allowed to converge
	Dir        string
	Log        func(format string, a ...any)
}

// scenario is one fault kind (or all of them) with its settings.
type scenario struct {
	Name     string
	Settings string
	opts     func(*sandbox.Options)
	// faulty wraps the tenant's handler with faults the sandbox has no knob
	// for (latency spikes, stalled bodies); it counts what it injects.
	hook func(rng *rand.Rand, count func(kind string)) func(w http.ResponseWriter, r *http.Request) bool
	// idle is the client's idle timeout (0: the default).
	idle time.Duration
	// tokens marks scenarios with short-lived tokens: the token fetches
	// after each run's first are then reported.
	tokens bool
	// layout is the API layout the clients ask for; "": the default users
	// get (auto, which picks /connectors/v1 on the sandbox).
	layout string
}

// row is one line of the report.
type row struct {
	Name, Settings string
	Layout         string // the layout asked for and the one used: "auto → v1", "v3"
	Runs           int    // export and restore runs
	FailedRuns     int    // runs that ended in an error and were re-run
	Requests       int    // requests the tenants received, token requests included
	Retries        int64
	Faults         map[string]int // injected faults by kind
	Connectors     int            // exported, and again restored
	RestoredConns  int
	Documents      int // XML documents and translations exported
	RestoredDocs   int
	Lost           int // entries or connectors missing or different, duplicates
	LostWhat       []string
	Seconds        float64
	ExportDigest   string
}

func (r row) injected() int {
	n := 0
	for _, v := range r.Faults {
		n += v
	}
	return n
}

func (r row) result() string {
	if r.Lost == 0 {
		return "ok"
	}
	return "LOST"
}

// scenarios are the fault kinds, each alone and then all together.
func scenarios(c config) []scenario {
	errors5xx := func(o *sandbox.Options) { o.ErrorRate = 0.10 }
	drops := func(o *sandbox.Options) { o.DropRate = 0.02 }
	storms := func(o *sandbox.Options) { o.RateLimit, o.RateWindow = c.RateLimit, c.RateWindow }
	tokens := func(o *sandbox.Options) { o.TokenTTL = c.TokenTTL }
	jitter := func(o *sandbox.Options) { o.Latency, o.Jitter = 2*time.Millisecond, 8*time.Millisecond }
	all := []scenario{
		{Name: "5xx answers", Settings: "10% of requests answered 500 (JSON) or 503 (HTML page)", opts: errors5xx},
		{Name: "dropped connections", Settings: "2% of connections closed without an answer", opts: drops},
		{Name: "429 storms", Settings: fmt.Sprintf("%d requests per %s window, Retry-After; client unpaced", c.RateLimit, c.RateWindow), opts: storms},
		{Name: "short tokens", Settings: fmt.Sprintf("tokens live %s; %s latency so a run outlasts several", c.TokenTTL, c.Slow),
			opts: func(o *sandbox.Options) { tokens(o); o.Latency = c.Slow }, tokens: true},
		{Name: "latency spikes", Settings: fmt.Sprintf("2-10 ms latency; 3%% of requests held %s", c.Spike), opts: jitter, hook: spikes(0.03, c.Spike)},
		{Name: "stalled answers", Settings: fmt.Sprintf("%g%% of answers stop mid-body; client idle timeout %s", c.StallShare*100, c.Idle), hook: stalls(c.StallShare), idle: c.Idle},
		{Name: "all together", Settings: "all of the above at once",
			opts: func(o *sandbox.Options) {
				errors5xx(o)
				drops(o)
				storms(o)
				tokens(o)
				jitter(o)
			},
			hook: func(rng *rand.Rand, count func(string)) func(http.ResponseWriter, *http.Request) bool {
				// Each hook gets its own generator: dice lock only their own.
				sp := spikes(0.03, c.Spike)(rand.New(rand.NewPCG(rng.Uint64(), 1)), count)
				st := stalls(c.StallShare)(rand.New(rand.NewPCG(rng.Uint64(), 2)), count)
				return func(w http.ResponseWriter, r *http.Request) bool { return sp(w, r) || st(w, r) }
			},
			idle: c.Idle, tokens: true},
	}
	// Every scenario runs in the default layout; all the faults at once run
	// again in the yearly v3 layout, whose paths differ, against the same
	// fault-free baseline.
	v3 := all[len(all)-1]
	v3.layout = apiclient.VersionV3
	return append(all, v3)
}

// dice is a goroutine-safe seeded coin.
type dice struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (d *dice) hit(p float64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64() < p
}

// spikes holds a share of the API requests for d before the tenant answers.
func spikes(share float64, d time.Duration) func(*rand.Rand, func(string)) func(http.ResponseWriter, *http.Request) bool {
	return func(rng *rand.Rand, count func(string)) func(http.ResponseWriter, *http.Request) bool {
		dc := &dice{rng: rng}
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/oauth/token" || !dc.hit(share) {
				return false
			}
			count("spike")
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return true
			}
			return false
		}
	}
}

// stalls answers a share of the API requests with a status line and half a
// body, then goes quiet until the client gives up. The request never
// reaches the tenant, as when a proxy hangs before forwarding.
func stalls(share float64) func(*rand.Rand, func(string)) func(http.ResponseWriter, *http.Request) bool {
	return func(rng *rand.Rand, count func(string)) func(http.ResponseWriter, *http.Request) bool {
		dc := &dice{rng: rng}
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/oauth/token" || !dc.hit(share) {
				return false
			}
			count("stall")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"name":"half an answer","type":`))
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			<-r.Context().Done()
			return true
		}
	}
}

// tenantRun is a sandbox serving one scenario, with what it injected.
type tenantRun struct {
	srv     *sandbox.Server
	idle    time.Duration
	version string // the API layout the clients ask for ("": auto)
	used    string // the layout the export used (auto resolved)

	mu       sync.Mutex
	injected map[string]int // hook faults by kind
}

func (tr *tenantRun) count(kind string) {
	tr.mu.Lock()
	tr.injected[kind]++
	tr.mu.Unlock()
}

func startTenant(ctx context.Context, opts sandbox.Options, sc *scenario, seed int64) (*tenantRun, error) {
	tr := &tenantRun{injected: map[string]int{}}
	if sc != nil {
		if sc.opts != nil {
			sc.opts(&opts)
		}
		tr.idle, tr.version = sc.idle, sc.layout
	}
	srv, err := sandbox.Start(ctx, "", opts)
	if err != nil {
		return nil, err
	}
	tr.srv = srv
	if sc != nil && sc.hook != nil {
		srv.Tenant.SetHook(sc.hook(rand.New(rand.NewPCG(uint64(seed), 0xfa17)), tr.count))
	}
	return tr, nil
}

func (tr *tenantRun) client() (*apiclient.Client, error) {
	return apiclient.New(apiclient.Config{
		BaseURL: tr.srv.URL, ClientID: tr.srv.ClientID, ClientSecret: tr.srv.ClientSecret, APIVersion: cmp.Or(tr.version, apiclient.VersionAuto),
		Rate: -1, IdleTimeout: tr.idle, UserAgent: "connvault-faults",
	})
}

// faults is what the tenant injected, by kind.
func (tr *tenantRun) faults() map[string]int {
	st := tr.srv.Tenant.Stats()
	out := map[string]int{}
	for k, v := range st.FaultsByKind {
		out[k] += v
	}
	if st.RateLimited > 0 {
		out["429"] += st.RateLimited
	}
	if st.Unauthorized > 0 {
		out["401"] += st.Unauthorized
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for k, v := range tr.injected {
		out[k] += v
	}
	return out
}

// exportOnce exports the tenant into path like `connvault export` does.
func exportOnce(ctx context.Context, tr *tenantRun, path string) (*archive.Manifest, *export.Result, apiclient.Stats, error) {
	c, err := tr.client()
	if err != nil {
		return nil, nil, apiclient.Stats{}, err
	}
	defer func() { tr.used = c.APIVersion() }()
	w, err := archive.Create(ctx, path, archive.Meta{
		ToolVersion: "faults", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Source: archive.Source{BaseURL: "sandbox", APIVersion: c.APIVersion()},
	})
	if err != nil {
		return nil, nil, c.Stats(), err
	}
	defer w.Abort()
	res, err := export.Run(ctx, c, export.Options{Concurrency: 8, Logger: slog.New(slog.DiscardHandler)},
		func(conn *archive.Connector) error { return w.Add(ctx, conn) })
	if err != nil {
		return nil, nil, c.Stats(), err
	}
	m, err := w.Close(ctx)
	if err != nil {
		return nil, nil, c.Stats(), err
	}
	if ps := archive.Verify(path, archive.ReadOptions{}); len(ps) > 0 {
		return nil, nil, c.Stats(), fmt.Errorf("the archive does not verify: %w", ps[0])
	}
	return m, res, c.Stats(), nil
}

// restoreOnce runs one `connvault restore --yes --no-backup`: read the
// target, plan, apply. done is true when the plan was empty (nothing left).
func restoreOnce(ctx context.Context, tr *tenantRun, arch *archive.Snapshot) (done bool, st apiclient.Stats, err error) {
	c, err := tr.client()
	if err != nil {
		return false, apiclient.Stats{}, err
	}
	names := make([]string, 0, len(arch.Connectors))
	for _, conn := range arch.Connectors {
		names = append(names, conn.ScriptName)
	}
	target := &archive.Snapshot{}
	if _, err := export.Run(ctx, c, export.Options{ScriptNames: names, Concurrency: 8, Logger: slog.New(slog.DiscardHandler)},
		func(conn *archive.Connector) error { target.Connectors = append(target.Connectors, conn); return nil }); err != nil {
		return false, c.Stats(), fmt.Errorf("reading the target: %w", err)
	}
	plan, err := importer.NewPlan(arch, target, importer.Options{})
	if err != nil {
		return false, c.Stats(), err
	}
	if plan.Empty() {
		return true, c.Stats(), nil
	}
	rep := importer.Apply(ctx, c, plan, importer.ApplyOptions{Concurrency: 4, TargetScriptNames: importer.ScriptNames(target)})
	if rep.Failed() {
		return false, c.Stats(), fmt.Errorf("%d connectors failed", rep.Counts.Failed)
	}
	return false, c.Stats(), nil
}

// state reads a tenant directly, without HTTP and so without faults.
func state(tn *sandbox.Tenant) (*archive.Snapshot, error) {
	snap := &archive.Snapshot{}
	for _, sn := range tn.ScriptNames() {
		d, _ := tn.Detail(sn)
		c, _ := tn.Connector(sn)
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		canon, err := export.Canonical(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sn, err)
		}
		snap.Connectors = append(snap.Connectors, &archive.Connector{ScriptName: sn, Detail: canon,
			SourceConfig: c.SourceConfig, SourceTemplate: c.SourceTemplate, CorrelationConfig: c.CorrelationConfig, Translations: c.Translations})
	}
	return snap, nil
}

// documents counts a snapshot's XML documents and translations.
func documents(s *archive.Snapshot) int {
	n := 0
	for _, c := range s.Connectors {
		for _, d := range [][]byte{c.SourceConfig, c.SourceTemplate, c.CorrelationConfig} {
			if d != nil {
				n++
			}
		}
		n += len(c.Translations)
	}
	return n
}

// lostEntries compares an export's manifest with the fault-free one: every
// entry missing, added or with other bytes counts.
func lostEntries(want, got *archive.Manifest) []string {
	w := map[string]string{}
	for _, e := range want.Entries {
		w[e.Path] = e.SHA256
	}
	var lost []string
	seen := map[string]bool{}
	for _, e := range got.Entries {
		seen[e.Path] = true
		if h, ok := w[e.Path]; !ok {
			lost = append(lost, "extra entry "+e.Path)
		} else if h != e.SHA256 {
			lost = append(lost, "changed entry "+e.Path)
		}
	}
	for _, e := range want.Entries {
		if !seen[e.Path] {
			lost = append(lost, "missing entry "+e.Path)
		}
	}
	sort.Strings(lost)
	return lost
}

// baseline is the fault-free reference: the export's manifest and archive,
// and the tenant state a fault-free restore reaches.
type baseline struct {
	manifest *archive.Manifest
	archive  *archive.Snapshot
	restored *archive.Snapshot
	row      row
}

func (c config) sourceOptions() sandbox.Options {
	return sandbox.Options{Empty: true, Synthetic: c.Connectors, Locales: c.Locales, DocSize: c.DocSize, Seed: c.Seed}
}

func (c config) targetOptions() sandbox.Options {
	return sandbox.Options{Empty: true, Seed: c.Seed}
}

func runBaseline(ctx context.Context, c config) (*baseline, error) {
	start := time.Now()
	sc := &scenario{Name: "none (baseline)", Settings: "no faults"}
	r, err := runScenario(ctx, c, sc, nil)
	if err != nil {
		return nil, err
	}
	r.row.Seconds = time.Since(start).Seconds()
	return r, nil
}

// runScenario exports and restores under sc. With ref nil it is the
// baseline and compares nothing.
func runScenario(ctx context.Context, c config, sc *scenario, ref *baseline) (*baseline, error) {
	start := time.Now()
	out := &baseline{row: row{Name: sc.Name, Settings: sc.Settings, Faults: map[string]int{}}}
	r := &out.row
	addFaults := func(tr *tenantRun) {
		for k, v := range tr.faults() {
			r.Faults[k] += v
		}
		r.Requests += tr.srv.Tenant.Stats().TotalRequests()
	}

	// Export under faults.
	src, err := startTenant(ctx, c.sourceOptions(), sc, c.Seed)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(c.Dir, strings.ReplaceAll(sc.Name, " ", "-")+"-"+cmp.Or(sc.layout, apiclient.VersionAuto)+".tar.zst")
	m, res, st, err := exportOnce(ctx, src, path)
	r.Layout = layoutText(src)
	_ = src.srv.Close()
	r.Runs++
	r.Retries += st.Retries
	refetches := max(0, st.TokenRequests-1)
	addFaults(src)
	if err != nil {
		// One export must survive the faults: a failed one is a lost backup.
		r.FailedRuns++
		r.Lost += c.Connectors
		r.LostWhat = append(r.LostWhat, "export failed: "+err.Error())
		r.Seconds = time.Since(start).Seconds()
		return out, nil
	}
	r.Connectors, r.Documents, r.ExportDigest = res.Connectors, res.Documents, m.ContentDigest
	snap, err := archive.ReadFile(path, archive.ReadOptions{})
	if err != nil {
		return nil, err
	}
	out.manifest, out.archive = m, snap
	if ref != nil {
		lost := lostEntries(ref.manifest, m)
		if m.ContentDigest != ref.manifest.ContentDigest && len(lost) == 0 {
			lost = append(lost, "content digest differs")
		}
		r.Lost += len(lost)
		r.LostWhat = append(r.LostWhat, lost...)
	}

	// Restore the fault-free archive (the baseline's own when there is no
	// reference) into an empty tenant under the same faults, re-running
	// until a run finds nothing left to write.
	arch := snap
	if ref != nil {
		arch = ref.archive
	}
	dst, err := startTenant(ctx, c.targetOptions(), sc, c.Seed+1)
	if err != nil {
		return nil, err
	}
	defer dst.srv.Close()
	converged := false
	for run := 1; run <= c.MaxRuns && !converged; run++ {
		done, st, err := restoreOnce(ctx, dst, arch)
		r.Runs++
		r.Retries += st.Retries
		refetches += max(0, st.TokenRequests-1)
		if err != nil {
			r.FailedRuns++
			c.Log("  %s: restore run %d: %v (re-running)", sc.Name, run, err)
			continue
		}
		converged = done
	}
	addFaults(dst)
	if sc.tokens && refetches > 0 {
		r.Faults["token refetch"] += int(refetches)
	}
	if !converged {
		r.Lost++
		r.LostWhat = append(r.LostWhat, fmt.Sprintf("restore did not converge in %d runs", c.MaxRuns))
	}
	restored, err := state(dst.srv.Tenant)
	if err != nil {
		return nil, err
	}
	out.restored = restored
	r.RestoredConns, r.RestoredDocs = len(restored.Connectors), documents(restored)
	want := restored
	if ref != nil {
		want = ref.restored
	}
	// The restored tenant must hold the archive, and what a fault-free
	// restore holds, connector for connector.
	for _, pair := range []struct {
		what string
		a    *archive.Snapshot
	}{{"archive", arch}, {"fault-free restore", want}} {
		res, err := diff.Compare(pair.a, restored, diff.Options{})
		if err != nil {
			return nil, err
		}
		for _, cd := range res.Connectors {
			if cd.Status != diff.StatusUnchanged {
				var items []string
				for _, ch := range cd.Changes {
					items = append(items, ch.Path)
				}
				r.Lost++
				r.LostWhat = append(r.LostWhat, fmt.Sprintf("restored %s %s vs the %s %v", cd.Name, cd.Status, pair.what, items))
			}
		}
	}
	for name, n := range dst.srv.Tenant.Stats().Creates {
		if n > 1 {
			r.Lost++
			r.LostWhat = append(r.LostWhat, fmt.Sprintf("%s created %d times", name, n))
		}
	}
	r.Seconds = time.Since(start).Seconds()
	return out, nil
}

// Run runs the baseline and every scenario and returns the report rows.
func Run(ctx context.Context, c config) ([]row, error) {
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "connvault-faults-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		c.Dir = d
	}
	base, err := runBaseline(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("fault-free baseline: %w", err)
	}
	if base.row.Lost > 0 || base.manifest == nil {
		return nil, fmt.Errorf("fault-free baseline failed: %s", strings.Join(base.row.LostWhat, "; "))
	}
	if len(base.restored.Connectors) != c.Connectors {
		return nil, fmt.Errorf("fault-free baseline restored %d connectors, want %d", len(base.restored.Connectors), c.Connectors)
	}
	rows := []row{base.row}
	c.Log("%s", summary(base.row))
	for _, sc := range scenarios(c) {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		res, err := runScenario(ctx, c, &sc, base)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", sc.Name, err)
		}
		rows = append(rows, res.row)
		c.Log("%s", summary(res.row))
	}
	return rows, nil
}

// layoutText is the row's layout: "v3", or "auto → v1" once auto resolved.
func layoutText(tr *tenantRun) string {
	asked := cmp.Or(tr.version, apiclient.VersionAuto)
	if asked != apiclient.VersionAuto {
		return asked
	}
	return asked + " → " + tr.used
}

// faultText renders injected faults as "500×12, drop×3".
func faultText(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func summary(r row) string {
	s := fmt.Sprintf("%-20s %-10s %d runs (%d re-run), %d requests, %d retries, faults %s, %d+%d connectors, lost %d: %s (%.1fs)",
		r.Name, r.Layout, r.Runs, r.FailedRuns, r.Requests, r.Retries, faultText(r.Faults), r.Connectors, r.RestoredConns, r.Lost, r.result(), r.Seconds)
	if len(r.LostWhat) > 0 {
		s += "\n    " + strings.Join(r.LostWhat, "\n    ")
	}
	return s
}

var errLost = errors.New("something was lost")
