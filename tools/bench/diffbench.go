package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/tools/realistic"
)

// diffCase measures `connvault diff A B` of two realistic archives (the
// sandbox's 20 KB documents and 3 locales, details embedding them: ~84 KB)
// that differ in a few connectors, against `connvault verify A B`.
type diffCase struct {
	id         string
	connectors int
	changed    int
	maxRatio   float64 // diff wall / verify wall
	maxRSSMB   float64
}

var diffCases = []diffCase{
	{id: "diff1000", connectors: 1000, changed: 10, maxRatio: 1.5, maxRSSMB: 150},
	{id: "diff5000", connectors: 5000, changed: 10, maxRatio: 1.5, maxRSSMB: 200},
}

type diffResult struct {
	c                    diffCase
	verifyWall, diffWall time.Duration
	verifyRSS, diffRSS   float64
	diffCPU              float64
	archiveMB, contentMB float64
	ok                   bool
	why                  string
}

// writeRealistic writes archives A and B of n connectors, B differing from A
// in changed connectors spread over the archive.
func writeRealistic(dir string, n, changed int) (string, string, float64, error) {
	g := realistic.New(n, 20<<10, 3)
	ctx := context.Background()
	pa, pb := filepath.Join(dir, fmt.Sprintf("a-%d.tar.zst", n)), filepath.Join(dir, fmt.Sprintf("b-%d.tar.zst", n))
	meta := archive.Meta{ToolVersion: "bench", CreatedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	wa, err := archive.Create(ctx, pa, meta)
	if err != nil {
		return "", "", 0, err
	}
	wb, err := archive.Create(ctx, pb, meta)
	if err != nil {
		return "", "", 0, err
	}
	var content int64
	step := n / changed
	for i := range n {
		c := g.Connector(i)
		content += int64(len(c.Detail) + len(c.SourceConfig) + len(c.SourceTemplate) + len(c.CorrelationConfig))
		for _, t := range c.Translations {
			content += int64(len(t))
		}
		if err := wa.Add(ctx, c); err != nil {
			return "", "", 0, err
		}
		if i%step == step/2 {
			c = realistic.Change(c, i/step)
		}
		if err := wb.Add(ctx, c); err != nil {
			return "", "", 0, err
		}
	}
	if _, err := wa.Close(ctx); err != nil {
		return "", "", 0, err
	}
	if _, err := wb.Close(ctx); err != nil {
		return "", "", 0, err
	}
	return pa, pb, float64(content) / (1 << 20), nil
}

// kept finds the archives of an earlier run with -keep.
func kept(dir string, n int) (string, string, float64, error) {
	if keepDir == "" {
		return "", "", 0, errors.New("no -keep")
	}
	pa, pb := filepath.Join(dir, fmt.Sprintf("a-%d.tar.zst", n)), filepath.Join(dir, fmt.Sprintf("b-%d.tar.zst", n))
	if _, err := archive.ReadManifest(pb); err != nil {
		return "", "", 0, err
	}
	m, err := archive.ReadManifest(pa)
	if err != nil {
		return "", "", 0, err
	}
	var content int64
	for _, e := range m.Entries {
		content += e.Size
	}
	return pa, pb, float64(content) / (1 << 20), nil
}

// generate runs writeRealistic in a child process. A child's peak RSS as
// the kernel reports it starts from its parent's high-water mark (exec
// records the forked address space's), so the process that measures must
// never hold the generator's hundreds of megabytes itself.
func generate(dir string, n, changed int) (string, string, float64, error) {
	self, err := os.Executable()
	if err != nil {
		return "", "", 0, err
	}
	cmd := exec.Command(self, "-generate", fmt.Sprintf("%s,%d,%d", dir, n, changed))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", 0, fmt.Errorf("generator: %w", err)
	}
	var pa, pb string
	var content float64
	if _, err := fmt.Sscanf(string(out), "%s %s %g", &pa, &pb, &content); err != nil {
		return "", "", 0, fmt.Errorf("generator said %q: %w", out, err)
	}
	return pa, pb, content, nil
}

// generateMain is the child's side of generate.
func generateMain(arg string) error {
	parts := strings.Split(arg, ",")
	if len(parts) != 3 {
		return fmt.Errorf("-generate DIR,N,CHANGED, got %q", arg)
	}
	n, err1 := strconv.Atoi(parts[1])
	changed, err2 := strconv.Atoi(parts[2])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	pa, pb, content, err := writeRealistic(parts[0], n, changed)
	if err != nil {
		return err
	}
	fmt.Println(pa, pb, content)
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// runMeasured runs the binary and returns its wall time, peak RSS (MB), CPU
// seconds and exit code.
func runMeasured(bin string, env []string, args ...string) (time.Duration, float64, float64, int, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	return measure(cmd)
}

// measure runs cmd and returns its wall time, peak RSS (MB), CPU seconds
// and exit code; a command that ran and failed is a result, not an error.
func measure(cmd *exec.Cmd) (time.Duration, float64, float64, int, error) {
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return 0, 0, 0, 0, err
	}
	var rss, cpu float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return wall, rss, cpu, code, nil
}

func runDiffCase(bin, tmp string, c diffCase) (diffResult, error) {
	dir := tmp
	if keepDir != "" {
		dir = keepDir
	}
	pa, pb, content, err := kept(dir, c.connectors)
	if err != nil {
		pa, pb, content, err = generate(dir, c.connectors, c.changed)
	}
	if err != nil {
		return diffResult{}, fmt.Errorf("writing archives: %w", err)
	}
	if keepDir == "" {
		defer os.Remove(pa)
		defer os.Remove(pb)
	}
	r := diffResult{c: c, contentMB: content, ok: true}
	if fi, err := os.Stat(pa); err == nil {
		r.archiveMB = float64(fi.Size()) / (1 << 20)
	}
	env := []string{}
	if goMemLimit != "" {
		env = append(env, "GOMEMLIMIT="+goMemLimit)
	}
	// verify and diff alternate, each run -repeat times; the medians are
	// compared, so that one run slowed by the neighbours does not decide.
	var verifyWalls, diffWalls, diffCPUs []float64
	for range repeat {
		wall, rss, _, code, err := runMeasured(bin, env, "verify", pa, pb)
		if err != nil || code != 0 {
			return r, fmt.Errorf("verify: exit %d, %v", code, err)
		}
		verifyWalls, r.verifyRSS = append(verifyWalls, wall.Seconds()), max(r.verifyRSS, rss)
		wall, rss, cpu, code, err := runMeasured(bin, env, "diff", "--progress", "never", pa, pb)
		if err != nil || code != 1 {
			return r, fmt.Errorf("diff: exit %d (want 1, different), %v", code, err)
		}
		diffWalls, diffCPUs, r.diffRSS = append(diffWalls, wall.Seconds()), append(diffCPUs, cpu), max(r.diffRSS, rss)
	}
	r.verifyWall = time.Duration(median(verifyWalls) * float64(time.Second))
	r.diffWall = time.Duration(median(diffWalls) * float64(time.Second))
	r.diffCPU = median(diffCPUs)
	ratio := r.diffWall.Seconds() / r.verifyWall.Seconds()
	if ratio > c.maxRatio {
		r.ok, r.why = false, fmt.Sprintf("MISSED diff/verify %.2f > %.2f", ratio, c.maxRatio)
	}
	if r.diffRSS > c.maxRSSMB {
		r.ok, r.why = false, fmt.Sprintf("MISSED peak RSS %.0f MB > %.0f MB", r.diffRSS, c.maxRSSMB)
	}
	return r, nil
}

func printDiffTable(rs []diffResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Println()
	fmt.Printf("Medians of %d alternating runs; peak RSS is the highest.\n\n", repeat)
	fmt.Println("| case | connectors (changed) | content per archive | archive | verify A B | diff A B | diff/verify | diff CPU | peak RSS diff (verify) | target |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		status := ""
		if !r.ok {
			status = " ✗ " + r.why
		}
		fmt.Printf("| %s | %d (%d) | %.0f MB | %.1f MB | %.2f s | %.2f s | %.2f | %.2f s | %.0f MB (%.0f MB) | ≤ %.1f ×, ≤ %.0f MB%s |\n",
			r.c.id, r.c.connectors, r.c.changed, r.contentMB, r.archiveMB, r.verifyWall.Seconds(), r.diffWall.Seconds(),
			r.diffWall.Seconds()/r.verifyWall.Seconds(), r.diffCPU, r.diffRSS, r.verifyRSS, r.c.maxRatio, r.c.maxRSSMB, status)
	}
}
