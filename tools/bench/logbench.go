package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/tools/realistic"
)

// The history case: a year of nightly archives of a 300-connector tenant,
// read by `connvault log`. Eight distinct nights (one connector changed in
// each) are written once and hard-linked in turn under 365 nightly names:
// what log reads of each is its manifest alone, so the copies cost it what
// distinct archives would.
const (
	logNights     = 365
	logConnectors = 300
	logMaxWall    = 2 * time.Second
)

type logResult struct {
	wall       time.Duration
	rssMB      float64
	archiveKB  float64
	perArchive int64
	ok         bool
	why        string
}

func runLogCase(bin, tmp string) (logResult, error) {
	r := logResult{ok: true}
	dir := filepath.Join(tmp, "history")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	g := realistic.New(logConnectors, 20<<10, 3)
	var distinct []string
	for v := range 8 {
		path := filepath.Join(tmp, fmt.Sprintf("night-%d.tar.zst", v))
		w, err := archive.Create(context.Background(), path, archive.Meta{ToolVersion: "bench", CreatedAt: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)})
		if err != nil {
			return r, err
		}
		for i := range g.Len() {
			c := g.Connector(i)
			if i == v {
				c = realistic.Change(c, v)
			}
			if err := w.Add(context.Background(), c); err != nil {
				return r, err
			}
		}
		if _, err := w.Close(context.Background()); err != nil {
			return r, err
		}
		defer os.Remove(path)
		distinct = append(distinct, path)
	}
	if fi, err := os.Stat(distinct[0]); err == nil {
		r.archiveKB = float64(fi.Size()) / 1024
	}
	start := time.Date(2025, 12, 1, 3, 15, 0, 0, time.UTC)
	for n := range logNights {
		name := retention.FileName("acme", start.AddDate(0, 0, n))
		if err := os.Link(distinct[n%len(distinct)], filepath.Join(dir, name)); err != nil {
			return r, err
		}
	}
	var out []byte
	cmd := exec.Command(bin, "log", dir, "--json")
	cmd.Stderr = os.Stderr
	var err error
	var code int
	cmd.Stdout = &capture{b: &out}
	if r.wall, r.rssMB, _, code, err = measure(cmd); err != nil || code != 0 {
		return r, fmt.Errorf("log: exit %d, %v", code, err)
	}
	var h struct {
		Archives      int   `json:"archives"`
		MaxPerArchive int64 `json:"maxBytesPerArchive"`
	}
	if err := json.Unmarshal(out, &h); err != nil || h.Archives != logNights {
		return r, fmt.Errorf("log --json: %d archives (%v)", h.Archives, err)
	}
	r.perArchive = h.MaxPerArchive
	if r.wall > logMaxWall {
		r.ok, r.why = false, fmt.Sprintf(" MISSED %s > %s", r.wall.Round(time.Millisecond), logMaxWall)
	}
	return r, nil
}

type capture struct{ b *[]byte }

func (c *capture) Write(p []byte) (int, error) { *c.b = append(*c.b, p...); return len(p), nil }

func printLogTable(r *logResult) {
	fmt.Printf("\n| case | archives | connectors each | archive size | bytes read per archive (max) | wall | peak RSS | target |\n|---|--:|--:|--:|--:|--:|--:|---|\n")
	status := "ok"
	if !r.ok {
		status = "MISSED" + r.why
	}
	fmt.Printf("| log365 | %d | %d | %.0f KiB | %d | %.2f s | %.0f MB | < %s: %s |\n",
		logNights, logConnectors, r.archiveKB, r.perArchive, r.wall.Seconds(), r.rssMB, logMaxWall, status)
}
