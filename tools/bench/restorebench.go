package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// restoreCase measures restore against a sandbox with latency: a first
// restore of an archive into an empty tenant (against the floor of its
// requests), a no-op re-run of it, `diff ARCHIVE tenant:`, and an export of
// the same tenant with the same settings, which the other two are held to.
type restoreCase struct {
	id                     string
	connectors             int
	latency                time.Duration
	concurrency            int
	maxFirstRatio          float64 // first restore wall / (requests × latency ÷ concurrency)
	maxNoopRatio, maxDiffR float64 // against the export's wall
}

var restoreCases = []restoreCase{
	{id: "restore200", connectors: 200, latency: 25 * time.Millisecond, concurrency: 16,
		maxFirstRatio: 1.25, maxNoopRatio: 1.2, maxDiffR: 1.1},
}

type restoreResult struct {
	c                                  restoreCase
	firstWall, noopWall, diffWall, exp time.Duration
	firstRequests                      int
	firstRSS, noopRSS, diffRSS, expRSS float64
	firstCPU, noopCPU                  float64
	ok                                 bool
	why                                string
}

// sandboxProc serves a sandbox tenant from its own process.
type sandboxProc struct {
	cmd *exec.Cmd
	env []string
}

func startSandbox(bin string, args ...string) (*sandboxProc, error) {
	sb := exec.Command(bin, append([]string{"sandbox", "--listen", "127.0.0.1:0", "--seed", "1"}, args...)...)
	out, err := sb.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sb.Start(); err != nil {
		return nil, err
	}
	var env []string
	sc := bufio.NewScanner(out)
	for len(env) < 3 && sc.Scan() {
		if line := strings.TrimPrefix(sc.Text(), "export "); strings.Contains(line, "=") {
			env = append(env, line)
		}
	}
	if len(env) < 3 {
		_ = sb.Process.Kill()
		_ = sb.Wait()
		return nil, errors.New("the sandbox did not print its settings")
	}
	return &sandboxProc{cmd: sb, env: env}, nil
}

func (p *sandboxProc) stop() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() }

// run runs connvault against the sandbox and returns its wall time, peak
// RSS (MB), CPU seconds, exit code and stderr.
func (p *sandboxProc) run(bin string, args ...string) (time.Duration, float64, float64, int, []byte, error) {
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Env = append(os.Environ(), p.env...)
	if goMemLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+goMemLimit)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	wall, rss, cpu, code, err := measure(cmd)
	if err != nil {
		return 0, 0, 0, 0, nil, err
	}
	return wall, rss, cpu, code, stderr.Bytes(), nil
}

func runRestoreCase(bin, tmp string, c restoreCase) (restoreResult, error) {
	r := restoreResult{c: c, ok: true}
	conc := fmt.Sprint(c.concurrency)
	// The archive: an export of a sandbox of realistic connectors (the
	// sandbox's 20 KB documents and 3 locales), without latency.
	src, err := startSandbox(bin, "--empty", "--connectors", fmt.Sprint(c.connectors), "--doc-size", fmt.Sprint(20<<10), "--locales", "3")
	if err != nil {
		return r, err
	}
	archivePath := filepath.Join(tmp, c.id+".tar.zst")
	_, _, _, code, errOut, err := src.run(bin, "export", "-o", archivePath, "--progress", "never", "--log-level", "warn", "--rate", "0", "--concurrency", conc)
	src.stop()
	if err != nil || code != 0 {
		return r, fmt.Errorf("export of the source: exit %d, %v: %s", code, err, errOut)
	}
	defer os.Remove(archivePath)

	settings := []string{"--progress", "never", "--rate", "0", "--concurrency", conc}
	backups := filepath.Join(tmp, c.id+"-backups")
	if err := os.MkdirAll(backups, 0o700); err != nil {
		return r, err
	}
	defer os.RemoveAll(backups)

	// The requests of a first restore, counted from its debug log on a
	// tenant of its own: logging every request costs the client time, so
	// the timed run below does not log them.
	count, err := startSandbox(bin, "--empty", "--latency", c.latency.String())
	if err != nil {
		return r, err
	}
	_, _, _, code, out, err := count.run(bin, append([]string{"restore", archivePath, "--yes", "--backup-dir", backups,
		"--log-level", "debug", "--log-format", "json"}, settings...)...)
	count.stop()
	if err != nil || code != 0 {
		return r, fmt.Errorf("first restore (counting): exit %d, %v: %s", code, err, lastLines(out))
	}
	r.firstRequests = bytes.Count(out, []byte(`"msg":"apiclient: request"`)) + bytes.Count(out, []byte(`"msg":"apiclient: request failed"`))

	tgt, err := startSandbox(bin, "--empty", "--latency", c.latency.String())
	if err != nil {
		return r, err
	}
	defer tgt.stop()
	r.firstWall, r.firstRSS, r.firstCPU, code, out, err = tgt.run(bin, append([]string{"restore", archivePath, "--yes", "--backup-dir", backups, "--log-level", "warn"}, settings...)...)
	if err != nil || code != 0 {
		return r, fmt.Errorf("first restore: exit %d, %v: %s", code, err, lastLines(out))
	}

	// The re-run: nothing to write.
	r.noopWall, r.noopRSS, r.noopCPU, code, out, err = tgt.run(bin, append([]string{"restore", archivePath, "--yes", "--backup-dir", backups, "--log-level", "warn"}, settings...)...)
	if err != nil || code != 0 {
		return r, fmt.Errorf("re-run: exit %d, %v: %s", code, err, lastLines(out))
	}
	expPath := filepath.Join(tmp, c.id+"-target.tar.zst")
	r.exp, r.expRSS, _, code, out, err = tgt.run(bin, append([]string{"export", "-o", expPath, "--log-level", "warn"}, settings...)...)
	if err != nil || code != 0 {
		return r, fmt.Errorf("export of the target: exit %d, %v: %s", code, err, lastLines(out))
	}
	_ = os.Remove(expPath)
	r.diffWall, r.diffRSS, _, code, out, err = tgt.run(bin, append([]string{"diff", archivePath, "tenant:", "--log-level", "warn"}, settings...)...)
	if err != nil || code > 1 {
		return r, fmt.Errorf("diff ARCHIVE tenant: exit %d, %v: %s", code, err, lastLines(out))
	}

	floor := time.Duration(float64(r.firstRequests) * float64(c.latency) / float64(c.concurrency))
	check := func(what string, got, max float64) {
		if got > max {
			r.ok = false
			r.why += fmt.Sprintf(" MISSED %s %.2f > %.2f", what, got, max)
		}
	}
	check("first restore / floor", r.firstWall.Seconds()/floor.Seconds(), c.maxFirstRatio)
	check("re-run / export", r.noopWall.Seconds()/r.exp.Seconds(), c.maxNoopRatio)
	check("diff / export", r.diffWall.Seconds()/r.exp.Seconds(), c.maxDiffR)
	return r, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

func printRestoreTable(rs []restoreResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("| case | run | wall | against | ratio | target | CPU | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		floor := time.Duration(float64(r.firstRequests) * float64(r.c.latency) / float64(r.c.concurrency))
		fmt.Printf("| %s | first restore into an empty tenant, %d requests | %.2f s | floor %.2f s | %.2f | ≤ %.2f | %.2f s | %.0f MB |\n",
			r.c.id, r.firstRequests, r.firstWall.Seconds(), floor.Seconds(), r.firstWall.Seconds()/floor.Seconds(), r.c.maxFirstRatio, r.firstCPU, r.firstRSS)
		fmt.Printf("| %s | re-run (nothing to write) | %.2f s | export %.2f s | %.2f | ≤ %.2f | %.2f s | %.0f MB |\n",
			r.c.id, r.noopWall.Seconds(), r.exp.Seconds(), r.noopWall.Seconds()/r.exp.Seconds(), r.c.maxNoopRatio, r.noopCPU, r.noopRSS)
		fmt.Printf("| %s | diff ARCHIVE tenant: | %.2f s | export %.2f s | %.2f | ≤ %.2f | – | %.0f MB |\n",
			r.c.id, r.diffWall.Seconds(), r.exp.Seconds(), r.diffWall.Seconds()/r.exp.Seconds(), r.c.maxDiffR, r.diffRSS)
		if !r.ok {
			fmt.Printf("| %s | ✗ |%s | | | | | |\n", r.c.id, r.why)
		}
	}
}
