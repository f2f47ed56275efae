package apiclient

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// simClock is a Clock whose Sleep moves time on at once: hours of waiting
// take microseconds, and what was waited is known exactly.
type simClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func newSimClock() *simClock {
	return &simClock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept += d
	c.mu.Unlock()
	return nil
}

// once429 answers the first API request with 429 and Retry-After ra, and
// every later one with a detail.
func once429(ra string) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			w.Header().Set("Retry-After", ra)
			writeJSON(w, 429, `{"message":" Rate Limit Exceeded "}`)
			return
		}
		writeJSON(w, 200, `{"name":"x"}`)
	}
}

func TestLongRetryAfterIsWaitedOutAndAnnounced(t *testing.T) {
	f := newFake(t, once429("300"))
	clk := newSimClock()
	var logs bytes.Buffer
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.Clock = clk
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	start := clk.Now()
	if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil {
		t.Fatalf("a 300 s Retry-After within the default --max-wait failed the call: %v", err)
	}
	if clk.slept < 300*time.Second || clk.slept > 301*time.Second {
		t.Errorf("waited %v, want the 300 s asked for", clk.slept)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want the 429 and its retry", n)
	}
	end := start.Add(300 * time.Second).Format("2006-01-02 15:04:05 MST")
	if out := logs.String(); !strings.Contains(out, "level=INFO") || !strings.Contains(out, "waiting 5m0s") || !strings.Contains(out, end) {
		t.Errorf("log %q: want one info line with the wait and its end %s", out, end)
	}
	if strings.Count(logs.String(), "waiting") != 1 {
		t.Errorf("the wait was announced %d times, want once", strings.Count(logs.String(), "waiting"))
	}
	// A short wait is not announced.
	logs.Reset()
	g := newFake(t, once429("20"))
	c2 := newTestClient(t, g, func(cfg *Config) {
		cfg.Clock = newSimClock()
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	if _, _, err := c2.GetConnector(context.Background(), "acme", ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "waiting") {
		t.Errorf("a 20 s wait was announced: %s", logs.String())
	}
}

func TestRetryAfterBeyondMaxWaitFailsAtOnce(t *testing.T) {
	for _, ra := range []string{"2000", "999999", "1e30"} {
		f := newFake(t, once429(ra))
		clk := newSimClock()
		c := newTestClient(t, f, func(cfg *Config) { cfg.Clock = clk })
		_, _, err := c.GetConnector(context.Background(), "acme", "")
		if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "--max-wait 30m0s") {
			t.Errorf("Retry-After %s: err = %v, want ErrWaitTooLong naming --max-wait 30m0s", ra, err)
		}
		if clk.slept != 0 || len(f.requests()) != 1 {
			t.Errorf("Retry-After %s: waited %v and sent %d requests, want no wait and no retry", ra, clk.slept, len(f.requests()))
		}
		// The pause of the bucket is left alone: the next call goes at once.
		if _, _, err := c.GetConnector(context.Background(), "other", ""); err != nil || clk.slept != 0 {
			t.Errorf("Retry-After %s: the next call: %v after waiting %v, want at once", ra, err, clk.slept)
		}
	}
	// --max-wait raised: the same 2,000 s is waited out.
	f := newFake(t, once429("2000"))
	clk := newSimClock()
	c := newTestClient(t, f, func(cfg *Config) { cfg.Clock = clk; cfg.MaxWait = time.Hour })
	if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil || clk.slept < 2000*time.Second {
		t.Errorf("with --max-wait 1h: %v after %v", err, clk.slept)
	}
}

func TestUnusableRetryAfterBacksOff(t *testing.T) {
	for _, ra := range []string{"soon", "-5", "NaN", ""} {
		f := newFake(t, once429(ra))
		clk := newSimClock()
		c := newTestClient(t, f, func(cfg *Config) { cfg.Clock = clk })
		if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil {
			t.Errorf("Retry-After %q: %v", ra, err)
		}
		if clk.slept <= 0 || clk.slept > c.backoffMax {
			t.Errorf("Retry-After %q: waited %v, want the client's own backoff", ra, clk.slept)
		}
	}
}

// TestEnormousRetryAfterDoesNotStallOthers: one
// document answered 429 with Retry-After 999999 must fail on its own, at
// once, while the other requests of the run go on.
func TestEnormousRetryAfterDoesNotStallOthers(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.Contains(r.URL.Path, "/poisoned/") {
			w.Header().Set("Retry-After", "999999")
			writeJSON(w, 429, `{"message":" Rate Limit Exceeded "}`)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte("<x/>"))
	})
	c := newTestClient(t, f, func(cfg *Config) { cfg.Rate = 0 })
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sn := "fine"
			if i == 0 {
				sn = "poisoned"
			}
			_, errs[i] = c.GetDocument(context.Background(), sn, SourceConfig)
		}()
	}
	wg.Wait()
	if !errors.Is(errs[0], ErrWaitTooLong) {
		t.Errorf("poisoned document: %v, want ErrWaitTooLong", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Errorf("request %d: %v", i+1, err)
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("20 requests took %v: the enormous Retry-After stalled the others", el)
	}
}

func TestCancelDuringLongWait(t *testing.T) {
	f := newFake(t, once429("300"))
	c := newTestClient(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := c.GetConnector(ctx, "acme", "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("cancelling a 300 s wait took %v, want under a second", el)
	}
}

// frozenClock never moves: every wait reserves its slot at the same instant,
// as workers queued together do.
type frozenClock struct{ t time.Time }

func (c frozenClock) Now() time.Time                                   { return c.t }
func (c frozenClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// TestLowRateWaitIsAnnounced: a very low --rate holds requests back for
// long; that is said at info level, with the wait's end, once per episode
// and not once per request.
func TestLowRateWaitIsAnnounced(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `{"name":"x"}`) })
	clk := newSimClock()
	var logs bytes.Buffer
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.Clock = clk
		cfg.Rate = 0.01
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	const calls = 20
	for range calls {
		if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Count(logs.String(), "holds requests back")
	if lines == 0 || !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), "at 2026-12-05 00:") ||
		!strings.Contains(logs.String(), "one every 1m42s") {
		t.Fatalf("waited %v in all at --rate 0.01 and said nothing at info level with the wait's end and the pace:\n%s", clk.slept, logs.String())
	}
	if lines != 1 {
		t.Errorf("%d announcements for %d requests each waiting in turn, want one for the episode:\n%s", lines, calls, logs.String())
	}
	// After a pause in the run, the next long wait is a new episode.
	clk.Sleep(context.Background(), 10*time.Minute)
	if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "holds requests back"); n != 1 {
		t.Errorf("a request after 10 idle minutes waited, %d announcements in all; want still one (no wait)", n)
	}
	clk.Sleep(context.Background(), 10*time.Minute)
	if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetConnector(context.Background(), "acme", ""); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "holds requests back"); n != 2 {
		t.Errorf("%d announcements after a second episode, want 2:\n%s", n, logs.String())
	}

	// Workers queued at once form one episode: one announcement.
	p := newPacer(0.01, 0)
	n := 0
	for range 8 {
		if err := p.wait(context.Background(), frozenClock{clk.Now()}, func(time.Duration, time.Time, float64) { n++ }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 {
		t.Errorf("8 queued requests announced %d times, want once", n)
	}

	// The default pace keeps a small run quiet.
	logs.Reset()
	g := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `{"name":"x"}`) })
	c2 := newTestClient(t, g, func(cfg *Config) {
		cfg.Clock = newSimClock()
		cfg.Rate = DefaultRate
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	for range calls {
		if _, _, err := c2.GetConnector(context.Background(), "acme", ""); err != nil {
			t.Fatal(err)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("the default pace announced waits for %d requests:\n%s", calls, logs.String())
	}
}
