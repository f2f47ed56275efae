package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
)

// The hostile archive: 64 connectors whose details
// are 16 MiB each, mostly one repeated byte, so that the archive is about
// 130 KB and verifies, while it expands to 1 GiB. diff and restore must hold
// a window of it, not all of it.
const (
	bombConnectors = 64
	bombDetail     = 16 << 20
	bombMaxRSSMB   = 400
)

type bombResult struct {
	archiveKB                   float64
	verifyRSS, diffRSS, planRSS float64
	diffWall, planWall          time.Duration
	ok                          bool
	why                         string
}

// writeBomb writes the archive at path.
func writeBomb(path string) error {
	ctx := context.Background()
	w, err := archive.Create(ctx, path, archive.Meta{ToolVersion: "bench"})
	if err != nil {
		return err
	}
	for i := range bombConnectors {
		sn := fmt.Sprintf("bomb-%02d", i)
		head := fmt.Sprintf(`{"className":"sailpoint.connector.OpenConnectorAdapter","name":"Bomb %02d","pad":"`, i)
		tail := fmt.Sprintf(`","scriptName":%q,"type":"custom Bomb"}`+"\n", sn)
		d := head + strings.Repeat("0", bombDetail-len(head)-len(tail)) + tail
		if err := w.Add(ctx, &archive.Connector{ScriptName: sn, Detail: []byte(d)}); err != nil {
			_ = w.Abort()
			return err
		}
	}
	_, err = w.Close(ctx)
	return err
}

func runBombCase(bin, tmp string) (bombResult, error) {
	r := bombResult{ok: true}
	path := filepath.Join(tmp, "bomb.tar.zst")
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	// In a child, for the parent's peak RSS to stay small (see generate).
	gen := exec.Command(self, "-generate-bomb", path)
	gen.Stderr = os.Stderr
	if err := gen.Run(); err != nil {
		return r, fmt.Errorf("writing the archive: %w", err)
	}
	defer os.Remove(path)
	if fi, err := os.Stat(path); err == nil {
		r.archiveKB = float64(fi.Size()) / 1024
	}
	var code int
	if _, r.verifyRSS, _, code, err = runMeasured(bin, nil, "verify", path); err != nil || code != 0 {
		return r, fmt.Errorf("verify: exit %d, %v", code, err)
	}
	if r.diffWall, r.diffRSS, _, code, err = runMeasured(bin, nil, "diff", "--progress", "never", path, path); err != nil || code != 0 {
		return r, fmt.Errorf("diff: exit %d (want 0, the same), %v", code, err)
	}
	if r.planWall, r.planRSS, _, code, err = runMeasured(bin, nil, "--sandbox", "restore", "--dry-run", "--progress", "never", path); err != nil || code != 0 {
		return r, fmt.Errorf("restore --dry-run: exit %d, %v", code, err)
	}
	for what, rss := range map[string]float64{"diff": r.diffRSS, "restore --dry-run": r.planRSS} {
		if rss > bombMaxRSSMB {
			r.ok = false
			r.why += fmt.Sprintf(" MISSED %s peak RSS %.0f MB > %d MB", what, rss, bombMaxRSSMB)
		}
	}
	return r, nil
}

func bombMain(path string) error {
	if path == "" {
		return errors.New("-generate-bomb PATH")
	}
	return writeBomb(path)
}

func printBombTable(r *bombResult) {
	if r == nil {
		return
	}
	fmt.Println()
	fmt.Printf("| case | archive | expands to | verify | diff ARCHIVE ARCHIVE | restore --dry-run (sandbox) | target |\n")
	fmt.Println("|---|---|---|---|---|---|---|")
	status := ""
	if !r.ok {
		status = " ✗" + r.why
	}
	fmt.Printf("| bomb | %.0f KB | %d MiB | %.0f MB | %.0f MB, %.1f s | %.0f MB, %.1f s | peak RSS ≤ %d MB%s |\n",
		r.archiveKB, bombConnectors*bombDetail>>20, r.verifyRSS, r.diffRSS, r.diffWall.Seconds(), r.planRSS, r.planWall.Seconds(), bombMaxRSSMB, status)
}
