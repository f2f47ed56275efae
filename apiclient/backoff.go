package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrWaitTooLong marks a call given up at once because the server asked for
// a wait (Retry-After) longer than Config.MaxWait.
var ErrWaitTooLong = errors.New("the server asked for a wait longer than --max-wait")

// announceWait is the wait from which the user is told, at info level, why
// nothing moves and until when.
const announceWait = 30 * time.Second

// retryWait is how long to wait before the next attempt after the failed
// answer hr (nil when none arrived). For a 429 that wait is the bucket's
// shared pause, extended here: the gateway counts per client id, so every
// worker of the bucket would only collect more 429s. tooLong reports a wait
// beyond MaxWait; the pause is then left alone, because one request's
// enormous Retry-After must not stall every other request of the run.
func (c *Client) retryWait(ctx context.Context, r *request, p *pacer, hr *http.Response, sent, now time.Time, attempts int) (wait time.Duration, tooLong bool) {
	if hr != nil && hr.StatusCode == http.StatusTooManyRequests {
		c.rateLimited.Add(1)
		ra, ok := retryAfter(hr.Header, now)
		if !ok {
			// Missing, garbage or negative: back off as for any failure.
			ra = backoff(c.backoffBase, c.backoffMax, attempts)
		}
		if ra > c.maxWait {
			// The error says so to the caller; this is the request's trace.
			c.log.DebugContext(ctx, "apiclient: Retry-After beyond --max-wait; giving up on this request", "op", r.op, "scriptName", r.scriptName,
				"retryAfter", ra.Round(time.Second), "maxWait", c.maxWait)
			return ra, true
		}
		until, news := p.on429(sent, now, ra)
		wait = max(until.Sub(now), 0)
		if news && wait > announceWait {
			c.announce(ctx, "rate limited (HTTP 429)", wait, until)
		}
		return wait, false
	}
	wait = backoff(c.backoffBase, c.backoffMax, attempts)
	if hr != nil {
		if ra, ok := retryAfter(hr.Header, now); ok {
			wait = max(wait, ra)
		}
	}
	if wait > c.maxWait {
		return wait, true
	}
	if wait > announceWait && hr != nil {
		c.announce(ctx, fmt.Sprintf("HTTP %d", hr.StatusCode), wait, now.Add(wait))
	}
	return wait, false
}

// announce says at info level that the run waits, how long and until when.
func (c *Client) announce(ctx context.Context, why string, wait time.Duration, until time.Time) {
	c.log.InfoContext(ctx, fmt.Sprintf("%s: waiting %s as the API asks (Retry-After), until %s; Ctrl-C stops",
		why, wait.Round(time.Second), until.Format("2006-01-02 15:04:05 MST")))
}

// announcePace returns what tells at info level that the pacer holds
// requests back: until when the first waits, and how often requests go at
// this pace.
func (c *Client) announcePace(ctx context.Context) func(time.Duration, time.Time, float64) {
	return func(wait time.Duration, until time.Time, rps float64) {
		every := time.Duration(float64(time.Second) / rps)
		c.log.InfoContext(ctx, fmt.Sprintf("the client-side pace (%.3g requests/s, set by --rate) holds requests back: the next goes in %s, at %s, and then about one every %s; Ctrl-C stops",
			rps/rateMargin, wait.Round(time.Second), until.Format("2006-01-02 15:04:05 MST"), every.Round(time.Second)))
	}
}
