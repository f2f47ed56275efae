package diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/connvault/connvault/archive"
)

// Source is one side of CompareSources: an archive read as a stream, a live
// tenant read through the export pipeline, or a snapshot already in memory.
type Source struct {
	// Each calls emit with every connector of the side, once each, from one
	// goroutine, and returns emit's first error.
	Each func(ctx context.Context, emit func(*archive.Connector) error) error
	// Reread says Each may be called again: CompareSources then lets go of
	// a connector it cannot pair yet once its window is full, keeping only
	// hashes, and reads the side again for the few it turns out to need. A
	// live tenant cannot be read twice; an archive file can.
	Reread bool
	// Ordered says Each emits connectors in archive order (ascending
	// "<scriptName>/", as archive.Reader does). Two ordered sides are read
	// in lock-step, like rclone's march over two sorted listings, so that
	// connectors with the same scriptName meet while both are in memory.
	Ordered bool
	// Held says the connectors are in memory anyway (a Snapshot): they are
	// kept as they are and A and B of the result point to them.
	Held bool

	views []*View // ViewSource's, already split
}

// View is a connector with its detail split into top-level fields: diff and
// restore share it so that each detail is scanned once per run.
type View struct {
	*archive.Connector
	// Fields are the detail's top-level fields, undecoded (sub-slices of
	// Detail).
	Fields map[string]json.RawMessage
	// Name is the detail's "name", "" when absent or not a string.
	Name string
}

// NewView splits c's detail; it fails when the detail is not one JSON
// object.
func NewView(c *archive.Connector) (*View, error) {
	fields, err := rawFields(c.Detail)
	if err != nil {
		return nil, err
	}
	var name string
	if raw, ok := fields["name"]; ok && len(raw) > 0 && raw[0] == '"' {
		_ = json.Unmarshal(raw, &name) // a name that is not a string is no name
	}
	return &View{Connector: c, Fields: fields, Name: name}, nil
}

// ViewSource serves connectors already split, in memory.
func ViewSource(vs []*View) Source {
	return Source{Held: true, Reread: true, views: vs}
}

// each runs one pass over a side, splitting each detail unless the source
// has views.
func (sd *sideState) each(ctx context.Context, emit func(prepared) error) error {
	if sd.src.views != nil {
		for _, v := range sd.src.views {
			if err := emit(prepared{c: v.Connector, fields: v.Fields, name: v.Name}); err != nil {
				return err
			}
		}
		return nil
	}
	n := 0
	return sd.src.Each(ctx, func(c *archive.Connector) error {
		p := prepare(sd.label, n, c)
		n++
		return emit(p)
	})
}

// SnapshotSource is a snapshot already in memory.
func SnapshotSource(s *archive.Snapshot) Source {
	return Source{Held: true, Reread: true, Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		if s == nil {
			return nil
		}
		for _, c := range s.Connectors {
			if err := emit(c); err != nil {
				return err
			}
		}
		return nil
	}}
}

// ReaderSource reads an archive or a snapshot directory one connector at a
// time, opening it afresh on each pass: memory holds a window of
// connectors, never the snapshot. open returns the reader and what releases
// it (the reader and, say, the object it reads from).
func ReaderSource(open func(ctx context.Context) (archive.SnapshotReader, func(), error)) Source {
	return Source{Reread: true, Ordered: true, Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		r, release, err := open(ctx)
		if err != nil {
			return err
		}
		defer release()
		return archive.Each(ctx, r, emit)
	}}
}

// FileSource is ReaderSource for an archive file.
func FileSource(path string, opts archive.ReadOptions) Source {
	return ReaderSource(func(context.Context) (archive.SnapshotReader, func(), error) {
		r, err := archive.Open(path, opts)
		if err != nil {
			return nil, nil, err
		}
		return r, func() { r.Close() }, nil
	})
}

// DefaultWindow is the content CompareSources keeps, at most, of connectors
// read from a re-readable side and waiting for their pair.
const DefaultWindow = 32 << 20

// CompareSources is Compare over two streams: it reads both sides at once
// (in lock-step when both are Ordered) and compares each pair as soon as
// both of its connectors have been read, then lets go of their content.
// Memory is bounded by Options.Window plus two connectors in flight per
// side, plus what the result itself holds (the changes), not by the size of
// the sides; connectors only one side has, and pairs that differ after the
// window let go of them, are read again (Source.Reread) once both sides
// are done. The result is Compare's, except that for sides not Held, A and
// B of each ConnectorDiff carry only the ScriptName.
func CompareSources(ctx context.Context, a, b Source, opts Options) (*Result, error) {
	st, err := newStreamer(a, b, opts)
	if err != nil {
		return nil, err
	}
	if err := st.read(ctx); err != nil {
		return nil, err
	}
	if err := st.finish(ctx); err != nil {
		return nil, err
	}
	return st.res, nil
}

// hashSeed is random per process: a crafted archive cannot aim at a
// collision of the hashes that stand in for content let go.
var hashSeed = maphash.MakeSeed()

// sig stands in for a connector's content once it is let go.
type sig struct {
	fields map[string]uint64
	docs   [3]struct {
		has bool
		h   uint64
	}
	trans map[string]uint64
}

func docHash(b []byte, ws bool) uint64 {
	if !ws {
		return maphash.Bytes(hashSeed, b)
	}
	// Under IgnoreWhitespace two documents are the same when their
	// normalised lines are (sameDocument); hash those, and their number.
	var h maphash.Hash
	h.SetSeed(hashSeed)
	lines, _ := splitLines(string(b))
	fmt.Fprintf(&h, "%d\n", len(lines))
	for _, l := range lines {
		h.WriteString(normaliseLine(l))
		h.WriteByte('\n')
	}
	return h.Sum64()
}

func makeSig(c *archive.Connector, fields map[string]json.RawMessage, ws bool) *sig {
	s := &sig{fields: make(map[string]uint64, len(fields)), trans: make(map[string]uint64, len(c.Translations))}
	for k, v := range fields {
		s.fields[k] = maphash.Bytes(hashSeed, v)
	}
	for i, d := range documentOrder {
		if b := document(*c, d); b != nil {
			s.docs[i].has, s.docs[i].h = true, docHash(b, ws)
		}
	}
	for l, t := range c.Translations {
		s.trans[l] = maphash.Bytes(hashSeed, t)
	}
	return s
}

// sentry is one connector read from a side.
type sentry struct {
	entry
	side    int
	script  string
	size    int64
	sig     *sig // set when the content is let go
	special bool // involved in the mapping: paired once both sides are read
	done    bool // paired and compared, or reported
	queued  bool // counted in the window
}

func (e *sentry) held() bool { return e.c != nil }

type sideState struct {
	src     Source
	label   string
	seen    map[string]string  // key -> scriptName, for duplicates and the mapping check
	pending map[string]*sentry // unpaired, by key
	special []*sentry
	count   int
	need    map[string]*sentry // scriptName -> entry whose content pass two must read again
}

type deferredPair struct{ a, b *sentry }

// emitAlone reports a connector only one side has, its content here.
func (st *streamer) emitAlone(e *sentry) {
	if e.side == 0 {
		st.emit(st.cmp.pair(&e.entry, nil, &st.res.Summary), e, nil)
	} else {
		st.emit(st.cmp.pair(nil, &e.entry, &st.res.Summary), nil, e)
	}
}

func (st *streamer) sideEntry(e *sentry, side int) *sentry {
	if e.side == side {
		return e
	}
	return nil
}

// sigAlone is what pair gives, with ChangesOnly, for a connector only one
// side has, made from its signature: every item is added or removed.
func (st *streamer) sigAlone(e *sentry) ConnectorDiff {
	sum := &st.res.Summary
	act := ActionRemoved
	d := ConnectorDiff{Name: e.key, Status: StatusRemoved}
	if e.side == 0 {
		d.AKey, d.AName, d.A = e.key, e.name, &archive.Connector{ScriptName: e.script}
		sum.Connectors.Removed++
	} else {
		act = ActionAdded
		d.BKey, d.BName, d.B = e.key, e.name, &archive.Connector{ScriptName: e.script}
		d.Status = StatusAdded
		sum.Connectors.Added++
	}
	for _, f := range slices.Sorted(maps.Keys(e.sig.fields)) {
		if !st.cmp.ignored[f] {
			d.Changes = append(d.Changes, Change{Kind: KindDetail, Path: f, Field: f, Action: act})
		}
	}
	for i, doc := range documentOrder {
		if e.sig.docs[i].has {
			d.Changes = append(d.Changes, Change{Kind: KindDocument, Path: string(doc), Document: doc, Action: act})
		}
	}
	for _, loc := range slices.Sorted(maps.Keys(e.sig.trans)) {
		d.Changes = append(d.Changes, Change{Kind: KindTranslation, Path: "translations/" + loc, Locale: loc, Action: act})
	}
	for _, ch := range d.Changes {
		sum.counts(ch).add(ch.Action)
	}
	return d
}

type streamer struct {
	opts     Options
	match    string
	mapping  map[string]string
	targets  map[string]string // B key -> A key of the mapping
	cmp      comparer
	res      *Result
	sides    [2]*sideState
	window   int64
	retained int64
	// pinned is, per side that cannot be read again (a live tenant), the
	// content of its connectors still waiting for a partner: it cannot be
	// let go, so once it passes the window that side is not read until
	// the other side (which can be read again) has caught up.
	pinned   [2]int64
	queue    []*sentry
	deferred []deferredPair
}

func newStreamer(a, b Source, opts Options) (*streamer, error) {
	match := opts.Match
	switch match {
	case "":
		match = MatchName
	case MatchName, MatchScriptName:
	default:
		return nil, fmt.Errorf("unknown match %q: want %q or %q", opts.Match, MatchName, MatchScriptName)
	}
	targets := map[string]string{}
	for from, to := range opts.Mapping {
		if from == "" || to == "" {
			return nil, fmt.Errorf("mapping %q=%q has an empty side", from, to)
		}
		if prev, dup := targets[to]; dup {
			x, y := min(prev, from), max(prev, from)
			return nil, fmt.Errorf("mapping pairs both %q and %q with %q: a mapping must be one-to-one", x, y, to)
		}
		targets[to] = from
	}
	ignored := map[string]bool{}
	for _, f := range VolatileFields {
		ignored[f] = true
	}
	for _, f := range opts.Ignore {
		ignored[f] = true
	}
	for _, f := range documentFields {
		ignored[f] = true
	}
	res := &Result{Match: match, IgnoreWhitespace: opts.IgnoreWhitespace}
	for f := range ignored {
		if !slices.Contains(documentFields, f) {
			res.Ignored = append(res.Ignored, f)
		}
	}
	sort.Strings(res.Ignored)
	st := &streamer{opts: opts, match: match, mapping: opts.Mapping, targets: targets,
		cmp: comparer{ignored: ignored, ws: opts.IgnoreWhitespace, lean: opts.ChangesOnly}, res: res, window: opts.Window}
	if st.window <= 0 {
		st.window = DefaultWindow
	}
	for i, src := range []Source{a, b} {
		if src.Each == nil && src.views == nil {
			src = SnapshotSource(nil)
		}
		st.sides[i] = &sideState{src: src, label: string(rune('A' + i)), seen: map[string]string{},
			pending: map[string]*sentry{}, need: map[string]*sentry{}}
	}
	return st, nil
}

// prepared is a connector with its detail split, done on the reading side's
// goroutine so that both sides split in parallel.
type prepared struct {
	c      *archive.Connector
	fields map[string]json.RawMessage
	name   string
	err    error
}

func prepare(label string, n int, c *archive.Connector) prepared {
	if c == nil {
		return prepared{err: fmt.Errorf("snapshot %s: connector %d is nil", label, n)}
	}
	v, err := NewView(c)
	if err != nil {
		return prepared{err: &ConnectorError{Side: label, ScriptName: c.ScriptName, Err: err}}
	}
	return prepared{c: c, fields: v.Fields, name: v.Name}
}

// ErrNoName is the cause of a ConnectorError for a detail without a name
// when connectors are matched by name.
var ErrNoName = errors.New("its detail has no name to match by; compare by scriptName instead")

// ConnectorError is a connector CompareSources cannot compare: its detail
// is not a JSON object, or has no name to match by.
type ConnectorError struct {
	Side       string // "A" or "B"
	ScriptName string
	Err        error
}

func (e *ConnectorError) Error() string {
	return fmt.Sprintf("snapshot %s, connector %q: %v", e.Side, e.ScriptName, e.Err)
}

func (e *ConnectorError) Unwrap() error { return e.Err }

// DuplicateError is two connectors of one side with the same match key.
type DuplicateError struct {
	Side        string // "A" or "B"
	Match       string // MatchName or MatchScriptName
	Key         string
	ScriptNames [2]string // the first and the second
}

func (e *DuplicateError) Error() string {
	if e.Match == MatchName {
		return fmt.Sprintf("snapshot %s has two connectors named %q (scriptNames %q and %q): names must be unique to match by name; compare by scriptName instead",
			e.Side, e.Key, e.ScriptNames[0], e.ScriptNames[1])
	}
	return fmt.Sprintf("snapshot %s has two connectors with scriptName %q", e.Side, e.Key)
}

// read runs pass one: both sides at once, each pair compared when it meets.
func (st *streamer) read(ctx context.Context) error {
	if st.sides[0].src.Held && st.sides[1].src.Held {
		// In memory already: A then B, as Compare always did, so that the
		// first error reported does not depend on timing.
		for i, sd := range st.sides {
			err := sd.each(ctx, func(p prepared) error {
				if p.err != nil {
					return p.err
				}
				return st.add(i, p)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var chans [2]chan prepared
	var wg sync.WaitGroup
	for i, sd := range st.sides {
		// Unbuffered: a side holds the connector it is handing over and the
		// merger the one it waits with, nothing more (a detail can be large).
		ch := make(chan prepared)
		chans[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ch)
			err := sd.each(ctx, func(p prepared) error {
				select {
				case ch <- p:
					return p.err
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil {
				select {
				case ch <- prepared{err: err}:
				case <-ctx.Done():
				}
			}
		}()
	}
	err := st.merge(ctx, chans, st.sides[0].src.Ordered && st.sides[1].src.Ordered)
	cancel()
	for _, ch := range chans {
		for range ch {
		}
	}
	wg.Wait()
	return err
}

func (st *streamer) merge(ctx context.Context, chans [2]chan prepared, ordered bool) error {
	var heads [2]*prepared
	open := [2]bool{true, true}
	recv := func(i int, p prepared, ok bool) error {
		if !ok {
			open[i] = false
			return nil
		}
		if p.err != nil {
			return p.err
		}
		heads[i] = &p
		return nil
	}
	for {
		if ordered {
			// Lock-step: have a head from every open side, then take the
			// one that comes first in archive order.
			for i := range 2 {
				if open[i] && heads[i] == nil {
					select {
					case p, ok := <-chans[i]:
						if err := recv(i, p, ok); err != nil {
							return err
						}
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
		} else if heads[0] == nil && heads[1] == nil {
			if !open[0] && !open[1] {
				return nil
			}
			var c0, c1 chan prepared
			if open[0] && !st.holdBack(0, open) {
				c0 = chans[0]
			}
			if open[1] && !st.holdBack(1, open) {
				c1 = chans[1]
			}
			select {
			case p, ok := <-c0:
				if err := recv(0, p, ok); err != nil {
					return err
				}
			case p, ok := <-c1:
				if err := recv(1, p, ok); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		i := -1
		switch {
		case heads[0] != nil && heads[1] != nil:
			i = 0
			if heads[1].c.ScriptName+"/" < heads[0].c.ScriptName+"/" {
				i = 1
			}
		case heads[0] != nil:
			i = 0
		case heads[1] != nil:
			i = 1
		}
		if i < 0 {
			if !open[0] && !open[1] {
				return nil
			}
			continue
		}
		p := *heads[i]
		heads[i] = nil
		if err := st.add(i, p); err != nil {
			return err
		}
	}
}

// holdBack says side i is not to be read now: it cannot be read again, the
// content of its connectors waiting for a partner passed the window, and the
// other side, which can be read again (letting go of what it must), is
// still open to bring the partners. This is what bounds memory when a live
// tenant is compared with an archive or a directory in another order.
func (st *streamer) holdBack(i int, open [2]bool) bool {
	other := st.sides[1-i].src
	return st.pinned[i] > st.window && open[1-i] && other.Reread && !other.Held
}

// add takes one connector of side i: pairs it if its partner is waiting,
// else keeps it waiting.
func (st *streamer) add(i int, p prepared) error {
	sd := st.sides[i]
	sd.count++
	c := p.c
	key := p.name
	switch st.match {
	case MatchName:
		if key == "" {
			return &ConnectorError{Side: sd.label, ScriptName: c.ScriptName, Err: ErrNoName}
		}
	default:
		if c.ScriptName == "" {
			return fmt.Errorf("snapshot %s, connector %d: empty scriptName", sd.label, sd.count-1)
		}
		key = c.ScriptName
	}
	if prev, dup := sd.seen[key]; dup {
		return &DuplicateError{Side: sd.label, Match: st.match, Key: key, ScriptNames: [2]string{prev, c.ScriptName}}
	}
	sd.seen[key] = c.ScriptName
	e := &sentry{entry: entry{key: key, name: p.name, c: c, fields: p.fields}, side: i, script: c.ScriptName, size: contentSize(c)}
	// The mapping pairs before keys do, and whether a key pairs can depend
	// on connectors not read yet: those wait for the end, with Compare's
	// rules (they are few: the ones the user named).
	_, mappedFrom := st.mapping[key]
	_, mappedTo := st.targets[key]
	if (i == 0 && (mappedFrom || mappedTo)) || (i == 1 && mappedTo) {
		e.special = true
		sd.special = append(sd.special, e)
		st.retain(e)
		return nil
	}
	if o := st.sides[1-i].pending[key]; o != nil {
		delete(st.sides[1-i].pending, key)
		st.unpin(o)
		if i == 0 {
			return st.pairUp(e, o)
		}
		return st.pairUp(o, e)
	}
	sd.pending[key] = e
	if src := sd.src; !src.Reread && !src.Held {
		st.pinned[i] += e.size
	}
	st.retain(e)
	return nil
}

// unpin takes a paired connector of a side that cannot be read again out of
// the waiting content.
func (st *streamer) unpin(e *sentry) {
	if src := st.sides[e.side].src; !src.Reread && !src.Held {
		st.pinned[e.side] -= e.size
	}
}

func contentSize(c *archive.Connector) int64 {
	n := len(c.Detail) + len(c.SourceConfig) + len(c.SourceTemplate) + len(c.CorrelationConfig)
	for _, t := range c.Translations {
		n += len(t)
	}
	return int64(n)
}

// retain keeps e's content while it waits, letting go of the oldest waiting
// content of re-readable sides beyond the window.
func (st *streamer) retain(e *sentry) {
	src := st.sides[e.side].src
	if src.Held || !src.Reread {
		return // free to keep, or impossible to read again
	}
	e.queued = true
	st.retained += e.size
	st.queue = append(st.queue, e)
	for st.retained > st.window && len(st.queue) > 0 {
		old := st.queue[0]
		st.queue[0] = nil
		st.queue = st.queue[1:]
		if old.queued {
			st.letGo(old)
		}
	}
}

// letGo drops e's content, keeping its signature.
func (st *streamer) letGo(e *sentry) {
	if e.queued {
		e.queued = false
		st.retained -= e.size
	}
	if e.c != nil {
		if e.sig == nil {
			e.sig = makeSig(e.c, e.fields, st.cmp.ws)
		}
		e.c, e.fields = nil, nil
	}
}

// release forgets e's content once it is compared.
func (st *streamer) release(e *sentry) {
	if e.queued {
		e.queued = false
		st.retained -= e.size
	}
	e.done = true
}

func (st *streamer) signature(e *sentry) *sig {
	if e.sig == nil {
		e.sig = makeSig(e.c, e.fields, st.cmp.ws)
	}
	return e.sig
}

// pairUp compares a pair now if both are in memory or their signatures say
// they are the same; otherwise it waits for pass two.
func (st *streamer) pairUp(a, b *sentry) error {
	if a.held() && b.held() {
		st.emit(st.cmp.pair(&a.entry, &b.entry, &st.res.Summary), a, b)
		return nil
	}
	sa, sb := st.signature(a), st.signature(b)
	if st.sameSig(sa, sb) {
		st.emit(st.unchanged(a, b, sa, sb), a, b)
		return nil
	}
	st.deferred = append(st.deferred, deferredPair{a, b})
	st.needContent(a)
	st.needContent(b)
	return nil
}

// needContent marks e for pass two when its content is gone; content still
// here stays until then.
func (st *streamer) needContent(e *sentry) {
	if e.held() {
		if e.queued { // no longer competing for the window: it is needed
			e.queued = false
			st.retained -= e.size
		}
		return
	}
	st.sides[e.side].need[e.script] = e
}

func (st *streamer) sameSig(a, b *sig) bool {
	for _, k := range unionKeys(a.fields, b.fields) {
		if st.cmp.ignored[k] {
			continue
		}
		ha, okA := a.fields[k]
		hb, okB := b.fields[k]
		if !okA || !okB || ha != hb {
			return false
		}
	}
	if a.docs != b.docs || len(a.trans) != len(b.trans) {
		return false
	}
	for l, h := range a.trans {
		if hb, ok := b.trans[l]; !ok || hb != h {
			return false
		}
	}
	return true
}

// unchanged is the ConnectorDiff of a pair whose signatures match, with the
// counts pair would have made.
func (st *streamer) unchanged(a, b *sentry, sa, sb *sig) ConnectorDiff {
	sum := &st.res.Summary
	for k := range sa.fields {
		if _, ok := sb.fields[k]; ok && !st.cmp.ignored[k] {
			sum.DetailFields.Unchanged++
		}
	}
	for i, doc := range documentOrder {
		if sa.docs[i].has {
			sum.counts(Change{Kind: KindDocument, Document: doc}).Unchanged++
		}
	}
	sum.Translations.Unchanged += len(sa.trans)
	d := ConnectorDiff{Name: a.key, AKey: a.key, BKey: b.key, AName: a.name, BName: b.name,
		A: &archive.Connector{ScriptName: a.script}, B: &archive.Connector{ScriptName: b.script}, Status: StatusUnchanged}
	sum.Connectors.Unchanged++
	if d.Renamed() {
		sum.Connectors.Renamed++
	}
	return d
}

// take releases side i's entry e (nil for none) and returns its View for
// Options.Each (nil when its connector is not held); for a side not held,
// *kept (the diff's A or B) keeps only the scriptName.
func (st *streamer) take(e *sentry, i int, kept **archive.Connector) *View {
	if e == nil {
		return nil
	}
	var v *View
	if e.c != nil {
		v = &View{Connector: e.c, Fields: e.fields, Name: e.name}
	}
	if !st.sides[i].src.Held {
		*kept = &archive.Connector{ScriptName: e.script}
	}
	st.release(e)
	e.c, e.fields = nil, nil
	return v
}

// emit records d; for sides not held, A and B keep only the scriptName.
func (st *streamer) emit(d ConnectorDiff, a, b *sentry) {
	av := st.take(a, 0, &d.A)
	bv := st.take(b, 1, &d.B)
	if st.opts.Each != nil {
		st.opts.Each(&d, av, bv)
	}
	st.res.Connectors = append(st.res.Connectors, d)
}

// finish pairs the mapping's connectors, reports the unpaired ones, reads
// again what pass one let go and is still needed, and sorts the result.
func (st *streamer) finish(ctx context.Context) error {
	sa, sb := st.sides[0], st.sides[1]
	for _, from := range slices.Sorted(maps.Keys(st.mapping)) {
		to := st.mapping[from]
		_, hasA := sa.seen[from]
		_, hasB := sb.seen[to]
		switch {
		case !hasA:
			st.res.UnmatchedMappings = append(st.res.UnmatchedMappings, UnmatchedMapping{A: from, B: to, Reason: fmt.Sprintf("no connector %q in A", from)})
		case !hasB:
			st.res.UnmatchedMappings = append(st.res.UnmatchedMappings, UnmatchedMapping{A: from, B: to, Reason: fmt.Sprintf("no connector %q in B", to)})
		}
	}
	// Compare's rules for the connectors the mapping names: mapping pairs
	// first, then equal keys among those it left alone.
	specialB := map[string]*sentry{}
	for _, e := range sb.special {
		specialB[e.key] = e
	}
	specialA := map[string]*sentry{}
	for _, e := range sa.special {
		specialA[e.key] = e
	}
	paired := map[*sentry]bool{}
	for _, from := range slices.Sorted(maps.Keys(st.mapping)) {
		ea, eb := specialA[from], specialB[st.mapping[from]]
		if ea != nil && eb != nil {
			paired[ea], paired[eb] = true, true
			if err := st.pairUp(ea, eb); err != nil {
				return err
			}
		}
	}
	for _, ea := range sa.special {
		if _, mapped := st.mapping[ea.key]; mapped || paired[ea] {
			continue
		}
		if eb := specialB[ea.key]; eb != nil && !paired[eb] {
			paired[ea], paired[eb] = true, true
			if err := st.pairUp(ea, eb); err != nil {
				return err
			}
		}
	}
	var alone []*sentry
	for _, sd := range st.sides {
		for _, e := range sd.special {
			if !paired[e] {
				alone = append(alone, e)
			}
		}
		for _, e := range sd.pending {
			alone = append(alone, e)
		}
		sd.pending = nil
	}
	// A connector on one side only is reported now when its content is
	// here, or when ChangesOnly needs none (its signature lists its items);
	// otherwise it waits for pass two with the pairs that differ.
	waiting := map[*sentry][]*deferredPair{}
	for _, e := range alone {
		switch {
		case e.held():
			st.emitAlone(e)
		case st.cmp.lean:
			st.emit(st.sigAlone(e), st.sideEntry(e, 0), st.sideEntry(e, 1))
		default:
			st.needContent(e)
			waiting[e] = append(waiting[e], nil)
		}
	}
	for i := range st.deferred {
		p := &st.deferred[i]
		waiting[p.a] = append(waiting[p.a], p)
		waiting[p.b] = append(waiting[p.b], p)
	}
	st.deferred = nil

	// Pass two: read again what was let go and is needed, comparing each
	// pair as soon as both of its connectors are here, so that only pairs
	// waiting for the other side's pass hold content.
	for _, sd := range st.sides {
		if len(sd.need) == 0 {
			continue
		}
		if !sd.src.Reread {
			return fmt.Errorf("snapshot %s: connectors were let go and the side cannot be read again", sd.label)
		}
		err := sd.each(ctx, func(p prepared) error {
			if p.err != nil {
				return p.err
			}
			c := p.c
			e := sd.need[c.ScriptName]
			if e == nil {
				return nil
			}
			if s := makeSig(c, p.fields, st.cmp.ws); e.sig != nil && !sameSigExact(s, e.sig) {
				return fmt.Errorf("snapshot %s, connector %q: its content changed between two reads of the same archive; was it overwritten during the diff? Run it again", sd.label, c.ScriptName)
			}
			e.c, e.fields = c, p.fields
			delete(sd.need, c.ScriptName)
			for _, dp := range waiting[e] {
				switch {
				case dp == nil:
					st.emitAlone(e)
				case dp.a.held() && dp.b.held():
					st.emit(st.cmp.pair(&dp.a.entry, &dp.b.entry, &st.res.Summary), dp.a, dp.b)
				}
			}
			delete(waiting, e)
			return nil
		})
		if err != nil {
			return err
		}
		if len(sd.need) > 0 {
			return fmt.Errorf("snapshot %s: connector %q was not found when the side was read again", sd.label, slices.Sorted(maps.Keys(sd.need))[0])
		}
	}
	sort.Slice(st.res.Connectors, func(i, j int) bool {
		x, y := &st.res.Connectors[i], &st.res.Connectors[j]
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		if x.AKey != y.AKey {
			return x.AKey < y.AKey
		}
		return x.BKey < y.BKey
	})
	return nil
}

func sameSigExact(a, b *sig) bool {
	return maps.Equal(a.fields, b.fields) && a.docs == b.docs && maps.Equal(a.trans, b.trans)
}
