package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
)

// fakeTenant serves n connectors from memory, with random small delays so
// results complete out of order, and counts what is in flight.
type fakeTenant struct {
	n        int
	fail     map[string]error // scriptName -> error on its detail
	gone     map[string]bool  // detail answers 404
	locales  []string         // each connector's translation locales
	noCorr   bool             // correlation-config answers 404
	inflight atomic.Int64
	peak     atomic.Int64
	started  atomic.Int64 // connectors whose detail was requested
	mu       sync.Mutex
	listErr  error
	asked    map[string]int // scriptName -> document and translation requests
}

func (f *fakeTenant) ask(scriptName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.asked == nil {
		f.asked = map[string]int{}
	}
	f.asked[scriptName]++
}

func (f *fakeTenant) enter() func() {
	n := f.inflight.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	return func() { f.inflight.Add(-1) }
}

func sn(i int) string { return fmt.Sprintf("conn-%04d", i) }

func (f *fakeTenant) AllConnectors(ctx context.Context, filters, locale string) iter.Seq2[apiclient.V3ConnectorDto, error] {
	return func(yield func(apiclient.V3ConnectorDto, error) bool) {
		for i := range f.n {
			if !yield(apiclient.V3ConnectorDto{Name: fmt.Sprintf("Connector %d", i), ScriptName: sn(i)}, nil) {
				return
			}
		}
		if f.listErr != nil {
			yield(apiclient.V3ConnectorDto{}, f.listErr)
		}
	}
}

func notFound() error { return &apiclient.Error{StatusCode: http.StatusNotFound} }

func (f *fakeTenant) GetConnectorRaw(ctx context.Context, scriptName, locale string) (json.RawMessage, error) {
	defer f.enter()()
	f.started.Add(1)
	if err := f.fail[scriptName]; err != nil {
		return nil, err
	}
	if f.gone[scriptName] {
		return nil, notFound()
	}
	d := &apiclient.ConnectorDetail{Name: "Connector " + scriptName, ScriptName: scriptName, TranslationProperties: map[string]string{}}
	for _, l := range f.locales {
		d.TranslationProperties[l] = "k=" + l
	}
	raw, _ := json.Marshal(d)
	return raw, ctx.Err()
}

func (f *fakeTenant) GetDocument(ctx context.Context, scriptName string, doc apiclient.Document) ([]byte, error) {
	defer f.enter()()
	f.ask(scriptName)
	if doc == apiclient.CorrelationConfig && f.noCorr {
		return nil, notFound()
	}
	return []byte("<" + string(doc) + " of=\"" + scriptName + "\"/>"), ctx.Err()
}

func (f *fakeTenant) GetTranslation(ctx context.Context, scriptName, locale string) ([]byte, error) {
	defer f.enter()()
	f.ask(scriptName)
	return []byte(scriptName + "." + locale + "=x"), ctx.Err()
}

func collect(t *testing.T, ft *fakeTenant, opts Options) ([]*archive.Connector, *Result, error) {
	t.Helper()
	var got []*archive.Connector
	res, err := Run(context.Background(), ft, opts, func(c *archive.Connector) error {
		got = append(got, c)
		return nil
	})
	return got, res, err
}

func TestRunEmitsInListOrderWithEverything(t *testing.T) {
	ft := &fakeTenant{n: 200, locales: []string{"fr", "de"}}
	got, res, err := collect(t, ft, Options{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 || res.Connectors != 200 {
		t.Fatalf("got %d connectors (result %d), want 200", len(got), res.Connectors)
	}
	for i, c := range got {
		if c.ScriptName != sn(i) {
			t.Fatalf("connector %d is %s, want %s: not in list order", i, c.ScriptName, sn(i))
		}
	}
	want := &archive.Connector{
		ScriptName:        sn(7),
		SourceConfig:      []byte(`<source-config of="conn-0007"/>`),
		SourceTemplate:    []byte(`<source-template of="conn-0007"/>`),
		CorrelationConfig: []byte(`<correlation-config of="conn-0007"/>`),
		Translations:      map[string][]byte{"de": []byte("conn-0007.de=x"), "fr": []byte("conn-0007.fr=x")},
	}
	got7 := *got[7]
	got7.Detail = nil
	if d := cmp.Diff(want, &got7); d != "" {
		t.Errorf("connector 7 (-want +got):\n%s", d)
	}
	if res.Documents != 200*5 {
		t.Errorf("documents = %d, want %d", res.Documents, 200*5)
	}
	if p := ft.peak.Load(); p > 8 {
		t.Errorf("peak requests in flight = %d, want <= concurrency 8", p)
	}
}

func TestRunMemoryIsBoundedByWindow(t *testing.T) {
	// The writer stalls on the first connector; the pipeline must not race
	// ahead through the whole tenant meanwhile.
	ft := &fakeTenant{n: 1000}
	release := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), ft, Options{Concurrency: 4}, func(c *archive.Connector) error {
			once.Do(func() { <-release })
			return nil
		})
		done <- err
	}()
	// Give the pipeline every chance to run ahead.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) && ft.started.Load() < 100 {
		time.Sleep(10 * time.Millisecond)
	}
	started := ft.started.Load()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// window (2 x 4) queued + the one the writer holds + one the producer is placing.
	if started > 2*4+2 {
		t.Errorf("%d connectors fetched while the writer was stalled; want at most %d", started, 2*4+2)
	}
}

func TestRunSkipsDeletedConnector(t *testing.T) {
	ft := &fakeTenant{n: 5, gone: map[string]bool{sn(2): true}}
	got, res, err := collect(t, ft, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d connectors, want 4", len(got))
	}
	want := []archive.Skipped{{ScriptName: sn(2), Name: "Connector 2", Reason: "deleted between list and fetch (404)"}}
	if d := cmp.Diff(want, res.Skipped); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}
	if res.Partial() {
		t.Error("a deleted connector must not make the export partial")
	}
}

func TestRunFailureStopsUnlessKeepGoing(t *testing.T) {
	boom := &apiclient.Error{StatusCode: 500, DetailCode: "500.0 Internal Fault", TrackingID: "abc"}
	ft := &fakeTenant{n: 50, fail: map[string]error{sn(10): boom}}
	_, _, err := collect(t, ft, Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the connector's failure", err)
	}
	if err == nil || !contains(err.Error(), sn(10)) {
		t.Errorf("error %q does not name the connector", err)
	}

	got, res, err := collect(t, ft, Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 49 || !res.Partial() || len(res.Failed) != 1 || res.Failed[0].ScriptName != sn(10) {
		t.Fatalf("keep-going: %d connectors, failed %+v", len(got), res.Failed)
	}
}

func TestRunAbsentDocumentAndExplicitScriptNames(t *testing.T) {
	ft := &fakeTenant{n: 2, noCorr: true, gone: map[string]bool{"missing": true}}
	got, res, err := collect(t, ft, Options{ScriptNames: []string{"hidden-dev", sn(1), "missing"}, Locales: []string{"ja"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.ScriptName)
		if c.CorrelationConfig != nil {
			t.Errorf("%s: correlation-config should be absent (404)", c.ScriptName)
		}
		if string(c.Translations["ja"]) != c.ScriptName+".ja=x" || len(c.Translations) != 1 {
			t.Errorf("%s: translations %v, want only ja", c.ScriptName, c.Translations)
		}
	}
	if d := cmp.Diff([]string{sn(0), sn(1), "hidden-dev"}, names); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Reason != "not found (404)" {
		t.Errorf("skipped = %+v", res.Skipped)
	}
}

func TestRunListErrorIsReported(t *testing.T) {
	ft := &fakeTenant{n: 3, listErr: errors.New("page 2: 400 bad filter")}
	_, _, err := collect(t, ft, Options{})
	if err == nil || !contains(err.Error(), "bad filter") {
		t.Fatalf("err = %v, want the list error", err)
	}
}

func TestRunAllLocalesAndBadLocale(t *testing.T) {
	ft := &fakeTenant{n: 1}
	got, _, err := collect(t, ft, Options{Locales: []string{AllLocales}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0].Translations) != len(apiclient.Locales) {
		t.Errorf("got %d locales, want %d", len(got[0].Translations), len(apiclient.Locales))
	}
	if _, _, err := collect(t, ft, Options{Locales: []string{"xx"}}); err == nil || !contains(err.Error(), `"xx"`) {
		t.Errorf("unknown locale: err = %v", err)
	}
}

func TestRunCancel(t *testing.T) {
	ft := &fakeTenant{n: 500}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Run(ctx, ft, Options{}, func(c *archive.Connector) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestCanonical(t *testing.T) {
	in := []byte(` { "b" : 1.50, "a" : {"z":"<x>&\u00e9", "y" : [ true, null, {"d":1,"c":2} ] } } `)
	want := `{"a":{"y":[true,null,{"c":2,"d":1}],"z":"<x>&\u00e9"},"b":1.50}` + "\n"
	got, err := Canonical(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Canonical = %q, want %q", got, want)
	}
	for _, bad := range []string{``, `{`, `{} {}`, `nul`, `{"a":[1,}`, `"unterminated`, strings.Repeat("[", 100) + strings.Repeat("]", 100)} {
		if _, err := Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%q) accepted bad JSON", bad)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// FuzzCanonical: a server's detail answer is outside input. Whatever it is,
// Canonical never panics; what it accepts is valid JSON that means the same
// thing, and canonicalising again changes nothing.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":1,"a":"x"}`, `{"a":{"z":[1,{"y":2,"x":3}]}}`, `[1,2]`, `"s"`, `{"a":"\u003c"}`, ` {"a" : 1e5 } `, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonical(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Canonical(%q) = %q: not valid JSON", in, out)
		}
		var a, b any
		da := json.NewDecoder(strings.NewReader(string(in)))
		da.UseNumber()
		db := json.NewDecoder(strings.NewReader(string(out)))
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil {
			t.Fatalf("Canonical accepted %q but it does not decode", in)
		}
		if !cmp.Equal(a, b) {
			t.Fatalf("Canonical(%q) = %q changes the value", in, out)
		}
		again, err := Canonical(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("Canonical is not idempotent on %q: %q, %v", out, again, err)
		}
	})
}

func TestSlotsServeOldestFirst(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, 0); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	var wg sync.WaitGroup
	for _, seq := range []int{7, 3, 5} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.acquire(ctx, seq); err != nil {
				t.Error(err)
				return
			}
			order <- seq
			s.release()
		}()
	}
	// Let all three queue up behind the held slot.
	for {
		s.mu.Lock()
		n := len(s.waiters)
		s.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.release()
	wg.Wait()
	close(order)
	var got []int
	for seq := range order {
		got = append(got, seq)
	}
	if d := cmp.Diff([]int{3, 5, 7}, got); d != "" {
		t.Errorf("grant order (-want +got):\n%s", d)
	}

	// A waiter that gives up leaves the slot count intact.
	if err := s.acquire(ctx, 0); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.acquire(cctx, 1) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire: %v", err)
	}
	s.release()
	if s.free != 1 || len(s.waiters) != 0 {
		t.Errorf("after cancel: free %d, waiters %d; want 1, 0", s.free, len(s.waiters))
	}
}

// docFirstTenant answers a detail only once that connector's source config
// has been asked for: an exporter that waits for the detail before asking
// for the documents never finishes a connector.
type docFirstTenant struct {
	*fakeTenant
	mu    sync.Mutex
	asked map[string]chan struct{}
}

func (d *docFirstTenant) ch(scriptName string) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.asked[scriptName]
	if !ok {
		c = make(chan struct{})
		d.asked[scriptName] = c
	}
	return c
}

func (d *docFirstTenant) GetConnectorRaw(ctx context.Context, scriptName, locale string) (json.RawMessage, error) {
	select {
	case <-d.ch(scriptName):
	case <-time.After(5 * time.Second):
		return nil, errors.New("the source config was never asked for while the detail was outstanding")
	}
	return d.fakeTenant.GetConnectorRaw(ctx, scriptName, locale)
}

func (d *docFirstTenant) GetDocument(ctx context.Context, scriptName string, doc apiclient.Document) ([]byte, error) {
	if doc == apiclient.SourceConfig {
		close(d.ch(scriptName))
	}
	return d.fakeTenant.GetDocument(ctx, scriptName, doc)
}

func TestRunAsksForDocumentsWithTheDetail(t *testing.T) {
	// The documents do not depend on the detail; asking for them together
	// takes one round trip off every connector's critical path.
	ft := &docFirstTenant{fakeTenant: &fakeTenant{n: 3, locales: []string{"en"}}, asked: map[string]chan struct{}{}}
	var got []*archive.Connector
	_, err := Run(context.Background(), ft, Options{Concurrency: 4}, func(c *archive.Connector) error {
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].SourceConfig == nil || got[2].Translations["en"] == nil || got[2].Detail == nil {
		t.Fatalf("got %d connectors, last %+v", len(got), got[len(got)-1])
	}
}

func TestRunAsksForNothingElseOfAMissingNamedConnector(t *testing.T) {
	// Restore probes its target with the archive's scriptNames, most of
	// which may not exist there: each missing one must cost one request.
	ft := &fakeTenant{n: 0, locales: []string{"en"}, gone: map[string]bool{"missing-1": true, "missing-2": true}}
	_, res, err := collect(t, ft, Options{ListDisabled: true, ScriptNames: []string{"missing-1", "missing-2"}, Locales: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 2 {
		t.Fatalf("skipped %+v, want both", res.Skipped)
	}
	if len(ft.asked) != 0 {
		t.Errorf("documents or translations asked for missing connectors: %v", ft.asked)
	}
}
