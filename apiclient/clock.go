package apiclient

import (
	"context"
	"time"
)

// Clock is the time source of pacing and of every wait between attempts.
// Tests pass a simulated one, so that a Retry-After of half an hour is
// waited out in microseconds.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends (returning its error).
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }
