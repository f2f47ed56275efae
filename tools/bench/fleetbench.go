package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/connvault/connvault/sandbox"
)

// The fleet case: N tenants of 60 connectors, each its own sandbox at the
// gateway's limit (100 requests per 10 s per client id, 25 ms latency),
// exported in one run with default pacing, against one of them alone.
const fleetConnectors = 60

type fleetResult struct {
	tenants  int
	wall     time.Duration
	rssMB    float64
	ratio    float64
	maxRatio float64
	ok       bool
}

// runFleetCase measures one tenant alone, then each fleet size, side by
// side in one run.
func runFleetCase(bin, tmp string, sizes []int, maxRatios []float64) ([]fleetResult, time.Duration, error) {
	alone, _, err := fleetRun(bin, tmp, 1)
	if err != nil {
		return nil, 0, err
	}
	var out []fleetResult
	for i, n := range sizes {
		wall, rss, err := fleetRun(bin, tmp, n)
		if err != nil {
			return nil, 0, err
		}
		r := fleetResult{tenants: n, wall: wall, rssMB: rss, ratio: wall.Seconds() / alone.Seconds(), maxRatio: maxRatios[i]}
		r.ok = r.ratio <= r.maxRatio
		out = append(out, r)
	}
	return out, alone, nil
}

func fleetRun(bin, tmp string, n int) (time.Duration, float64, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(tmp, fmt.Sprintf("fleet-%d", n))
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o700); err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	type entry struct {
		Name            string `json:"name"`
		BaseURL         string `json:"baseUrl"`
		ClientID        string `json:"clientId"`
		ClientSecretEnv string `json:"clientSecretEnv"`
	}
	var entries []entry
	env := os.Environ()
	for i := range n {
		name := fmt.Sprintf("t%02d", i)
		srv, err := sandbox.Start(ctx, "", sandbox.Options{Empty: true, Synthetic: fleetConnectors, Locales: 3, DocSize: 4 << 10, Seed: int64(i + 1),
			RateLimit: 100, RateWindow: 10 * time.Second, Latency: 25 * time.Millisecond,
			Clients: map[string]string{name: "secret-" + name}})
		if err != nil {
			return 0, 0, err
		}
		defer srv.Close()
		entries = append(entries, entry{name, srv.URL, name, "FLEET_SECRET_" + name})
		env = append(env, "FLEET_SECRET_"+name+"=secret-"+name)
	}
	conf := filepath.Join(dir, "tenants.json")
	raw, _ := json.Marshal(map[string]any{"version": 1, "tenants": entries})
	if err := os.WriteFile(conf, raw, 0o600); err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(bin, "export", "--all-tenants", "-d", filepath.Join(dir, "out"), "--config", conf, "--progress", "never", "--log-level", "warn")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	wall, rss, _, code, err := measure(cmd)
	if err != nil || code != 0 {
		return 0, 0, fmt.Errorf("fleet of %d: exit %d, %v", n, code, err)
	}
	return wall, rss, nil
}

func printFleetTable(rs []fleetResult, alone time.Duration) {
	fmt.Printf("\n| tenants | connectors each | wall | ratio to one alone (%.1f s) | peak RSS | target |\n|--:|--:|--:|--:|--:|---|\n", alone.Seconds())
	for _, r := range rs {
		status := "ok"
		if !r.ok {
			status = "MISSED"
		}
		fmt.Printf("| %d | %d | %.1f s | %.3f | %.0f MB | ≤ %.1f ×: %s |\n", r.tenants, fleetConnectors, r.wall.Seconds(), r.ratio, r.rssMB, r.maxRatio, status)
	}
}
