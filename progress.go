package main

import (
	"fmt"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/export"
)

// progress draws a bar on stderr when the session wants one, and does nothing
// otherwise, so cron mail stays clean.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	s     *session
	label string
	total int
	stats func() apiclient.Stats // requests and retries for the description
}

// newProgress shows the client's request counters beside the bar.
func newProgress(s *session, label string, stats func() apiclient.Stats) *progress {
	return &progress{s: s, label: label, total: -1, stats: stats}
}

// Update shows e; it does nothing when the session shows no progress.
func (p *progress) Update(e export.Progress) {
	if p == nil || !p.s.progress {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		p.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(p.s.stderr),
			progressbar.OptionSetDescription("connvault: "+p.label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("connectors"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100_000_000),
			progressbar.OptionClearOnFinish(),
		)
	}
	if e.Total >= 0 && e.Total != p.total {
		p.total = e.Total
		p.bar.ChangeMax(e.Total)
	}
	if p.stats != nil {
		st := p.stats()
		p.bar.Describe(fmt.Sprintf("connvault: %s (%d requests, %d retries, %d rate-limited)", p.label, st.Requests, st.Retries, st.RateLimited))
	}
	_ = p.bar.Set(e.Done)
}

// Finish clears the bar.
func (p *progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}
