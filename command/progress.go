package command

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

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
	// Without a bar: when the phase started and when it last logged.
	start, logged time.Time
}

// progressLogEvery is how often a run without a progress bar (stderr not a
// terminal: cron, CI, a pod) logs how far it got.
var progressLogEvery = 30 * time.Second

// newProgress shows the client's request counters beside the bar.
func newProgress(s *session, label string, stats func() apiclient.Stats) *progress {
	now := time.Now()
	return &progress{s: s, label: label, total: -1, stats: stats, start: now, logged: now}
}

// Update shows e: on the bar when the session shows one, else as a log line
// at info level every progressLogEvery, so a long unattended run shows
// signs of life (done/total, rate, expected end).
func (p *progress) Update(e export.Progress) {
	if p == nil {
		return
	}
	if !p.s.progress {
		p.logLine(e)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		p.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(p.s.stderr),
			progressbar.OptionSetDescription("connvault: "+p.label),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("connector"), // a rate: "3.2 connector/s"
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

func (p *progress) logLine(e export.Progress) {
	p.mu.Lock()
	now := time.Now()
	due := now.Sub(p.logged) >= progressLogEvery
	if due {
		p.logged = now
	}
	p.mu.Unlock()
	if !due || p.s.log == nil {
		return
	}
	p.s.log.Info(progressLine(p.label, e, now.Sub(p.start), now))
}

// progressLine is "exporting acme: 120/311 connectors (38%), 2.9
// connectors/s, expected end 03:21:05 UTC (in 1m05s)"; without a total, the
// count and the rate.
func progressLine(label string, e export.Progress, elapsed time.Duration, now time.Time) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(e.Done) / s
	}
	line := fmt.Sprintf("%s: %d", label, e.Done)
	if e.Total > 0 {
		line += fmt.Sprintf("/%d connectors (%d%%)", e.Total, e.Done*100/e.Total)
	} else {
		line += " " + map[bool]string{true: "connector", false: "connectors"}[e.Done == 1]
	}
	line += fmt.Sprintf(", %.1f connectors/s", rate)
	if e.Total > 0 && rate > 0 && e.Done < e.Total {
		left := time.Duration(float64(e.Total-e.Done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", expected end %s UTC (in %s)", now.Add(left).UTC().Format(time.TimeOnly), left)
	}
	return line
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
