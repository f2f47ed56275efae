// Command bench measures `connvault export` against a sandbox tenant served by
// a separate process, so the exporter's wall time and peak memory are its own.
// It prints a Markdown table for docs/performance.md and exits 1 when a case
// misses its target.
//
//	go run ./tools/bench            # all cases (about two minutes)
//	go run ./tools/bench -cases a,b # some of them
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type benchCase struct {
	id, title   string
	connectors  int
	docSize     int
	locales     int
	latency     time.Duration
	serverLimit int // requests per serverWindow the sandbox allows (0: none)
	// serverWindow is the sandbox's (and the client's --rate-window) window;
	// 0 means 1 s: "N requests per second".
	serverWindow time.Duration
	clientRate   float64 // --rate (0: pacing off)
	seeded       bool    // the 11 seeded connectors instead of --empty
	fromDetail   bool    // export --from-detail
	concurrency  int
	maxRatio     float64 // wall / floor target (0: none)
	maxRSSMB     float64 // peak RSS target (0: none)
}

var cases = []benchCase{
	{id: "a", title: "25 ms latency, no server limit, concurrency 16, pacing off", connectors: 300, docSize: 20 << 10, locales: 3,
		latency: 25 * time.Millisecond, concurrency: 16, maxRatio: 1.15},
	{id: "b", title: "server limit 200/s, client pacing 200/s", connectors: 300, docSize: 20 << 10, locales: 3,
		latency: 25 * time.Millisecond, serverLimit: 200, clientRate: 200, concurrency: 16, maxRatio: 1.05},
	{id: "c", title: "server limit 200/s, client pacing 400/s", connectors: 300, docSize: 20 << 10, locales: 3,
		latency: 25 * time.Millisecond, serverLimit: 200, clientRate: 400, concurrency: 16, maxRatio: 1.3},
	{id: "d500", title: "500 connectors, 100 KB documents, pacing off", connectors: 500, docSize: 100 << 10, locales: 3,
		concurrency: 16, maxRSSMB: 200},
	{id: "d", title: "5,000 connectors, 100 KB documents, pacing off", connectors: 5000, docSize: 100 << 10, locales: 3,
		concurrency: 16, maxRSSMB: 200},
	// The gateway's own limit, 100 requests per 10 s, and the default pacing.
	// The floor of a paced run of R requests is 10 × (⌈R/100⌉ − 1) s: the
	// last window's requests go out at its start.
	{id: "w71", title: "the 11 seeded connectors (71 requests), gateway limit 100/10 s, default pacing", seeded: true, locales: 3,
		latency: 25 * time.Millisecond, serverLimit: 100, serverWindow: 10 * time.Second, clientRate: 10, concurrency: 8},
	{id: "w421", title: "60 connectors (421 requests), gateway limit 100/10 s, default pacing", connectors: 60, docSize: 20 << 10, locales: 3,
		latency: 25 * time.Millisecond, serverLimit: 100, serverWindow: 10 * time.Second, clientRate: 10, concurrency: 8, maxRatio: 1.05},
	{id: "g", title: "300 connectors, 3 locales, gateway limit 100/10 s, default pacing, full fetch", connectors: 300, docSize: 20 << 10, locales: 3,
		latency: 25 * time.Millisecond, serverLimit: 100, serverWindow: 10 * time.Second, clientRate: 10, concurrency: 8, maxRatio: 1.05},
	{id: "gd", title: "same, export --from-detail", connectors: 300, docSize: 20 << 10, locales: 3, fromDetail: true,
		latency: 25 * time.Millisecond, serverLimit: 100, serverWindow: 10 * time.Second, clientRate: 10, concurrency: 8, maxRatio: 1.05},
}

var (
	goMemLimit, keepDir string
	repeat              int
)

type result struct {
	c                       benchCase
	wall, floor             time.Duration
	requests, retries, r429 int64
	rssMB, cpu              float64
	archiveMB               float64
	digest                  string
	ok                      bool
	why                     string
}

func main() {
	only := flag.String("cases", "", "comma-separated case ids to run (default all: a,b,c,d500,d,w71,w421,g,gd,diff1000,diff5000,restore200; g and gd take about 3.5 and 1 minutes; bomb, fleet and log365 only when named)")
	flag.StringVar(&goMemLimit, "gomemlimit", "", "GOMEMLIMIT for the exporting process (default: none), to tell memory it holds from memory the Go runtime has not yet returned")
	flag.StringVar(&keepDir, "keep", "", "write the diff cases' archives into this `DIR` and keep them, to rerun connvault on them by hand")
	flag.IntVar(&repeat, "repeat", 3, "runs of each command in the diff cases (medians are compared)")
	genBomb := flag.String("generate-bomb", "", "internal: write the bomb case's archive to `PATH`")
	gen := flag.String("generate", "", "internal: write realistic diff archives (`DIR,N,CHANGED`) and print their paths")
	flag.Parse()
	if *genBomb != "" {
		if err := bombMain(*genBomb); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *gen != "" {
		if err := generateMain(*gen); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := runAll(*only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func runAll(only string) error {
	tmp, err := os.MkdirTemp("", "connvault-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "connvault")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building connvault: %w", err)
	}
	var results []result
	failed := false
	for _, c := range cases {
		if only != "" && !contains(strings.Split(only, ","), c.id) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: case %s: %s ...\n", c.id, c.title)
		r, err := runCase(bin, tmp, c)
		if err != nil {
			return fmt.Errorf("case %s: %w", c.id, err)
		}
		if !r.ok {
			failed = true
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "bench: case %s: wall %.2fs floor %.2fs ratio %.3f rss %.0f MB cpu %.2fs 429s %d %s\n",
			c.id, r.wall.Seconds(), r.floor.Seconds(), ratio(r), r.rssMB, r.cpu, r.r429, r.why)
	}
	if len(results) > 0 {
		printTable(results)
	}
	var diffs []diffResult
	for _, c := range diffCases {
		if only != "" && !contains(strings.Split(only, ","), c.id) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: case %s: diff of two realistic %d-connector archives ...\n", c.id, c.connectors)
		r, err := runDiffCase(bin, tmp, c)
		if err != nil {
			return fmt.Errorf("case %s: %w", c.id, err)
		}
		failed = failed || !r.ok
		diffs = append(diffs, r)
		fmt.Fprintf(os.Stderr, "bench: case %s: verify %.2fs diff %.2fs (%.2f) rss %.0f MB cpu %.2fs %s\n", c.id,
			r.verifyWall.Seconds(), r.diffWall.Seconds(), r.diffWall.Seconds()/r.verifyWall.Seconds(), r.diffRSS, r.diffCPU, r.why)
	}
	printDiffTable(diffs)
	var restores []restoreResult
	for _, c := range restoreCases {
		if only != "" && !contains(strings.Split(only, ","), c.id) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: case %s: restore of %d realistic connectors at %s latency ...\n", c.id, c.connectors, c.latency)
		r, err := runRestoreCase(bin, tmp, c)
		if err != nil {
			return fmt.Errorf("case %s: %w", c.id, err)
		}
		failed = failed || !r.ok
		restores = append(restores, r)
		fmt.Fprintf(os.Stderr, "bench: case %s: first %.2fs (%d requests), re-run %.2fs, diff %.2fs, export %.2fs%s\n", c.id,
			r.firstWall.Seconds(), r.firstRequests, r.noopWall.Seconds(), r.diffWall.Seconds(), r.exp.Seconds(), r.why)
	}
	printRestoreTable(restores)
	if only != "" && contains(strings.Split(only, ","), "bomb") {
		fmt.Fprintln(os.Stderr, "bench: case bomb: the hostile archive (64 details of 16 MiB) ...")
		r, err := runBombCase(bin, tmp)
		if err != nil {
			return fmt.Errorf("case bomb: %w", err)
		}
		failed = failed || !r.ok
		printBombTable(&r)
	}
	if only != "" && contains(strings.Split(only, ","), "fleet") {
		fmt.Fprintln(os.Stderr, "bench: case fleet: one tenant alone, then 10 and 50 in one export --all-tenants, at the gateway's limit ...")
		rs, alone, err := runFleetCase(bin, tmp, []int{10, 50}, []float64{1.1, 1.2})
		if err != nil {
			return fmt.Errorf("case fleet: %w", err)
		}
		for _, r := range rs {
			failed = failed || !r.ok
		}
		printFleetTable(rs, alone)
	}
	if only != "" && contains(strings.Split(only, ","), "log365") {
		fmt.Fprintln(os.Stderr, "bench: case log365: connvault log over 365 nightly archives of 300 connectors ...")
		r, err := runLogCase(bin, tmp)
		if err != nil {
			return fmt.Errorf("case log365: %w", err)
		}
		failed = failed || !r.ok
		printLogTable(&r)
	}
	if failed {
		return errors.New("some cases missed their targets")
	}
	return nil
}

func ratio(r result) float64 {
	if r.floor <= 0 {
		return 0
	}
	return r.wall.Seconds() / r.floor.Seconds()
}

func runCase(bin, tmp string, c benchCase) (result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := []string{"sandbox", "--listen", "127.0.0.1:0", "--connectors", fmt.Sprint(c.connectors),
		"--doc-size", fmt.Sprint(c.docSize), "--locales", fmt.Sprint(c.locales), "--latency", c.latency.String(), "--seed", "1"}
	if !c.seeded {
		args = append(args, "--empty")
	}
	window := c.serverWindow
	if window == 0 {
		// "N requests per second" as a 1 s fixed window: with the gateway's
		// 10 s window a 2,100-request run at 200/s would fit in one
		// window's burst, and the floor would say nothing.
		window = time.Second
	}
	if c.serverLimit > 0 {
		args = append(args, "--rate-limit", fmt.Sprint(c.serverLimit), "--rate-window", window.String())
	}
	sb := exec.CommandContext(ctx, bin, args...)
	sb.Stderr = nil
	out, err := sb.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := sb.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = sb.Process.Kill(); _ = sb.Wait() }()
	env := map[string]string{}
	sc := bufio.NewScanner(out)
	for len(env) < 3 && sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "export ")
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	if len(env) < 3 {
		return result{}, errors.New("the sandbox did not print its settings")
	}

	archivePath := filepath.Join(tmp, "bench-"+c.id+".tar.zst")
	expArgs := []string{"export", "-o", archivePath, "--json", "--progress", "never", "--log-level", "warn",
		"--rate", fmt.Sprint(c.clientRate), "--rate-window", window.String(), "--concurrency", fmt.Sprint(c.concurrency)}
	if c.fromDetail {
		expArgs = append(expArgs, "--from-detail")
	}
	exp := exec.CommandContext(ctx, bin, expArgs...)
	exp.Env = append(os.Environ(), "SAIL_BASE_URL="+env["SAIL_BASE_URL"], "SAIL_CLIENT_ID="+env["SAIL_CLIENT_ID"],
		"SAIL_CLIENT_SECRET="+env["SAIL_CLIENT_SECRET"])
	if goMemLimit != "" {
		exp.Env = append(exp.Env, "GOMEMLIMIT="+goMemLimit)
	}
	exp.Stderr = os.Stderr
	start := time.Now()
	stdout, err := exp.Output()
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("export: %w", err)
	}
	var sum struct {
		Connectors    int    `json:"connectors"`
		ArchiveSize   int64  `json:"archiveSize"`
		ContentDigest string `json:"contentDigest"`
		Requests      int64  `json:"requests"`
		Retries       int64  `json:"retries"`
		RateLimited   int64  `json:"rateLimited"`
	}
	if err := json.Unmarshal(stdout, &sum); err != nil {
		return result{}, fmt.Errorf("export summary: %w", err)
	}
	_ = os.Remove(archivePath)
	if !c.seeded && sum.Connectors != c.connectors {
		return result{}, fmt.Errorf("exported %d connectors, want %d", sum.Connectors, c.connectors)
	}
	r := result{c: c, wall: wall, requests: sum.Requests, retries: sum.Retries, r429: sum.RateLimited,
		archiveMB: float64(sum.ArchiveSize) / (1 << 20), digest: sum.ContentDigest, ok: true}
	if ru, ok := exp.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	// The floor counts the requests the export needs: what it sent, less
	// the retries.
	needed := float64(sum.Requests - sum.Retries)
	var floor float64
	if c.latency > 0 {
		floor = needed * c.latency.Seconds() / float64(c.concurrency)
	}
	limit := math.Inf(1)
	if c.serverLimit > 0 {
		limit = float64(c.serverLimit)
	}
	if c.clientRate > 0 && c.clientRate < limit {
		limit = c.clientRate
	}
	switch {
	case c.serverWindow > 0 && c.serverLimit > 0:
		// Paced by window: the last window's requests go out at its start.
		floor = math.Max(floor, c.serverWindow.Seconds()*(math.Ceil(needed/float64(c.serverLimit))-1))
	case !math.IsInf(limit, 1):
		floor = math.Max(floor, needed/limit)
	}
	r.floor = time.Duration(floor * float64(time.Second))
	if c.maxRatio > 0 && ratio(r) > c.maxRatio {
		r.ok, r.why = false, fmt.Sprintf("MISSED ratio %.3f > %.2f", ratio(r), c.maxRatio)
	}
	if (c.id == "b" || c.serverWindow > 0) && r.r429 > 0 {
		r.ok, r.why = false, fmt.Sprintf("MISSED: %d 429s at the server's own rate", r.r429)
	}
	if c.maxRSSMB > 0 && r.rssMB > c.maxRSSMB {
		r.ok, r.why = false, fmt.Sprintf("MISSED peak RSS %.0f MB > %.0f MB", r.rssMB, c.maxRSSMB)
	}
	return r, nil
}

func printTable(rs []result) {
	fmt.Println("| case | setup | connectors | requests | 429s | wall | floor | wall/floor | target | peak RSS (export) | archive | digest |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		target := "-"
		switch {
		case r.c.maxRatio > 0:
			target = fmt.Sprintf("≤ %.2f", r.c.maxRatio)
		case r.c.maxRSSMB > 0:
			target = fmt.Sprintf("RSS ≤ %.0f MB", r.c.maxRSSMB)
		}
		rat := "-"
		floor := "-"
		if r.floor > 0 {
			rat = fmt.Sprintf("%.3f", ratio(r))
			floor = fmt.Sprintf("%.2f s", r.floor.Seconds())
		}
		status := ""
		if !r.ok {
			status = " ✗"
		}
		fmt.Printf("| %s | %s | %d | %d | %d | %.2f s | %s | %s%s | %s | %.0f MB | %.1f MB | %s |\n",
			r.c.id, r.c.title, r.c.connectors, r.requests, r.r429, r.wall.Seconds(), floor, rat, status, target, r.rssMB, r.archiveMB, shortDigest(r.digest))
	}
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}
