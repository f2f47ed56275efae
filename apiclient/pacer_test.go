package apiclient

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// fixedWindow is a gateway that admits limit requests per window, counted in
// fixed windows starting at phase, and answers 429 with Retry-After in whole
// seconds until the window ends.
type fixedWindow struct {
	window time.Duration
	limit  int
	phase  time.Time
	idx    int64
	count  int
}

func (s *fixedWindow) admit(at time.Time) (ok bool, retryAfter time.Duration) {
	idx := int64(at.Sub(s.phase) / s.window)
	if idx != s.idx {
		s.idx, s.count = idx, 0
	}
	if s.count >= s.limit {
		end := s.phase.Add(time.Duration(idx+1) * s.window)
		secs := (end.Sub(at) + time.Second - 1) / time.Second
		return false, secs * time.Second
	}
	s.count++
	return true, 0
}

// gateway decides whether a request arriving at a given time is admitted.
type gateway interface {
	admit(at time.Time) (ok bool, retryAfter time.Duration)
}

// slidingWindow admits limit requests in any span of length window, and
// answers 429 with Retry-After in whole seconds until the oldest of them
// leaves it.
type slidingWindow struct {
	window time.Duration
	limit  int
	recent []time.Time
}

func (s *slidingWindow) admit(at time.Time) (bool, time.Duration) {
	for len(s.recent) > 0 && !s.recent[0].After(at.Add(-s.window)) {
		s.recent = s.recent[1:]
	}
	if len(s.recent) >= s.limit {
		wait := s.recent[0].Add(s.window).Sub(at)
		return false, (wait + time.Second - 1) / time.Second * time.Second
	}
	s.recent = append(s.recent, at)
	return true, 0
}

type simEvent struct {
	at     time.Time
	kind   int // 0 ready, 1 send, 2 answer
	sent   time.Time
	ok     bool
	ra     time.Duration
	worker int
}

type simQueue []simEvent

func (q simQueue) Len() int           { return len(q) }
func (q simQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q simQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)        { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type simResult struct {
	elapsed  time.Duration
	n429     int
	arrivals []time.Time // when each request reached the server
}

// simulate runs total requests through p with the given number of workers,
// in simulated time, against srv (nil: a server that admits everything). It
// follows the same steps as pacer.wait and Client.do: wait for the pause,
// take a slot, re-check the pause, send; on 429 record it and go again.
func simulate(p *pacer, workers, total int, latency, jitter time.Duration, srv gateway, seed uint64) simResult {
	rng := rand.New(rand.NewPCG(seed, seed))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := &simQueue{}
	issued, done := 0, 0
	for w := 0; w < workers && issued < total; w++ {
		heap.Push(q, simEvent{at: start, kind: 0, worker: w})
		issued++
	}
	var res simResult
	var last time.Time
	for q.Len() > 0 {
		e := heap.Pop(q).(simEvent)
		last = e.at
		switch e.kind {
		case 0:
			d, paused := p.next(e.at)
			if paused {
				heap.Push(q, simEvent{at: e.at.Add(d), kind: 0, worker: e.worker})
			} else {
				heap.Push(q, simEvent{at: e.at.Add(d), kind: 1, worker: e.worker})
			}
		case 1:
			if p.pauseLeft(e.at) > 0 {
				heap.Push(q, simEvent{at: e.at, kind: 0, worker: e.worker})
				continue
			}
			var j time.Duration
			if jitter > 0 {
				j = time.Duration(rng.Int64N(int64(jitter)))
			}
			arrive := e.at.Add(latency/2 + j)
			res.arrivals = append(res.arrivals, arrive)
			ok, ra := true, time.Duration(0)
			if srv != nil {
				ok, ra = srv.admit(arrive)
			}
			heap.Push(q, simEvent{at: e.at.Add(latency + j), kind: 2, sent: e.at, ok: ok, ra: ra, worker: e.worker})
		case 2:
			if !e.ok {
				res.n429++
				p.on429(e.sent, e.at, e.ra)
				heap.Push(q, simEvent{at: e.at, kind: 0, worker: e.worker})
				continue
			}
			p.onSuccess(e.sent, e.at)
			done++
			if issued < total {
				issued++
				heap.Push(q, simEvent{at: e.at, kind: 0, worker: e.worker})
			}
		}
	}
	res.elapsed = last.Sub(start)
	return res
}

// maxInWindow is the largest number of arrivals in any window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	sorted := append([]time.Time(nil), ts...)
	for i := 1; i < len(sorted); i++ { // insertion sort: nearly sorted already
		for j := i; j > 0 && sorted[j].Before(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	best, lo := 0, 0
	for hi := range sorted {
		for sorted[hi].Sub(sorted[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func TestDefaultPaceNeverExceedsGatewayWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		latency time.Duration
		jitter  time.Duration
	}{
		{"1 worker", 1, 0, 0},
		{"16 workers", 16, 80 * time.Millisecond, 0},
		{"64 workers with 40ms jitter", 64, 300 * time.Millisecond, 40 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(DefaultRate, DefaultRateWindow)
			res := simulate(p, tc.workers, 3000, tc.latency, tc.jitter, nil, 1)
			if got := maxInWindow(res.arrivals, 10*time.Second); got > 100 {
				t.Errorf("a 10 s window held %d requests, want at most 100", got)
			}
			// Against a real fixed-window gateway of that limit: not one 429.
			srv := &fixedWindow{window: 10 * time.Second, limit: 100, phase: time.Date(2025, 12, 31, 23, 59, 57, 300e6, time.UTC)}
			res = simulate(newPacer(DefaultRate, DefaultRateWindow), tc.workers, 3000, tc.latency, tc.jitter, srv, 2)
			if res.n429 != 0 {
				t.Errorf("%d 429s at the default pace", res.n429)
			}
			// And the margin costs no more than it should.
			if floor := 300 * time.Second; res.elapsed > floor*104/100 {
				t.Errorf("3000 requests took %v, more than 4%% over the %v floor", res.elapsed, floor)
			}
		})
	}
}

func TestOverconfiguredPaceConverges(t *testing.T) {
	// A client configured above the gateway's limit (a wrong setting, or a
	// second tool on the same client id) must finish close to the limit
	// without a 429 storm.
	for _, over := range []float64{2, 4} {
		for _, workers := range []int{4, 16, 64} {
			srv := &fixedWindow{window: 10 * time.Second, limit: 100, phase: time.Date(2025, 12, 31, 23, 59, 55, 0, time.UTC)}
			p := newPacer(over*DefaultRate, DefaultRateWindow)
			const total = 6000
			res := simulate(p, workers, total, 150*time.Millisecond, 20*time.Millisecond, srv, uint64(workers))
			floor := time.Duration(total/100) * 10 * time.Second
			eff := float64(floor) / float64(res.elapsed)
			t.Logf("%.0fx, %d workers: %d requests in %v (floor %v, efficiency %.1f%%), %d 429s, final rate %.2f/s",
				over, workers, total, res.elapsed.Round(time.Second), floor, 100*eff, res.n429, p.rate())
			if eff < 0.9 {
				t.Errorf("%.0fx, %d workers: efficiency %.1f%%, want at least 90%% of the gateway limit", over, workers, 100*eff)
			}
			if res.n429 > total/50 {
				t.Errorf("%.0fx, %d workers: %d 429s for %d requests, want at most 2%%", over, workers, res.n429, total)
			}
		}
	}
}

func TestPacerSharedPauseAndRecovery(t *testing.T) {
	p := newPacer(10, DefaultRateWindow)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.next(t0)
	p.on429(t0, t0.Add(100*time.Millisecond), 2*time.Second)
	if d, paused := p.next(t0.Add(time.Second)); !paused || d != 1100*time.Millisecond {
		t.Errorf("during pause: next = %v, %v; want the rest of the pause", d, paused)
	}
	cut := p.rate()
	if cut >= 9.85*0.99 {
		t.Errorf("rate after a 429 = %v, want it lowered", cut)
	}
	// A second 429 for a request sent before the cut is the same signal.
	p.on429(t0.Add(50*time.Millisecond), t0.Add(200*time.Millisecond), time.Second)
	if p.rate() != cut {
		t.Errorf("rate cut twice for one burst: %v -> %v", cut, p.rate())
	}
	// No growth during the pause, then a slow climb back to the target.
	p.onSuccess(t0.Add(2*time.Second), t0.Add(2*time.Second))
	if p.rate() != cut {
		t.Errorf("rate grew during the pause: %v", p.rate())
	}
	p.onSuccess(t0.Add(12100*time.Millisecond), t0.Add(12100*time.Millisecond))
	if r := p.rate(); r <= cut || r >= 9.85 {
		t.Errorf("rate 10 s after the pause = %v, want between %v and the target", r, cut)
	}
	p.onSuccess(t0.Add(5*time.Minute), t0.Add(5*time.Minute))
	if r := p.rate(); r != 10*rateMargin {
		t.Errorf("rate after 5 quiet minutes = %v, want the target %v", r, 10*rateMargin)
	}
	// Unpaced clients still honour the pause.
	u := newPacer(-1, 0)
	u.on429(t0, t0, time.Second)
	if _, paused := u.next(t0.Add(500 * time.Millisecond)); !paused {
		t.Error("unpaced client ignored Retry-After")
	}
	if d, paused := u.next(t0.Add(2 * time.Second)); paused || d != 0 {
		t.Errorf("unpaced client after the pause: %v, %v", d, paused)
	}
}

func TestPaceLearnsAPerSecondLimit(t *testing.T) {
	// Export benchmark (c): a server allowing 200 requests per 1 s window, a
	// client configured for 400/s. Every 429 costs a pause to the window's
	// end (Retry-After rounds up to whole seconds), so the client must find
	// the limit in few rounds, whatever the window's phase.
	const total, limit = 2102, 200
	floor := float64(total) / limit
	worst, sum := 0.0, 0.0
	for ph := range 20 {
		phase := time.Duration(ph) * 50 * time.Millisecond
		srv := &fixedWindow{window: time.Second, limit: limit, phase: time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC).Add(phase)}
		res := simulate(newPacer(2*limit, time.Second), 16, total, 25*time.Millisecond, 2*time.Millisecond, srv, uint64(ph))
		r := res.elapsed.Seconds() / floor
		worst, sum = max(worst, r), sum+r
	}
	t.Logf("2x a per-second limit: wall/floor mean %.3f, worst %.3f over 20 window phases", sum/20, worst)
	if sum/20 > 1.15 || worst > 1.25 {
		t.Errorf("wall/floor mean %.3f (want <= 1.15), worst %.3f (want <= 1.25)", sum/20, worst)
	}
	// A client only 10 % over must not be cut far below the limit.
	worst = 0
	for ph := range 20 {
		phase := time.Duration(ph) * 50 * time.Millisecond
		srv := &fixedWindow{window: time.Second, limit: limit, phase: time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC).Add(phase)}
		res := simulate(newPacer(1.1*limit, time.Second), 16, 6000, 25*time.Millisecond, 2*time.Millisecond, srv, uint64(ph))
		worst = max(worst, res.elapsed.Seconds()/(6000.0/limit))
	}
	t.Logf("1.1x a per-second limit: worst wall/floor %.3f", worst)
	if worst > 1.2 {
		t.Errorf("1.1x: worst wall/floor %.3f, want <= 1.2", worst)
	}
}

func TestPacerCutsToWhatTheServerAllowed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// 200 successes in the half second before a 429 with a 1 s window: the
	// server allows about 200/s, far below the 394/s we were pacing at.
	p := newPacer(400, time.Second)
	for i := range 200 {
		p.onSuccess(t0.Add(time.Duration(i)*2500*time.Microsecond), t0.Add(time.Duration(i)*2500*time.Microsecond))
	}
	p.on429(t0.Add(500*time.Millisecond), t0.Add(510*time.Millisecond), time.Second)
	if r := p.rate(); r < 190 || r > 200 {
		t.Errorf("rate after the 429 = %.1f, want just under the 200/s the server allowed", r)
	}
	// It stays there instead of probing straight back into the limit.
	p.onSuccess(t0.Add(5*time.Second), t0.Add(5*time.Second))
	if r := p.rate(); r > 200 {
		t.Errorf("rate 4.5 s after the pause = %.1f, want it held under 200", r)
	}
	// When the count only mirrors our own pace, the plain cut applies.
	q := newPacer(100, time.Second)
	for i := range 200 {
		q.onSuccess(t0.Add(time.Duration(i)*10*time.Millisecond), t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	q.on429(t0.Add(2*time.Second), t0.Add(2*time.Second), time.Second)
	if r, want := q.rate(), 100*rateMargin*cutFactor; math.Abs(r-want) > 1e-9 {
		t.Errorf("rate after an uninformative 429 = %.2f, want %.2f", r, want)
	}
}

func TestPaceUnderASlidingWindow(t *testing.T) {
	// The window-phase search assumes fixed windows; against a sliding one
	// it must find no fit and leave the plain estimate to do the work.
	for _, tc := range []struct {
		window time.Duration
		limit  int
		rate   float64
		total  int
	}{
		{time.Second, 200, 400, 2102},
		{10 * time.Second, 100, 20, 3000},
	} {
		srv := &slidingWindow{window: tc.window, limit: tc.limit}
		res := simulate(newPacer(tc.rate, tc.window), 16, tc.total, 25*time.Millisecond, 2*time.Millisecond, srv, 3)
		floor := float64(tc.total) / (float64(tc.limit) / tc.window.Seconds())
		r := res.elapsed.Seconds() / floor
		t.Logf("sliding %v/%d at %.0f/s: wall/floor %.3f, %d 429s", tc.window, tc.limit, tc.rate, r, res.n429)
		if r > 1.3 {
			t.Errorf("sliding %v/%d at %.0f/s: wall/floor %.3f, want <= 1.3", tc.window, tc.limit, tc.rate, r)
		}
	}
}

func TestPacerFindsTheFixedWindowsPhase(t *testing.T) {
	// The client starts 0.3 s before a window boundary: its first 429 comes
	// in its second window, and the last second's count (313) includes the
	// first window's tail. The second round of 429s pins the phase, and the
	// pace settles just under the limit instead of 20 % below it.
	srv := &fixedWindow{window: time.Second, limit: 200, phase: time.Date(2025, 12, 31, 23, 59, 59, 300e6, time.UTC)}
	// A pacer that paces by window sends its first budget as one burst
	// and learns the limit from the first 429 alone; spacing requests from
	// the start, as it does after a 429, is the case the phase search is for.
	p := newPacer(400, time.Second)
	p.lastCut = time.Unix(1, 0)
	res := simulate(p, 1, 2500, 0, 0, srv, 1)
	if r := p.rate(); r < 195 || r > 200 {
		t.Errorf("final pace %.1f/s, want just under the 200/s limit (%d 429s)", r, res.n429)
	}
	if limit, ok := p.windowLimit(); !ok || math.Abs(limit-200) > 3 {
		t.Errorf("windowLimit = %v, %v; want 200, true", limit, ok)
	}
	// With a single round there is nothing to pin the phase with.
	q := newPacer(400, time.Second)
	one := simulate(q, 1, 400, 0, 0, &fixedWindow{window: time.Second, limit: 200, phase: srv.phase}, 1)
	if one.n429 == 0 || q.eventN != 1 {
		t.Fatalf("setup: %d 429s in %d rounds, want one round", one.n429, q.eventN)
	}
	if _, ok := q.windowLimit(); ok {
		t.Error("windowLimit claimed a fit from one round of 429s")
	}
}

// TestWindowPacing is the gateway case: 100 requests per 10 s per client id
// and API version, fixed windows of unknown phase. A run under the budget
// goes at network speed; a large one sends each window's budget and waits
// for the next window, with no 10 s span over the limit and no 429.
func TestWindowPacing(t *testing.T) {
	for ph := range 10 {
		phase := time.Date(2025, 12, 31, 23, 59, 50, 0, time.UTC).Add(time.Duration(ph) * time.Second)
		srv := &fixedWindow{window: 10 * time.Second, limit: 100, phase: phase}
		small := simulate(newPacer(DefaultRate, DefaultRateWindow), 8, 71, 25*time.Millisecond, 5*time.Millisecond, srv, uint64(ph))
		if small.elapsed >= time.Second || small.n429 != 0 {
			t.Errorf("phase %d: 71 requests took %v with %d 429s, want under a second and none", ph, small.elapsed, small.n429)
		}
		srv = &fixedWindow{window: 10 * time.Second, limit: 100, phase: phase}
		const r = 421
		big := simulate(newPacer(DefaultRate, DefaultRateWindow), 8, r, 25*time.Millisecond, 5*time.Millisecond, srv, uint64(ph))
		floor := time.Duration(10*((r+99)/100-1)) * time.Second
		if big.elapsed > floor*105/100 || big.n429 != 0 {
			t.Errorf("phase %d: %d requests took %v (floor %v) with %d 429s, want within 1.05 x the floor and none", ph, r, big.elapsed, floor, big.n429)
		}
		if m := maxInWindow(big.arrivals, 10*time.Second); m > 100 {
			t.Errorf("phase %d: a 10 s span held %d requests", ph, m)
		}
		if ph == 0 {
			t.Logf("71 requests: %v; %d requests: %v (floor %v, ratio %.3f)", small.elapsed, r, big.elapsed, floor, big.elapsed.Seconds()/floor.Seconds())
		}
	}
}

// TestRateBelowOnePerWindow: a rate under one request per window (--rate
// 0.01 is one per 100 s) is kept, not rounded up to the window's one-request
// budget (one per 10 s, ten times the rate asked for).
func TestRateBelowOnePerWindow(t *testing.T) {
	for _, rps := range []float64{0.01, 0.05} {
		p := newPacer(rps, DefaultRateWindow)
		now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
		start := now
		const sends = 6
		for range sends {
			d, paused := p.next(now)
			if paused {
				t.Fatal("paused without a 429")
			}
			now = now.Add(d)
		}
		// The first send goes at once; each later one a 1/rate apart.
		got := now.Sub(start).Seconds() / (sends - 1)
		if want := 1 / rps; got < want*0.98 || got > want*1.05 {
			t.Errorf("--rate %g: one request every %.1f s, want %.0f s", rps, got, want)
		}
	}
}
