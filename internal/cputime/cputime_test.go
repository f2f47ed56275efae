//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestProcessGrowsWithWork spins and checks that Process sees the CPU spent:
// it must grow by 10 ms within a few seconds of busy work (rusage ticks are
// coarse, and a shared machine may lend the test little CPU).
func TestProcessGrowsWithWork(t *testing.T) {
	start := Process()
	if start <= 0 {
		t.Fatalf("Process() = %v at start; a running test has used some CPU", start)
	}
	x := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		for i := 0; i < 1e6; i++ {
			x += i
		}
		if Process()-start >= 10*time.Millisecond {
			return
		}
	}
	t.Errorf("Process grew by only %v over 5 s of busy work (x %d)", Process()-start, x)
}
