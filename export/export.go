// Package export reads connectors from a tenant, in list order, into
// archive.Connector values. The same pipeline feeds an archive (a backup) and
// the live side of a diff, so both see a tenant the same way.
package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
)

// Tenant is what the pipeline needs of a tenant; *apiclient.Client has it.
type Tenant interface {
	AllConnectors(ctx context.Context, filters, locale string) iter.Seq2[apiclient.V3ConnectorDto, error]
	GetConnectorRaw(ctx context.Context, scriptName, locale string) (json.RawMessage, error)
	GetDocument(ctx context.Context, scriptName string, doc apiclient.Document) ([]byte, error)
	GetTranslation(ctx context.Context, scriptName, locale string) ([]byte, error)
}

// layoutTenant is what a tenant served in several API layouts adds
// (*apiclient.Client has it): which layout served a document, and the same
// route in the other layouts when the chosen one answers 404.
type layoutTenant interface {
	APIVersion() string
	GetDocumentVia(ctx context.Context, scriptName string, doc apiclient.Document) ([]byte, string, error)
	GetDocumentElsewhere(ctx context.Context, scriptName string, doc apiclient.Document) ([]byte, string, error)
}

// AllLocales, given as the only entry of Options.Locales, asks for every locale
// the API knows instead of the ones each connector already has.
const AllLocales = "all"

// Options selects what to read and how hard to push.
type Options struct {
	// Filters is passed verbatim to the list call (the API's filter syntax).
	Filters string
	// ScriptNames are fetched by name on top of the list (or instead of it
	// when ListDisabled): the list shows RELEASED connectors only.
	ScriptNames []string
	// ListDisabled skips the list call, so only ScriptNames are read.
	ListDisabled bool
	// Select, when set, keeps only the listed connectors it returns true for
	// (ScriptNames are always read). Restore uses it to read just the target
	// connectors an archive can touch instead of the whole tenant.
	Select func(apiclient.V3ConnectorDto) bool
	// Locales: nil means the locales in each connector's translationProperties;
	// []string{AllLocales} means all 19; otherwise exactly these.
	Locales []string
	// Concurrency bounds the requests in flight at once (default 8).
	Concurrency int
	// KeepGoing records a failed connector and goes on instead of failing the run.
	KeepGoing bool
	// FromDetail reads the detail and the source template only, and takes
	// source-config, correlation-config and the translations from the
	// detail: three to five requests fewer per connector, equivalent where
	// the tenant's detail carries the same bytes as the sub-resources
	// (connvault doctor checks that).
	FromDetail bool
	Logger     *slog.Logger
	// Progress, when set, is called after each connector is emitted or skipped,
	// and once with the total as soon as the list is exhausted.
	Progress func(p Progress)
}

// Progress is a snapshot of the pipeline's advance.
type Progress struct {
	Done  int // connectors emitted or skipped
	Total int // the list's declared total until it is exhausted, then the count; -1 when neither is known
}

// Failure is a connector that could not be read.
type Failure struct {
	ScriptName string `json:"scriptName"`
	Name       string `json:"name,omitempty"`
	Err        error  `json:"-"`
	Message    string `json:"error"`
}

// Result tells what a run read.
type Result struct {
	Connectors int               `json:"connectors"`
	Documents  int               `json:"documents"` // XML documents and translations
	Bytes      int64             `json:"bytes"`     // uncompressed bytes of everything emitted
	Skipped    []archive.Skipped `json:"skipped,omitempty"`
	Failed     []Failure         `json:"failed,omitempty"`
	Seen       map[string]string `json:"-"` // scriptName -> name of every connector emitted
	// Fetch is how documents were read (domain.FetchFull or FetchFromDetail).
	Fetch string `json:"fetch"`
	// Sources lists every document read otherwise than Fetch says: through
	// another API layout, or from the detail when no layout served it.
	Sources []domain.DocumentSource `json:"documentSources,omitempty"`
}

// Partial reports whether some connectors failed and were left out.
func (r *Result) Partial() bool { return len(r.Failed) > 0 }

// item is one connector in list order.
type item struct {
	seq        int // position in the run, for slot priority
	scriptName string
	name       string
	explicit   bool // named on the command line, not found through the list
}

type outcome struct {
	conn    *archive.Connector
	sources []domain.DocumentSource
	name    string
	skipped *archive.Skipped
	failure *Failure
}

// Run reads the selected connectors and calls emit for each, in list order
// (then explicit scriptNames in the order given), from a single goroutine.
// Memory is bounded by a window of in-flight connectors, not by the tenant's
// size. A connector deleted between list and fetch (404 on its detail) is
// skipped and recorded; any other failure stops the run unless KeepGoing.
func Run(ctx context.Context, t Tenant, opts Options, emit func(*archive.Connector) error) (*Result, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	locales, err := normaliseLocales(opts.Locales)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// reqs bounds requests in flight across all connectors, so a connector
	// whose translations fan out does not idle the rest of the pool; the
	// oldest connector is served first, so the window slides smoothly.
	reqs := newSlots(opts.Concurrency)
	// The window holds connectors being fetched or waiting their turn to be
	// written; twice the request slots keeps every slot busy while one slow
	// connector holds up the head of the line.
	window := 2 * opts.Concurrency
	order := make(chan chan outcome, window)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(window + 1) // +1: the producer itself
	var total atomic.Int64
	total.Store(-1)
	// declared is the list's X-Total-Count, known from its first page;
	// enqueued counts the connectors handed to the fetchers so far.
	var declared, enqueued atomic.Int64
	declared.Store(-1)
	progressTotal := func() int {
		if t := total.Load(); t >= 0 {
			return int(t)
		}
		// Until the list ends, the declared total (plus the connectors named
		// with ScriptNames) when it is not contradicted by what was listed.
		if d := declared.Load(); d >= 0 {
			if est := d + int64(len(opts.ScriptNames)); est >= enqueued.Load() {
				return int(est)
			}
		}
		return -1
	}

	g.Go(func() error {
		defer close(order)
		seen := map[string]bool{}
		n := 0
		enqueue := func(it item) error {
			if seen[it.scriptName] {
				return nil
			}
			seen[it.scriptName] = true
			it.seq = n
			n++
			enqueued.Store(int64(n))
			ch := make(chan outcome, 1)
			select {
			case order <- ch:
			case <-gctx.Done():
				return gctx.Err()
			}
			g.Go(func() error {
				ch <- fetchOne(gctx, t, it, locales, opts.FromDetail, reqs, log)
				return nil
			})
			return nil
		}
		if !opts.ListDisabled {
			lctx := apiclient.WithListTotal(gctx, func(n int) { declared.Store(int64(n)) })
			for dto, err := range t.AllConnectors(lctx, opts.Filters, "") {
				if err != nil {
					return fmt.Errorf("listing connectors: %w", err)
				}
				if dto.ScriptName == "" {
					log.Warn("list returned a connector without scriptName; ignored", "name", dto.Name)
					continue
				}
				if opts.Select != nil && !opts.Select(dto) {
					continue
				}
				if err := enqueue(item{scriptName: dto.ScriptName, name: dto.Name}); err != nil {
					return err
				}
			}
		}
		for _, sn := range opts.ScriptNames {
			if err := enqueue(item{scriptName: sn, explicit: true}); err != nil {
				return err
			}
		}
		total.Store(int64(n))
		return nil
	})

	res := &Result{Fetch: domain.FetchFull}
	if opts.FromDetail {
		res.Fetch = domain.FetchFromDetail
	}
	done := 0
	var writeErr error
	for ch := range order {
		var o outcome
		select {
		case o = <-ch:
		case <-gctx.Done():
			writeErr = gctx.Err()
		}
		if writeErr != nil {
			break
		}
		switch {
		case o.conn != nil:
			if err := emit(o.conn); err != nil {
				if opts.KeepGoing && errors.Is(err, archive.ErrRefused) {
					// The archive cannot hold this connector (its scriptName
					// cannot be a folder name, an entry above a limit) but
					// can hold the others: a failed connector like any other.
					f := Failure{ScriptName: o.conn.ScriptName, Name: o.name, Err: err, Message: err.Error()}
					log.Error("connector failed; going on (--keep-going)", "scriptName", f.ScriptName, "error", f.Message)
					res.Failed = append(res.Failed, f)
					res.Skipped = append(res.Skipped, archive.Skipped{ScriptName: f.ScriptName, Name: f.Name, Reason: "failed: " + f.Message})
					break
				}
				writeErr = fmt.Errorf("connector %s: %w", o.conn.ScriptName, err)
				break
			}
			res.Connectors++
			res.Sources = append(res.Sources, o.sources...)
			res.Documents += countDocs(o.conn)
			res.Bytes += sizeOf(o.conn)
		case o.skipped != nil:
			// Callers report skips in their own words (export lists them in
			// its summary; restore expects 404s for the archive's scriptNames).
			log.Debug("connector skipped", "scriptName", o.skipped.ScriptName, "reason", o.skipped.Reason)
			res.Skipped = append(res.Skipped, *o.skipped)
		case o.failure != nil:
			if !opts.KeepGoing {
				writeErr = o.failure.Err
				break
			}
			log.Error("connector failed; going on (--keep-going)", "scriptName", o.failure.ScriptName, "error", o.failure.Message)
			res.Failed = append(res.Failed, *o.failure)
			res.Skipped = append(res.Skipped, archive.Skipped{ScriptName: o.failure.ScriptName, Name: o.failure.Name, Reason: "failed: " + o.failure.Message})
		}
		if writeErr != nil {
			break
		}
		done++
		if opts.Progress != nil {
			opts.Progress(Progress{Done: done, Total: progressTotal()})
		}
	}
	if writeErr != nil {
		cancel()
		// Drain so the producer and fetchers can exit.
		for range order {
		}
		// When the producer failed (a list error), the writer only saw the
		// cancellation; report the cause instead.
		if gerr := g.Wait(); gerr != nil && errors.Is(writeErr, context.Canceled) && !errors.Is(gerr, context.Canceled) {
			return res, gerr
		}
		return res, writeErr
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	if opts.Progress != nil {
		opts.Progress(Progress{Done: done, Total: done})
	}
	warnSources(log, t, res.Sources, opts.FromDetail)
	return res, nil
}

// warnSources says once per run how many documents did not come from their
// own route in the chosen layout (or, with fromDetail, from the detail):
// nothing is dropped silently, and the manifest lists each one.
func warnSources(log *slog.Logger, t Tenant, sources []domain.DocumentSource, fromDetail bool) {
	if len(sources) == 0 {
		return
	}
	viaLayout, viaDetail, lacked := 0, 0, 0
	for _, s := range sources {
		switch {
		case s.From == domain.FromDetail:
			viaDetail++
		case fromDetail && s.Document != string(domain.SourceTemplate):
			lacked++
		default:
			viaLayout++
		}
	}
	layout := "the chosen API layout"
	if lt, ok := t.(layoutTenant); ok {
		layout = "API layout " + lt.APIVersion()
	}
	if fromDetail {
		log.Warn(fmt.Sprintf("%d documents were not read as --from-detail reads them: %d the connector's detail lacked, read from their own route instead; %d not served by their own route in %s, read through another layout; the manifest's documentSources lists each",
			len(sources), lacked, viaLayout, layout))
		return
	}
	log.Warn(fmt.Sprintf("%d documents were not served by their own route in %s: %d read through another layout, %d taken from the connector's detail; the manifest's documentSources lists each",
		len(sources), layout, viaLayout, viaDetail))
}

func normaliseLocales(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) == 1 && in[0] == AllLocales {
		return slices.Clone(apiclient.Locales), nil
	}
	out := make([]string, 0, len(in))
	for _, l := range in {
		if !slices.Contains(apiclient.Locales, l) {
			return nil, fmt.Errorf("unknown locale %q: use one of %v, or %q", l, apiclient.Locales, AllLocales)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// fetchOne reads one connector: its detail and its three documents at once
// (a listed connector exists; one the caller named is asked for its detail
// first), then the translations of the locales the detail names (at once
// with the rest when --locales named them). Every request holds a slot of
// reqs while it runs; the detail goes first among its connector's, since the
// translations wait for it.
func fetchOne(ctx context.Context, t Tenant, it item, locales []string, fromDetail bool, reqs *slots, log *slog.Logger) outcome {
	c := &archive.Connector{ScriptName: it.scriptName}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	lt, layered := t.(layoutTenant)
	// absent holds what answered 404 ("source-config", "translations/de"),
	// via what another layout served; both under mu.
	absent := map[string]bool{}
	via := map[string]string{}

	// part fetches a document or a translation and hands it to store (under
	// mu). A 404 means the connector has none, which the archive records by
	// omission unless its detail says otherwise (see fillFromDetail).
	part := func(what string, get func(context.Context) ([]byte, error), store func([]byte)) {
		g.Go(func() error {
			if reqs.acquire(gctx, 2*it.seq+1) != nil {
				return gctx.Err()
			}
			defer reqs.release()
			b, err := get(gctx)
			if apiclient.IsNotFound(err) {
				log.Debug("absent", "scriptName", it.scriptName, "what", what)
				mu.Lock()
				absent[what] = true
				mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading %s: %w", what, err)
			}
			if b == nil {
				b = []byte{}
			}
			mu.Lock()
			store(b)
			mu.Unlock()
			return nil
		})
	}
	fetchTranslations := func(want []string) {
		if fromDetail {
			return // taken from the detail once every request is done
		}
		for _, l := range want {
			part("translations/"+l,
				func(ctx context.Context) ([]byte, error) { return t.GetTranslation(ctx, it.scriptName, l) },
				func(b []byte) {
					if c.Translations == nil {
						c.Translations = map[string][]byte{}
					}
					c.Translations[l] = b
				})
		}
	}

	// The detail's own failure is kept apart: a 404 there means the
	// connector is gone, which is a skip, not an error.
	var detailErr error
	var detailWant []string // the known locales the detail lists, under mu
	detail := func() error {
		if err := reqs.acquire(gctx, 2*it.seq); err != nil {
			detailErr = err
			return errDetail
		}
		raw, err := t.GetConnectorRaw(gctx, it.scriptName, "")
		reqs.release()
		if err != nil {
			detailErr = fmt.Errorf("reading detail: %w", err)
			return errDetail
		}
		canon, name, detailLocales, err := canonicalDetail(raw)
		if err != nil {
			detailErr = fmt.Errorf("the server's detail answer: %w", err)
			return errDetail
		}
		mu.Lock()
		c.Detail = canon
		mu.Unlock()
		if it.name == "" {
			it.name = name
		}
		if locales != nil {
			return nil
		}
		want := make([]string, 0, len(detailLocales))
		for _, l := range detailLocales {
			if slices.Contains(apiclient.Locales, l) {
				want = append(want, l)
			} else {
				log.Warn("detail lists translations for a locale the API does not know; not fetched", "scriptName", it.scriptName, "locale", l)
			}
		}
		sort.Strings(want)
		mu.Lock()
		detailWant = want
		mu.Unlock()
		fetchTranslations(want)
		return nil
	}

	// result turns the fetch into the outcome once every request is done:
	// err is the first failure among them.
	result := func(err error) outcome {
		if apiclient.IsNotFound(detailErr) {
			reason := "deleted between list and fetch (404)"
			if it.explicit {
				reason = "not found (404)"
			}
			return outcome{skipped: &archive.Skipped{ScriptName: it.scriptName, Name: it.name, Reason: reason}}
		}
		if err == nil || errors.Is(err, errDetail) {
			// A document that failed first is the cause; otherwise the
			// detail's own error says why.
			err = detailErr
		}
		if err == nil {
			acquire := func(ctx context.Context) error { return reqs.acquire(ctx, 2*it.seq+1) }
			srcs, ferr := fillFromDetail(ctx, t, c, absent, via, locales, detailWant, fromDetail, acquire, reqs.release, log)
			if ferr == nil {
				return outcome{conn: c, name: it.name, sources: srcs}
			}
			err = ferr
		}
		return outcome{failure: &Failure{ScriptName: it.scriptName, Name: it.name, Err: fmt.Errorf("connector %s: %w", it.scriptName, err), Message: err.Error()}}
	}

	if it.explicit {
		// A scriptName the caller named may not exist (restore probes its
		// target with the archive's): ask for the rest only once the detail
		// is there, so a missing connector costs one request, not four.
		if detail() != nil {
			return result(nil)
		}
	} else {
		g.Go(detail)
	}
	for _, d := range domain.Documents {
		if fromDetail && d != domain.SourceTemplate {
			continue // the detail carries it; the template it has not
		}
		get := func(ctx context.Context) ([]byte, error) { return t.GetDocument(ctx, it.scriptName, d) }
		if layered {
			get = func(ctx context.Context) ([]byte, error) {
				b, v, err := lt.GetDocumentVia(ctx, it.scriptName, d)
				if err == nil && v != lt.APIVersion() {
					mu.Lock()
					via[string(d)] = v
					mu.Unlock()
				}
				return b, err
			}
		}
		part(string(d), get, func(b []byte) { c.SetDocument(d, b) })
	}
	if locales != nil {
		fetchTranslations(locales)
	}
	err := g.Wait()
	return result(err)
}

// errDetail stops a connector's other requests when its detail failed; the
// detail's own error says why.
var errDetail = errors.New("detail failed")

func countDocs(c *archive.Connector) int {
	n := len(c.Translations)
	for _, d := range domain.Documents {
		if c.Document(d) != nil {
			n++
		}
	}
	return n
}

func sizeOf(c *archive.Connector) int64 {
	n := int64(len(c.Detail))
	for _, d := range domain.Documents {
		n += int64(len(c.Document(d)))
	}
	for _, b := range c.Translations {
		n += int64(len(b))
	}
	return n
}
