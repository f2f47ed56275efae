package command

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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
		p.bar.Describe(describeProgress(termWidth(p.s.stderr), p.label, st))
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

// statsRoom is what the bar needs beside its description: the bar itself
// (shrunk by progressbar to fit), the count, the rate and the times.
const statsRoom = 56

// describeProgress is the bar's description for a terminal width columns
// wide: the request counters while they fit, else the label alone, cut if
// need be, so the line never wraps (a wrapped bar redraws as a new line on
// every update).
func describeProgress(width int, label string, st apiclient.Stats) string {
	room := width - statsRoom
	d := fmt.Sprintf("connvault: %s (%d requests, %d retries, %d rate-limited)", label, st.Requests, st.Retries, st.RateLimited)
	if len(d) <= room {
		return d
	}
	d = "connvault: " + label
	if len(d) <= room {
		return d
	}
	return d[:max(room, 0)]
}

// termWidth is the width of the terminal w is, or 80 when it is none (with
// --progress always into a file or pipe).
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return width
		}
	}
	return 80
}
