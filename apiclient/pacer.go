package apiclient

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// rateMargin keeps the pace 1.5% under the configured rate: at 10/s that
	// is 98.5 requests per 10 s, so up to ~50 ms of network jitter cannot push
	// a fixed 10 s server window past 100.
	rateMargin = 0.985
	// cutFactor is the multiplicative decrease applied on a 429. Gentler
	// than TCP's 0.5: the shared pause already stops the overshoot, so a deep
	// cut only wastes the windows after it (TestOverconfiguredPaceConverges
	// measured 0.7 to 0.85; 0.8 keeps both 429s and lost time low).
	cutFactor = 0.8
	// growPerSecond is the share of the target rate regained per second
	// without a 429 after a cut: slow enough that a fixed 10 s window sees a
	// rate close to the previous one, fast enough to recover within minutes
	// once another tool sharing the client id goes away.
	growPerSecond = 0.01
	// nearCeiling is the share of the rate at the last 429 above which
	// growth is ten times slower.
	nearCeiling = 0.9
	// floorShare is the lowest effective rate, as a share of the target.
	floorShare = 0.05
	// holdAtCeiling is how long the pace stays just under the rate of the
	// last 429 before it probes above it: every probe that fails costs a
	// pause until the server's window ends.
	holdAtCeiling = 10 * time.Second
	// holdFitted is how many server windows the pace holds under a limit
	// that windowLimit found before probing above it.
	holdFitted = 6
	// historyLen is how many recent successes are remembered to measure
	// what the server let through before a 429.
	historyLen = 4096
	// maxWindow bounds the server window a measurement assumes.
	maxWindow = time.Minute
	// maxEvents is how many past 429 rounds the window-phase search uses.
	maxEvents = 8
	// phaseSteps is how finely the phase search divides the window.
	phaseSteps = 200
)

// pacer is the one client-side limiter the requests of one rate-limit bucket
// (client id and API version) pass. It paces by window, as the gateway
// counts: no span of the window's length (plus a guard for network jitter)
// holds more sends than the window's budget, the configured rate times the
// window minus a safety margin. A run smaller than the budget therefore goes
// at network speed, and a large one sends each window's budget as fast as
// the workers allow, then waits for the window to move on.
//
// On top of that come a pause shared by all workers when the server answers
// 429, and a lowered effective rate after each 429 that slowly climbs back:
// from the first 429 on, requests are also spaced smoothly (burst 1) at that
// rate, because a server that refused the budget has a limit or a window
// other than the one configured. The methods with an explicit time are
// the logic; wait applies them with the client's clock, so tests can simulate
// hours of traffic without sleeping.
type pacer struct {
	lim    *rate.Limiter // nil: pacing disabled, 429 pauses still honoured
	target float64
	// span is the configured window; sends holds the send times (UnixNano,
	// ascending) of the requests within the last span+guard.
	span  time.Duration
	sends []int64

	mu         sync.Mutex
	cur        float64
	pauseUntil time.Time
	lastCut    time.Time
	growFrom   time.Time
	// fitted is set when the last cut came from a fixed window that
	// explained every round of 429s (windowLimit): that is most likely the
	// server's own limit, so the pace holds under it for holdFitted windows
	// before probing above it.
	fitted bool
	// ceiling is the rate at the last cut: growth slows near it, since that
	// is where the server pushed back. 0 once the rate got past it without
	// a 429 (the other tool sharing the client id has probably left).
	ceiling float64

	// succ holds the answer times (UnixNano) of the last historyLen
	// successes, a ring written at succN % historyLen.
	succ  []int64
	succN int
	// window is the longest Retry-After seen, or the configured window if
	// longer: the server's window is at least that long.
	window time.Duration
	// events holds the arrival times (UnixNano) of the 429s that cut the
	// rate, a ring written at eventN % maxEvents.
	events [maxEvents]int64
	eventN int
	// episodeEnd is the end of the latest long pacing wait (see newEpisode).
	episodeEnd time.Time
}

// newPacer paces at rps requests per second, counted in windows of span
// (0: DefaultRateWindow); rps < 0 disables pacing.
func newPacer(rps float64, span time.Duration) *pacer {
	if rps < 0 {
		return &pacer{}
	}
	if span <= 0 {
		span = DefaultRateWindow
	}
	t := rps * rateMargin
	// The server's window is taken to be at least the configured one: a
	// burst of the budget answered by a 429 a second later says nothing
	// about a limit per second, only that the window's limit is lower.
	return &pacer{lim: rate.NewLimiter(rate.Limit(t), 1), target: t, cur: t, span: span, window: min(span, maxWindow), succ: make([]int64, historyLen)}
}

// windowGuard lengthens the counted window by a hundredth: requests sent a
// window apart can arrive less than a window apart when the later one meets
// a faster network, and a window of 10 s tolerates 100 ms of that.
func (p *pacer) windowGuard() time.Duration { return p.span / 100 }

// budget is how many sends one window may hold at the current rate.
func (p *pacer) budget() int {
	return max(1, int(p.cur*p.span.Seconds()))
}

// windowSlot returns the earliest time at or after now when one more send
// keeps every window within the budget, given the sends so far (which are
// never later than the returned time: sends are reserved in order).
func (p *pacer) windowSlot(now time.Time) time.Time {
	t := now.UnixNano()
	if n := len(p.sends); n > 0 && p.sends[n-1] > t {
		t = p.sends[n-1]
	}
	w := int64(p.span + p.windowGuard())
	// Forget sends that no longer share a window with t.
	i := 0
	for i < len(p.sends) && p.sends[i] <= t-w {
		i++
	}
	if i > 0 {
		p.sends = append(p.sends[:0], p.sends[i:]...)
	}
	if b := p.budget(); len(p.sends) >= b {
		// The send b places back must leave the window first.
		t = max(t, p.sends[len(p.sends)-b]+w)
	}
	return time.Unix(0, t)
}

// pauseLeft is how long the shared 429 pause still runs at now.
func (p *pacer) pauseLeft(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pauseUntil.Sub(now)
}

// next says how long a request that is ready at now must wait. paused is true
// when the wait is the shared pause: the caller must ask again afterwards
// because the pause may have been extended meanwhile. Otherwise a slot has
// been reserved and the caller sends after the delay.
func (p *pacer) next(now time.Time) (d time.Duration, paused bool) {
	if left := p.pauseLeft(now); left > 0 {
		return left, true
	}
	if p.lim == nil {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.windowSlot(now)
	if p.cur < p.target || !p.lastCut.IsZero() || p.cur*p.span.Seconds() < 1 {
		// Once the server has refused the budget, its limit or window is
		// not the configured one: spacing requests evenly at the learnt
		// rate is what the 429 learning below assumes, and a burst at the
		// start of each window would only find the limit again the hard way.
		// A rate under one request per window is spaced too: the window's
		// budget of at least one would send faster than asked.
		at = at.Add(p.lim.ReserveN(at, 1).DelayFrom(at))
	}
	p.sends = append(p.sends, at.UnixNano())
	return at.Sub(now), false
}

// on429 records a 429 for a request sent at sent and answered at now with a
// server-requested wait of ra. Every worker pauses until now+ra. The rate is
// cut once per round: answers to requests sent before the last cut were
// caused by the old rate and do not cut again, so a burst of 429s from
// requests that were in flight together counts as one signal.
//
// Every further 429 costs a pause to the end of the server's window, so the
// cut aims at the server's limit rather than stepping towards it: when the
// rounds of 429s so far fit fixed windows (windowLimit), just under that
// limit; otherwise by cutFactor, or deeper, to what the server let through
// in its last window (not counting time we were paused), which bounds its
// limit from above. A client that starts at twice a per-second limit used
// to pay for four 20 % cuts and end 20 % under the limit.
//
// It returns when the pause ends and whether this 429 started it or moved
// its end by more than a second, so that a long wait is announced once.
func (p *pacer) on429(sent, now time.Time, ra time.Duration) (until time.Time, news bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lastPause := p.pauseUntil
	if u := now.Add(ra); u.After(p.pauseUntil) {
		news = !lastPause.After(now) || u.Sub(lastPause) > time.Second
		p.pauseUntil = u
	}
	until = p.pauseUntil
	if p.lim == nil || sent.Before(p.lastCut) {
		return until, news
	}
	p.window = min(maxWindow, max(p.window, ra, time.Second))
	arrived := arrival(sent, now)
	p.events[p.eventN%maxEvents] = arrived.UnixNano()
	p.eventN++
	cut, ceiling := p.cur*cutFactor, p.cur
	if limit, ok := p.windowLimit(); ok && limit/p.window.Seconds()*rateMargin < p.cur {
		// The server's window and limit are known: pace just under them,
		// whether that is a smaller or a larger step than the plain cut.
		ceiling = limit / p.window.Seconds()
		cut = ceiling * rateMargin
		p.fitted = true
	} else {
		p.fitted = false
		from := arrived.Add(-p.window)
		if lastPause.After(from) {
			from = lastPause
		}
		if n := p.successesSince(from); n > 0 {
			// n is at least the server's limit: its full window lies within
			// the span counted.
			allowed := float64(n) / p.window.Seconds()
			ceiling = min(ceiling, allowed)
			cut = min(cut, allowed*rateMargin)
		}
	}
	p.ceiling = ceiling
	p.cur = max(p.target*floorShare, cut)
	p.lastCut = now
	p.growFrom = p.pauseUntil
	p.lim.SetLimitAt(now, rate.Limit(p.cur))
	return until, news
}

// successesSince counts the remembered successes that arrived at or after
// from.
func (p *pacer) successesSince(from time.Time) int {
	f := from.UnixNano()
	n := 0
	for i := p.succN - 1; i >= 0 && i >= p.succN-historyLen; i-- {
		if p.succ[i%historyLen] < f {
			break
		}
		n++
	}
	return n
}

// windowLimit looks for the fixed window that explains the 429s: a gateway
// that counts in fixed windows of length W answers 429 once a window holds
// its limit, so under the right phase every window with a 429 holds the
// same number of successes up to it, and no other window holds more. With
// two or more rounds of 429s inside the remembered history that pins the
// phase, and the limit to within the noise of the counts, where counting
// the last W seconds would also count the previous window's tail. ok is false when no phase
// fits (a sliding window, a limit shared with other clients, a window
// longer than any Retry-After seen so far).
func (p *pacer) windowLimit() (limit float64, ok bool) {
	n := min(p.succN, historyLen)
	if n == 0 {
		return 0, false
	}
	succ := make([]int64, n)
	for i := range n {
		succ[i] = p.succ[(p.succN-n+i)%historyLen]
	}
	slices.Sort(succ)
	var events []int64
	for i := max(0, p.eventN-maxEvents); i < p.eventN; i++ {
		if e := p.events[i%maxEvents]; e > succ[0] {
			events = append(events, e)
		}
	}
	w := int64(p.window)
	if len(events) < 2 || events[len(events)-1]-events[0] < w {
		return 0, false
	}
	// count is the number of successes that arrived in [a, b].
	count := func(a, b int64) int {
		lo, _ := slices.BinarySearch(succ, a)
		hi, _ := slices.BinarySearch(succ, b+1)
		return hi - lo
	}
	// Counts are noisy by a request or two, so neighbouring phases fit as
	// well; the limit is taken from the middle of the ones that fit.
	fitLo, fitHi := math.MaxInt, -1
	for step := range phaseSteps {
		phase := succ[0] + w*int64(step)/phaseSteps
		lo, hi := math.MaxInt, 0
		fits := true
		used := 0
		for _, e := range events {
			k := (e - phase) / w
			if e < phase && (e-phase)%w != 0 {
				k-- // floor, not truncation
			}
			start := phase + k*w
			if start < succ[0] {
				// The history does not reach back to this window's start
				// (a burst answered by a 429 in the first window): its
				// count would be short, so it neither fits nor refutes.
				continue
			}
			used++
			c := count(start, e)
			lo, hi = min(lo, c), max(hi, c)
		}
		if !fits || used < 2 || lo == 0 || hi-lo > tolerance(lo) {
			continue
		}
		// A window without a 429 holding more than the limit rules the
		// phase out; only whole windows the history covers are checked.
		for start := phase + w; start+w <= succ[n-1]; start += w {
			if c := count(start, start+w-1); c > lo+tolerance(lo) && !containsEvent(events, start, start+w) {
				fits = false
				break
			}
		}
		if fits {
			fitLo, fitHi = min(fitLo, lo), max(fitHi, lo)
		}
	}
	if fitHi < 0 {
		return 0, false
	}
	return float64(fitLo+fitHi) / 2, true
}

// tolerance is how far apart two counts of the same window may be: arrival
// times are estimated as the middle of each request's round trip.
func tolerance(n int) int { return max(2, n/100) }

func containsEvent(events []int64, a, b int64) bool {
	for _, e := range events {
		if e >= a && e < b {
			return true
		}
	}
	return false
}

// arrival estimates when a request reached the server: halfway through its
// round trip.
func arrival(sent, answered time.Time) time.Time {
	return sent.Add(answered.Sub(sent) / 2)
}

// onSuccess records a success and lets the effective rate climb back
// towards the target, linearly in time since the last 429 pause ended: held
// just under the ceiling for holdAtCeiling, then ten times slower near it.
func (p *pacer) onSuccess(sent, now time.Time) {
	if p.lim == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.succ[p.succN%historyLen] = arrival(sent, now).UnixNano()
	p.succN++
	if p.cur >= p.target || !now.After(p.growFrom) {
		return
	}
	step, limit := p.target*growPerSecond, p.target
	if p.ceiling > 0 && p.cur >= nearCeiling*p.ceiling {
		step /= 10
	}
	hold := holdAtCeiling
	if p.fitted {
		hold = holdFitted * p.window
	}
	if p.ceiling > 0 && now.Sub(p.lastCut) < hold {
		limit = min(limit, p.ceiling*rateMargin)
		if p.cur >= limit {
			p.growFrom = now
			return
		}
	}
	p.cur = min(limit, p.cur+step*now.Sub(p.growFrom).Seconds())
	if p.ceiling > 0 && p.cur > p.ceiling {
		p.ceiling = 0
	}
	p.growFrom = now
	p.lim.SetLimitAt(now, rate.Limit(p.cur))
}

// rate is the current effective rate in requests per second (0: unpaced).
func (p *pacer) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// paceAnnounceWait is the least pacing wait the user is told about, at info
// level, with why nothing moves and until when: a very low --rate holds
// even the first request back for long. Waits up to a window's length are
// the window pacing's normal rhythm at any rate and stay quiet.
const paceAnnounceWait = 5 * time.Second

func (p *pacer) announceAfter() time.Duration {
	return max(paceAnnounceWait, p.span+p.windowGuard())
}

// newEpisode reports whether a long pacing wait from now until until starts
// an episode of them, which is then announced once: it continues while long
// waits follow each other (requests queued together, or a run whose every
// request waits at a very low rate), and ends when none has been running
// for paceAnnounceWait. Slots are reserved in order, so until is the latest
// one reserved so far.
func (p *pacer) newEpisode(now, until time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cont := !p.episodeEnd.IsZero() && !now.After(p.episodeEnd.Add(paceAnnounceWait))
	p.episodeEnd = until
	return !cont
}

// wait blocks until the caller may send one request. announce, when not
// nil, is told once per episode of pacing waits longer than announceAfter,
// with the first wait, its end and the pace; the shared 429 pause is
// announced where the 429 is handled.
func (p *pacer) wait(ctx context.Context, clk Clock, announce func(wait time.Duration, until time.Time, rps float64)) error {
	for {
		now := clk.Now()
		d, paused := p.next(now)
		if !paused && d > p.announceAfter() && announce != nil && p.newEpisode(now, now.Add(d)) {
			announce(d, now.Add(d), p.rate())
		}
		if err := clk.Sleep(ctx, d); err != nil {
			return err
		}
		if paused {
			continue
		}
		// A 429 that arrived while this request waited for its slot applies
		// to it too: it would only add to the storm.
		if p.pauseLeft(clk.Now()) > 0 {
			continue
		}
		return nil
	}
}
