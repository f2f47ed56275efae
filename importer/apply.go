package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/connvault/connvault/apiclient"
)

// Tenant is what Apply needs of a tenant; *apiclient.Client has it. The write
// methods are called from one place only, mutator.do.
type Tenant interface {
	CreateConnector(ctx context.Context, in apiclient.V3CreateConnectorDto) (apiclient.V3ConnectorDto, error)
	GetConnector(ctx context.Context, scriptName, locale string) (*apiclient.ConnectorDetail, json.RawMessage, error)
	PutDocument(ctx context.Context, scriptName string, doc apiclient.Document, data []byte) (*apiclient.UpdateDetail, error)
	PutTranslation(ctx context.Context, scriptName, locale string, data []byte) (*apiclient.UpdateDetail, error)
	PatchConnector(ctx context.Context, scriptName string, ops []apiclient.JsonPatchOperation) (*apiclient.ConnectorDetail, error)
}

// Outcome is what happened to one connector.
type Outcome string

const (
	OutcomeCreated   Outcome = "created"
	OutcomeUpdated   Outcome = "updated"
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeSkipped   Outcome = "skipped"
	OutcomeFailed    Outcome = "failed"
)

// Failure is one write that failed, with what the server said.
type Failure struct {
	// Item is the plan item's path, or "create" or "patch".
	Item string
	// Message is the whole error, server messages included.
	Message string
	// StatusCode, DetailCode and TrackingID come from the server's answer
	// when there was one; quote the trackingId to SailPoint support.
	StatusCode int
	DetailCode string
	TrackingID string
}

// Result is what Apply did with one connector of the plan.
type Result struct {
	Name, TargetName  string
	ArchiveScriptName string
	// ScriptName is the connector's scriptName in the target: the one the
	// server assigned when it was created here.
	ScriptName string
	Outcome    Outcome
	// Created is set when the connector was created, even if a later write
	// failed.
	Created bool
	// Written lists the items written (plan paths); Unchanged the ones the
	// server said were already so.
	Written   []string
	Unchanged []string
	Reason    string
	Failures  []Failure
	Warnings  []string
}

// Report is the outcome of Apply.
type Report struct {
	Results []Result
	Counts  ReportCounts
}

// ReportCounts counts results by outcome.
type ReportCounts struct {
	Created, Updated, Unchanged, Skipped, Failed int
}

// ApplyOptions tunes Apply.
type ApplyOptions struct {
	// Concurrency bounds the connectors applied at once (default 4). The
	// client paces the requests themselves.
	Concurrency int
	Logger      *slog.Logger
	// Progress, when set, is called after each connector with the number
	// done and the total; calls are serialised.
	Progress func(done, total int)
	// TargetScriptNames are the scriptNames the target is known to hold
	// besides the plan's matches (for example every connector read from
	// it): a create answered with one of them is refused.
	TargetScriptNames []string
}

// mutation is one write request.
type mutation struct {
	op         string // "create", "put document", "put translation", "patch"
	scriptName string
	create     apiclient.V3CreateConnectorDto
	doc        apiclient.Document
	locale     string
	data       []byte
	ops        []apiclient.JsonPatchOperation
}

// mutator is the one choke point every write to the tenant goes through:
// nothing else in this package calls a write method of Tenant. A plan that is
// not applied therefore writes nothing, and a test can count every write in
// one place.
type mutator struct {
	t Tenant
}

// answer is what a write returned.
type answer struct {
	created   apiclient.V3ConnectorDto
	update    *apiclient.UpdateDetail
	patched   *apiclient.ConnectorDetail
	unchanged bool
}

func (m *mutator) do(ctx context.Context, mu mutation) (answer, error) {
	switch mu.op {
	case "create":
		dto, err := m.t.CreateConnector(ctx, mu.create)
		return answer{created: dto}, err
	case "put document":
		ud, err := m.t.PutDocument(ctx, mu.scriptName, mu.doc, mu.data)
		return answer{update: ud, unchanged: err == nil && ud != nil && ud.Status == apiclient.UpdateUnchanged}, err
	case "put translation":
		ud, err := m.t.PutTranslation(ctx, mu.scriptName, mu.locale, mu.data)
		return answer{update: ud, unchanged: err == nil && ud != nil && ud.Status == apiclient.UpdateUnchanged}, err
	case "patch":
		d, err := m.t.PatchConnector(ctx, mu.scriptName, mu.ops)
		return answer{patched: d}, err
	}
	return answer{}, fmt.Errorf("importer: unknown mutation %q", mu.op)
}

// Apply carries out a plan: for each connector to create or update, the
// create, then the documents, the translations and one PATCH of the fields.
// Connectors are applied concurrently, each one's writes in order. A failed
// write is recorded and the connector's other writes still go ahead (they
// are independent), except after a failed create; other connectors are never
// held up. Apply always returns a complete report; it writes nothing for
// unchanged and skipped connectors.
func Apply(ctx context.Context, t Tenant, p *Plan, opts ApplyOptions) *Report {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &mutator{t: t}
	cl := newClaims(p, opts.TargetScriptNames)
	rep := &Report{Results: make([]Result, len(p.Connectors))}
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i := range p.Connectors {
		c := &p.Connectors[i]
		g.Go(func() error {
			// Per-connector failures are results, not errors: gctx is only
			// cancelled with ctx itself.
			rep.Results[i] = applyOne(gctx, m, c, cl, log)
			if opts.Progress != nil {
				mu.Lock()
				done++
				opts.Progress(done, len(p.Connectors))
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	for _, r := range rep.Results {
		switch r.Outcome {
		case OutcomeCreated:
			rep.Counts.Created++
		case OutcomeUpdated:
			rep.Counts.Updated++
		case OutcomeUnchanged:
			rep.Counts.Unchanged++
		case OutcomeSkipped:
			rep.Counts.Skipped++
		default:
			rep.Counts.Failed++
		}
	}
	return rep
}

func applyOne(ctx context.Context, m *mutator, c *Connector, cl *claims, log *slog.Logger) Result {
	r := Result{Name: c.Name, TargetName: c.TargetName, ArchiveScriptName: c.ArchiveScriptName, ScriptName: c.TargetScriptName,
		Reason: c.Reason, Warnings: c.Warnings}
	switch c.Action {
	case ActionSkip:
		r.Outcome = OutcomeSkipped
		return r
	case ActionUnchanged:
		r.Outcome = OutcomeUnchanged
		return r
	}
	if err := ctx.Err(); err != nil {
		r.Outcome = OutcomeFailed
		r.Failures = append(r.Failures, failure("start", err))
		return r
	}
	if c.Action == ActionCreate {
		a, err := m.do(ctx, mutation{op: "create", create: *c.Create})
		if errors.Is(err, apiclient.ErrCreateOutcomeUnknown) {
			a.created, err = adopt(ctx, m.t, c, err, log)
		}
		if err != nil {
			r.Outcome = OutcomeFailed
			r.Failures = append(r.Failures, failure("create", err))
			log.Debug("create failed", "connector", c.TargetName, "error", err)
			return r
		}
		if a.created.ScriptName == "" {
			r.Outcome = OutcomeFailed
			r.Failures = append(r.Failures, Failure{Item: "create", Message: fmt.Sprintf("create connector (name %q): the server's answer has no scriptName", c.TargetName)})
			return r
		}
		if err := cl.checkCreated(ctx, m.t, c.Create.Name, a.created.ScriptName); err != nil {
			// Nothing is written: the documents would land in a connector
			// that is not the one created.
			r.Outcome = OutcomeFailed
			r.Failures = append(r.Failures, failure("create", err))
			log.Debug("create answered with another connector", "connector", c.TargetName, "error", err)
			return r
		}
		r.Created, r.ScriptName = true, a.created.ScriptName
		log.Debug("connector created", "connector", c.TargetName, "scriptName", r.ScriptName)
	}

	var fieldItems []Item
	for _, it := range c.Items {
		if ctx.Err() != nil {
			r.Failures = append(r.Failures, failure(it.Path, ctx.Err()))
			break
		}
		var mu mutation
		switch it.Kind {
		case ItemDocument:
			mu = mutation{op: "put document", scriptName: r.ScriptName, doc: it.Document, data: it.data}
		case ItemTranslation:
			mu = mutation{op: "put translation", scriptName: r.ScriptName, locale: it.Locale, data: it.data}
		case ItemField:
			fieldItems = append(fieldItems, it)
			continue
		}
		a, err := m.do(ctx, mu)
		if err != nil {
			r.Failures = append(r.Failures, failure(it.Path, err))
			log.Debug("write failed", "connector", c.TargetName, "item", it.Path, "error", err)
			continue
		}
		if a.unchanged {
			r.Unchanged = append(r.Unchanged, it.Path)
		} else {
			r.Written = append(r.Written, it.Path)
		}
	}
	if len(fieldItems) > 0 && (r.Created || len(r.Written)+len(r.Unchanged)+len(r.Failures) > 0) {
		// The server fills fields on create, and a PUT may change a field
		// too (applicationXml may follow the source-template): read them
		// back so that only what still differs is patched.
		fieldItems = settleFields(ctx, m.t, r.ScriptName, fieldItems, log)
	}
	var ops []apiclient.JsonPatchOperation
	var fields []string
	for _, it := range fieldItems {
		op := "replace"
		if it.Change == ChangeAdd {
			op = "add"
		}
		ops = append(ops, apiclient.JsonPatchOperation{Op: op, Path: "/" + it.Field, Value: it.value})
		fields = append(fields, it.Path)
	}
	if len(ops) > 0 && ctx.Err() == nil {
		if _, err := m.do(ctx, mutation{op: "patch", scriptName: r.ScriptName, ops: ops}); err != nil {
			r.Failures = append(r.Failures, failure("patch "+strings.Join(fields, ", "), err))
			log.Debug("patch failed", "connector", c.TargetName, "fields", strings.Join(fields, ", "), "error", err)
		} else {
			r.Written = append(r.Written, fields...)
		}
	}
	switch {
	case len(r.Failures) > 0:
		r.Outcome = OutcomeFailed
	case r.Created:
		r.Outcome = OutcomeCreated
	case len(r.Written) == 0:
		// Everything was already in place (someone else got there first).
		r.Outcome = OutcomeUnchanged
	default:
		r.Outcome = OutcomeUpdated
	}
	return r
}

// adopt settles a create whose earlier attempt was lost in transit and which
// the list could not confirm (a DEVELOPMENT or DEMO connector is never
// listed): if the archive's scriptName now names a connector with the name
// being created, that attempt did create it and restore goes on with it.
// Otherwise the original error stands; a re-run will see the connector.
func adopt(ctx context.Context, t Tenant, c *Connector, cause error, log *slog.Logger) (apiclient.V3ConnectorDto, error) {
	d, _, err := t.GetConnector(ctx, c.ArchiveScriptName, "")
	if err != nil || d.Name != c.Create.Name {
		return apiclient.V3ConnectorDto{}, cause
	}
	log.Info("an earlier create attempt went through; using the connector it made", "connector", c.Create.Name, "scriptName", c.ArchiveScriptName)
	return apiclient.V3ConnectorDto{Name: d.Name, Type: d.Type, ScriptName: c.ArchiveScriptName, DirectConnect: d.DirectConnect, Status: d.Status}, nil
}

// settleFields drops the field items the connector already has right, and
// turns an add into a replace where the field now exists. When the detail
// cannot be read, every field is patched (a write too many is harmless; a
// missing one is not).
func settleFields(ctx context.Context, t Tenant, scriptName string, items []Item, log *slog.Logger) []Item {
	_, raw, err := t.GetConnector(ctx, scriptName, "")
	if err != nil {
		log.Debug("reading the new connector failed; patching every field", "scriptName", scriptName, "error", err)
		return items
	}
	var have map[string]json.RawMessage
	if json.Unmarshal(raw, &have) != nil {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		cur, ok := have[it.Field]
		switch {
		case ok && sameJSON(cur, it.value):
			continue
		case ok:
			it.Change = ChangeModify
		default:
			it.Change = ChangeAdd
		}
		out = append(out, it)
	}
	return out
}

// sameJSON compares a raw JSON value with a decoded one, canonically.
func sameJSON(raw json.RawMessage, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var cur any
	if dec.Decode(&cur) != nil {
		return false
	}
	a, err1 := canonical(cur)
	b, err2 := canonical(v)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

func canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// failure records a failed write with the server's identifiers.
func failure(item string, err error) Failure {
	f := Failure{Item: item, Message: err.Error()}
	var e *apiclient.Error
	if errors.As(err, &e) {
		f.StatusCode, f.DetailCode, f.TrackingID = e.StatusCode, e.DetailCode, e.TrackingID
	}
	return f
}

// Failed reports whether some connector failed.
func (r *Report) Failed() bool { return r.Counts.Failed > 0 }
